package embed

import (
	"context"
	"testing"
)

// BenchmarkLocalEmbed measures Embed of real catalog item texts with the
// LSA of dimension 256 fitted on them, on one goroutine: items/s is the
// throughput per core (target ≥ 5,000).
func BenchmarkLocalEmbed(b *testing.B) {
	m, items := mustFitted(b)
	benchmarkEmbed(b, m, itemTexts(items))
}

// BenchmarkHashingEmbed is BenchmarkLocalEmbed before the first fit.
func BenchmarkHashingEmbed(b *testing.B) {
	benchmarkEmbed(b, NewHashing(256), itemTexts(mustCatalog(b)))
}

func benchmarkEmbed(b *testing.B, e Embedder, texts []string) {
	const batch = 64 // a typical embed-worker batch
	n := 0
	for b.Loop() {
		start := n % (len(texts) - batch)
		if _, err := e.Embed(context.Background(), texts[start:start+batch]); err != nil {
			b.Fatal(err)
		}
		n += batch
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "items/s")
}

// BenchmarkFitLSA measures a fit of dimension 256 on MovieLens + TMDB
// (14.5k items), on all processors.
func BenchmarkFitLSA(b *testing.B) {
	texts := itemTexts(mustCatalog(b))
	fits := 0
	for b.Loop() {
		if _, err := FitLSA(texts, 256); err != nil {
			b.Fatal(err)
		}
		fits++
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(fits), "s/fit")
}
