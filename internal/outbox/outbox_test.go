package outbox_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"mediarec/internal/natsbus/natstest"
	"mediarec/internal/outbox"
)

// gauge records the last value set.
type gauge struct {
	mu  sync.Mutex
	val float64
	set bool
}

func (g *gauge) Set(v float64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.val, g.set = v, true
}

func (g *gauge) get() (float64, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.val, g.set
}

// TestReportDepth: the poller reports the outbox's depth while the bus is
// away (when it grows) and once a pass has drained it.
func TestReportDepth(t *testing.T) {
	var (
		mu      sync.Mutex
		down    = true
		waiting = 3
	)
	pass := func(context.Context) (bool, error) {
		mu.Lock()
		defer mu.Unlock()
		if down {
			return false, errors.New("bus away")
		}
		waiting = 0
		return true, nil
	}
	count := func(context.Context) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return waiting, nil
	}
	g := &gauge{}
	p := outbox.NewPoller(pass, count, slog.New(slog.DiscardHandler))
	p.ReportDepth(g)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	tests := []struct {
		name string
		down bool
		want float64
	}{
		{"bus away", true, 3},
		{"bus back", false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mu.Lock()
			down = tt.down
			mu.Unlock()
			p.Notify()
			natstest.CheckFor(t, 15*time.Second, func() error {
				if v, ok := g.get(); !ok || v != tt.want {
					return fmt.Errorf("depth %v (reported: %v), want %v", v, ok, tt.want)
				}
				return nil
			})
		})
	}
}
