package users

import (
	"strings"
	"testing"
)

// testParams keep hashing fast; the format and checks are the same.
var testParams = HashParams{Memory: 64, Time: 1, Threads: 1}

func TestPasswordRoundTrip(t *testing.T) {
	h, err := hashPassword("correct horse battery staple", testParams)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("hash %q does not record its parameters", h)
	}
	again, _ := hashPassword("correct horse battery staple", testParams)
	if again == h {
		t.Fatal("two hashes of one password are equal: the salt is not random")
	}
	tests := []struct {
		name     string
		password string
		want     bool
	}{
		{"same", "correct horse battery staple", true},
		{"wrong", "correct horse battery stapler", false},
		{"case", "Correct horse battery staple", false},
		{"empty", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, err := verifyPassword(tt.password, h)
			if err != nil || ok != tt.want {
				t.Fatalf("verify = %v, %v; want %v", ok, err, tt.want)
			}
		})
	}
}

func TestPasswordOldParameters(t *testing.T) {
	// A hash made with other parameters still verifies: each hash carries
	// its own.
	old, err := hashPassword("s3cret-passphrase", HashParams{Memory: 128, Time: 2, Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := verifyPassword("s3cret-passphrase", old); !ok || err != nil {
		t.Fatalf("verify with old parameters = %v, %v", ok, err)
	}
}

func TestPasswordMalformed(t *testing.T) {
	good, _ := hashPassword("whatever-password", testParams)
	parts := strings.Split(good, "$")
	tests := []struct {
		name, hash string
	}{
		{"empty", ""},
		{"bcrypt", "$2a$10$abcdefghijklmnopqrstuv"},
		{"argon2i", strings.Replace(good, "argon2id", "argon2i", 1)},
		{"version", strings.Replace(good, "v=19", "v=16", 1)},
		{"huge memory", strings.Join([]string{"", parts[1], parts[2], "m=99999999,t=1,p=1", parts[4], parts[5]}, "$")},
		{"zero time", strings.Join([]string{"", parts[1], parts[2], "m=64,t=0,p=1", parts[4], parts[5]}, "$")},
		{"bad salt", strings.Join([]string{"", parts[1], parts[2], parts[3], "!!", parts[5]}, "$")},
		{"short key", strings.Join([]string{"", parts[1], parts[2], parts[3], parts[4], "AAAA"}, "$")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if ok, err := verifyPassword("whatever-password", tt.hash); ok || err == nil {
				t.Fatalf("verify(%q) = %v, %v; want an error", tt.hash, ok, err)
			}
		})
	}
}
