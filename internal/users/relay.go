package users

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"

	"mediarec/internal/outbox"
)

// Publisher is what the relay needs of the message bus.
type Publisher interface {
	Publish(ctx context.Context, subject, msgID string, data []byte) error
}

// relayBatch bounds one pass of the relay.
const relayBatch = 500

// NewRelay returns the relay of the users outbox: it publishes each event
// (feedback, preferences) on its subject and deletes it once the bus has it.
// Run it, and Notify it after writes (Config.Changed). ReportDepth (before
// Run) has it report the outbox's depth.
func NewRelay(store EventStore, pub Publisher, log *slog.Logger) *outbox.Poller {
	return outbox.NewPoller(func(ctx context.Context) (bool, error) {
		events, err := store.FindEvents(ctx, relayBatch)
		if err != nil {
			return false, err
		}
		seqs := make([]int64, 0, len(events))
		for _, e := range events {
			if err := pub.Publish(ctx, e.Subject, "user-event-"+strconv.FormatInt(e.Seq, 10), e.Payload); err != nil {
				return false, errors.Join(fmt.Errorf("publish event %d: %w", e.Seq, err), store.DeleteEvents(ctx, seqs))
			}
			seqs = append(seqs, e.Seq)
		}
		if len(seqs) > 0 {
			if err := store.DeleteEvents(ctx, seqs); err != nil {
				return false, err
			}
		}
		return len(events) < relayBatch, nil
	}, store.CountEvents, log)
}
