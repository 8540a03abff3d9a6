package ratelimit

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"mediarec"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// fakeClock is a clock whose sleeps only move it on, so that a test of one
// goroutine runs instantly and its starts are exact.
type fakeClock struct {
	mu    sync.Mutex
	now   time.Time
	slept []time.Duration
}

func newFakeClock() *fakeClock { return &fakeClock{now: t0} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	c.slept = append(c.slept, d)
	return nil
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// fakeStore is a Store whose methods call its func fields.
type fakeStore struct {
	GetFn func(ctx context.Context) ([]byte, uint64, error)
	PutFn func(ctx context.Context, state []byte, rev uint64) error
}

func (s *fakeStore) Get(ctx context.Context) ([]byte, uint64, error) { return s.GetFn(ctx) }
func (s *fakeStore) Put(ctx context.Context, state []byte, rev uint64) error {
	return s.PutFn(ctx, state, rev)
}

// MustNew returns a Window on store with cfg, failing the test on error.
func MustNew(tb testing.TB, store Store, cfg Config) *Window {
	tb.Helper()
	w, err := New(store, cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return w
}

// stored returns the state in s.
func stored(tb testing.TB, s Store) state {
	tb.Helper()
	data, _, err := s.Get(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	var st state
	if err := st.decode(data); err != nil {
		tb.Fatal(err)
	}
	return st
}

func TestNew(t *testing.T) {
	tests := []struct {
		name       string
		cfg        Config
		full, bulk limits
		code       string
	}{
		{name: "defaults", cfg: Config{Requests: 10, Tokens: 1000},
			full: limits{10, 1000}, bulk: limits{9, 900}},
		{name: "unlimited", cfg: Config{}, full: limits{math.MaxInt, math.MaxInt}, bulk: limits{math.MaxInt, math.MaxInt}},
		{name: "one unlimited", cfg: Config{Tokens: 100, QueryShare: 0.25},
			full: limits{math.MaxInt, 100}, bulk: limits{math.MaxInt, 75}},
		{name: "rounds down", cfg: Config{Requests: 3, Tokens: 7, QueryShare: 0.3},
			full: limits{3, 7}, bulk: limits{2, 4}},
		{name: "bulk request budget of 0", cfg: Config{Requests: 1},
			full: limits{1, math.MaxInt}, bulk: limits{0, math.MaxInt}},
		{name: "negative share reserves nothing", cfg: Config{Requests: 10, Tokens: 100, QueryShare: -1},
			full: limits{10, 100}, bulk: limits{10, 100}},
		{name: "share 1", cfg: Config{Tokens: 100, QueryShare: 1}, code: mediarec.EINVALID},
		{name: "share NaN", cfg: Config{Tokens: 100, QueryShare: math.NaN()}, code: mediarec.EINVALID},
		{name: "negative requests", cfg: Config{Requests: -1}, code: mediarec.EINVALID},
		{name: "negative tokens", cfg: Config{Tokens: -1}, code: mediarec.EINVALID},
		{name: "negative period", cfg: Config{Tokens: 1, Period: -time.Second}, code: mediarec.EINVALID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, err := New(NewMemoryStore(), tt.cfg)
			if code := mediarec.ErrorCode(err); code != tt.code {
				t.Fatalf("New: %v, want code %q", err, tt.code)
			}
			if err != nil {
				return
			}
			if w.full != tt.full || w.bulk != tt.bulk {
				t.Errorf("limits: full %+v bulk %+v, want %+v %+v", w.full, w.bulk, tt.full, tt.bulk)
			}
		})
	}
	if _, err := New(nil, Config{}); mediarec.ErrorCode(err) != mediarec.EINVALID {
		t.Errorf("New(nil): %v, want EINVALID", err)
	}
}

// TestWindow plays requests of simulated processes (Windows on one store)
// on a fake clock and checks when each starts.
func TestWindow(t *testing.T) {
	type step struct {
		win     int           // the Window (process) acting
		advance time.Duration // the clock moves on first
		hold    time.Duration // Hold(now+hold) instead of a request
		tokens  int
		query   bool
		settle  int           // Settle to this after the start; 0: none
		want    time.Duration // the start, after t0
	}
	const p = 10 * time.Second
	tokens := Config{Tokens: 100, QueryShare: 0.2, Period: p} // bulk: 80
	tests := []struct {
		name  string
		cfg   Config
		skew  time.Duration // of Window 1's clock
		steps []step
	}{
		{name: "bulk stops at its share", cfg: tokens, steps: []step{
			{tokens: 50}, {tokens: 30}, {tokens: 1, want: p},
		}},
		{name: "queries pass bulk work at its cap", cfg: tokens, steps: []step{
			{tokens: 80}, {tokens: 20, query: true}, {tokens: 1, query: true, want: p}, {tokens: 1, want: p},
		}},
		{name: "the window slides", cfg: tokens, steps: []step{
			{tokens: 60, query: true},
			{advance: p / 2, tokens: 40, query: true, want: p / 2},
			{tokens: 30, query: true, want: p}, // the 60 expires
			{tokens: 40, query: true, want: p + p/2},
		}},
		{name: "a nanosecond early waits", cfg: tokens, steps: []step{
			{tokens: 100, query: true}, {advance: p - 1, tokens: 1, query: true, want: p},
		}},
		{name: "an oversize request waits for an empty window", cfg: tokens, steps: []step{
			{tokens: 50, query: true}, {tokens: 150, query: true, want: p}, {tokens: 1, query: true, want: 2 * p},
		}},
		{name: "oversize bulk work starts alone, queries may follow", cfg: tokens, steps: []step{
			{tokens: 90}, {tokens: 10, query: true}, {tokens: 1, query: true, want: p}, {tokens: 1, want: p},
		}},
		{name: "settling lower frees budget", cfg: tokens, steps: []step{
			{tokens: 90, query: true, settle: 10}, {tokens: 90, query: true}, {tokens: 1, query: true, want: p},
		}},
		{name: "settling higher delays later requests", cfg: tokens, steps: []step{
			{tokens: 10, query: true, settle: 90}, {tokens: 20, query: true, want: p},
		}},
		{name: "a hold delays every process and queries", cfg: tokens, steps: []step{
			{hold: 5 * time.Second}, {win: 1, tokens: 1, query: true, want: 5 * time.Second},
			{tokens: 1, want: 5 * time.Second},
		}},
		{name: "a hold is never shortened", cfg: tokens, steps: []step{
			{hold: 5 * time.Second}, {win: 1, hold: 2 * time.Second}, {tokens: 1, query: true, want: 5 * time.Second},
		}},
		{name: "processes share the budget", cfg: tokens, steps: []step{
			{tokens: 60, query: true}, {win: 1, tokens: 60, query: true, want: p}, {tokens: 40, query: true, want: p},
		}},
		{name: "a clock behind starts no earlier than the latest start", cfg: tokens, skew: -time.Second, steps: []step{
			{tokens: 10, query: true}, {win: 1, tokens: 10, query: true}, {win: 1, tokens: 80, query: true},
			{win: 1, tokens: 1, query: true, want: p},
		}},
		{name: "a clock ahead moves the others' starts", cfg: tokens, skew: time.Second, steps: []step{
			{win: 1, tokens: 10, query: true, want: time.Second}, {tokens: 10, query: true, want: time.Second},
		}},
		{name: "request limit", cfg: Config{Requests: 2, QueryShare: 0.5, Period: p}, steps: []step{
			{tokens: 5}, {tokens: 5, want: p}, {win: 1, query: true, want: p}, {query: true, want: 2 * p},
		}},
		{name: "bulk request budget of 0 starts alone", cfg: Config{Requests: 1, Period: p}, steps: []step{
			{}, {win: 1, want: p}, {query: true, want: 2 * p},
		}},
		{name: "default query share is a tenth", cfg: Config{Tokens: 100, Period: p}, steps: []step{
			{tokens: 90}, {tokens: 1, want: p}, {tokens: 9, query: true, want: p},
		}},
		{name: "negative share reserves nothing", cfg: Config{Tokens: 100, QueryShare: -1, Period: p}, steps: []step{
			{tokens: 100}, {tokens: 1, want: p},
		}},
		{name: "default period is a minute", cfg: Config{Tokens: 10}, steps: []step{
			{tokens: 9}, {tokens: 1, want: time.Minute},
		}},
		{name: "unlimited, but held", cfg: Config{Period: p}, steps: []step{
			{tokens: 1e6}, {tokens: 1e6, query: true}, {tokens: 1e6, settle: 5}, {hold: 3 * time.Second},
			{win: 1, tokens: 1, want: 3 * time.Second},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, clock, store := context.Background(), newFakeClock(), NewMemoryStore()
			cfg := tt.cfg
			cfg.Now, cfg.Sleep = clock.Now, clock.Sleep
			skewed := cfg
			skewed.Now = func() time.Time { return clock.Now().Add(tt.skew) }
			wins := []*Window{MustNew(t, store, cfg), MustNew(t, store, skewed)}
			for i, s := range tt.steps {
				clock.advance(s.advance)
				w := wins[s.win]
				if s.hold > 0 {
					if err := w.Hold(ctx, clock.Now().Add(s.hold)); err != nil {
						t.Fatalf("step %d: %v", i, err)
					}
					continue
				}
				ticket, err := w.Wait(ctx, s.tokens, s.query)
				if err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
				if got := ticket.Start().Sub(t0); got != s.want {
					t.Fatalf("step %d (%+v) started at %s, want %s", i, s, got, s.want)
				}
				if s.settle > 0 {
					if err := ticket.Settle(ctx, s.settle); err != nil {
						t.Fatalf("step %d: settle: %v", i, err)
					}
				}
			}
		})
	}
}

// record is one request of the property test.
type record struct {
	id     uint64
	start  time.Time
	tokens int
	query  bool
}

// checkLog verifies the guarantee on a run's requests: for each request r,
// those started in the Period up to it (r included) respect r's limits,
// unless r is alone; and any window [a, a+period) respects the full limits,
// unless it holds one request.
func checkLog(t *testing.T, recs []record, w *Window) {
	t.Helper()
	slices.SortFunc(recs, func(a, b record) int { return int(a.id) - int(b.id) })
	p := time.Duration(w.period)
	for j, r := range recs {
		if j > 0 && r.start.Before(recs[j-1].start) {
			t.Fatalf("request %d started at %s, before request %d at %s", r.id, r.start, recs[j-1].id, recs[j-1].start)
		}
		lim := w.bulk
		if r.query {
			lim = w.full
		}
		n, sum := 0, 0
		for _, o := range recs[:j+1] {
			if o.start.After(r.start.Add(-p)) {
				n, sum = n+1, sum+o.tokens
			}
		}
		if n > 1 && (n > lim.requests || sum > lim.tokens) {
			t.Fatalf("request %d (query %v) started at %s with %d requests, %d tokens in the period up to it; limits %+v",
				r.id, r.query, r.start.Sub(t0), n, sum, lim)
		}
	}
	for _, a := range recs {
		n, sum := 0, 0
		for _, o := range recs {
			if !o.start.Before(a.start) && o.start.Before(a.start.Add(p)) {
				n, sum = n+1, sum+o.tokens
			}
		}
		if n > 1 && (n > w.full.requests || sum > w.full.tokens) {
			t.Fatalf("window from %s holds %d requests, %d tokens; limits %+v", a.start.Sub(t0), n, sum, w.full)
		}
	}
}

// TestWindowProperty runs goroutines of several simulated processes
// (Windows on one store) with random requests, in a bubble whose clock only
// moves when every goroutine waits, and checks the guarantee on the
// recorded starts.
func TestWindowProperty(t *testing.T) {
	tests := []struct {
		name                    string
		cfg                     Config
		windows, goroutines, n  int
		maxTokens               int
		queryPercent, settlePct int
	}{
		{name: "tokens", cfg: Config{Tokens: 1000}, windows: 3, goroutines: 4, n: 25, maxTokens: 400, queryPercent: 30},
		{name: "requests and tokens", cfg: Config{Requests: 10, Tokens: 500, QueryShare: 0.2},
			windows: 3, goroutines: 3, n: 30, maxTokens: 100, queryPercent: 20},
		{name: "oversize requests", cfg: Config{Tokens: 100}, windows: 2, goroutines: 3, n: 20, maxTokens: 150, queryPercent: 50},
		{name: "bulk request budget of 0", cfg: Config{Requests: 1, QueryShare: 0.5},
			windows: 2, goroutines: 2, n: 10, maxTokens: 10, queryPercent: 50},
		{name: "settled lower", cfg: Config{Requests: 20, Tokens: 600},
			windows: 3, goroutines: 4, n: 25, maxTokens: 200, queryPercent: 20, settlePct: 60},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), 1000*time.Minute)
				defer cancel()
				store := NewMemoryStore()
				wins := make([]*Window, tt.windows)
				for i := range wins {
					wins[i] = MustNew(t, store, tt.cfg) // time.Now and timers: the bubble's
				}
				var mu sync.Mutex
				var recs []record
				var wg sync.WaitGroup
				for g := range tt.windows * tt.goroutines {
					w := wins[g%tt.windows]
					rng := rand.New(rand.NewPCG(uint64(i), uint64(g)))
					wg.Go(func() {
						for range tt.n {
							tokens, query := rng.IntN(tt.maxTokens+1), rng.IntN(100) < tt.queryPercent
							ticket, err := w.Wait(ctx, tokens, query)
							if err != nil {
								t.Error(err)
								return
							}
							if rng.IntN(100) < tt.settlePct {
								tokens = rng.IntN(tokens + 1)
								if err := ticket.Settle(ctx, tokens); err != nil {
									t.Error(err)
									return
								}
							}
							mu.Lock()
							recs = append(recs, record{id: ticket.id, start: ticket.Start(), tokens: tokens, query: query})
							mu.Unlock()
						}
					})
				}
				wg.Wait()
				if want := tt.windows * tt.goroutines * tt.n; len(recs) != want {
					t.Fatalf("%d requests done, want %d", len(recs), want)
				}
				checkLog(t, recs, wins[0])
				if n := len(stored(t, store).entries); n > len(recs) {
					t.Errorf("%d entries stored for %d requests", n, len(recs))
				}
			})
		})
	}
}

// TestConflict interleaves a request of a second process between a first
// process's read of the state and its write, which must then start over.
func TestConflict(t *testing.T) {
	const p = 10 * time.Second
	cfg := Config{Requests: 2, Tokens: 100, Period: p}
	tests := []struct {
		name string
		// act is what the first process does, on a state holding its
		// earlier request (ticket) at t0.
		act func(ctx context.Context, w *Window, ticket *Ticket) (*Ticket, error)
		// want: the entries' tokens and starts after t0, and the hold.
		want  []entry
		hold  time.Duration
		slept []time.Duration
	}{
		{name: "the last slot goes to one", act: func(ctx context.Context, w *Window, _ *Ticket) (*Ticket, error) {
			return w.Wait(ctx, 30, true)
		}, want: []entry{{start: int64(p), tokens: 30, id: 3}}, slept: []time.Duration{p}},
		{name: "a settle survives", act: func(ctx context.Context, _ *Window, ticket *Ticket) (*Ticket, error) {
			return nil, ticket.Settle(ctx, 7)
		}, want: []entry{{tokens: 7, id: 1}, {tokens: 30, id: 2}}},
		{name: "a hold survives", act: func(ctx context.Context, w *Window, _ *Ticket) (*Ticket, error) {
			return nil, w.Hold(ctx, t0.Add(time.Second))
		}, want: []entry{{tokens: 10, id: 1}, {tokens: 30, id: 2}}, hold: time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, clock, store := context.Background(), newFakeClock(), NewMemoryStore()
			cfg := cfg
			cfg.Now, cfg.Sleep = clock.Now, clock.Sleep
			second := MustNew(t, store, cfg)
			var interleaved *Ticket
			first := MustNew(t, &fakeStore{GetFn: store.Get, PutFn: func(ctx context.Context, state []byte, rev uint64) error {
				if interleaved == nil && rev > 0 { // not the setup's write
					var err error
					if interleaved, err = second.Wait(ctx, 30, true); err != nil {
						return err
					}
				}
				return store.Put(ctx, state, rev)
			}}, cfg)
			ticket, err := first.Wait(ctx, 10, true)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := tt.act(ctx, first, ticket); err != nil {
				t.Fatal(err)
			}
			if interleaved == nil || !interleaved.Start().Equal(t0) {
				t.Fatalf("the second process's request: %+v", interleaved)
			}
			st := stored(t, store)
			for i := range st.entries {
				st.entries[i].start -= t0.UnixNano()
			}
			if !slices.Equal(st.entries, tt.want) {
				t.Errorf("entries %+v, want %+v", st.entries, tt.want)
			}
			if hold := time.Duration(max(st.hold-t0.UnixNano(), 0)); hold != tt.hold {
				t.Errorf("hold %s, want %s", hold, tt.hold)
			}
			if !slices.Equal(clock.slept, tt.slept) {
				t.Errorf("slept %v, want %v", clock.slept, tt.slept)
			}
		})
	}
}

// TestConflictConcurrent races processes for one request slot a Period.
func TestConflictConcurrent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const p = time.Second
		store := NewMemoryStore()
		var mu sync.Mutex
		var starts []time.Time
		var wg sync.WaitGroup
		for range 8 {
			w := MustNew(t, store, Config{Requests: 1, Period: p})
			wg.Go(func() {
				for range 3 {
					ticket, err := w.Wait(context.Background(), 0, true)
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					starts = append(starts, ticket.Start())
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		slices.SortFunc(starts, time.Time.Compare)
		for i := 1; i < len(starts); i++ {
			if d := starts[i].Sub(starts[i-1]); d < p {
				t.Fatalf("starts %d and %d %s apart, within a period", i-1, i, d)
			}
		}
		if got, want := starts[len(starts)-1].Sub(starts[0]), time.Duration(len(starts)-1)*p; got != want {
			t.Errorf("%d requests took %s, want %s", len(starts), got, want)
		}
	})
}

func TestCancel(t *testing.T) {
	const p = 10 * time.Second
	tests := []struct {
		name string
		// wait calls Wait on a Window whose budget is spent.
		wait func(t *testing.T, w *Window, clock *fakeClock) error
	}{
		{name: "before", wait: func(t *testing.T, w *Window, _ *fakeClock) error {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			_, err := w.Wait(ctx, 0, true)
			return err
		}},
		{name: "while waiting", wait: func(t *testing.T, w *Window, _ *fakeClock) error {
			ctx, cancel := context.WithCancel(context.Background())
			w.sleep = func(ctx context.Context, d time.Duration) error {
				cancel()
				return ctx.Err()
			}
			_, err := w.Wait(ctx, 1, false)
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock, store := newFakeClock(), NewMemoryStore()
			w := MustNew(t, store, Config{Tokens: 100, Period: p, Now: clock.Now, Sleep: clock.Sleep})
			if _, err := w.Wait(context.Background(), 100, true); err != nil {
				t.Fatal(err)
			}
			_, rev, _ := store.Get(context.Background())
			if err := tt.wait(t, w, clock); !errors.Is(err, context.Canceled) {
				t.Fatalf("Wait: %v, want context.Canceled", err)
			}
			if _, after, _ := store.Get(context.Background()); after != rev {
				t.Errorf("the state changed: revision %d, was %d", after, rev)
			}
		})
	}

	// With the default sleep, and while another goroutine holds the
	// Window's turn in a slow store: the deadline ends the wait on time.
	synctest.Test(t, func(t *testing.T) {
		store, release := NewMemoryStore(), make(chan struct{})
		slow := &fakeStore{GetFn: store.Get, PutFn: store.Put}
		w := MustNew(t, slow, Config{Tokens: 100, Period: p})
		if _, err := w.Wait(context.Background(), 100, true); err != nil {
			t.Fatal(err)
		}
		deadline := func(name string) {
			start := time.Now()
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			if _, err := w.Wait(ctx, 1, true); !errors.Is(err, context.DeadlineExceeded) || time.Since(start) != time.Second {
				t.Errorf("%s: Wait = %v after %s, want the deadline after 1s", name, err, time.Since(start))
			}
		}
		deadline("sleeping")
		slow.GetFn = func(ctx context.Context) ([]byte, uint64, error) {
			<-release
			return store.Get(ctx)
		}
		done := make(chan error)
		go func() {
			_, err := w.Wait(context.Background(), 0, true)
			done <- err
		}()
		synctest.Wait() // the goroutine hangs in Get, holding the turn
		deadline("waiting for the turn")
		close(release)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if n := len(stored(t, store).entries); n != 2 {
			t.Errorf("%d entries, want 2: the cancelled requests recorded", n)
		}
	})
}

func TestInvalidTokens(t *testing.T) {
	w := MustNew(t, NewMemoryStore(), Config{Tokens: 10})
	ctx := context.Background()
	for _, n := range []int{-1, maxTokens + 1} {
		if _, err := w.Wait(ctx, n, true); mediarec.ErrorCode(err) != mediarec.EINVALID {
			t.Errorf("Wait(%d): %v, want EINVALID", n, err)
		}
	}
	ticket, err := w.Wait(ctx, 1, true)
	if err != nil {
		t.Fatal(err)
	}
	if err := ticket.Settle(ctx, -1); mediarec.ErrorCode(err) != mediarec.EINVALID {
		t.Errorf("Settle(-1): %v, want EINVALID", err)
	}
}

func TestStoreErrors(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name    string
		store   *fakeStore
		wrapped bool // the store's error
	}{
		{name: "get", wrapped: true, store: &fakeStore{GetFn: func(context.Context) ([]byte, uint64, error) { return nil, 0, boom }}},
		{name: "put", wrapped: true, store: &fakeStore{
			GetFn: func(context.Context) ([]byte, uint64, error) { return nil, 0, nil },
			PutFn: func(context.Context, []byte, uint64) error { return boom },
		}},
		{name: "corrupt", store: &fakeStore{GetFn: func(context.Context) ([]byte, uint64, error) { return []byte{9}, 1, nil }}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := MustNew(t, tt.store, Config{Tokens: 10})
			_, err := w.Wait(context.Background(), 1, true)
			if err == nil || errors.Is(err, boom) != tt.wrapped {
				t.Errorf("Wait: %v, want an error (wrapping %v: %v)", err, boom, tt.wrapped)
			}
		})
	}
}
