package httpapi_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"mediarec"
	"mediarec/internal/catalog"
	"mediarec/internal/embed"
	"mediarec/internal/httpapi"
)

type fakeCounts struct{ counts catalog.EmbeddingCounts }

func (f fakeCounts) EmbeddingCounts(context.Context) (*catalog.EmbeddingCounts, error) {
	return &f.counts, nil
}

type fakeReembedder struct{ progress embed.Progress }

func (f fakeReembedder) Start(context.Context) (string, int, error) { return "", 0, nil }

func (f fakeReembedder) Progress(context.Context) (*embed.Progress, error) {
	p := f.progress
	return &p, nil
}

// GET /v1/admin/embedding shows a re-embedding under way with its failed
// items and, when too many failed to switch to it, why it waits.
func TestAdminEmbeddingReembed(t *testing.T) {
	live := mediarec.Generation{Model: "lsa-1", Dimensions: 256, Collection: "items_lsa_1"}
	target := mediarec.Generation{Model: "text-embedding-3-small", Dimensions: 1536, Collection: "items_te3s_j2"}
	const blocked = "412 of 10,000 items (4.1%) failed to embed in text-embedding-3-small; the switch waits until at most 1% fail: fix the cause"
	tests := []struct {
		name     string
		progress embed.Progress
		want     map[string]any // beside the counts
	}{
		{
			name:     "no re-embedding",
			progress: embed.Progress{Live: live},
			want:     map[string]any{"model": "lsa-1", "dimensions": 256.0, "collection": "items_lsa_1"},
		},
		{
			name:     "blocked",
			progress: embed.Progress{Live: live, Target: &target, JobID: "j2", Total: 10_000, Done: 9_588, Failed: 412, Blocked: blocked},
			want: map[string]any{"model": "lsa-1", "dimensions": 256.0, "collection": "items_lsa_1", "reembed": map[string]any{
				"live":   map[string]any{"model": "lsa-1", "dimensions": 256.0, "collection": "items_lsa_1"},
				"target": map[string]any{"model": "text-embedding-3-small", "dimensions": 1536.0, "collection": "items_te3s_j2"},
				"job_id": "j2", "total": 10_000.0, "done": 9_588.0, "failed": 412.0, "blocked": blocked,
			}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app := httpapi.NewApp(httpapi.Options{Name: "test", RequestTimeout: 5 * time.Second, Logger: slog.New(slog.DiscardHandler)})
			counts := fakeCounts{catalog.EmbeddingCounts{Total: map[mediarec.EmbeddingStatus]int{mediarec.EmbeddingDone: 9_588, mediarec.EmbeddingFailed: 412}}}
			httpapi.RegisterAdminRoutes(app, counts, fakeReembedder{tt.progress}, httpapi.RequireAdmin(adminToken, nil))
			r := do(t, app, "GET", "/v1/admin/embedding", "", true)
			if r.status != 200 {
				t.Fatalf("%d %s", r.status, r.body)
			}
			want := map[string]any{"pending": 0.0, "done": 9_588.0, "failed": 412.0, "by_type": nil}
			for k, v := range tt.want {
				want[k] = v
			}
			if diff := cmp.Diff(want, decode[map[string]any](t, r)); diff != "" {
				t.Fatalf("body (-want +got):\n%s", diff)
			}
		})
	}
}
