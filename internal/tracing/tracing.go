// Package tracing carries OpenTelemetry trace context where the
// transports cannot: through an outbox row, which the relay publishes later
// in another goroutine, and into every log record written with a context.
// It uses only the OTel API; the wiring sets up the SDK and its exporter.
package tracing

import (
	"context"
	"log/slog"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// traceparent is the W3C header that holds a span context.
const traceparent = "traceparent"

// TraceParent returns the W3C traceparent of ctx's span, or "" when ctx has
// none. An outbox row keeps it, so that the event published from the row
// continues the trace of the request that wrote it.
func TraceParent(ctx context.Context) string {
	c := propagation.MapCarrier{}
	propagation.TraceContext{}.Inject(ctx, c)
	return c[traceparent]
}

// ContextWithTraceParent returns ctx with the remote span context that tp
// (a W3C traceparent) describes, or ctx itself when tp is empty or
// malformed.
func ContextWithTraceParent(ctx context.Context, tp string) context.Context {
	if tp == "" {
		return ctx
	}
	return propagation.TraceContext{}.Extract(ctx, propagation.MapCarrier{traceparent: tp})
}

// LogHandler adds the trace_id and span_id of the context's span to every
// record logged with a context that has one (slog's ...Context methods and
// LogAttrs), so that a log line can be found from a trace and back.
type LogHandler struct{ next slog.Handler }

// NewLogHandler wraps next.
func NewLogHandler(next slog.Handler) *LogHandler { return &LogHandler{next: next} }

// Enabled implements slog.Handler.
func (h *LogHandler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

// Handle implements slog.Handler.
func (h *LogHandler) Handle(ctx context.Context, r slog.Record) error {
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		r = r.Clone()
		r.AddAttrs(slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String()))
	}
	return h.next.Handle(ctx, r)
}

// WithAttrs implements slog.Handler.
func (h *LogHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &LogHandler{next: h.next.WithAttrs(attrs)}
}

// WithGroup implements slog.Handler. The trace attributes then land in the
// group, which is where a reader of that logger's lines looks.
func (h *LogHandler) WithGroup(name string) slog.Handler {
	return &LogHandler{next: h.next.WithGroup(name)}
}
