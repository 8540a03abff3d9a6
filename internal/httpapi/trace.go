package httpapi

import (
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"
	otelcodes "go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// untraced are the operations routes: probes and scrapes every few
// seconds would bury the requests' traces.
var untraced = map[string]bool{"/healthz": true, "/readyz": true, "/metrics": true}

// traceRequests starts a server span per request (but the operations
// routes'), the child of the span the caller names in a W3C traceparent
// header, and hands it to the handlers in the request's user context.
// Errors are rendered inside (observe), so the span sees the status the
// client gets.
func traceRequests(tracer trace.Tracer) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if untraced[c.Path()] {
			return c.Next()
		}
		ctx := propagation.TraceContext{}.Extract(c.UserContext(), requestHeaders{&c.Request().Header})
		// Fiber's strings point into buffers it reuses: the span keeps
		// copies.
		method := strings.Clone(c.Method())
		ctx, span := tracer.Start(ctx, method, trace.WithSpanKind(trace.SpanKindServer),
			trace.WithAttributes(semconv.HTTPRequestMethodKey.String(method), semconv.URLPath(strings.Clone(c.Path()))))
		defer span.End()
		c.SetUserContext(ctx)
		err := c.Next()
		route, status := c.Route().Path, c.Response().StatusCode()
		if status == fiber.StatusNotFound && route == "/" {
			route = "unmatched" // as in the metrics
		}
		span.SetName(method + " " + route)
		span.SetAttributes(semconv.HTTPRoute(strings.Clone(route)), semconv.HTTPResponseStatusCode(status))
		if status >= fiber.StatusInternalServerError || err != nil {
			span.SetStatus(otelcodes.Error, "")
		}
		return err
	}
}

// requestHeaders carries trace context in fasthttp's request headers,
// whose lookups ignore case as HTTP's do.
type requestHeaders struct{ h *fasthttp.RequestHeader }

func (r requestHeaders) Get(key string) string { return string(r.h.Peek(key)) }

func (r requestHeaders) Set(key, value string) { r.h.Set(key, value) }

func (r requestHeaders) Keys() []string {
	var keys []string
	r.h.VisitAll(func(k, _ []byte) { keys = append(keys, string(k)) })
	return keys
}
