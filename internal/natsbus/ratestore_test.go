package natsbus_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"mediarec"
	"mediarec/internal/natsbus"
	"mediarec/internal/natsbus/natstest"
	"mediarec/internal/ratelimit"
	"mediarec/internal/ratelimit/ratelimittest"
)

var _ ratelimit.Store = (*natsbus.RateStore)(nil)

// processBuses returns n buses on one server and namespace, as n processes
// of a deployment have: on the server at TEST_NATS_URL, or one bus on the
// embedded server, which takes no other connection.
func processBuses(tb testing.TB, external bool, n int) []*natsbus.Bus {
	tb.Helper()
	if !external {
		return slices.Repeat([]*natsbus.Bus{natstest.Embedded(tb)}, n)
	}
	url, ns := natstest.ExternalConfig(tb)
	ctx := context.Background()
	buses := make([]*natsbus.Bus, n)
	for i := range buses {
		b, err := natsbus.Open(ctx, natsbus.Options{URL: url, Namespace: ns}, slog.New(slog.DiscardHandler))
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { b.Close() })
		buses[i] = b
	}
	return buses
}

// MustRateStore returns b's store of the rate limiter name.
func MustRateStore(tb testing.TB, b *natsbus.Bus, name string) *natsbus.RateStore {
	tb.Helper()
	s, err := b.RateStore(context.Background(), name)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func TestRateStore(t *testing.T) {
	for name, external := range map[string]bool{"embedded": false, "external": true} {
		t.Run(name, func(t *testing.T) {
			buses, ctx := processBuses(t, external, 2), context.Background()
			n := 0
			ratelimittest.TestStore(t, func(tb testing.TB) ratelimit.Store {
				n++
				return MustRateStore(tb, buses[0], fmt.Sprint("conformance", n))
			})

			// Two processes' stores of one name share the state; other
			// names have their own.
			a, b := MustRateStore(t, buses[0], "embed.openai"), MustRateStore(t, buses[1], "embed.openai")
			if err := a.Put(ctx, []byte("x"), 0); err != nil {
				t.Fatal(err)
			}
			data, rev, err := b.Get(ctx)
			if err != nil || string(data) != "x" || rev == 0 {
				t.Fatalf("the other process's Get = %q, %d, %v", data, rev, err)
			}
			if err := a.Put(ctx, []byte("y"), rev); err != nil {
				t.Fatal(err)
			}
			if err := b.Put(ctx, []byte("z"), rev); !errors.Is(err, ratelimit.ErrConflict) {
				t.Fatalf("stale Put from the other process: %v, want ErrConflict", err)
			}
			if data, rev, err := MustRateStore(t, buses[1], "embed.other").Get(ctx); data != nil || rev != 0 || err != nil {
				t.Fatalf("another name's Get = %q, %d, %v", data, rev, err)
			}
		})
	}
}

func TestRateStoreName(t *testing.T) {
	b := natstest.Embedded(t)
	tests := []struct {
		name string
		code string
	}{
		{name: "embed", code: ""},
		{name: "embed.openai_text-embedding-3-small", code: ""},
		{name: "", code: mediarec.EINVALID},
		{name: "a b", code: mediarec.EINVALID},
		{name: ".a", code: mediarec.EINVALID},
		{name: "a..b", code: mediarec.EINVALID},
		{name: "a.*", code: mediarec.EINVALID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := b.RateStore(context.Background(), tt.name); mediarec.ErrorCode(err) != tt.code {
				t.Errorf("RateStore(%q): %v, want code %q", tt.name, err, tt.code)
			}
		})
	}
}

// TestRateStoreSharedWindow runs two processes' limiters on one store
// against the real clock: the starts they record respect the limit in
// every Period.
func TestRateStoreSharedWindow(t *testing.T) {
	const period = 2 * time.Second
	const limit = 100 // bulk work: 90
	for name, external := range map[string]bool{"embedded": false, "external": true} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			type request struct {
				start  time.Time
				tokens int
				query  bool
			}
			var mu sync.Mutex
			var requests []request
			var wg sync.WaitGroup
			for p, b := range processBuses(t, external, 2) {
				w, err := ratelimit.New(MustRateStore(t, b, "embedder"), ratelimit.Config{Tokens: limit, Period: period})
				if err != nil {
					t.Fatal(err)
				}
				for g := range 2 {
					wg.Go(func() {
						for i := range 2 {
							r := request{tokens: 30 + (p*17+g*7+i*13)%31, query: g == 1}
							ticket, err := w.Wait(context.Background(), r.tokens, r.query)
							if err != nil {
								t.Error(err)
								return
							}
							if now := time.Now(); now.Before(ticket.Start()) {
								t.Errorf("Wait returned at %s, before the start it recorded, %s", now, ticket.Start())
							}
							r.start = ticket.Start()
							mu.Lock()
							requests = append(requests, r)
							mu.Unlock()
						}
					})
				}
			}
			wg.Wait()
			if len(requests) != 8 {
				t.Fatalf("%d requests done, want 8", len(requests))
			}
			slices.SortFunc(requests, func(a, b request) int { return a.start.Compare(b.start) })
			for _, a := range requests {
				n, sum, bulk := 0, 0, true
				for _, r := range requests {
					if !r.start.Before(a.start) && r.start.Before(a.start.Add(period)) {
						n, sum, bulk = n+1, sum+r.tokens, bulk && !r.query
					}
				}
				if n > 1 && (sum > limit || bulk && sum > limit*9/10) {
					t.Errorf("the %s from %s holds %d requests of %d tokens (bulk only: %v)",
						period, a.start.Format(time.StampMilli), n, sum, bulk)
				}
			}
			if d := requests[len(requests)-1].start.Sub(requests[0].start); d < period {
				t.Errorf("all requests started within %s: the limit did not hold any back", d)
			}
		})
	}
}
