package natsbus_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"mediarec"
	"mediarec/internal/natsbus"
	"mediarec/internal/natsbus/natstest"
)

// recorder is a BatchHandler that records what it saw and answers with
// the error fail returns for each message.
type recorder struct {
	mu       sync.Mutex
	seen     map[string][]int // data → delivery attempts
	fail     func(data string, delivered int) error
	messages int
}

func newRecorder(fail func(string, int) error) *recorder {
	return &recorder{seen: map[string][]int{}, fail: fail}
}

func (r *recorder) handle(_ context.Context, msgs []natsbus.Message) []error {
	r.mu.Lock()
	defer r.mu.Unlock()
	errs := make([]error, len(msgs))
	for i, m := range msgs {
		r.seen[string(m.Data)] = append(r.seen[string(m.Data)], m.Delivered)
		r.messages++
		if r.fail != nil {
			errs[i] = r.fail(string(m.Data), m.Delivered)
		}
	}
	return errs
}

func (r *recorder) attempts(data string) []int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]int(nil), r.seen[data]...)
}

func (r *recorder) count() (distinct, total int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.seen), r.messages
}

func consume(t *testing.T, b *natsbus.Bus, cfg natsbus.ConsumerConfig, h natsbus.BatchHandler) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Consume(ctx, cfg, h) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("consume: %v", err)
		}
	})
}

var jobs = natsbus.ConsumerConfig{Stream: natsbus.StreamEmbedJobs, Durable: "workers", Batch: 16, MaxDeliver: 5, AckWait: time.Second}

func buses(t *testing.T) map[string]func(testing.TB) *natsbus.Bus {
	return map[string]func(testing.TB) *natsbus.Bus{"embedded": natstest.Embedded, "external": natstest.External}
}

func TestPublishConsume(t *testing.T) {
	for name, open := range buses(t) {
		t.Run(name, func(t *testing.T) {
			b := open(t)
			ctx := context.Background()
			for i := range 100 {
				if err := b.Publish(ctx, mediarec.SubjectEmbedJobs, fmt.Sprint("m", i), []byte(fmt.Sprint("job ", i))); err != nil {
					t.Fatal(err)
				}
			}
			// The same id again is a duplicate, stored once.
			if err := b.Publish(ctx, mediarec.SubjectEmbedJobs, "m7", []byte("job 7 again")); err != nil {
				t.Fatal(err)
			}
			rec := newRecorder(nil)
			consume(t, b, jobs, rec.handle)
			natstest.CheckFor(t, 10*time.Second, func() error {
				if distinct, total := rec.count(); distinct != 100 || total != 100 {
					return fmt.Errorf("%d distinct of %d messages, want 100 of 100", distinct, total)
				}
				return nil
			})
			if got := rec.attempts("job 7 again"); len(got) != 0 {
				t.Fatalf("duplicate delivered: %v", got)
			}
		})
	}
}

func TestAckPolicy(t *testing.T) {
	b := natstest.Embedded(t)
	ctx := context.Background()
	for _, m := range []string{"ok", "invalid", "transient"} {
		if err := b.Publish(ctx, mediarec.SubjectEmbedJobs, m, []byte(m)); err != nil {
			t.Fatal(err)
		}
	}
	rec := newRecorder(func(data string, delivered int) error {
		switch {
		case data == "invalid":
			return mediarec.Errorf(mediarec.EINVALID, "never works")
		case data == "transient" && delivered == 1:
			return mediarec.Errorf(mediarec.EUNAVAILABLE, "try later")
		}
		return nil
	})
	consume(t, b, jobs, rec.handle)
	natstest.CheckFor(t, 10*time.Second, func() error {
		if got := rec.attempts("transient"); len(got) != 2 || got[1] != 2 {
			return fmt.Errorf("transient attempts %v, want [1 2]", got)
		}
		return nil
	})
	// Everything is settled: the queue is empty once the transient message
	// succeeded, and the terminated one never came back.
	if got := rec.attempts("invalid"); len(got) != 1 {
		t.Fatalf("invalid delivered %v times, want once", got)
	}
	if got := rec.attempts("ok"); len(got) != 1 {
		t.Fatalf("ok delivered %v times, want once", got)
	}
}

// TestDeadConsumerLosesNothing stops a consumer in the middle of a batch,
// without acks, and shows a second one gets every message.
func TestDeadConsumerLosesNothing(t *testing.T) {
	b := natstest.Embedded(t)
	ctx := context.Background()
	for i := range 40 {
		if err := b.Publish(ctx, mediarec.SubjectEmbedJobs, fmt.Sprint(i), []byte(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	cfg := jobs
	cfg.AckWait = 500 * time.Millisecond

	// The first consumer takes a batch and dies holding it.
	taken := make(chan struct{})
	dying, die := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- b.Consume(dying, cfg, func(ctx context.Context, msgs []natsbus.Message) []error {
			close(taken)
			<-ctx.Done()
			panicked := make([]error, len(msgs))
			for i := range panicked {
				panicked[i] = mediarec.Errorf(mediarec.EUNAVAILABLE, "killed")
			}
			return panicked
		})
	}()
	<-taken
	die()
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	rec := newRecorder(nil)
	consume(t, b, cfg, rec.handle)
	natstest.CheckFor(t, 15*time.Second, func() error {
		if distinct, _ := rec.count(); distinct != 40 {
			return fmt.Errorf("%d of 40 messages delivered after the first consumer died", distinct)
		}
		return nil
	})
}

// TestFollowSeesEverything: every follower reads every message under the
// prefix, those published before it started and after, and the user
// events stream keeps only the latest message of each subject.
func TestFollowSeesEverything(t *testing.T) {
	for name, open := range buses(t) {
		t.Run(name, func(t *testing.T) {
			b := open(t)
			ctx := context.Background()
			publish := func(from, to int) {
				for i := from; i < to; i++ {
					if err := b.Publish(ctx, mediarec.FeedbackSubject(1, int64(i)), fmt.Sprint("f", i), []byte(fmt.Sprint(i))); err != nil {
						t.Fatal(err)
					}
				}
			}
			publish(0, 5)
			// A second state of item 0's feedback replaces the first.
			if err := b.Publish(ctx, mediarec.FeedbackSubject(1, 0), "f0-again", []byte("0 again")); err != nil {
				t.Fatal(err)
			}
			if err := b.Publish(ctx, mediarec.PreferencesSubject(1), "p", []byte("other prefix")); err != nil {
				t.Fatal(err)
			}
			var followers [2]struct {
				mu   sync.Mutex
				seen []string
			}
			runCtx, stop := context.WithCancel(ctx)
			var wg sync.WaitGroup
			for i := range followers {
				f := &followers[i]
				wg.Go(func() {
					if err := b.Follow(runCtx, natsbus.StreamUserEvents, []string{mediarec.SubjectUserFeedback + ".>"}, func(_ context.Context, m natsbus.Followed) {
						f.mu.Lock()
						defer f.mu.Unlock()
						f.seen = append(f.seen, string(m.Data))
					}, nil); err != nil {
						t.Errorf("follow: %v", err)
					}
				})
			}
			t.Cleanup(func() { stop(); wg.Wait() })
			publish(5, 12)
			want := []string{"1", "2", "3", "4", "0 again", "5", "6", "7", "8", "9", "10", "11"}
			natstest.CheckFor(t, 10*time.Second, func() error {
				for i := range followers {
					f := &followers[i]
					f.mu.Lock()
					seen := slices.Clone(f.seen)
					f.mu.Unlock()
					if !slices.Equal(seen, want) {
						return fmt.Errorf("follower %d saw %v, want %v", i, seen, want)
					}
				}
				return nil
			})
		})
	}
}
