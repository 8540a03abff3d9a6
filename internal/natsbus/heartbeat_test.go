package natsbus_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"mediarec"
	"mediarec/internal/natsbus"
	"mediarec/internal/natsbus/natstest"
)

// TestSlowBatchIsNotRedelivered: a batch handled for three times the ack
// wait is kept in progress meanwhile, so a second consumer on the same
// durable never gets its messages, and each is delivered once, on its
// first attempt. With more messages than a batch, those the first
// consumer did not take go to the second, once: a consumer holds no
// message it does not keep in progress.
func TestSlowBatchIsNotRedelivered(t *testing.T) {
	tests := []struct {
		name     string
		batch, n int
	}{
		{"one batch", 16, 3},
		{"more than a batch", 2, 5},
	}
	for _, tt := range tests {
		for bus, open := range buses(t) {
			t.Run(tt.name+"/"+bus, func(t *testing.T) {
				testSlowBatch(t, open(t), tt.batch, tt.n)
			})
		}
	}
}

func testSlowBatch(t *testing.T, b *natsbus.Bus, batch, n int) {
	ctx := context.Background()
	for i := range n {
		if err := b.Publish(ctx, mediarec.SubjectEmbedJobs, fmt.Sprint("slow", i), []byte(fmt.Sprint("slow ", i))); err != nil {
			t.Fatal(err)
		}
	}
	cfg := jobs
	cfg.AckWait, cfg.Batch = time.Second, batch

	rec := newRecorder(nil)
	taken, release := make(chan int, 1), make(chan struct{})
	first := true
	// The first batch blocks until released; every batch, that
	// one and any other consumer's, is recorded.
	slow := func(ctx context.Context, msgs []natsbus.Message) []error {
		errs := rec.handle(ctx, msgs)
		rec.mu.Lock()
		block := first
		first = false
		rec.mu.Unlock()
		if block {
			taken <- len(msgs)
			<-release
		}
		return errs
	}
	released := false
	defer func() {
		if !released {
			close(release)
		}
	}()
	consume(t, b, cfg, slow)
	var held int
	select {
	case held = <-taken:
	case <-time.After(10 * time.Second):
		t.Fatal("no batch taken within 10s")
	}
	// A second worker, free to take whatever the first would let
	// go of.
	consume(t, b, cfg, slow)

	// Proving that something does not happen takes waiting: three
	// ack waits, each of which would have redelivered the batch
	// without the in-progress acks. The condition is checked all
	// along, so a redelivery fails the test when it happens.
	hold := 3 * cfg.AckWait
	for deadline := time.Now().Add(hold); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if distinct, total := rec.count(); total != distinct {
			t.Fatalf("a held message was delivered again within %s: %d deliveries of %d messages", hold, total, distinct)
		}
	}
	close(release)
	released = true
	natstest.CheckFor(t, 10*time.Second, func() error {
		if distinct, _ := rec.count(); distinct != n {
			return fmt.Errorf("%d of %d messages handled", distinct, n)
		}
		pending, err := b.ConsumerPending(ctx, cfg.Stream, cfg.Durable)
		if err != nil {
			return err
		}
		if pending != 0 {
			return fmt.Errorf("%d messages not acknowledged", pending)
		}
		return nil
	})
	for i := range n {
		if got := rec.attempts(fmt.Sprint("slow ", i)); len(got) != 1 || got[0] != 1 {
			t.Fatalf("message %d delivered on attempts %v, want [1] (the held batch had %d)", i, got, held)
		}
	}
}
