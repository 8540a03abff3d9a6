package users

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// HashParams are the argon2id cost parameters of new password hashes. Each
// hash records its own parameters, so they can be raised later without
// invalidating existing accounts.
type HashParams struct {
	Memory  uint32 // KiB
	Time    uint32 // passes
	Threads uint8
}

// DefaultHashParams is OWASP's recommended argon2id minimum (19 MiB, two
// passes, one lane): about 20–40 ms per login on a current core, which keeps
// offline guessing expensive while a login stays well under a second.
var DefaultHashParams = HashParams{Memory: 19 * 1024, Time: 2, Threads: 1}

const (
	saltLen = 16
	keyLen  = 32
	// Bounds on parameters read back from a stored hash, so a corrupted or
	// forged row cannot make one login allocate gigabytes.
	maxMemory  = 1 << 20 // 1 GiB
	maxTime    = 20
	maxKeyLen  = 128
	maxSaltLen = 64
)

var b64 = base64.RawStdEncoding

// hashPassword returns the PHC-style string
// $argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt>$<key> of password under a
// fresh random salt.
func hashPassword(password string, p HashParams) (string, error) {
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password salt: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, keyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// errMalformedHash means a stored hash is not one hashPassword wrote.
var errMalformedHash = errors.New("malformed password hash")

// verifyPassword reports whether password matches encoded, recomputing the
// key with the parameters and salt the hash records.
func verifyPassword(password, encoded string) (bool, error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return false, errMalformedHash
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, errMalformedHash
	}
	var p HashParams
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil {
		return false, errMalformedHash
	}
	if p.Memory < 8 || p.Memory > maxMemory || p.Time < 1 || p.Time > maxTime || p.Threads < 1 {
		return false, errMalformedHash
	}
	salt, err := b64.DecodeString(parts[4])
	if err != nil || len(salt) < 8 || len(salt) > maxSaltLen {
		return false, errMalformedHash
	}
	want, err := b64.DecodeString(parts[5])
	if err != nil || len(want) < 16 || len(want) > maxKeyLen {
		return false, errMalformedHash
	}
	got := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, uint32(len(want)))
	// Constant time, so the comparison does not tell an attacker how many
	// leading bytes of a guess were right.
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}
