package httpapi_test

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/go-cmp/cmp"

	"mediarec"
	"mediarec/internal/catalog"
	"mediarec/internal/httpapi"
	"mediarec/internal/sqlite"
)

// newCatalog returns a catalog service on a fresh SQLite database.
func newCatalog(t *testing.T) *catalog.Service {
	t.Helper()
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "catalog.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	store, err := sqlite.NewCatalogStore(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	return catalog.New(store, slog.New(slog.DiscardHandler), nil)
}

// mustCreateItems creates one item per type and title, in order, and
// returns their ids.
func mustCreateItems(t *testing.T, svc *catalog.Service, items ...*mediarec.Item) []int64 {
	t.Helper()
	ids := make([]int64, len(items))
	for i, it := range items {
		if err := svc.CreateItem(context.Background(), it); err != nil {
			t.Fatal(err)
		}
		ids[i] = it.ID
	}
	return ids
}

func itemIDs(items []*mediarec.Item) []int64 {
	ids := []int64{}
	for _, it := range items {
		ids = append(ids, it.ID)
	}
	return ids
}

func TestImageURL(t *testing.T) {
	app := newApp(t)
	r := do(t, app, "POST", "/v1/items", `{"type":"book","title":"Dune","image_url":" https://images.example.com/dune.jpg "}`, true)
	if r.status != 201 {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	item := decode[mediarec.Item](t, r)
	if item.ImageURL != "https://images.example.com/dune.jpg" {
		t.Fatalf("image_url = %q, want it trimmed", item.ImageURL)
	}
	target := fmt.Sprintf("/v1/items/%d", item.ID)
	tests := []struct {
		name        string
		patch       string
		wantURL     string
		wantVersion int
	}{
		// Not content: a new cover alone keeps the version.
		{"new cover", `{"image_url":"http://images.example.com/dune2.png"}`, "http://images.example.com/dune2.png", 1},
		{"no cover", `{"image_url":""}`, "", 1},
		{"content", `{"title":"Dune Messiah","image_url":"https://images.example.com/m.jpg"}`, "https://images.example.com/m.jpg", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := do(t, app, "PATCH", target, tt.patch, true)
			if r.status != 200 {
				t.Fatalf("patch: %d %s", r.status, r.body)
			}
			r = do(t, app, "GET", target, "", false)
			if tt.wantURL == "" && strings.Contains(string(r.body), "image_url") {
				t.Fatalf("an item without a cover has an image_url key: %s", r.body)
			}
			got := decode[mediarec.Item](t, r)
			if got.ImageURL != tt.wantURL || got.Version != tt.wantVersion {
				t.Fatalf("image_url %q version %d, want %q %d", got.ImageURL, got.Version, tt.wantURL, tt.wantVersion)
			}
		})
	}
}

func TestListByIDs(t *testing.T) {
	svc := newCatalog(t)
	app := appFor(svc, nil)
	ids := mustCreateItems(t, svc,
		&mediarec.Item{Type: mediarec.TypeMovie, Title: "A"},
		&mediarec.Item{Type: mediarec.TypeBook, Title: "B"},
		&mediarec.Item{Type: mediarec.TypePodcast, Title: "C"},
	)
	many := make([]string, catalog.MaxIDs)
	for i := range many {
		many[i] = fmt.Sprint(i + 1)
	}
	tests := []struct {
		name   string
		query  string
		want   []int64
		status int
		field  string
	}{
		{name: "in the order given", query: fmt.Sprintf("%d,%d,%d", ids[2], ids[0], ids[1]), want: []int64{ids[2], ids[0], ids[1]}},
		{name: "unknown left out", query: fmt.Sprintf("999999,%d", ids[1]), want: []int64{ids[1]}},
		{name: "repeats once", query: fmt.Sprintf("%d,%%20%d,%d", ids[1], ids[1], ids[0]), want: []int64{ids[1], ids[0]}},
		{name: "none", query: "", want: []int64{}},
		{name: "at most", query: strings.Join(many, ","), want: ids},
		{name: "too many", query: strings.Join(many, ",") + ",101", status: 400, field: "ids"},
		{name: "not a number", query: "1,two", status: 400, field: "ids"},
		{name: "not positive", query: "0", status: 400, field: "ids"},
		{name: "with a type", query: "1&type=movie", status: 400, field: "type"},
		{name: "with a genre", query: "1&genre=drama", status: 400, field: "genre"},
		{name: "with a title", query: "1&q=a", status: 400, field: "q"},
		{name: "with a cursor", query: "1&cursor=" + catalog.EncodeCursor(1), status: 400, field: "cursor"},
		{name: "with a status", query: "1&embedding_status=failed", status: 400, field: "embedding_status"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := do(t, app, "GET", "/v1/items?ids="+tt.query, "", false)
			if tt.status != 0 {
				if r.status != tt.status || !hasField(decode[httpapi.Problem](t, r).Errors, tt.field) {
					t.Fatalf("%d %s, want %d naming %q", r.status, r.body, tt.status, tt.field)
				}
				return
			}
			if r.status != 200 {
				t.Fatalf("%d %s", r.status, r.body)
			}
			body := decode[map[string][]*mediarec.Item](t, r)
			if _, ok := body["next_cursor"]; ok || len(body) != 1 {
				t.Fatalf("keys of %s, want items alone", r.body)
			}
			if diff := cmp.Diff(tt.want, itemIDs(body["items"])); diff != "" {
				t.Fatalf("ids (-want +got):\n%s", diff)
			}
		})
	}
}

func TestListByEmbeddingStatus(t *testing.T) {
	svc := newCatalog(t)
	app := appFor(svc, nil)
	ids := mustCreateItems(t, svc,
		&mediarec.Item{Type: mediarec.TypeMovie, Title: "A"},
		&mediarec.Item{Type: mediarec.TypeBook, Title: "B"},
		&mediarec.Item{Type: mediarec.TypeMovie, Title: "C"},
		&mediarec.Item{Type: mediarec.TypeMovie, Title: "D"},
		&mediarec.Item{Type: mediarec.TypeMovie, Title: "E"},
	)
	for _, i := range []int{0, 1, 2, 4} {
		if err := svc.RecordEmbeddings(context.Background(), []mediarec.EmbedResult{{ItemID: ids[i], Version: 1, Status: mediarec.EmbeddingFailed, Error: "timeout"}})[0]; err != nil {
			t.Fatal(err)
		}
	}
	var got []int64
	cursor := ""
	for pages := 0; ; pages++ {
		r := do(t, app, "GET", "/v1/items?embedding_status=failed&type=movie&limit=2&cursor="+cursor, "", false)
		if r.status != 200 || pages > 2 {
			t.Fatalf("page %d: %d %s", pages, r.status, r.body)
		}
		page := decode[catalog.Page](t, r)
		for _, it := range page.Items {
			if it.EmbeddingError != "timeout" {
				t.Fatalf("item %d: embedding_error %q", it.ID, it.EmbeddingError)
			}
		}
		got = append(got, itemIDs(page.Items)...)
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	if diff := cmp.Diff([]int64{ids[0], ids[2], ids[4]}, got); diff != "" {
		t.Fatalf("failed movies (-want +got):\n%s", diff)
	}
	page := decode[catalog.Page](t, do(t, app, "GET", "/v1/items?embedding_status=pending", "", false))
	if diff := cmp.Diff([]int64{ids[3]}, itemIDs(page.Items)); diff != "" {
		t.Fatalf("pending (-want +got):\n%s", diff)
	}
	r := do(t, app, "GET", "/v1/items?embedding_status=broken", "", false)
	if r.status != 400 || !hasField(decode[httpapi.Problem](t, r).Errors, "embedding_status") {
		t.Fatalf("unknown status: %d %s", r.status, r.body)
	}
}

func TestTags(t *testing.T) {
	svc := newCatalog(t)
	app := appFor(svc, nil)
	mustCreateItems(t, svc,
		&mediarec.Item{Type: mediarec.TypeMovie, Title: "A", Tags: []string{"space", "heist"}},
		&mediarec.Item{Type: mediarec.TypeMovie, Title: "B", Tags: []string{"space"}},
		&mediarec.Item{Type: mediarec.TypeBook, Title: "C", Tags: []string{"dragons", "heist"}},
		&mediarec.Item{Type: mediarec.TypePodcast, Title: "D", Tags: []string{"news"}},
	)
	tests := []struct {
		name   string
		query  string
		want   string
		status int
		field  string
	}{
		{name: "all types", query: "", want: `{"tags":[{"tag":"heist","items":2},{"tag":"space","items":2},{"tag":"dragons","items":1},{"tag":"news","items":1}]}`},
		{name: "some types", query: "?types=movie,book&limit=2", want: `{"tags":[{"tag":"heist","items":2},{"tag":"space","items":2}]}`},
		{name: "untagged type", query: "?types=documentary", want: `{"tags":[]}`},
		{name: "unknown type", query: "?types=vinyl", status: 400, field: "types"},
		{name: "limit too large", query: "?limit=201", status: 400, field: "limit"},
		{name: "limit not a number", query: "?limit=many", status: 400, field: "limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := do(t, app, "GET", "/v1/tags"+tt.query, "", false)
			if tt.status != 0 {
				if r.status != tt.status || !hasField(decode[httpapi.Problem](t, r).Errors, tt.field) {
					t.Fatalf("%d %s, want %d naming %q", r.status, r.body, tt.status, tt.field)
				}
				return
			}
			if r.status != 200 || string(r.body) != tt.want {
				t.Fatalf("%d %s, want %s", r.status, r.body, tt.want)
			}
		})
	}
}

func TestAdminEmbeddingByType(t *testing.T) {
	svc := newCatalog(t)
	app := httpapi.NewApp(httpapi.Options{Name: "test", RequestTimeout: 5 * time.Second, Logger: slog.New(slog.DiscardHandler)})
	httpapi.RegisterAdminRoutes(app, svc, nil, httpapi.RequireAdmin(adminToken, nil))
	ids := mustCreateItems(t, svc,
		&mediarec.Item{Type: mediarec.TypeMovie, Title: "A"},
		&mediarec.Item{Type: mediarec.TypeMovie, Title: "B"},
		&mediarec.Item{Type: mediarec.TypeBook, Title: "C"},
	)
	for i, st := range []mediarec.EmbeddingStatus{mediarec.EmbeddingDone, mediarec.EmbeddingFailed} {
		if err := svc.RecordEmbeddings(context.Background(), []mediarec.EmbedResult{{ItemID: ids[i], Version: 1, Status: st}})[0]; err != nil {
			t.Fatal(err)
		}
	}
	r := do(t, app, "GET", "/v1/admin/embedding", "", true)
	if r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	want := fiber.Map{
		"pending": 1.0, "done": 1.0, "failed": 1.0,
		"by_type": map[string]any{
			"movie":       map[string]any{"pending": 0.0, "done": 1.0, "failed": 1.0},
			"book":        map[string]any{"pending": 1.0, "done": 0.0, "failed": 0.0},
			"documentary": map[string]any{"pending": 0.0, "done": 0.0, "failed": 0.0},
			"podcast":     map[string]any{"pending": 0.0, "done": 0.0, "failed": 0.0},
		},
	}
	if diff := cmp.Diff(map[string]any(want), decode[map[string]any](t, r)); diff != "" {
		t.Fatalf("body (-want +got):\n%s", diff)
	}
}
