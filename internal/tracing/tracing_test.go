package tracing_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"testing"

	"go.opentelemetry.io/otel/trace"

	"mediarec/internal/tracing"
)

const traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

func TestTraceParentRoundTrip(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"a traceparent", traceparent, traceparent},
		{"none", "", ""},
		{"malformed", "00-nonsense", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := tracing.ContextWithTraceParent(context.Background(), tt.in)
			if got := tracing.TraceParent(ctx); got != tt.want {
				t.Fatalf("TraceParent(ContextWithTraceParent(%q)) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestLogHandler(t *testing.T) {
	traced := tracing.ContextWithTraceParent(context.Background(), traceparent)
	tests := []struct {
		name            string
		ctx             context.Context
		wantTrace, want string
	}{
		{"in a span", traced, "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"},
		{"outside any", context.Background(), "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			log := slog.New(tracing.NewLogHandler(slog.NewJSONHandler(&buf, nil))).With("service", "test")
			log.InfoContext(tt.ctx, "hello", "n", 1)
			var rec map[string]any
			if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
				t.Fatal(err)
			}
			got, _ := rec["trace_id"].(string)
			span, _ := rec["span_id"].(string)
			if got != tt.wantTrace || span != tt.want || rec["service"] != "test" || rec["n"] != float64(1) {
				t.Fatalf("record %v, want trace %q span %q", rec, tt.wantTrace, tt.want)
			}
			if !trace.SpanContextFromContext(tt.ctx).IsValid() && len(rec) != 5 { // time, level, msg, service, n
				t.Fatalf("record outside a span has extra attributes: %v", rec)
			}
		})
	}
}
