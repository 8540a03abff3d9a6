package httpapi_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"mediarec"
	"mediarec/internal/catalog"
	"mediarec/internal/httpapi"
)

const adminToken = "test-admin-token"

// newApp serves the item routes over a real catalog service on SQLite.
func newApp(t *testing.T) *fiber.App {
	t.Helper()
	return appFor(newCatalog(t), nil)
}

func appFor(svc httpapi.ItemService, checks map[string]func(context.Context) error) *fiber.App {
	app := httpapi.NewApp(httpapi.Options{
		Name: "test", BodyLimit: 8 << 20, RequestTimeout: 5 * time.Second,
		Logger: slog.New(slog.DiscardHandler), Checks: checks,
	})
	httpapi.RegisterItemRoutes(app, svc, httpapi.RequireAdmin(adminToken, nil))
	httpapi.NotFound(app)
	return app
}

type response struct {
	status int
	ctype  string
	body   []byte
}

func do(t *testing.T, app *fiber.App, method, target, body string, auth bool) response {
	t.Helper()
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if auth {
		req.Header.Set("Authorization", "Bearer "+adminToken)
	}
	res, err := app.Test(req, 10_000)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{status: res.StatusCode, ctype: res.Header.Get("Content-Type"), body: b}
}

func decode[T any](t *testing.T, r response) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
	return v
}

const interstellar = `{"external_id":"ml:1","type":"movie","title":"Interstellar","genres":["Sci-Fi"],"year":2014}`

func TestBadInput(t *testing.T) {
	app := newApp(t)
	do(t, app, "POST", "/v1/items", interstellar, true)
	tests := []struct {
		name, method, target, body string
		wantStatus                 int
		wantField                  string // a field the problem must name, if any
		wantDetail                 string // a substring of the detail, if any
	}{
		{"malformed json", "POST", "/v1/items", `{"type":"movie",`, 400, "", "Malformed JSON"},
		{"not an object", "POST", "/v1/items", `[1,2]`, 400, "", "expected an object"},
		{"trailing data", "POST", "/v1/items", `{"type":"movie","title":"x"} {}`, 400, "", "after the first value"},
		{"empty body", "POST", "/v1/items", ``, 400, "", "empty"},
		{"unknown type", "POST", "/v1/items", `{"type":"vinyl","title":"x"}`, 400, "type", ""},
		{"empty title", "POST", "/v1/items", `{"type":"movie","title":"   "}`, 400, "title", ""},
		{"wrong field type", "POST", "/v1/items", `{"type":"movie","title":"x","year":"1999"}`, 400, "year", ""},
		{"unknown field", "POST", "/v1/items", `{"type":"movie","titel":"x"}`, 400, "titel", ""},
		{"blank genre dropped, long genre refused", "POST", "/v1/items", `{"type":"movie","title":"x","genres":["", "` + strings.Repeat("g", 101) + `"]}`, 400, "genres[0]", ""},
		{"duplicate external id", "POST", "/v1/items", interstellar, 409, "", "already exists"},
		{"bad cursor", "GET", "/v1/items?cursor=garbage!", "", 400, "cursor", ""},
		{"non-numeric limit", "GET", "/v1/items?limit=ten", "", 400, "limit", ""},
		{"limit too large", "GET", "/v1/items?limit=100000", "", 400, "limit", ""},
		{"negative limit", "GET", "/v1/items?limit=-1", "", 400, "limit", ""},
		{"unknown type filter", "GET", "/v1/items?type=vinyl", "", 400, "type", ""},
		{"non-numeric id", "GET", "/v1/items/abc", "", 400, "id", ""},
		{"unknown id", "GET", "/v1/items/987654", "", 404, "", "not found"},
		{"patch unknown id", "PATCH", "/v1/items/987654", `{"title":"x"}`, 404, "", ""},
		{"patch empties title", "PATCH", "/v1/items/1", `{"title":""}`, 400, "title", ""},
		{"delete unknown", "DELETE", "/v1/items/987654", "", 404, "", ""},
		{"unknown route", "GET", "/v1/nothing", "", 404, "", "No such route"},
		{"empty batch", "POST", "/v1/items/batch", "\n\n", 400, "", "empty"},
		{"upsert without body", "PUT", "/v1/items/by-external-id/x", "", 400, "", "empty"},
		{"relative image url", "POST", "/v1/items", `{"type":"movie","title":"x","image_url":"/covers/x.jpg"}`, 400, "image_url", ""},
		{"script image url", "POST", "/v1/items", `{"type":"movie","title":"x","image_url":"javascript:alert(1)"}`, 400, "image_url", ""},
		{"ftp image url", "POST", "/v1/items", `{"type":"movie","title":"x","image_url":"ftp://example.com/x.jpg"}`, 400, "image_url", ""},
		{"long image url", "POST", "/v1/items", `{"type":"movie","title":"x","image_url":"https://example.com/` + strings.Repeat("x", 2000) + `"}`, 400, "image_url", ""},
		{"patch bad image url", "PATCH", "/v1/items/1", `{"image_url":"not a url"}`, 400, "image_url", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := do(t, app, tt.method, tt.target, tt.body, true)
			if r.status != tt.wantStatus {
				t.Fatalf("status = %d, want %d: %s", r.status, tt.wantStatus, r.body)
			}
			if r.ctype != "application/problem+json" {
				t.Fatalf("content type = %q, want application/problem+json", r.ctype)
			}
			p := decode[httpapi.Problem](t, r)
			if p.Status != tt.wantStatus || p.Type == "" || p.Title == "" || p.Detail == "" {
				t.Fatalf("incomplete problem: %+v", p)
			}
			if tt.wantDetail != "" && !strings.Contains(p.Detail, tt.wantDetail) {
				t.Fatalf("detail %q does not mention %q", p.Detail, tt.wantDetail)
			}
			if tt.wantField != "" && !hasField(p.Errors, tt.wantField) {
				t.Fatalf("errors %+v do not name %q", p.Errors, tt.wantField)
			}
		})
	}
}

func hasField(errs []mediarec.FieldError, field string) bool {
	for _, e := range errs {
		if e.Field == field && e.Message != "" {
			return true
		}
	}
	return false
}

func TestBodyTooLarge(t *testing.T) {
	// app.Test bypasses the server's body limit, so this one goes through a
	// real listener.
	app := newApp(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go app.Listener(ln)
	t.Cleanup(func() { app.Shutdown() })

	// The server answers from the declared length, before the body arrives,
	// and closes the connection; a raw connection reads that answer.
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /v1/items/batch HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer %s\r\nContent-Length: %d\r\n\r\n", adminToken, 10<<20)
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusRequestEntityTooLarge || res.Header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("10 MB body: status %d, type %q: %s", res.StatusCode, res.Header.Get("Content-Type"), body)
	}
	if p := decode[httpapi.Problem](t, response{body: body}); p.Status != 413 || p.Detail == "" {
		t.Fatalf("problem = %+v", p)
	}
	if n := len(decode[catalog.Page](t, do(t, app, "GET", "/v1/items", "", false)).Items); n != 0 {
		t.Fatalf("%d items stored after a refused body", n)
	}
}

func TestBatch(t *testing.T) {
	app := newApp(t)
	body := strings.Join([]string{
		`{"external_id":"a","type":"movie","title":"Alien","year":1979}`,
		`{"external_id":"b","type":"vinyl","title":"Bad type"}`,
		``,
		`{"external_id":"c","type":"book","title":"Contact"`,
		`{"type":"podcast","title":"Radiolab"}`,
		`{"external_id":"a","type":"movie","title":"Alien again"}`,
		`{"external_id":"d","type":"documentary","title":""}`,
	}, "\n")
	r := do(t, app, "POST", "/v1/items/batch", body, true)
	if r.status != 200 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	res := decode[mediarec.BatchResult](t, r)
	if res.Created != 2 || res.Updated != 0 || res.Unchanged != 0 {
		t.Fatalf("result = %+v, want 2 created", res)
	}
	wantFailed := map[int]string{2: "type", 4: "", 6: "external_id", 7: "title"}
	if len(res.Failed) != len(wantFailed) {
		t.Fatalf("failed = %+v, want lines 2, 4, 6, 7", res.Failed)
	}
	for _, f := range res.Failed {
		field, ok := wantFailed[f.Line]
		if !ok || len(f.Errors) == 0 || f.Errors[0].Field != field || f.Errors[0].Message == "" {
			t.Fatalf("failure %+v is not one of %v", f, wantFailed)
		}
	}

	// Re-sending the same file changes nothing.
	res = decode[mediarec.BatchResult](t, do(t, app, "POST", "/v1/items/batch", body, true))
	if res.Created != 0 || res.Updated != 0 || res.Unchanged != 2 {
		t.Fatalf("second send = %+v, want 2 unchanged", res)
	}
	page := decode[catalog.Page](t, do(t, app, "GET", "/v1/items", "", false))
	if len(page.Items) != 2 {
		t.Fatalf("%d items stored, want 2", len(page.Items))
	}
}

func TestItemLifecycle(t *testing.T) {
	app := newApp(t)
	r := do(t, app, "PUT", "/v1/items/by-external-id/ml%3A7", `{"type":"movie","title":"Sabrina"}`, true)
	if r.status != 201 {
		t.Fatalf("upsert create: %d %s", r.status, r.body)
	}
	item := decode[mediarec.Item](t, r)
	if item.ExternalID != "ml:7" || item.EmbeddingStatus != mediarec.EmbeddingPending {
		t.Fatalf("upserted item = %+v", item)
	}
	r = do(t, app, "PUT", "/v1/items/by-external-id/ml:7", `{"type":"movie","title":"Sabrina","year":1995}`, true)
	if r.status != 200 || decode[mediarec.Item](t, r).Year != 1995 {
		t.Fatalf("upsert update: %d %s", r.status, r.body)
	}
	target := "/v1/items/" + jsonNumber(item.ID)
	r = do(t, app, "PATCH", target, `{"genres":["Comedy","Romance"]}`, true)
	if r.status != 200 || len(decode[mediarec.Item](t, r).Genres) != 2 {
		t.Fatalf("patch: %d %s", r.status, r.body)
	}
	if r = do(t, app, "DELETE", target, "", true); r.status != 204 {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	if r = do(t, app, "GET", target, "", false); r.status != 404 {
		t.Fatalf("get after delete: %d", r.status)
	}
}

func TestListPagesAndFilters(t *testing.T) {
	app := newApp(t)
	var lines []string
	for i := range 25 {
		typ := "movie"
		if i%5 == 0 {
			typ = "documentary"
		}
		lines = append(lines, `{"external_id":"x`+jsonNumber(int64(i))+`","type":"`+typ+`","title":"Film `+jsonNumber(int64(i))+`","genres":["Drama"]}`)
	}
	do(t, app, "POST", "/v1/items/batch", strings.Join(lines, "\n"), true)

	seen, cursor := 0, ""
	for pages := 0; ; pages++ {
		page := decode[catalog.Page](t, do(t, app, "GET", "/v1/items?limit=10&cursor="+cursor, "", false))
		seen += len(page.Items)
		if page.NextCursor == "" {
			if pages != 2 {
				t.Fatalf("%d pages, want 3", pages+1)
			}
			break
		}
		cursor = page.NextCursor
	}
	if seen != 25 {
		t.Fatalf("paged through %d items, want 25", seen)
	}
	page := decode[catalog.Page](t, do(t, app, "GET", "/v1/items?type=documentary&genre=drama", "", false))
	if len(page.Items) != 5 {
		t.Fatalf("%d documentaries, want 5", len(page.Items))
	}
}

func TestAdminToken(t *testing.T) {
	app := newApp(t)
	tests := []struct {
		name   string
		header string
		want   int
	}{
		{"no header", "", 401},
		{"wrong token", "Bearer nope", 401},
		{"wrong scheme", "Basic " + adminToken, 401},
		{"right token", "Bearer " + adminToken, 201},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest("POST", "/v1/items", strings.NewReader(`{"type":"movie","title":"`+tt.name+`"}`))
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

// fakeItems fails or panics on demand, to test what clients see then.
type fakeItems struct {
	httpapi.ItemService
	findItemByID func(ctx context.Context, id int64) (*mediarec.Item, error)
}

func (f fakeItems) FindItemByID(ctx context.Context, id int64) (*mediarec.Item, error) {
	return f.findItemByID(ctx, id)
}

func TestInternalErrorsStayInside(t *testing.T) {
	tests := []struct {
		name string
		fn   func(ctx context.Context, id int64) (*mediarec.Item, error)
		want int
	}{
		{"driver error", func(context.Context, int64) (*mediarec.Item, error) {
			return nil, errors.New("pq: password authentication failed for secret-user")
		}, 500},
		{"panic", func(context.Context, int64) (*mediarec.Item, error) { panic("secret-user exploded") }, 500},
		{"unavailable", func(context.Context, int64) (*mediarec.Item, error) {
			return nil, mediarec.Errorf(mediarec.EUNAVAILABLE, "The catalog database is not answering.")
		}, 503},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app := appFor(fakeItems{findItemByID: tt.fn}, nil)
			r := do(t, app, "GET", "/v1/items/1", "", false)
			if r.status != tt.want || r.ctype != "application/problem+json" {
				t.Fatalf("status %d type %q, want %d problem+json", r.status, r.ctype, tt.want)
			}
			if bytes.Contains(r.body, []byte("secret-user")) {
				t.Fatalf("response leaks the cause: %s", r.body)
			}
		})
	}
}

func TestOperations(t *testing.T) {
	var dbErr error
	app := appFor(fakeItems{}, map[string]func(context.Context) error{
		"catalog_db": func(context.Context) error { return dbErr },
	})
	if r := do(t, app, "GET", "/healthz", "", false); r.status != 200 {
		t.Fatalf("healthz: %d", r.status)
	}
	if r := do(t, app, "GET", "/readyz", "", false); r.status != 200 {
		t.Fatalf("readyz while ready: %d %s", r.status, r.body)
	}
	dbErr = errors.New("connection refused")
	r := do(t, app, "GET", "/readyz", "", false)
	if r.status != 503 || !bytes.Contains(r.body, []byte("catalog_db")) {
		t.Fatalf("readyz while the db is down: %d %s", r.status, r.body)
	}
	r = do(t, app, "GET", "/metrics", "", false)
	for _, want := range []string{
		`http_requests_total{method="GET",route="/readyz",status="503"} 1`,
		`http_request_duration_seconds_bucket{method="GET",route="/healthz",status="200",le="+Inf"} 1`,
	} {
		if !bytes.Contains(r.body, []byte(want)) {
			t.Fatalf("metrics lack %s:\n%s", want, r.body)
		}
	}
}

func jsonNumber(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}
