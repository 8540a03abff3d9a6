package web_test

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"

	"mediarec/web"
)

func TestRegister(t *testing.T) {
	app := fiber.New()
	web.Register(app)
	tests := []struct {
		path, ctype, contains string
		status                int
	}{
		{"/", "text/html", `src="/js/app.js"`, 200},
		{"/js/app.js", "javascript", "routes", 200},
		{"/js/foryou.js", "javascript", "/v1/recommendations?", 200},
		{"/app.css", "text/css", "body", 200},
		{"/index.html", "", "", 404}, // served at / only
		{"/v1/items", "", "", 404},   // API paths are not the UI's
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			res, err := app.Test(httptest.NewRequest("GET", tt.path, nil))
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			if res.StatusCode != tt.status || !strings.Contains(res.Header.Get("Content-Type"), tt.ctype) || !strings.Contains(string(body), tt.contains) {
				t.Fatalf("GET %s: %d %q %.100s", tt.path, res.StatusCode, res.Header.Get("Content-Type"), body)
			}
			if tt.status == 200 && !strings.Contains(res.Header.Get("Content-Security-Policy"), "default-src 'self'") {
				t.Errorf("GET %s: Content-Security-Policy %q", tt.path, res.Header.Get("Content-Security-Policy"))
			}
		})
	}
}

// TestRevalidate: a reload asks whether each file changed and gets a 304
// while it has not.
func TestRevalidate(t *testing.T) {
	app := fiber.New()
	web.Register(app)
	res, err := app.Test(httptest.NewRequest("GET", "/js/app.js", nil))
	if err != nil {
		t.Fatal(err)
	}
	etag := res.Header.Get("ETag")
	for _, tt := range []struct {
		ifNoneMatch string
		want        int
	}{{etag, 304}, {`"other"`, 200}} {
		req := httptest.NewRequest("GET", "/js/app.js", nil)
		req.Header.Set("If-None-Match", tt.ifNoneMatch)
		res, err := app.Test(req)
		if err != nil {
			t.Fatal(err)
		}
		if res.StatusCode != tt.want {
			t.Errorf("If-None-Match %s: %d, want %d", tt.ifNoneMatch, res.StatusCode, tt.want)
		}
	}
}
