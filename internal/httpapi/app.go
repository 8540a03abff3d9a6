// Package httpapi is the HTTP transport of every service: the Fiber app with
// its middleware, the operations routes, error mapping and the handlers.
package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/gofiber/fiber/v2/middleware/recover"
	"github.com/gofiber/fiber/v2/middleware/requestid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// Options configure an app.
type Options struct {
	Name           string // service name, in logs and the Server header
	BodyLimit      int    // bytes
	RequestTimeout time.Duration
	Logger         *slog.Logger
	// Checks are the dependencies /readyz asks; each returns nil when ready.
	Checks map[string]func(context.Context) error
	// Registry is the process's one Prometheus registry, served on
	// /metrics; nil gives the app a registry of its own.
	Registry *prometheus.Registry
	// TracerProvider makes the span of each request, a child of the
	// caller's when the request carries a W3C traceparent; nil makes none.
	TracerProvider trace.TracerProvider
}

// NewApp returns a Fiber app with request ids, trace spans, JSON access logs,
// Prometheus metrics, panic recovery, a body limit, timeouts, problem+json
// errors and the /healthz, /readyz and /metrics routes. Callers register
// their routes on it.
func NewApp(opts Options) *fiber.App {
	log := opts.Logger
	app := fiber.New(fiber.Config{
		AppName:               opts.Name,
		BodyLimit:             opts.BodyLimit,
		ReadTimeout:           opts.RequestTimeout,
		WriteTimeout:          opts.RequestTimeout,
		IdleTimeout:           2 * time.Minute,
		ErrorHandler:          errorHandler(log),
		DisableStartupMessage: true,
	})

	reg := opts.Registry
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := newMetrics(reg)
	tp := opts.TracerProvider
	if tp == nil {
		tp = noop.NewTracerProvider()
	}

	app.Use(requestid.New(requestid.Config{Generator: newRequestID}))
	// Outside observe, so that the access log line carries the trace id.
	app.Use(traceRequests(tp.Tracer("mediarec/internal/httpapi")))
	app.Use(observe(log, m, app.ErrorHandler))
	app.Use(recover.New())
	app.Use(deadline(opts.RequestTimeout))

	app.Get("/healthz", func(c *fiber.Ctx) error { return c.JSON(fiber.Map{"status": "ok"}) })
	app.Get("/readyz", readyz(log, opts.Checks))
	app.Get("/metrics", adaptor.HTTPHandler(promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg})))
	return app
}

// NotFound answers every route nobody registered; mount it last.
func NotFound(app *fiber.App) {
	app.Use(func(c *fiber.Ctx) error { return fiber.ErrNotFound })
}

type metrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	labels := []string{"method", "route", "status"}
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "http_requests_total", Help: "HTTP requests by method, route and status.",
		}, labels),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "http_request_duration_seconds", Help: "HTTP request latency by method, route and status.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, labels),
	}
	reg.MustRegister(m.requests, m.latency)
	return m
}

// observe logs and measures each request. It renders errors itself, before
// logging, so the log line and the metric see the status the client gets.
func observe(log *slog.Logger, m *metrics, handle fiber.ErrorHandler) fiber.Handler {
	return func(c *fiber.Ctx) error {
		start := time.Now()
		if err := c.Next(); err != nil {
			if herr := handle(c, err); herr != nil {
				return herr
			}
		}
		elapsed := time.Since(start)
		status := c.Response().StatusCode()
		// The route pattern, not the path, keeps the label set small.
		route := c.Route().Path
		if status == fiber.StatusNotFound && route == "/" {
			route = "unmatched"
		}
		// Fiber's strings point into buffers it reuses after the handler;
		// the metric keeps its labels, so it gets a copy.
		method, statusText := strings.Clone(c.Method()), strconv.Itoa(status)
		m.requests.WithLabelValues(method, route, statusText).Inc()
		m.latency.WithLabelValues(method, route, statusText).Observe(elapsed.Seconds())
		log.LogAttrs(c.UserContext(), slog.LevelInfo, "request",
			slog.String("request_id", requestID(c)), slog.String("method", c.Method()),
			slog.String("path", c.Path()), slog.String("route", route), slog.Int("status", status),
			slog.Float64("latency_ms", float64(elapsed.Microseconds())/1000), slog.String("ip", c.IP()))
		return nil
	}
}

// deadline bounds the work a request may cause downstream.
func deadline(d time.Duration) fiber.Handler {
	return func(c *fiber.Ctx) error {
		ctx, cancel := context.WithTimeout(c.UserContext(), d)
		defer cancel()
		c.SetUserContext(ctx)
		err := c.Next()
		if err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return fiber.NewError(fiber.StatusServiceUnavailable, "The request took too long.")
		}
		return err
	}
}

// readyz answers 503 naming the failed checks but not their errors, which
// may hold addresses or driver messages; those go to the log.
func readyz(log *slog.Logger, checks map[string]func(context.Context) error) fiber.Handler {
	return func(c *fiber.Ctx) error {
		ctx, cancel := context.WithTimeout(c.UserContext(), 2*time.Second)
		defer cancel()
		failed := map[string]string{}
		for name, check := range checks {
			if err := check(ctx); err != nil {
				failed[name] = "unavailable"
				log.LogAttrs(ctx, slog.LevelWarn, "readiness check failed",
					slog.String("request_id", requestID(c)), slog.String("check", name),
					slog.String("error", err.Error()))
			}
		}
		if len(failed) > 0 {
			return c.Status(fiber.StatusServiceUnavailable).JSON(fiber.Map{"status": "unavailable", "failed": failed})
		}
		return c.JSON(fiber.Map{"status": "ready"})
	}
}

func requestID(c *fiber.Ctx) string {
	id, _ := c.Locals("requestid").(string)
	return id
}
