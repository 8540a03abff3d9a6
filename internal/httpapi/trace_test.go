package httpapi_test

import (
	"log/slog"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"mediarec/internal/httpapi"
	"mediarec/internal/tracing"
)

// TestTracePropagates: each app's request span continues the caller's
// W3C traceparent, web's forwarder passes its own span on to the service,
// and both access log lines carry the one trace id.
func TestTracePropagates(t *testing.T) {
	var serviceLog, frontLog syncBuffer
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	service := httpapi.NewApp(httpapi.Options{
		Name: "catalog", BodyLimit: 1 << 20, RequestTimeout: 5 * time.Second,
		Logger: slog.New(tracing.NewLogHandler(slog.NewJSONHandler(&serviceLog, nil))), TracerProvider: tp,
	})
	service.Get("/v1/items/:id", func(c *fiber.Ctx) error { return c.JSON(fiber.Map{"id": c.Params("id")}) })
	front := httpapi.NewApp(httpapi.Options{
		Name: "web", BodyLimit: 1 << 20, RequestTimeout: 5 * time.Second,
		Logger: slog.New(tracing.NewLogHandler(slog.NewJSONHandler(&frontLog, nil))), TracerProvider: tp,
	})
	front.All("/v1/*", httpapi.Forward(MustUpstream(t, []string{MustServe(t, service)}, 5*time.Second, slog.New(slog.DiscardHandler))))
	frontURL := MustServe(t, front)
	client := MustClient(t)

	const browserTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
	tests := []struct {
		name, traceparent, path string
		wantTrace               string // "" for a new one
	}{
		{"new trace", "", "/v1/items/1", ""},
		{"the browser's trace", "00-" + browserTrace + "-00f067aa0ba902b7-01", "/v1/items/2", browserTrace},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := newRequest(t, "GET", frontURL+tt.path, "")
			if tt.traceparent != "" {
				req.Header.Set("traceparent", tt.traceparent)
			}
			if r := send(t, client, req); r.status != 200 {
				t.Fatalf("answer %d: %s", r.status, r.body)
			}
			line := func(log *syncBuffer) map[string]any {
				t.Helper()
				for _, rec := range log.records(t) {
					if rec["msg"] == "request" && rec["path"] == tt.path {
						return rec
					}
				}
				t.Fatalf("no access log line for %s", tt.path)
				return nil
			}
			web, svc := line(&frontLog), line(&serviceLog)
			traceID, _ := web["trace_id"].(string)
			if len(traceID) != 32 || (tt.wantTrace != "" && traceID != tt.wantTrace) {
				t.Fatalf("web's trace id %q, want %q", traceID, tt.wantTrace)
			}
			if svc["trace_id"] != traceID {
				t.Fatalf("service's trace id %v, web's %s", svc["trace_id"], traceID)
			}
			// The service's span is the child of web's, not of the browser's.
			for _, s := range spans.Ended() {
				if s.SpanContext().SpanID().String() == svc["span_id"] {
					if got := s.Parent().SpanID().String(); got != web["span_id"] {
						t.Fatalf("service span's parent %s, web's span %v", got, web["span_id"])
					}
					if s.Name() != "GET /v1/items/:id" {
						t.Fatalf("service span named %q", s.Name())
					}
					return
				}
			}
			t.Fatalf("no ended span %v among %d", svc["span_id"], len(spans.Ended()))
		})
	}
}

// TestOperationsRoutesUntraced: probes and scrapes make no spans, which
// would bury the requests' traces.
func TestOperationsRoutesUntraced(t *testing.T) {
	spans := tracetest.NewSpanRecorder()
	var logs syncBuffer
	app := httpapi.NewApp(httpapi.Options{
		Name: "catalog", BodyLimit: 1 << 20, RequestTimeout: 5 * time.Second,
		Logger:         slog.New(tracing.NewLogHandler(slog.NewJSONHandler(&logs, nil))),
		TracerProvider: sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans)),
	})
	app.Get("/v1/items", func(c *fiber.Ctx) error { return c.JSON(fiber.Map{}) })
	tests := []struct {
		path   string
		traced bool
	}{
		{"/healthz", false}, {"/readyz", false}, {"/metrics", false}, {"/v1/items", true},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			before := len(spans.Ended())
			res, err := app.Test(newRequest(t, "GET", "http://x"+tt.path, ""))
			if err != nil || res.StatusCode != 200 {
				t.Fatalf("GET %s: %v %v", tt.path, res, err)
			}
			res.Body.Close()
			if traced := len(spans.Ended()) > before; traced != tt.traced {
				t.Fatalf("GET %s made a span: %v, want %v", tt.path, traced, tt.traced)
			}
		})
	}
}
