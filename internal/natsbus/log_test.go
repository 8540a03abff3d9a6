package natsbus_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"mediarec"
	"mediarec/internal/natsbus"
)

// followAll follows the vector log from the start until it has caught up,
// and returns the latest data per subject and the messages' sequences.
func followAll(t *testing.T, b *natsbus.Bus, subjects ...string) (map[string]string, []natsbus.Followed) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var (
		mu     sync.Mutex
		latest = map[string]string{}
		msgs   []natsbus.Followed
	)
	caughtUp, done := make(chan struct{}), make(chan error, 1)
	go func() {
		done <- b.Follow(ctx, natsbus.StreamVectors, subjects, func(_ context.Context, f natsbus.Followed) {
			mu.Lock()
			defer mu.Unlock()
			latest[f.Subject] = string(f.Data)
			msgs = append(msgs, f)
		}, func() { close(caughtUp) })
	}()
	select {
	case <-caughtUp:
	case <-time.After(10 * time.Second):
		t.Fatal("the follower did not catch up within 10s")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("follow: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	return latest, msgs
}

func TestPutLogPurgeLog(t *testing.T) {
	for name, open := range buses(t) {
		t.Run(name, func(t *testing.T) {
			b := open(t)
			ctx := context.Background()
			pre := natsbus.SubjectVectors

			// More entries than PutLog keeps in flight, 100 of them on a
			// subject written twice: the stream keeps the second.
			var entries []natsbus.LogEntry
			want := map[string]string{}
			for i := range 700 {
				e := natsbus.LogEntry{Subject: fmt.Sprintf("%s.c.p.%d", pre, i%600), Data: []byte(fmt.Sprint("v", i))}
				entries = append(entries, e)
				want[e.Subject] = string(e.Data)
			}
			last, err := b.PutLog(ctx, entries)
			if err != nil {
				t.Fatal(err)
			}
			meta, err := b.PutLog(ctx, []natsbus.LogEntry{{Subject: pre + ".c.meta", Data: []byte(`{"dimensions":3}`)}})
			if err != nil {
				t.Fatal(err)
			}
			want[pre+".c.meta"] = `{"dimensions":3}`
			if last != 700 || meta != 701 {
				t.Fatalf("sequences %d and %d, want 700 and 701", last, meta)
			}

			got, msgs := followAll(t, b, pre+".>")
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("followed (-want +got):\n%s", diff)
			}
			if len(msgs) != 601 || msgs[len(msgs)-1].Seq != meta || msgs[len(msgs)-1].Pending != 0 {
				t.Fatalf("%d messages, the last %+v; want 601, the last at %d", len(msgs), msgs[len(msgs)-1], meta)
			}

			if err := b.PurgeLog(ctx, pre+".c.p.>"); err != nil {
				t.Fatal(err)
			}
			got, _ = followAll(t, b, pre+".*.meta")
			if diff := cmp.Diff(map[string]string{pre + ".c.meta": `{"dimensions":3}`}, got); diff != "" {
				t.Fatalf("after the purge (-want +got):\n%s", diff)
			}
			got, _ = followAll(t, b, pre+".>")
			if len(got) != 1 {
				t.Fatalf("after the purge the log holds %v", got)
			}
		})
	}
}

// A follower that never finds the stream's end empty, because a publisher
// writes one more message for each it reads, is still caught up once it has
// read what the stream held when it started. The stream holds more than a
// pull brings at once (500), so every message arrives with some pending.
func TestFollowCatchesUpWhilePublishing(t *testing.T) {
	b := buses(t)["embedded"](t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	subject := func(i int) string { return fmt.Sprintf("%s.c.p.%d", natsbus.SubjectVectors, i) }
	var entries []natsbus.LogEntry
	for i := range 2000 {
		entries = append(entries, natsbus.LogEntry{Subject: subject(i), Data: []byte("x")})
	}
	held, err := b.PutLog(ctx, entries)
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu   sync.Mutex
		read uint64 // the last sequence read
		next = 2000
	)
	caughtUp, done := make(chan uint64, 1), make(chan error, 1)
	go func() {
		done <- b.Follow(ctx, natsbus.StreamVectors, []string{natsbus.SubjectVectors + ".>"}, func(_ context.Context, f natsbus.Followed) {
			mu.Lock()
			read, next = f.Seq, next+1
			i := next
			mu.Unlock()
			if _, err := b.PutLog(ctx, []natsbus.LogEntry{{Subject: subject(i), Data: []byte("y")}}); err != nil && ctx.Err() == nil {
				t.Errorf("publish while following: %v", err)
			}
		}, func() {
			mu.Lock()
			defer mu.Unlock()
			caughtUp <- read
		})
	}()
	select {
	case seq := <-caughtUp:
		if seq < held {
			t.Fatalf("caught up at sequence %d, before the %d the stream held", seq, held)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the follower did not catch up within 10s while messages kept coming")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("follow: %v", err)
	}
}

func TestLogOutsideVectors(t *testing.T) {
	b := buses(t)["embedded"](t)
	ctx := context.Background()
	_, err := b.PutLog(ctx, []natsbus.LogEntry{{Subject: mediarec.SubjectEmbedJobs, Data: []byte("x")}})
	if code := mediarec.ErrorCode(err); code != mediarec.EINVALID {
		t.Fatalf("PutLog outside the log: %q (%v), want %q", code, err, mediarec.EINVALID)
	}
	if code := mediarec.ErrorCode(b.PurgeLog(ctx, ">")); code != mediarec.EINVALID {
		t.Fatalf("PurgeLog outside the log: %q, want %q", code, mediarec.EINVALID)
	}
}

func TestPutLogClosed(t *testing.T) {
	b := buses(t)["embedded"](t)
	b.Close()
	entries := []natsbus.LogEntry{{Subject: natsbus.SubjectVectors + ".c.p.1"}, {Subject: natsbus.SubjectVectors + ".c.p.2"}}
	for _, n := range []int{1, 2} {
		if _, err := b.PutLog(context.Background(), entries[:n]); mediarec.ErrorCode(err) != mediarec.EUNAVAILABLE {
			t.Fatalf("PutLog of %d on a closed bus: %v, want %s", n, err, mediarec.EUNAVAILABLE)
		}
	}
}
