package main

import (
	"context"
	"testing"

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
