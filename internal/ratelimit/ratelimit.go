// Package ratelimit paces the requests to a rate-limited API (an embedding
// endpoint) for every process of a deployment together: a sliding-window log
// kept in a Store that all of them share, exact over any Period-long window,
// with a share of the budget that only queries may use.
//
// # Guarantee
//
// Let a request's start be the time its Wait recorded (Ticket.Start), and its
// tokens the value its entry held when a later request was admitted (the
// estimate given to Wait, or what Settle put in its place before). For every
// window [a, a+Period) and every request r started in it, the requests
// started in the window no later than r (r included):
//
//   - number at most Requests, and hold at most Tokens tokens, if r is a
//     query;
//   - number at most max(1, ⌊(1-QueryShare)·Requests⌋), and hold at most
//     ⌊(1-QueryShare)·Tokens⌋ tokens, if r is bulk work;
//
// except that a request that could never fit (more tokens than its whole
// budget, or bulk work when its request budget rounds down to 0) starts when
// no other request started within the last Period, and then is the only one
// until it is a Period old. Taking r as the window's last request, the
// requests of any window respect the full limits, and those of a window with
// only bulk work the bulk limits.
//
// Settle changes an entry after the fact. Lowering it keeps the guarantee on
// the settled values. Raising it can push a window that later requests
// already joined over the limit, by at most the sum of the raises; the
// requests admitted after the raise see the settled value and wait the
// longer. A Settle after the entry is a Period old changes nothing: no later
// request shares a window with it.
//
// Start times come from the processes' clocks: each process records
// max(its clock, the latest start recorded), so that the log stays sorted and
// the guarantee holds exactly on the recorded times; against true time it is
// off by at most the clocks' skew, and a process whose clock is behind waits
// until its clock catches up.
package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"mediarec"
)

// ErrConflict is the error of Store.Put when the stored revision is not the
// one given: another process wrote meanwhile.
var ErrConflict = errors.New("ratelimit: the state changed meanwhile")

// Store keeps the state of the windows that share it, with compare-and-set
// on revisions; natsbus.RateStore shares it between processes,
// NewMemoryStore between the goroutines of one.
type Store interface {
	// Get returns the stored state and its revision; (nil, 0, nil) when
	// none yet.
	Get(ctx context.Context) ([]byte, uint64, error)
	// Put stores state if the stored revision is still rev (0: only if none
	// yet); ErrConflict otherwise.
	Put(ctx context.Context, state []byte, rev uint64) error
}

// Config of a Window. Zero limits mean unlimited. Every Window on one store
// must have the same limits, Period and QueryShare.
type Config struct {
	Requests int           // requests per Period
	Tokens   int           // tokens per Period
	Period   time.Duration // default time.Minute
	// QueryShare is the share of each limit that only queries may use:
	// bulk work stops at (1-QueryShare) of the budget, so a user's search
	// never waits behind a re-embedding. Zero means the default, 0.1; a
	// negative value reserves nothing; 1 and above are refused.
	QueryShare float64
	Now        func() time.Time                                 // default time.Now
	Sleep      func(ctx context.Context, d time.Duration) error // default a timer honouring ctx
}

// maxTokens bounds the tokens of one request, so that no sum overflows.
const maxTokens = 1 << 40

// limits of one kind of request; math.MaxInt for none.
type limits struct{ requests, tokens int }

// Window admits requests under the limits of its Config, together with
// every Window on the same store. It is safe for concurrent use.
type Window struct {
	store     Store
	period    int64 // nanoseconds
	full      limits
	bulk      limits
	unlimited bool
	now       func() time.Time
	sleep     func(ctx context.Context, d time.Duration) error
	// turn serialises this process's reads and writes of the state, so
	// that its own goroutines do not make each other's writes conflict. A
	// channel rather than a mutex, so that waiting for it honours ctx.
	turn chan struct{}
}

// New returns a Window on store; EINVALID for a bad Config.
func New(store Store, cfg Config) (*Window, error) {
	switch {
	case store == nil:
		return nil, mediarec.Errorf(mediarec.EINVALID, "The rate limiter needs a store.")
	case cfg.Requests < 0 || cfg.Tokens < 0:
		return nil, mediarec.Errorf(mediarec.EINVALID, "Rate limits must not be negative (requests %d, tokens %d).", cfg.Requests, cfg.Tokens)
	case cfg.Period < 0:
		return nil, mediarec.Errorf(mediarec.EINVALID, "The rate limit period must not be negative (%s).", cfg.Period)
	case !(cfg.QueryShare < 1) || math.IsNaN(cfg.QueryShare):
		return nil, mediarec.Errorf(mediarec.EINVALID, "The query share of the rate limits must be below 1 (%g).", cfg.QueryShare)
	}
	if cfg.Period == 0 {
		cfg.Period = time.Minute
	}
	share := cfg.QueryShare
	if share == 0 {
		share = 0.1
	}
	share = max(share, 0)
	w := &Window{
		store:     store,
		period:    int64(cfg.Period),
		full:      limits{requests: unlimitedIfZero(cfg.Requests), tokens: unlimitedIfZero(cfg.Tokens)},
		unlimited: cfg.Requests == 0 && cfg.Tokens == 0,
		now:       cfg.Now,
		sleep:     cfg.Sleep,
		turn:      make(chan struct{}, 1),
	}
	w.bulk = limits{requests: scale(w.full.requests, share), tokens: scale(w.full.tokens, share)}
	if w.now == nil {
		w.now = time.Now
	}
	if w.sleep == nil {
		w.sleep = sleep
	}
	return w, nil
}

func unlimitedIfZero(n int) int {
	if n == 0 {
		return math.MaxInt
	}
	return n
}

// scale is the part of limit that bulk work may use, rounded down; the
// epsilon keeps 10×0.9 at 9 whichever way the float rounds.
func scale(limit int, share float64) int {
	if limit == math.MaxInt {
		return limit
	}
	return int(math.Floor(float64(limit)*(1-share) + 1e-9))
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Ticket is a started request, whose tokens Settle corrects. Settle it
// from one goroutine at a time.
type Ticket struct {
	w      *Window
	id     uint64 // 0: not recorded (an unlimited Window)
	start  time.Time
	tokens int
}

// Start returns the start recorded for the request, on which the guarantee
// is kept.
func (t *Ticket) Start() time.Time { return t.start }

// Wait blocks until a request of tokens estimated tokens may start without
// the requests or tokens started in any Period-long window exceeding the
// limits (bulk work: the limits times 1-QueryShare; a query: the full
// limits), records it, and returns its ticket. A request larger than the
// whole token budget may start only when the window holds nothing else, so
// that it does not wait for ever. When ctx ends first, Wait returns ctx's
// error and records nothing (unless it ends during the write itself, which a
// remote store may have done: that costs budget, never the guarantee). EINVALID for tokens below 0 or above 2⁴⁰;
// store errors otherwise.
func (w *Window) Wait(ctx context.Context, tokens int, query bool) (*Ticket, error) {
	if tokens < 0 || tokens > maxTokens {
		return nil, mediarec.Errorf(mediarec.EINVALID, "A request cannot use %d tokens.", tokens)
	}
	lim := w.bulk
	if query {
		lim = w.full
	}
	for {
		var ticket *Ticket
		var wait time.Duration
		err := w.update(ctx, func(st *state, now int64) bool {
			ticket, wait = nil, 0
			if st.hold > now {
				wait = time.Duration(st.hold - now)
				return false
			}
			if w.unlimited {
				ticket = &Ticket{w: w, start: time.Unix(0, now), tokens: tokens}
				return false
			}
			if k := st.mustExpire(tokens, lim); k > 0 {
				wait = time.Duration(st.entries[k-1].start + w.period - now)
				return false
			}
			st.next++
			st.entries = append(st.entries, entry{start: now, tokens: tokens, id: st.next})
			ticket = &Ticket{w: w, id: st.next, start: time.Unix(0, now), tokens: tokens}
			return true
		})
		switch {
		case err != nil:
			return nil, err
		case ticket != nil:
			return ticket, nil
		}
		// Others write meanwhile (requests, settles, holds): the state is
		// read afresh after the sleep.
		if err := w.sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
}

// Settle replaces the ticket's estimate by the tokens the server counted
// (its `usage`), so that later requests see the true spend; see the package
// documentation for what that does to the guarantee. A ticket older than a
// Period has no entry left, and settling it changes nothing. EINVALID for
// tokens below 0 or above 2⁴⁰; store errors otherwise.
func (t *Ticket) Settle(ctx context.Context, tokens int) error {
	if tokens < 0 || tokens > maxTokens {
		return mediarec.Errorf(mediarec.EINVALID, "A request cannot use %d tokens.", tokens)
	}
	if t.id == 0 || tokens == t.tokens {
		t.tokens = tokens
		return nil
	}
	err := t.w.update(ctx, func(st *state, _ int64) bool {
		i := slices.IndexFunc(st.entries, func(e entry) bool { return e.id == t.id })
		if i < 0 || st.entries[i].tokens == tokens {
			return false
		}
		st.entries[i].tokens = tokens
		return true
	})
	if err != nil {
		return err
	}
	t.tokens = tokens
	return nil
}

// Hold makes every Window on the same store start nothing before until
// (the server said to wait: Retry-After, x-ratelimit-reset-*). Queries are
// held too. A hold never shortens an earlier, longer one. Store errors only.
func (w *Window) Hold(ctx context.Context, until time.Time) error {
	u := until.UnixNano()
	return w.update(ctx, func(st *state, now int64) bool {
		if u <= now || u <= st.hold {
			return false
		}
		st.hold = u
		return true
	})
}

// update reads the state, drops what has expired, and lets change edit it;
// when change says so, it writes the state back, starting over when another
// process wrote first. change is given the time to use as now: never before
// the latest start recorded, so that the log stays sorted.
func (w *Window) update(ctx context.Context, change func(st *state, now int64) bool) error {
	select {
	case w.turn <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-w.turn }()
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		data, rev, err := w.store.Get(ctx)
		if err != nil {
			return fmt.Errorf("read the rate limit state: %w", err)
		}
		var st state
		if err := st.decode(data); err != nil {
			return err
		}
		now := w.now().UnixNano()
		if n := len(st.entries); n > 0 {
			now = max(now, st.entries[n-1].start)
		}
		st.expire(now, w.period)
		if !change(&st, now) {
			return nil
		}
		err = w.store.Put(ctx, st.encode(), rev)
		switch {
		case errors.Is(err, ErrConflict):
			continue
		case err != nil:
			return fmt.Errorf("write the rate limit state: %w", err)
		}
		return nil
	}
}
