package httpapi_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"mediarec"
	"mediarec/internal/auth"
	"mediarec/internal/httpapi"
	"mediarec/internal/users"
)

// fakeUsers knows user 1 (password "correct horse") and nothing else.
type fakeUsers struct {
	httpapi.UserService
	deleted bool
}

func (f *fakeUsers) Login(_ context.Context, email, password string) (*mediarec.User, error) {
	if email == "ada@example.com" && password == "correct horse" {
		return &mediarec.User{ID: 1, Email: email, Role: mediarec.RoleUser}, nil
	}
	return nil, mediarec.Errorf(mediarec.EUNAUTHORIZED, "Wrong email or password.")
}

func (f *fakeUsers) Register(_ context.Context, r users.Registration) (*mediarec.User, error) {
	return &mediarec.User{ID: 2, Email: r.Email, DisplayName: r.DisplayName, Role: mediarec.RoleUser}, nil
}

func (f *fakeUsers) FindUserByID(_ context.Context, id int64) (*mediarec.User, error) {
	if id != 1 || f.deleted {
		return nil, mediarec.Errorf(mediarec.ENOTFOUND, "User %d not found.", id)
	}
	return &mediarec.User{ID: 1, Email: "ada@example.com", Role: mediarec.RoleUser}, nil
}

// fakeTokens issues "token-<id>" and accepts only "token-1".
type fakeTokens struct{}

func (fakeTokens) Issue(id int64, _ mediarec.Role) (string, time.Time, error) {
	return "token-" + jsonNumber(id), time.Now().Add(time.Hour), nil
}
func (fakeTokens) JWKS() []byte { return []byte(`{"keys":[]}`) }
func (fakeTokens) Verify(tok string) (auth.Claims, error) {
	if tok != "token-1" {
		return auth.Claims{}, mediarec.Errorf(mediarec.EUNAUTHORIZED, "Invalid or expired token.")
	}
	return auth.Claims{UserID: 1, Role: mediarec.RoleUser}, nil
}

func userApp(svc httpapi.UserService, limits httpapi.AuthLimits) *fiber.App {
	app := httpapi.NewApp(httpapi.Options{Name: "test", BodyLimit: 1 << 20, RequestTimeout: 5 * time.Second, Logger: slog.New(slog.DiscardHandler)})
	httpapi.RegisterUserRoutes(app, svc, fakeTokens{}, fakeTokens{}, limits)
	httpapi.NotFound(app)
	return app
}

func TestUserAuth(t *testing.T) {
	svc := &fakeUsers{}
	app := userApp(svc, httpapi.AuthLimits{PerIP: 100, PerAccount: 100, Window: time.Minute})
	tests := []struct {
		name, method, target, body, token string
		want                              int
	}{
		{"login ok", "POST", "/v1/auth/login", `{"email":"ada@example.com","password":"correct horse"}`, "", 200},
		{"wrong password", "POST", "/v1/auth/login", `{"email":"ada@example.com","password":"nope"}`, "", 401},
		{"malformed login", "POST", "/v1/auth/login", `{"email":`, "", 400},
		{"register", "POST", "/v1/auth/register", `{"email":"b@example.com","password":"longenough","display_name":"B"}`, "", 201},
		{"me without token", "GET", "/v1/me", "", "", 401},
		{"me with a bad token", "GET", "/v1/me", "", "token-2", 401},
		{"me", "GET", "/v1/me", "", "token-1", 200},
		{"jwks", "GET", "/.well-known/jwks.json", "", "", 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, tt.target, strings.NewReader(tt.body))
			if tt.token != "" {
				req.Header.Set("Authorization", "Bearer "+tt.token)
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
	// A token of a deleted account is refused.
	svc.deleted = true
	req := httptest.NewRequest("GET", "/v1/me", nil)
	req.Header.Set("Authorization", "Bearer token-1")
	if res, err := app.Test(req); err != nil || res.StatusCode != 401 {
		t.Fatalf("deleted user's token: %v %v", res, err)
	}
}

func TestLoginRateLimit(t *testing.T) {
	app := userApp(&fakeUsers{}, httpapi.AuthLimits{PerIP: 100, PerAccount: 3, Window: time.Minute})
	login := func(email string) *http.Response {
		req := httptest.NewRequest("POST", "/v1/auth/login", strings.NewReader(`{"email":"`+email+`","password":"x"}`))
		res, err := app.Test(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}
	for range 3 {
		if got := login("ada@example.com").StatusCode; got != 401 {
			t.Fatalf("attempt within the limit: %d", got)
		}
	}
	res := login("ADA@example.com")
	if res.StatusCode != 429 || res.Header.Get("Retry-After") == "" || res.Header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("fourth attempt: %d, Retry-After %q", res.StatusCode, res.Header.Get("Retry-After"))
	}
	if got := login("someone@example.com").StatusCode; got != 401 {
		t.Fatalf("another account is not limited: %d", got)
	}
}

// feedbackUsers stores feedback the way the stores do: ENOTFOUND for an
// unknown item and for a deleted account alike.
type feedbackUsers struct {
	fakeUsers
}

func (f *feedbackUsers) SetFeedback(_ context.Context, fb *mediarec.Feedback) error {
	if fb.ItemID == 404 {
		return mediarec.Errorf(mediarec.ENOTFOUND, "Item %d not found.", fb.ItemID)
	}
	if f.deleted {
		return mediarec.Errorf(mediarec.ENOTFOUND, "User %d not found.", fb.UserID)
	}
	return nil
}

// The feedback route does not look the account up before writing; an
// ENOTFOUND of the write must still answer 401 for a deleted account and 404
// for an unknown item.
func TestFeedbackAccountCheck(t *testing.T) {
	svc := &feedbackUsers{}
	app := userApp(svc, httpapi.AuthLimits{PerIP: 100, PerAccount: 100, Window: time.Minute})
	tests := []struct {
		name    string
		deleted bool
		body    string
		want    int
	}{
		{"stored", false, `{"item_id":1,"kind":"like"}`, 201},
		{"unknown item", false, `{"item_id":404,"kind":"like"}`, 404},
		{"deleted account", true, `{"item_id":1,"kind":"like"}`, 401},
		{"deleted account, unknown item", true, `{"item_id":404,"kind":"like"}`, 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc.deleted = tt.deleted
			req := httptest.NewRequest("POST", "/v1/me/feedback", strings.NewReader(tt.body))
			req.Header.Set("Authorization", "Bearer token-1")
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
