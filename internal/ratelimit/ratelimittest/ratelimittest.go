// Package ratelimittest holds the conformance suite of ratelimit.Store, run
// against every implementation.
package ratelimittest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"mediarec/internal/ratelimit"
)

// TestStore checks the compare-and-set semantics of the empty store that
// open returns.
func TestStore(t *testing.T, open func(testing.TB) ratelimit.Store) {
	t.Run("sequence", func(t *testing.T) {
		s, ctx := open(t), context.Background()
		if data, rev, err := s.Get(ctx); data != nil || rev != 0 || err != nil {
			t.Fatalf("empty Get = %q, %d, %v; want nil, 0, nil", data, rev, err)
		}
		put := func(data string, rev uint64, want error) {
			t.Helper()
			if err := s.Put(ctx, []byte(data), rev); !errors.Is(err, want) || (want == nil && err != nil) {
				t.Fatalf("Put(%q, %d) = %v, want %v", data, rev, err, want)
			}
		}
		get := func(want string) uint64 {
			t.Helper()
			data, rev, err := s.Get(ctx)
			if err != nil || !bytes.Equal(data, []byte(want)) || rev == 0 {
				t.Fatalf("Get = %q, %d, %v; want %q at a revision", data, rev, err, want)
			}
			return rev
		}
		put("a", 7, ratelimit.ErrConflict) // nothing stored yet
		put("a", 0, nil)
		r1 := get("a")
		put("b", 0, ratelimit.ErrConflict) // exists already
		put("b", r1+1000, ratelimit.ErrConflict)
		put("b", r1, nil)
		r2 := get("b")
		if r2 == r1 {
			t.Fatalf("revision %d unchanged by a Put", r2)
		}
		put("c", r1, ratelimit.ErrConflict) // stale
		get("b")
		data, _, _ := s.Get(ctx)
		data[0] = 'x' // the caller's copy
		get("b")
	})
	t.Run("one of concurrent writers wins", func(t *testing.T) {
		s, ctx := open(t), context.Background()
		for round := range 3 {
			_, rev, err := s.Get(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			errs := make([]error, 6)
			for i := range errs {
				wg.Go(func() { errs[i] = s.Put(ctx, fmt.Appendf(nil, "%d.%d", round, i), rev) })
			}
			wg.Wait()
			won := -1
			for i, err := range errs {
				switch {
				case err == nil && won >= 0:
					t.Fatalf("round %d: writers %d and %d both won", round, won, i)
				case err == nil:
					won = i
				case !errors.Is(err, ratelimit.ErrConflict):
					t.Fatalf("round %d: writer %d: %v", round, i, err)
				}
			}
			if won < 0 {
				t.Fatalf("round %d: no writer won", round)
			}
			if data, _, err := s.Get(ctx); err != nil || string(data) != fmt.Sprintf("%d.%d", round, won) {
				t.Fatalf("round %d: Get = %q, %v; want the winner %d's", round, data, err, won)
			}
		}
	})
}
