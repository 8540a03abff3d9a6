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
	log   *slog.Logger
	wake  chan struct{}
	poll  time.Duration
	limit time.Duration
}

// NewPoller returns a poller of pass, which relays one batch and reports
// whether the outbox is now empty.
func NewPoller(pass func(ctx context.Context) (bool, error), log *slog.Logger) *Poller {
	return &Poller{pass: pass, log: log, wake: make(chan struct{}, 1), poll: time.Second, limit: 10 * time.Second}
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
		drained, err := p.pass(ctx)
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
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-p.wake:
			t.Stop()
		case <-t.C:
		}
	}
}
