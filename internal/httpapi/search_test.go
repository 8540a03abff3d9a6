package httpapi_test

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"mediarec"
	"mediarec/internal/httpapi"
	"mediarec/internal/recs"
)

type emptySearch struct{}

func (emptySearch) Search(context.Context, recs.SearchQuery) (*recs.SearchResult, error) {
	return &recs.SearchResult{}, nil
}

func (emptySearch) Similar(context.Context, int64, []mediarec.ItemType, int) ([]recs.ScoredItem, error) {
	return nil, nil
}

// The stale mark belongs to the answers built from followed events, not to
// the health checks or other services sharing the all-in-one listener.
func TestMarkStaleOnlyOnItsRoutes(t *testing.T) {
	app := httpapi.NewApp(httpapi.Options{
		Name: "test", BodyLimit: 1 << 20, RequestTimeout: 5 * time.Second,
		Logger: slog.New(slog.DiscardHandler),
	})
	httpapi.RegisterSearchRoutes(app, emptySearch{}, httpapi.MarkStale(func() bool { return false }))
	httpapi.NotFound(app)
	for _, tc := range []struct {
		path  string
		stale string
	}{
		{"/v1/search?q=space", "events"},
		{"/v1/items/1/similar", "events"},
		{"/healthz", ""},
		{"/v1/nothing-here", ""},
	} {
		res, err := app.Test(httptest.NewRequest("GET", tc.path, nil))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if got := res.Header.Get(httpapi.HeaderStale); got != tc.stale {
			t.Errorf("%s: %s %q, want %q", tc.path, httpapi.HeaderStale, got, tc.stale)
		}
	}
}
