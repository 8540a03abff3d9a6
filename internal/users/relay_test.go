package users_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"mediarec"
	"mediarec/internal/natsbus/natstest"
	"mediarec/internal/users"
)

// fakeBus records what is published and fails while down is set. Like
// JetStream's duplicate window, it acknowledges a message id it already has
// without storing it again: the relay publishes at least once (an entry
// whose deletion failed is published again, under the same id), and the
// bus makes that exactly once.
type fakeBus struct {
	mu       sync.Mutex
	down     bool
	ids      map[string]bool
	subjects []string
}

func (b *fakeBus) Publish(_ context.Context, subject, msgID string, _ []byte) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.down {
		return errors.New("bus away")
	}
	if b.ids == nil {
		b.ids = map[string]bool{}
	}
	if !b.ids[msgID] {
		b.ids[msgID] = true
		b.subjects = append(b.subjects, subject)
	}
	return nil
}

func (b *fakeBus) published() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.subjects...)
}

func TestRelayPublishesEveryEvent(t *testing.T) {
	f := mustService(t, users.DefaultHashParams)
	u := f.mustRegister(t, "ada@example.com", "long enough")
	ctx := context.Background()
	bus := &fakeBus{down: true}
	relay := users.NewRelay(f.store, bus, slog.New(slog.DiscardHandler))
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- relay.Run(runCtx) }()
	t.Cleanup(func() { stop(); <-done })

	// Written while the bus is away, relayed once it is back.
	if _, err := f.svc.UpdatePreferences(ctx, u.ID, mediarec.Preferences{Tags: []string{"noir"}}); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.SetFeedback(ctx, &mediarec.Feedback{UserID: u.ID, ItemID: 7, Kind: mediarec.FeedbackLike}); err != nil {
		t.Fatal(err)
	}
	bus.mu.Lock()
	bus.down = false
	bus.mu.Unlock()
	relay.Notify()
	natstest.CheckFor(t, 10*time.Second, func() error {
		got := bus.published()
		if len(got) != 2 || got[0] != mediarec.PreferencesSubject(u.ID) || got[1] != mediarec.FeedbackSubject(u.ID, 7) {
			return fmt.Errorf("published %v", got)
		}
		return nil
	})
	// The relay deletes what it published right after publishing it.
	natstest.CheckFor(t, 10*time.Second, func() error {
		if left, err := f.store.FindEvents(ctx, 10); err != nil || len(left) != 0 {
			return fmt.Errorf("outbox after relaying: %d events left (%v)", len(left), err)
		}
		return nil
	})
	if got := bus.published(); len(got) != 2 {
		t.Fatalf("published %v, want each event once", got)
	}
}
