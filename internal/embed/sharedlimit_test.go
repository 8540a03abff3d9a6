package embed

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"mediarec/internal/natsbus"
	"mediarec/internal/natsbus/natstest"
	"mediarec/internal/ratelimit"
)

// TestRateLimitSharedByWorkers: two embed-worker processes, each with its
// own NATS connection and embedder, share one token budget through the
// bus, so that the endpoint never sees more than the budget in any window
// (the per-process limiter let each spend the whole budget). The window is
// two seconds instead of a minute, so that the test takes seconds, and the
// tokens are the fake's own count, not the embedder's estimate.
func TestRateLimitSharedByWorkers(t *testing.T) {
	const (
		period = 2 * time.Second
		budget = 2000 // tokens a period
		texts  = 24   // a worker, ~100 of the fake's tokens each
	)
	f := newOpenAIFake(t, personaOptions{})
	url, ns := natstest.ExternalConfig(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	workers := make([]*OpenAI, 2)
	for i := range workers {
		bus, err := natsbus.Open(ctx, natsbus.Options{URL: url, Namespace: ns}, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { bus.Close() })
		store, err := bus.RateStore(ctx, "embedding")
		if err != nil {
			t.Fatal(err)
		}
		limit, err := ratelimit.New(store, ratelimit.Config{Tokens: budget, Period: period})
		if err != nil {
			t.Fatal(err)
		}
		if workers[i], err = NewOpenAI(OpenAIConfig{BaseURL: f.URL, APIKey: "sk-test", Model: "text-embedding-3-small", Limiter: limit, BatchSize: 3}); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	for w, o := range workers {
		wg.Go(func() {
			batch := make([]string, texts)
			for i := range batch {
				batch[i] = fmt.Sprintf("worker %d item %d: ", w, i) + strings.Repeat("a quiet film about a long journey home, ", 14)
			}
			if _, err := o.Embed(ctx, batch); err != nil {
				t.Errorf("worker %d: %v", w, err)
			}
		})
	}
	wg.Wait()

	reqs := f.seen()
	if got, want := len(reqs), 2*(1+texts/3); got != want {
		t.Fatalf("%d requests, want %d (a probe and %d batches a worker)", got, want, texts/3)
	}
	slices.SortFunc(reqs, func(a, b personaRequest) int { return a.Time.Compare(b.Time) })
	total := 0
	for _, r := range reqs {
		total += f.requestTokens(r.Inputs)
	}
	if total <= 2*budget {
		t.Fatalf("%d tokens in all: too few for the budget to bind", total)
	}
	// The server sees a request a moment after the limiter let it go; a
	// window a little shorter than the period absorbs that delay.
	const window = period - 50*time.Millisecond
	for i, first := range reqs {
		sum := 0
		for _, r := range reqs[i:] {
			if r.Time.Sub(first.Time) >= window {
				break
			}
			sum += f.requestTokens(r.Inputs)
		}
		if sum > budget {
			t.Fatalf("%d tokens within %v from %v, budget %d", sum, window, first.Time.Format("15:04:05.000"), budget)
		}
	}
}
