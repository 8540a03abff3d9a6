package natsbus

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"mediarec"
)

// Message is one delivered message. Delivered counts the attempts, 1 the
// first time, so a handler can tell its last attempt.
type Message struct {
	Data      []byte
	Delivered int
	// Ctx is the context to handle this message in: the batch's, with the
	// span of processing this message, the child of its publisher's span.
	// Like an http.Request's, it lives as long as the handler's call; nil
	// stands for the batch's.
	Ctx context.Context
}

// BatchHandler handles a batch and returns one error per message: nil acks
// it, an EINVALID error terminates it (it can never succeed), any other
// error asks for redelivery later.
type BatchHandler func(ctx context.Context, msgs []Message) []error

// ConsumerConfig names a durable pull consumer shared by every process that
// consumes with the same Durable name: each message goes to one of them.
type ConsumerConfig struct {
	Stream     string
	Durable    string
	Batch      int           // messages per fetch
	MaxDeliver int           // attempts before the server gives up
	AckWait    time.Duration // how long a taken message stays invisible to others
}

// Consume fetches batches and hands them to h until ctx ends. A process
// that dies holding a batch loses nothing: its messages are delivered again
// once AckWait passes. While h runs, Consume tells the server every
// AckWait/3 that each message of the batch is still being worked on, so a
// slow batch (a long request, an embedding endpoint that is down and
// waited for) is neither handed to another process meanwhile nor charged
// another delivery; and it takes no message beyond the batch, since one
// taken but not handled would run out its AckWait unnoticed.
func (b *Bus) Consume(ctx context.Context, cfg ConsumerConfig, h BatchHandler) error {
	cons, err := b.js.CreateOrUpdateConsumer(ctx, b.pre+cfg.Stream, jetstream.ConsumerConfig{
		Durable: cfg.Durable, AckPolicy: jetstream.AckExplicitPolicy,
		MaxDeliver: cfg.MaxDeliver, AckWait: cfg.AckWait,
		MaxAckPending: max(cfg.Batch*8, 256),
	})
	if err != nil {
		return fmt.Errorf("consumer %s on %s: %w", cfg.Durable, cfg.Stream, err)
	}
	ackWait := cfg.AckWait
	if ackWait <= 0 {
		ackWait = defaultAckWait
	}
	for ctx.Err() == nil {
		taken := b.nextBatch(ctx, cons, max(cfg.Batch, 1))
		if len(taken) == 0 {
			continue
		}
		msgs := make([]Message, len(taken))
		spans := make([]trace.Span, len(taken))
		for i, m := range taken {
			n := delivered(m)
			var mctx context.Context
			mctx, spans[i] = b.startProcess(ctx, strings.TrimPrefix(m.Subject(), b.pre), m.Headers(),
				semconv.MessagingConsumerGroupName(cfg.Durable), attribute.Int("messaging.nats.message.delivery_count", n))
			msgs[i] = Message{Data: m.Data(), Delivered: n, Ctx: mctx}
		}
		stop := b.keepInProgress(cfg.Durable, taken, ackWait/3)
		errs := h(ctx, msgs)
		stop()
		for i, m := range taken {
			if errs[i] != nil {
				spans[i].SetStatus(codes.Error, errs[i].Error())
			}
			if err := ack(m, errs[i]); err != nil {
				b.log.WarnContext(msgs[i].Ctx, "ack failed", "consumer", cfg.Durable, "error", err)
			}
			spans[i].End()
		}
	}
	return nil
}

// defaultAckWait is the server's ack wait when a consumer sets none.
const defaultAckWait = 30 * time.Second

// keepInProgress tells the server every interval that the taken messages
// are still being worked on, until the returned stop is called; stop
// returns once the last of these has been sent, so none follows an ack.
func (b *Bus) keepInProgress(durable string, taken []jetstream.Msg, every time.Duration) (stop func()) {
	done, exited := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(exited)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			for _, m := range taken {
				// A lost one is made up by the next tick; a message whose
				// ack wait ran out meanwhile is delivered again, as without.
				if err := m.InProgress(); err != nil {
					b.log.Warn("in-progress ack failed", "consumer", durable, "error", err)
					break
				}
			}
		}
	}()
	return func() {
		close(done)
		<-exited
	}
}

// batchGather is how long a batch waits for more messages once it has one:
// long enough to fill batches under load, short enough to go unnoticed.
const batchGather = 5 * time.Millisecond

// fetchWait is how long one request for the first message of a batch
// waits at the server before it is renewed.
const fetchWait = 30 * time.Second

// nextBatch waits for one message, then takes whatever else arrives within
// batchGather, up to n. Handling starts at once, well within the ack wait.
// Each message is asked for by a request of its own (no prefetching
// iterator): a message the process holds is one it handles, and so one
// it keeps in progress.
func (b *Bus) nextBatch(ctx context.Context, cons jetstream.Consumer, n int) []jetstream.Msg {
	wait, cancel := context.WithTimeout(ctx, fetchWait)
	first, err := cons.Next(jetstream.FetchContext(wait))
	cancel()
	if err != nil {
		if ctx.Err() == nil && !errors.Is(err, nats.ErrTimeout) && !errors.Is(err, context.DeadlineExceeded) {
			b.log.Warn("receive failed", "error", err)
			sleep(ctx, time.Second)
		}
		return nil
	}
	taken := []jetstream.Msg{first}
	if n == 1 {
		return taken
	}
	more, err := cons.Fetch(n-1, jetstream.FetchMaxWait(batchGather))
	if err != nil {
		return taken
	}
	for m := range more.Messages() {
		taken = append(taken, m)
	}
	return taken
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

func delivered(msg jetstream.Msg) int {
	if md, err := msg.Metadata(); err == nil {
		return int(md.NumDelivered)
	}
	return 1
}

// ack applies the one ack policy of the project to a handled message.
func ack(msg jetstream.Msg, err error) error {
	switch {
	case err == nil:
		return msg.Ack()
	case mediarec.ErrorCode(err) == mediarec.EINVALID:
		return msg.TermWithReason(mediarec.ErrorMessage(err))
	}
	return msg.NakWithDelay(redeliveryDelay(msg))
}

// redeliveryDelay backs off with the attempt number: 1s, 2s, 4s … 30s.
func redeliveryDelay(msg jetstream.Msg) time.Duration {
	return min(time.Second<<min(delivered(msg)-1, 5), 30*time.Second)
}

// Followed is one message a follower reads: its subject (without the
// namespace), its data, its sequence number in the stream, and how many
// messages of the follower's subjects the stream holds after it (0: the
// follower is at the end, for now), so a reader can apply in batches.
type Followed struct {
	Subject string
	Data    []byte
	Seq     uint64
	Pending uint64
}

// Follow reads every message on the subjects (which may hold wildcards,
// "user.feedback.v1.>") of stream, from the oldest kept, and hands each to
// fn until ctx ends, with a context that carries the span context of the
// message's publisher, if any (and no span of its own: a replica starting
// reads whole streams).
// Unlike Consume, every process that follows sees every message: it is how
// a replica builds its own view of a stream. caughtUp, when not nil, is
// called once, after fn has been handed every message the stream held when
// Follow started: a replica is ready from then on. The ordered consumer
// recreates itself after a server outage.
func (b *Bus) Follow(ctx context.Context, stream string, subjects []string, fn func(context.Context, Followed), caughtUp func()) error {
	// Servers before 2.10 take one filter subject per consumer: several
	// are matched here instead, on the whole stream.
	var filters []string
	if len(subjects) == 1 {
		filters = []string{b.pre + subjects[0]}
	}
	cons, err := b.js.OrderedConsumer(ctx, b.pre+stream, jetstream.OrderedConsumerConfig{FilterSubjects: filters})
	if err != nil {
		return fmt.Errorf("follow %s: %w", stream, err)
	}
	info, err := cons.Info(ctx)
	if err != nil {
		return fmt.Errorf("follow %s: %w", stream, err)
	}
	if info.NumPending == 0 && caughtUp != nil {
		caughtUp()
		caughtUp = nil
	}
	// Caught up means past what the stream held now, not at a moment with
	// nothing pending: while a publisher keeps writing (a catalog being
	// embedded), a reader may never find the stream's end empty.
	s, err := b.js.Stream(ctx, b.pre+stream)
	if err != nil {
		return fmt.Errorf("follow %s: %w", stream, err)
	}
	last := s.CachedInfo().State.LastSeq
	it, err := cons.Messages()
	if err != nil {
		return fmt.Errorf("follow %s: %w", stream, err)
	}
	defer it.Stop()
	for {
		m, err := it.Next(jetstream.NextContext(ctx))
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			b.log.Warn("follow: next message", "stream", stream, "error", err)
			sleep(ctx, time.Second)
			continue
		}
		md, err := m.Metadata()
		if err != nil {
			b.log.Warn("follow: message without metadata", "stream", stream, "error", err)
			continue
		}
		subject := strings.TrimPrefix(m.Subject(), b.pre)
		if len(subjects) == 1 || slices.ContainsFunc(subjects, func(f string) bool { return subjectMatches(f, subject) }) {
			fn(remoteContext(ctx, m.Headers()), Followed{Subject: subject, Data: m.Data(), Seq: md.Sequence.Stream, Pending: md.NumPending})
		}
		if (md.NumPending == 0 || md.Sequence.Stream >= last) && caughtUp != nil {
			caughtUp()
			caughtUp = nil
		}
	}
}

// subjectMatches tells whether subject matches filter, which may hold the
// wildcards * (one token) and > (the rest).
func subjectMatches(filter, subject string) bool {
	fs, ss := strings.Split(filter, "."), strings.Split(subject, ".")
	for i, f := range fs {
		switch {
		case f == ">":
			return len(ss) > i
		case i >= len(ss) || f != "*" && f != ss[i]:
			return false
		}
	}
	return len(fs) == len(ss)
}

// Connected reports whether the bus is connected to its server now: a
// reader of followed state can tell that it may be stale.
func (b *Bus) Connected() bool { return b.nc.IsConnected() }

// ConsumerPending returns how many messages of stream the durable consumer
// has not acknowledged yet: those waiting for it and those in flight. A
// consumer not created yet (no worker has started) has everything the
// stream holds ahead of it, which is that for a work queue.
func (b *Bus) ConsumerPending(ctx context.Context, stream, durable string) (uint64, error) {
	c, err := b.js.Consumer(ctx, b.pre+stream, durable)
	if errors.Is(err, jetstream.ErrConsumerNotFound) {
		s, err := b.js.Stream(ctx, b.pre+stream)
		if err != nil {
			return 0, fmt.Errorf("stream %s: %w", stream, err)
		}
		return s.CachedInfo().State.Msgs, nil
	}
	if err != nil {
		return 0, fmt.Errorf("consumer %s on %s: %w", durable, stream, err)
	}
	info := c.CachedInfo()
	return info.NumPending + uint64(info.NumAckPending), nil
}
