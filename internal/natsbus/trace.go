package natsbus

import (
	"context"
	"strings"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// messagingSystem names NATS in spans; the semantic conventions list no
// constant for it.
var messagingSystem = semconv.MessagingSystemKey.String("nats")

// headers carries trace context in a message's headers. NATS header names
// are case-sensitive; the W3C propagator writes them in lower case, as
// other languages' NATS instrumentations read them.
type headers nats.Header

func (h headers) Get(key string) string { return nats.Header(h).Get(key) }

func (h headers) Set(key, value string) { nats.Header(h).Set(key, value) }

func (h headers) Keys() []string {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	return keys
}

// remoteContext returns ctx with the span context that a message's
// headers carry, if any.
func remoteContext(ctx context.Context, h nats.Header) context.Context {
	if len(h) == 0 {
		return ctx
	}
	return propagation.TraceContext{}.Extract(ctx, headers(h))
}

// startProcess starts the consumer span of one message: the child of its
// producer's span, or the root of a trace when it carried none.
func (b *Bus) startProcess(ctx context.Context, subject string, header nats.Header, attrs ...attribute.KeyValue) (context.Context, trace.Span) {
	ctx = remoteContext(ctx, header)
	attrs = append(attrs, messagingSystem, semconv.MessagingOperationTypeProcess, semconv.MessagingDestinationName(subject))
	return b.tracer.Start(ctx, "process "+subjectFamily(subject), trace.WithSpanKind(trace.SpanKindConsumer), trace.WithAttributes(attrs...))
}

// subjectFamily is subject up to its version token ("catalog.items.v1"
// of "catalog.items.v1.42"): a span name must not hold an id.
func subjectFamily(subject string) string {
	tokens := strings.Split(subject, ".")
	for i, t := range tokens {
		if len(t) > 1 && t[0] == 'v' && strings.Trim(t[1:], "0123456789") == "" {
			return strings.Join(tokens[:i+1], ".")
		}
	}
	return subject
}
