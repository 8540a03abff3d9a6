// Package authtest forges tokens for the tests that attack their checks.
package authtest

import (
	"crypto/rand"
	"strconv"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Claims returns the claims an issuer named iss would write for userID
// now, as a map, with changes applied: a nil value deletes a claim.
func Claims(userID int64, iss string, changes map[string]any) jwt.MapClaims {
	now := time.Now()
	c := jwt.MapClaims{
		"sub": strconv.FormatInt(userID, 10), "role": "user", "iss": iss,
		"iat": now.Unix(), "exp": now.Add(15 * time.Minute).Unix(), "jti": rand.Text(),
	}
	for k, v := range changes {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return c
}

// MustSign signs claims with method and key through the library, naming
// kid in the header unless it is empty (an attacker can read the real kid
// from any token).
func MustSign(tb testing.TB, method jwt.SigningMethod, key any, kid string, claims jwt.MapClaims) string {
	tb.Helper()
	t := jwt.NewWithClaims(method, claims)
	if kid != "" {
		t.Header["kid"] = kid
	}
	s, err := t.SignedString(key)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}
