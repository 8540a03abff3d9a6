package natsbus_test

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"mediarec"
	"mediarec/internal/natsbus"
	"mediarec/internal/natsbus/natstest"
)

// tracedBus is an embedded bus whose spans end up in the returned
// recorder.
func tracedBus(t *testing.T) (*natsbus.Bus, *tracetest.SpanRecorder, trace.Tracer) {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	b, err := natsbus.Open(context.Background(), natsbus.Options{Dir: t.TempDir(), TracerProvider: tp}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b, rec, tp.Tracer("test")
}

// TestTraceThroughMessages publishes from inside a span and checks that
// the consumer's and the follower's contexts continue its trace, and that a
// message published without one starts a trace of its own.
func TestTraceThroughMessages(t *testing.T) {
	b, spans, tracer := tracedBus(t)
	ctx, parent := tracer.Start(context.Background(), "request")
	want := parent.SpanContext().TraceID()
	tests := []struct {
		name    string
		ctx     context.Context
		subject string
		traced  bool // continues the request's trace
	}{
		{"job in a trace", ctx, mediarec.SubjectEmbedJobs, true},
		{"job without one", context.Background(), mediarec.SubjectEmbedJobs, false},
		{"feedback in a trace", ctx, mediarec.FeedbackSubject(1, 2), true},
	}
	for i, tt := range tests {
		if err := b.Publish(tt.ctx, tt.subject, fmt.Sprint("m", i), []byte(tt.name)); err != nil {
			t.Fatal(err)
		}
	}
	parent.End()

	var mu sync.Mutex
	got := map[string]trace.SpanContext{}
	consume(t, b, jobs, func(_ context.Context, msgs []natsbus.Message) []error {
		mu.Lock()
		defer mu.Unlock()
		for _, m := range msgs {
			got[string(m.Data)] = trace.SpanContextFromContext(m.Ctx)
		}
		return make([]error, len(msgs))
	})
	followCtx, stop := context.WithCancel(context.Background())
	followed := make(chan error, 1)
	go func() {
		followed <- b.Follow(followCtx, natsbus.StreamUserEvents, []string{mediarec.SubjectUserFeedback + ".>"}, func(ctx context.Context, f natsbus.Followed) {
			mu.Lock()
			defer mu.Unlock()
			got[string(f.Data)] = trace.SpanContextFromContext(ctx)
		}, nil)
	}()
	t.Cleanup(func() {
		stop()
		if err := <-followed; err != nil {
			t.Errorf("follow: %v", err)
		}
	})
	natstest.CheckFor(t, 10*time.Second, func() error {
		mu.Lock()
		defer mu.Unlock()
		if len(got) != len(tests) {
			return fmt.Errorf("%d of %d messages handled", len(got), len(tests))
		}
		return nil
	})

	mu.Lock()
	defer mu.Unlock()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc := got[tt.name]
			if !sc.IsValid() {
				t.Fatalf("handler context has no span context")
			}
			if (sc.TraceID() == want) != tt.traced {
				t.Fatalf("trace %s, request's %s; want the same: %v", sc.TraceID(), want, tt.traced)
			}
		})
	}
	// The consumer's span of the traced job is the child of the publisher's.
	publishes := map[trace.SpanID]bool{}
	for _, s := range spans.Ended() {
		if s.Name() == "publish embed.jobs.v1" && s.SpanKind() == trace.SpanKindProducer {
			publishes[s.SpanContext().SpanID()] = true
		}
	}
	natstest.CheckFor(t, 5*time.Second, func() error {
		for _, s := range spans.Ended() {
			if s.Name() == "process embed.jobs.v1" && s.SpanContext().TraceID() == want {
				if !publishes[s.Parent().SpanID()] {
					return fmt.Errorf("process span's parent %s is no publish span", s.Parent().SpanID())
				}
				return nil
			}
		}
		return fmt.Errorf("no process span in the request's trace")
	})
}

func TestConsumerPending(t *testing.T) {
	b := natstest.Embedded(t)
	ctx := context.Background()
	for i := range 3 {
		if err := b.Publish(ctx, mediarec.SubjectEmbedJobs, fmt.Sprint(i), []byte("job")); err != nil {
			t.Fatal(err)
		}
	}
	pending := func() uint64 {
		t.Helper()
		n, err := b.ConsumerPending(ctx, natsbus.StreamEmbedJobs, jobs.Durable)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	// No consumer yet: the whole work queue waits for it.
	if n := pending(); n != 3 {
		t.Fatalf("pending before any consumer = %d, want 3", n)
	}
	rec := newRecorder(nil)
	consume(t, b, jobs, rec.handle)
	natstest.CheckFor(t, 10*time.Second, func() error {
		if n := pending(); n != 0 {
			return fmt.Errorf("pending = %d after consuming", n)
		}
		return nil
	})
}
