package auth

import (
	"crypto/ed25519"
	"crypto/rand"
	"strconv"
	"testing"
	"time"

	"mediarec"
)

func TestVerifiedCache(t *testing.T) {
	now := time.Now()
	c := newVerifiedCache()
	claims := Claims{UserID: 1, Role: mediarec.RoleUser, ExpiresAt: now.Add(time.Minute)}
	c.put("a.b.c", claims, now)

	tests := []struct {
		name   string
		token  string
		at     time.Time
		wantOK bool
	}{
		{"hit", "a.b.c", now, true},
		{"other token", "a.b.d", now, false},
		{"expired within leeway", "a.b.c", now.Add(time.Minute + Leeway - time.Second), true},
		{"expired past leeway", "a.b.c", now.Add(time.Minute + Leeway + time.Second), false},
		// The expired entry was dropped, not just refused once.
		{"dropped", "a.b.c", now, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := c.get(tt.token, tt.at)
			if ok != tt.wantOK || (ok && got != claims) {
				t.Fatalf("get = %+v, %v; want %v", got, ok, tt.wantOK)
			}
		})
	}
}

func TestVerifiedCacheBounded(t *testing.T) {
	now := time.Now()
	c := newVerifiedCache()
	for i := range 3 * verifiedCacheSize {
		c.put("token-"+strconv.Itoa(i), Claims{UserID: int64(i + 1), ExpiresAt: now.Add(time.Hour)}, now)
	}
	if n := len(c.claims); n > verifiedCacheSize {
		t.Fatalf("cache holds %d tokens, bound is %d", n, verifiedCacheSize)
	}
	// The newest token is always kept.
	last := "token-" + strconv.Itoa(3*verifiedCacheSize-1)
	if _, ok := c.get(last, now); !ok {
		t.Fatal("the token put last is missing")
	}
}

func TestVerifyCachesOnlyValidTokens(t *testing.T) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	iss := NewIssuer(priv, "test", time.Minute)
	v := NewVerifier(pub, "test")
	tok, _, err := iss.Issue(5, mediarec.RoleUser)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(tok + "x"); err == nil {
		t.Fatal("a corrupted token verified")
	}
	if len(v.cache.claims) != 0 {
		t.Fatal("a refused token entered the cache")
	}
	for range 2 {
		if c, err := v.Verify(tok); err != nil || c.UserID != 5 {
			t.Fatalf("Verify = %+v, %v", c, err)
		}
	}
	if len(v.cache.claims) != 1 {
		t.Fatalf("cache holds %d tokens, want 1", len(v.cache.claims))
	}
}
