package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"mediarec"
	"mediarec/demo"
	"mediarec/ingest"
	"mediarec/internal/datatest"
	"mediarec/internal/postgres/pgtest"
)

// BenchmarkIngestMovieLens loads the 9,742 MovieLens movies through the
// batch API into an empty catalog, per store. Reading the files is part of
// each run, as it is for an operator.
func BenchmarkIngestMovieLens(b *testing.B) {
	movieLensDir := datatest.Dir(b, datatest.MovieLens)
	for _, name := range []string{"sqlite", "postgres"} {
		b.Run(name, func(b *testing.B) {
			var items int
			for range b.N {
				b.StopTimer()
				env := map[string]string{}
				if name == "postgres" {
					env["CATALOG_DATABASE_URL"] = pgtest.NewDatabase(b)
				}
				m := MustRunMain(b, env)
				b.StartTimer()
				rep, err := ingest.Run(context.Background(), ingest.Options{Server: m.URL()}, "movielens", []string{movieLensDir})
				if err != nil {
					b.Fatal(err)
				}
				if rep.Created != 9742 {
					b.Fatalf("created %d items, want 9742", rep.Created)
				}
				items += rep.Created
			}
			b.ReportMetric(float64(items)/b.Elapsed().Seconds(), "items/s")
		})
	}
}

// TestBench runs mediarec bench end to end at a small size and checks what
// a wrong setup would show: recommendations that never take the hybrid
// path, the hashing model still live, failed requests, too few queries.
func TestBench(t *testing.T) {
	dataDir := filepath.Dir(datatest.Dir(t, datatest.MovieLens))
	cfg := benchConfig{
		items: 1500, dataDir: dataDir, seed: 1, users: 10,
		duration: time.Second, clients: []int{2},
	}
	var out bytes.Buffer
	rep, err := bench(t.Context(), cfg, &out, io.Discard)
	if err != nil {
		t.Fatalf("bench: %v\n%s", err, out.String())
	}
	t.Log("\n" + out.String())
	if strings.HasPrefix(rep.embedding.Model, "hashing-") || rep.embedding.Collection == "" {
		t.Errorf("answered by model %q in collection %q, want the fitted model", rep.embedding.Model, rep.embedding.Collection)
	}
	if !strings.Contains(out.String(), rep.embedding.Model) {
		t.Errorf("the report does not name the model %s", rep.embedding.Model)
	}
	if rep.users != cfg.users || rep.ratings == 0 {
		t.Errorf("replayed %d users, %d ratings; want %d users with ratings", rep.users, rep.ratings, cfg.users)
	}
	if rep.queries != benchQueryCount {
		t.Errorf("%d distinct queries, want %d", rep.queries, benchQueryCount)
	}
	if len(rep.results) != 3 {
		t.Fatalf("%d runs, want 3 (one per route)", len(rep.results))
	}
	for _, res := range rep.results {
		if res.errors > 0 || res.requests == 0 {
			t.Errorf("%s: %d requests, %d errors (first: %v)", res.route, res.requests, res.errors, res.firstErr)
		}
		// Ten users asking again and again: all but their first answers
		// come from the cache, unless it is off.
		switch res.route {
		case "GET /v1/recommendations":
			if res.hybrid <= 0 || res.cached < 0.5 {
				t.Errorf("%s: hybrid share %.2f, cached %.2f, want > 0 and ≥ 0.5", res.route, res.hybrid, res.cached)
			}
		case "GET /v1/recommendations, uncached":
			if res.hybrid <= 0 || res.cached != 0 {
				t.Errorf("%s: hybrid share %.2f, cached %.2f, want > 0 and none", res.route, res.hybrid, res.cached)
			}
		}
	}
}

// TestBenchQueries checks the query builder on the bundled demo catalog:
// distinct queries, as many as asked, the same for a seed.
func TestBenchQueries(t *testing.T) {
	items := demoItems(t)
	a := benchQueries(items, benchQueryCount, 1)
	if len(a) != benchQueryCount {
		t.Fatalf("%d queries from %d items, want %d", len(a), len(items), benchQueryCount)
	}
	seen := map[string]bool{}
	for _, q := range a {
		k := strings.ToLower(q)
		if q == "" || seen[k] {
			t.Errorf("query %q empty or repeated", q)
		}
		seen[k] = true
	}
	if diff := cmp.Diff(a, benchQueries(items, benchQueryCount, 1)); diff != "" {
		t.Errorf("same seed, other queries (-first +second):\n%s", diff)
	}
	if cmp.Equal(a, benchQueries(items, benchQueryCount, 2)) {
		t.Error("another seed gave the same queries")
	}
	if got := benchQueries(items[:1], 50, 1); len(got) == 0 || len(got) > 50 {
		t.Errorf("one item gave %d queries, want between 1 and 50", len(got))
	}
}

func demoItems(t *testing.T) []*mediarec.Item {
	t.Helper()
	src, err := demo.Catalog()
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var items []*mediarec.Item
	dec := json.NewDecoder(src)
	for dec.More() {
		var it mediarec.Item
		if err := dec.Decode(&it); err != nil {
			t.Fatal(err)
		}
		items = append(items, &it)
	}
	return items
}

func TestBenchParseSamples(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		want    map[string]float64
		wantErr bool
	}{
		{name: "paths", body: "# HELP mediarec_recommendations_total x\n# TYPE mediarec_recommendations_total counter\n" +
			"mediarec_recommendations_total{path=\"cold_start\"} 2\nmediarec_recommendations_total{path=\"content\"} 3\n" +
			"mediarec_recommendations_total{path=\"hybrid\"} 1.5e+06\nmediarec_other_total{path=\"hybrid\"} 9\n",
			want: map[string]float64{"cold_start": 2, "content": 3, "hybrid": 1.5e6}},
		{name: "other labels", body: "mediarec_recommendations_total{path=\"hybrid\",service=\"recs\"} 4\n", want: map[string]float64{"hybrid": 4}},
		{name: "none", body: "go_goroutines 12\n", want: map[string]float64{}},
		{name: "bad value", body: "mediarec_recommendations_total{path=\"hybrid\"} many\n", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseSamples([]byte(tt.body), "mediarec_recommendations_total", "path")
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %t", err, tt.wantErr)
			}
			if !tt.wantErr {
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("(-want +got):\n%s", diff)
				}
			}
		})
	}
}

func TestBenchShares(t *testing.T) {
	before := map[string]float64{"hybrid": 10, "content": 5, "cold_start": 1, cacheHits: 7}
	after := map[string]float64{"hybrid": 40, "content": 15, "cold_start": 1, cacheHits: 17}
	if hybrid, cached := shares(before, after); hybrid != 0.75 || cached != 0.25 {
		t.Errorf("shares = %v, %v, want 0.75, 0.25", hybrid, cached)
	}
	if hybrid, cached := shares(after, after); hybrid != 0 || cached != 0 {
		t.Errorf("shares with no answers = %v, %v, want 0", hybrid, cached)
	}
}
