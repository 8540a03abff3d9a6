package httpapi

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"strings"

	"github.com/gofiber/fiber/v2"

	"mediarec"
)

// RequireAdmin guards catalog writes. With a configured token a request must
// present it as a bearer token. Without one (the laptop default, which the
// config allows only on a loopback address) writes are open to loopback
// clients only.
func RequireAdmin(token string) fiber.Handler {
	want := []byte(token)
	return func(c *fiber.Ctx) error {
		if token == "" {
			if c.Context().RemoteIP().IsLoopback() {
				return c.Next()
			}
			return mediarec.Errorf(mediarec.EFORBIDDEN, "Catalog writes from other hosts need MEDIAREC_ADMIN_TOKEN to be configured.")
		}
		got, ok := bearer(c)
		if !ok {
			return mediarec.Errorf(mediarec.EUNAUTHORIZED, "This route needs an Authorization: Bearer token.")
		}
		if subtle.ConstantTimeCompare([]byte(got), want) != 1 {
			return mediarec.Errorf(mediarec.EUNAUTHORIZED, "Invalid token.")
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
