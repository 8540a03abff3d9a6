package metrics_test

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"mediarec/internal/metrics"
)

// TestViewsCreateSeries: a role's view creates its series at zero, so that
// dashboards and alerts see them before the first event, and counts into
// them; families of roles the process does not run stay empty.
func TestViewsCreateSeries(t *testing.T) {
	reg := prometheus.NewRegistry()
	s := metrics.New(reg)
	jobs := s.Jobs()
	jobs.Settled("done")
	s.Cache("items").Lookup(2, 1)
	s.OutboxDepth("catalog").Set(7)

	want := `
# HELP mediarec_cache_hits_total Lookups answered by a cache, by cache.
# TYPE mediarec_cache_hits_total counter
mediarec_cache_hits_total{cache="items"} 2
# HELP mediarec_cache_misses_total Lookups a cache could not answer, by cache.
# TYPE mediarec_cache_misses_total counter
mediarec_cache_misses_total{cache="items"} 1
# HELP mediarec_embed_jobs_total Embed jobs settled by a worker, by result: done (vector written or deleted), failed (reported failed for good), retried (asked for redelivery).
# TYPE mediarec_embed_jobs_total counter
mediarec_embed_jobs_total{result="done"} 1
mediarec_embed_jobs_total{result="failed"} 0
mediarec_embed_jobs_total{result="retried"} 0
# HELP mediarec_outbox_depth Entries waiting in an outbox for the relay, by outbox (the service that owns it).
# TYPE mediarec_outbox_depth gauge
mediarec_outbox_depth{outbox="catalog"} 7
`
	names := []string{"mediarec_cache_hits_total", "mediarec_cache_misses_total", "mediarec_embed_jobs_total", "mediarec_outbox_depth", "mediarec_recommendations_total"}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), names...); err != nil {
		t.Fatal(err)
	}
}
