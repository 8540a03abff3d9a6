package httpapi_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"mediarec"
	"mediarec/internal/auth"
	"mediarec/internal/httpapi"
)

func TestRequireAdmin(t *testing.T) {
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	_, otherKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	issue := func(k ed25519.PrivateKey, role mediarec.Role) string {
		tok, _, err := auth.NewIssuer(k, "users", time.Minute).Issue(7, role)
		if err != nil {
			t.Fatal(err)
		}
		return "Bearer " + tok
	}
	verifier := auth.NewVerifier(pub, "users")
	tests := []struct {
		name     string
		token    string
		verifier httpapi.TokenVerifier
		header   string
		want     int
	}{
		{"admin token", adminToken, verifier, "Bearer " + adminToken, 200},
		{"admin user's token", adminToken, verifier, issue(key, mediarec.RoleAdmin), 200},
		{"admin user's token, no admin token set", "", verifier, issue(key, mediarec.RoleAdmin), 200},
		{"user's token", adminToken, verifier, issue(key, mediarec.RoleUser), 403},
		{"token of another key", adminToken, verifier, issue(otherKey, mediarec.RoleAdmin), 401},
		{"garbage", adminToken, verifier, "Bearer not-a-token", 401},
		{"no header", adminToken, verifier, "", 401},
		{"no header, no admin token, not loopback", "", verifier, "", 401},
		{"JWT without a verifier", adminToken, nil, issue(key, mediarec.RoleAdmin), 401},
		{"no header, nothing configured, not loopback", "", nil, "", 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app := httpapi.NewApp(httpapi.Options{Name: "test", BodyLimit: 1 << 20, RequestTimeout: time.Second, Logger: slog.New(slog.DiscardHandler)})
			app.Post("/write", httpapi.RequireAdmin(tt.token, tt.verifier), func(c *fiber.Ctx) error { return c.SendStatus(200) })
			req := httptest.NewRequest("POST", "/write", nil)
			if tt.header != "" {
				req.Header.Set("Authorization", tt.header)
			}
			res, err := app.Test(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != tt.want {
				t.Fatalf("status = %d, want %d", res.StatusCode, tt.want)
			}
		})
	}
}
