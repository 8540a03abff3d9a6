package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"mediarec/internal/catalog"
	"mediarec/internal/config"
	"mediarec/internal/embed"
	"mediarec/internal/httpapi"
	"mediarec/internal/metrics"
	"mediarec/internal/natsbus"
	"mediarec/internal/recs"
	"mediarec/internal/tracing"
	"mediarec/internal/users"
)

// Main is one running server: the services a command asked for, wired by
// hand over their configured stores, behind one HTTP listener.
type Main struct {
	Config  config.Config
	Log     *slog.Logger
	Catalog *catalog.Service
	// Users is the users service when this process runs it: mediarec bench
	// creates its replayed accounts through it, past the per-IP register
	// limit that HTTP applies.
	Users *users.Service
	// Recommender is the recs service's when this process runs it:
	// mediarec bench turns its answer cache off to measure every answer
	// computed.
	Recommender *recs.Recommender

	name    string
	app     *fiber.App
	ln      net.Listener
	closers []func() error
	tasks   []func(context.Context) error // background loops, run by Run

	// The process's telemetry: one Prometheus registry (the app's, on
	// /metrics), the metrics on it, the durable consumers whose lag it
	// reports (durable → stream), and the tracer provider.
	metrics *metrics.Set
	watched map[string]string
	tracer  *sdktrace.TracerProvider
}

// roles says which services a command runs: serve runs all five, each
// other server command one. The all-in-one process wires the very same
// services as the split deployment; only the vectors differ (see
// openVectors) and web, which serves the UI beside the routes instead of
// forwarding them.
type roles struct{ catalog, worker, recs, users, web bool }

var commandRoles = map[string]roles{
	"serve":        {catalog: true, worker: true, recs: true, users: true, web: true},
	"catalog":      {catalog: true},
	"users":        {users: true},
	"recs":         {recs: true},
	"embed-worker": {worker: true},
	"web":          {web: true},
}

// NewMain returns a server for the named command ("serve", "catalog",
// "users", "recs", "embed-worker", "web").
func NewMain(name string, stderr io.Writer) *Main {
	return &Main{name: name, Log: newLogger(stderr, slog.LevelInfo)}
}

// ParseConfig reads the environment, then the flags, and validates them.
func (m *Main) ParseConfig(args []string, getenv func(string) string, stderr io.Writer) error {
	cfg, envErr := config.FromEnv(getenv)
	fs := flag.NewFlagSet("mediarec "+m.name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg.Flags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	err := errors.Join(envErr, cfg.Validate())
	err = errors.Join(err, checkAlone(m.name, cfg))
	if err != nil {
		return err
	}
	m.Config = cfg
	m.Log = newLogger(stderr, cfg.LogLevel)
	return nil
}

// newLogger writes JSON lines at level and up, each logged with a context
// carrying the trace and span ids of the context's span.
func newLogger(w io.Writer, level slog.Level) *slog.Logger {
	return slog.New(tracing.NewLogHandler(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level})))
}

// checkAlone names what a service running alone needs to reach the
// others.
func checkAlone(name string, cfg config.Config) error {
	var errs []error
	need := func(ok bool, msg string) {
		if !ok {
			errs = append(errs, errors.New(msg))
		}
	}
	switch name {
	case "serve", "catalog":
		if err := cfg.CheckWrites(); err != nil {
			errs = append(errs, err)
		}
	case "embed-worker":
		need(cfg.NATSURL != "", "embed-worker takes its jobs from NATS: set NATS_URL")
	case "users":
		need(cfg.CatalogURL != "", "users checks feedback items in the catalog: set CATALOG_URL")
	case "recs":
		need(cfg.NATSURL != "", "recs learns the catalog and the users' feedback from their events: set NATS_URL")
		need(cfg.UsersURL != "", "recs verifies tokens with the users service's public key: set USERS_URL")
	case "web":
		need(cfg.CatalogURL != "" && cfg.UsersURL != "" && cfg.RecsURL != "", "web forwards the API to the services: set CATALOG_URL, USERS_URL and RECS_URL")
	}
	return errors.Join(errs...)
}

// Open connects the stores, builds the services and starts listening, so
// that URL is known before Run serves.
func (m *Main) Open(ctx context.Context) error {
	if err := os.MkdirAll(m.Config.DataDir, 0o750); err != nil {
		return fmt.Errorf("create data dir: %w", err)
	}
	if err := m.openTracing(ctx); err != nil {
		return err
	}
	r := commandRoles[m.name]
	checks := map[string]func(context.Context) error{}
	reg := prometheus.NewRegistry()
	m.metrics = metrics.New(reg)
	m.app = httpapi.NewApp(httpapi.Options{
		Name: "mediarec-" + m.name, BodyLimit: m.Config.BodyLimit,
		RequestTimeout: m.Config.RequestTimeout, Logger: m.Log, Checks: checks,
		Registry: reg, TracerProvider: m.tracer,
	})
	if r.web {
		if err := m.openWeb(r, checks); err != nil {
			return err
		}
	}
	if r.catalog || r.users || r.recs || r.worker {
		if err := m.openServices(ctx, r, checks); err != nil {
			return err
		}
	}
	httpapi.NotFound(m.app)

	var err error
	if m.ln, err = net.Listen("tcp", m.Config.Addr); err != nil {
		return fmt.Errorf("listen on %s: %w", m.Config.Addr, err)
	}
	return nil
}

// openServices opens the bus and the services of r on it.
func (m *Main) openServices(ctx context.Context, r roles, checks map[string]func(context.Context) error) error {
	bus, err := natsbus.Open(ctx, natsbus.Options{
		URL: m.Config.NATSURL, Dir: filepath.Join(m.Config.DataDir, "nats"), Namespace: m.Config.NATSNamespace,
		TracerProvider: m.tracer,
	}, m.Log)
	if err != nil {
		return err
	}
	m.closers = append(m.closers, bus.Close)
	if m.name == "embed-worker" {
		// A worker has nothing to do without the bus. The other services
		// keep serving while it is away (writes wait in their outboxes,
		// recs answers from what it knows, marked stale), so it is no
		// reason to take them out of their Service.
		checks["nats"] = bus.Ping
	}

	issuer, verifier, err := m.openTokens(ctx, r)
	if err != nil {
		return err
	}
	var (
		vectors vectorStore
		reg     *embed.Registry
	)
	if r.catalog || r.worker || r.recs {
		// These roles read the shared embedding state: the catalog to route
		// jobs and re-embed, workers to embed, recs to embed queries.
		if vectors, reg, err = m.openEmbedding(ctx, bus, r, checks); err != nil {
			return err
		}
	}
	if r.catalog {
		if err := m.openCatalog(ctx, bus, reg, vectors, verifier, checks); err != nil {
			return err
		}
	}
	if r.worker {
		w := embed.NewWorker(reg, vectors, bus, jobAttempts, m.metrics.Jobs(), m.Log)
		m.metrics.WatchPause(w.Paused)
		// A job gets jobAttempts deliveries. One held while the embedding
		// endpoint is down spends none (the worker waits, the bus keeps it
		// in progress), except that a shutdown meanwhile hands it back:
		// that spends one, and even its last never fails the item.
		jobs := natsbus.ConsumerConfig{Stream: natsbus.StreamEmbedJobs, Durable: embedWorkers, Batch: 128, MaxDeliver: jobAttempts, AckWait: 30 * time.Second}
		m.watchConsumer(jobs.Stream, jobs.Durable)
		m.tasks = append(m.tasks, func(ctx context.Context) error {
			return bus.Consume(ctx, jobs, natsbus.JSONBatch(w.Handle))
		})
	}
	if r.users {
		if err := m.openUsers(ctx, bus, issuer, verifier, checks); err != nil {
			return err
		}
	}
	if r.recs {
		if err := m.openRecs(ctx, bus, reg, vectors, verifier, checks); err != nil {
			return err
		}
	}
	if len(m.watched) > 0 {
		m.tasks = append(m.tasks, m.pollConsumers(bus))
	}
	return nil
}

// embedWorkers is the durable consumer the embed workers share.
const embedWorkers = "embed-workers"

// URL is the base URL clients reach the server at.
func (m *Main) URL() string {
	return "http://" + m.ln.Addr().String()
}

// Run serves until ctx is done, then stops taking requests, drains the ones
// in flight within the shutdown timeout, and stops the background loops.
func (m *Main) Run(ctx context.Context) error {
	m.Log.Info("listening", "service", m.name, "version", version, "url", m.URL(), "data_dir", m.Config.DataDir)
	bg, stop := context.WithCancel(context.Background())
	defer stop()
	var wg sync.WaitGroup
	for _, task := range m.tasks {
		wg.Go(func() {
			if err := task(bg); err != nil {
				m.Log.Error("background task stopped", "error", err)
			}
		})
	}
	served := make(chan error, 1)
	go func() { served <- m.app.Listener(m.ln) }()
	var err error
	select {
	case err = <-served:
		err = fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
		m.Log.Info("shutting down", "service", m.name)
		// Past the timeout, fasthttp closes what is still open: a slow
		// request or a keep-alive connection it did not see go idle. That
		// is the end of a drain, not a failure of the process.
		if serr := m.app.ShutdownWithTimeout(m.Config.ShutdownTimeout); errors.Is(serr, context.DeadlineExceeded) {
			m.Log.Warn("shutdown timeout passed; closed the connections still open", "timeout", m.Config.ShutdownTimeout)
		} else if serr != nil {
			err = fmt.Errorf("shutdown: %w", serr)
		}
		if err == nil {
			err = <-served
		}
	}
	stop()
	wg.Wait()
	return err
}

// Close releases the stores in the reverse order of opening.
func (m *Main) Close() error {
	var errs []error
	for i := len(m.closers) - 1; i >= 0; i-- {
		errs = append(errs, m.closers[i]())
	}
	m.closers = nil
	return errors.Join(errs...)
}

func runServer(ctx context.Context, name string, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	m := NewMain(name, stderr)
	if err := m.ParseConfig(args, getenv, stderr); err != nil {
		return configError(stderr, name, err)
	}
	defer m.Close()
	if err := m.Open(ctx); err != nil {
		fmt.Fprintf(stderr, "mediarec %s: %v\n", name, err)
		return 1
	}
	fmt.Fprintf(stdout, "mediarec %s listening on %s\n", name, m.URL())
	if err := m.Run(ctx); err != nil {
		fmt.Fprintf(stderr, "mediarec %s: %v\n", name, err)
		return 1
	}
	return 0
}

func configError(stderr io.Writer, name string, err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	fmt.Fprintf(stderr, "mediarec %s: invalid configuration:\n%v\n", name, err)
	return 2
}
