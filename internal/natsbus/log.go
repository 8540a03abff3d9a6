package natsbus

import (
	"context"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"mediarec"
)

// LogEntry is one message for the vector log: Subject (without the
// namespace) lies under SubjectVectors.
type LogEntry struct {
	Subject string
	Data    []byte
}

// logWindow is how many publishes PutLog keeps in flight: a batch larger
// than the client's async limit (4,000, shared with every other publisher
// of the connection) would stall instead of waiting for acks.
const logWindow = 256

// logAckWait bounds a PutLog whose context has no deadline: without one an
// ack lost with a connection would be awaited for ever.
const logAckWait = 30 * time.Second

// PutLog stores entries on the vector log, in order, and returns the stream
// sequence of the last one: a follower that has handled that sequence has
// seen them all. EINVALID for a subject outside the log, EUNAVAILABLE when
// the bus does not take them; a failed PutLog may have stored some.
func (b *Bus) PutLog(ctx context.Context, entries []LogEntry) (lastSeq uint64, err error) {
	for _, e := range entries {
		if !strings.HasPrefix(e.Subject, SubjectVectors+".") {
			return 0, mediarec.Errorf(mediarec.EINVALID, "Subject %q is not on the vector log.", e.Subject)
		}
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, logAckWait)
		defer cancel()
	}
	if len(entries) == 1 {
		ack, err := b.js.Publish(ctx, b.pre+entries[0].Subject, entries[0].Data)
		if err != nil {
			return 0, logUnavailable(err)
		}
		return ack.Sequence, nil
	}
	for lo := 0; lo < len(entries); lo += logWindow {
		futures := make([]jetstream.PubAckFuture, 0, logWindow)
		for _, e := range entries[lo:min(lo+logWindow, len(entries))] {
			f, err := b.js.PublishAsync(b.pre+e.Subject, e.Data)
			if err != nil {
				return 0, logUnavailable(err)
			}
			futures = append(futures, f)
		}
		// Acks come in order, but a stream's sequence is what a follower
		// counts, so keep the highest rather than the last.
		for _, f := range futures {
			select {
			case ack := <-f.Ok():
				lastSeq = max(lastSeq, ack.Sequence)
			case err := <-f.Err():
				return 0, logUnavailable(err)
			case <-ctx.Done():
				return 0, logUnavailable(ctx.Err())
			}
		}
	}
	return lastSeq, nil
}

// PurgeLog removes the vector log's messages on subject, which may hold
// wildcards ("vectors.v1.items_a.>"). Followers are not told: whoever
// purges publishes what they must learn (a tombstone) afterwards.
func (b *Bus) PurgeLog(ctx context.Context, subject string) error {
	if !strings.HasPrefix(subject, SubjectVectors+".") {
		return mediarec.Errorf(mediarec.EINVALID, "Subject %q is not on the vector log.", subject)
	}
	s, err := b.js.Stream(ctx, b.pre+StreamVectors)
	if err == nil {
		err = s.Purge(ctx, jetstream.WithPurgeSubject(b.pre+subject))
	}
	if err != nil {
		return mediarec.Errorf(mediarec.EUNAVAILABLE, "The message bus did not purge the vector log: %v.", err)
	}
	return nil
}

func logUnavailable(err error) error {
	return mediarec.Errorf(mediarec.EUNAVAILABLE, "The message bus did not take the vectors: %v.", err)
}
