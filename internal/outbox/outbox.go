// Package outbox runs the relay loop of a transactional outbox: a service
// writes its events in the same transaction as its changes, and a relay
// moves them to the bus, so no change is lost between database and bus.
package outbox

import (
	"context"
	"log/slog"
	"time"
)

// Poller calls a relay pass until the outbox is drained, then waits for a
// Notify or its poll interval (for entries written by other processes),
// backing off while passes fail (the bus is away, say).
type Poller struct {
	pass  func(ctx context.Context) (drained bool, err error)
	count func(ctx context.Context) (int, error)
	depth Gauge
	// measured is when the depth was last counted, which took cost: a
	// count scans the outbox, so a backlog is counted once a second at
	// most, and less often when counting is slow (a million entries took
	// a third of a second, every second, a tenth of the machine).
	measured time.Time
	cost     time.Duration
	log      *slog.Logger
	wake     chan struct{}
	poll     time.Duration
	limit    time.Duration
	// gap is the least time from the start of one pass to the start of
	// the next that a Notify triggers. Under a steady stream of writes
	// every write notifies; without a gap each pass would relay one or two
	// events and pay a read and a delete (a commit) of the outbox for
	// them. With it a pass takes what arrived in the gap, at the cost of
	// that much delay.
	gap time.Duration
}

// Gauge receives the depth of an outbox: a prometheus.Gauge, say.
type Gauge interface{ Set(float64) }

// NewPoller returns a poller of pass, which relays one batch and reports
// whether the outbox is now empty. count, if not nil, tells how many
// entries wait, for ReportDepth.
func NewPoller(pass func(ctx context.Context) (bool, error), count func(ctx context.Context) (int, error), log *slog.Logger) *Poller {
	return &Poller{pass: pass, count: count, log: log, wake: make(chan struct{}, 1), poll: time.Second, limit: 10 * time.Second, gap: 25 * time.Millisecond}
}

// ReportDepth has the poller count its outbox after its passes and set g
// to it; call it before Run.
func (p *Poller) ReportDepth(g Gauge) { p.depth = g }

// measure counts the outbox into the depth gauge: after a pass that drained
// it (cheap then), else at most once a second and at most a twentieth of
// the time.
func (p *Poller) measure(ctx context.Context, drained bool) {
	if p.depth == nil || p.count == nil || (!drained && time.Since(p.measured) < max(time.Second, 20*p.cost)) {
		return
	}
	p.measured = time.Now()
	n, err := p.count(ctx)
	p.cost = time.Since(p.measured)
	if err != nil {
		// The pass reports the outage; the gauge keeps its last value.
		p.log.DebugContext(ctx, "count the outbox", "error", err)
		return
	}
	p.depth.Set(float64(n))
}

// Notify tells the poller there is something new, so it need not wait for
// its next poll.
func (p *Poller) Notify() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// Run relays until ctx ends.
func (p *Poller) Run(ctx context.Context) error {
	const firstBackoff = 100 * time.Millisecond
	backoff := firstBackoff
	for {
		started := time.Now()
		drained, err := p.pass(ctx)
		// Measured while the bus is away too: that is when it grows.
		p.measure(ctx, err == nil && drained)
		wait := p.poll
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			p.log.Warn("outbox relay failed; will retry", "error", err, "retry_in", backoff)
			wait, backoff = backoff, min(2*backoff, p.limit)
		case !drained:
			backoff = firstBackoff
			continue
		default:
			backoff = firstBackoff
		}
		if !p.sleep(ctx, wait, true) {
			return nil
		}
		// Woken early, by a Notify: let the writes of the gap gather.
		if rest := p.gap - time.Since(started); rest > 0 && !p.sleep(ctx, rest, false) {
			return nil
		}
	}
}

// sleep waits d, or less when wakeable and notified; it reports false when
// ctx ended.
func (p *Poller) sleep(ctx context.Context, d time.Duration, wakeable bool) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	wake := p.wake
	if !wakeable {
		wake = nil
	}
	select {
	case <-ctx.Done():
		return false
	case <-wake:
	case <-t.C:
	}
	return true
}
