package httpapi

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"strings"

	"github.com/gofiber/fiber/v2"

	"mediarec"
)

// RequireAdmin guards catalog writes. A bearer token passes when it is the
// configured admin token or, with a verifier, a users-service token of the
// admin role. A request without a token passes only from loopback, and only
// when no admin token is configured (the laptop default, which the config
// allows only on a loopback address).
func RequireAdmin(token string, verifier TokenVerifier) fiber.Handler {
	want := []byte(token)
	return func(c *fiber.Ctx) error {
		got, ok := bearer(c)
		switch {
		case !ok && token == "" && c.Context().RemoteIP().IsLoopback():
			return c.Next()
		case !ok && token == "" && verifier == nil:
			return mediarec.Errorf(mediarec.EFORBIDDEN, "Catalog writes from other hosts need MEDIAREC_ADMIN_TOKEN to be configured.")
		case !ok:
			return mediarec.Errorf(mediarec.EUNAUTHORIZED, "This route needs an Authorization: Bearer token.")
		case token != "" && subtle.ConstantTimeCompare([]byte(got), want) == 1:
			return c.Next()
		case verifier == nil:
			return mediarec.Errorf(mediarec.EUNAUTHORIZED, "Invalid token.")
		}
		claims, err := verifier.Verify(got)
		if err != nil {
			return err
		}
		if claims.Role != mediarec.RoleAdmin {
			return mediarec.Errorf(mediarec.EFORBIDDEN, "Catalog writes need an administrator.")
		}
		return c.Next()
	}
}

func bearer(c *fiber.Ctx) (string, bool) {
	scheme, tok, ok := strings.Cut(c.Get(fiber.HeaderAuthorization), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return "", false
	}
	return strings.TrimSpace(tok), true
}

func newRequestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b[:])
}
