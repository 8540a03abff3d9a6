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
		{"/", "text/html", `id="search"`, 200},
		{"/app.js", "javascript", "/v1/recommendations?", 200},
		{"/app.css", "text/css", "body", 200},
		{"/v1/items", "", "", 404}, // API paths are not the UI's
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
		})
	}
}
