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

	"github.com/gofiber/fiber/v2"

	"mediarec/internal/catalog"
	"mediarec/internal/config"
	"mediarec/internal/httpapi"
	"mediarec/internal/postgres"
	"mediarec/internal/sqlite"
	"mediarec/web"
)

// Main is one running server: the services a command asked for, wired by
// hand over their configured stores, behind one HTTP listener.
type Main struct {
	Config  config.Config
	Log     *slog.Logger
	Catalog *catalog.Service

	name    string
	app     *fiber.App
	ln      net.Listener
	closers []func() error
}

// NewMain returns a server for the named command ("serve", "catalog").
func NewMain(name string, stderr io.Writer) *Main {
	return &Main{name: name, Log: slog.New(slog.NewJSONHandler(stderr, nil))}
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
	if err := errors.Join(envErr, cfg.Validate()); err != nil {
		return err
	}
	m.Config = cfg
	m.Log = slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))
	return nil
}

// Open connects the stores, builds the services and starts listening, so
// that URL is known before Run serves.
func (m *Main) Open(ctx context.Context) error {
	if err := os.MkdirAll(m.Config.DataDir, 0o750); err != nil {
		return fmt.Errorf("create data dir: %w", err)
	}
	store, ping, err := m.openCatalogStore(ctx)
	if err != nil {
		return err
	}
	m.Catalog = catalog.New(store, m.Log)

	m.app = httpapi.NewApp(httpapi.Options{
		Name: "mediarec-" + m.name, BodyLimit: m.Config.BodyLimit,
		RequestTimeout: m.Config.RequestTimeout, Logger: m.Log,
		Checks: map[string]func(context.Context) error{"catalog_db": ping},
	})
	httpapi.RegisterItemRoutes(m.app, m.Catalog, httpapi.RequireAdmin(m.Config.AdminToken))
	if m.name == "serve" {
		web.Register(m.app)
	}
	httpapi.NotFound(m.app)

	if m.ln, err = net.Listen("tcp", m.Config.Addr); err != nil {
		return fmt.Errorf("listen on %s: %w", m.Config.Addr, err)
	}
	return nil
}

func (m *Main) openCatalogStore(ctx context.Context) (catalog.Store, func(context.Context) error, error) {
	if dsn := m.Config.CatalogDatabaseURL; dsn != "" {
		db, err := postgres.Open(ctx, dsn)
		if err != nil {
			return nil, nil, fmt.Errorf("catalog database: %w", err)
		}
		m.closers = append(m.closers, func() error { db.Close(); return nil })
		store, err := postgres.NewCatalogStore(ctx, db)
		if err != nil {
			return nil, nil, fmt.Errorf("catalog database: %w", err)
		}
		return store, db.Ping, nil
	}
	db, err := sqlite.Open(filepath.Join(m.Config.DataDir, "catalog.db"))
	if err != nil {
		return nil, nil, fmt.Errorf("catalog database: %w", err)
	}
	m.closers = append(m.closers, db.Close)
	store, err := sqlite.NewCatalogStore(ctx, db)
	if err != nil {
		return nil, nil, fmt.Errorf("catalog database: %w", err)
	}
	return store, db.Ping, nil
}

// URL is the base URL clients reach the server at.
func (m *Main) URL() string {
	return "http://" + m.ln.Addr().String()
}

// Run serves until ctx is done, then stops taking requests and drains the
// ones in flight within the shutdown timeout.
func (m *Main) Run(ctx context.Context) error {
	m.Log.Info("listening", "service", m.name, "url", m.URL(), "data_dir", m.Config.DataDir)
	served := make(chan error, 1)
	go func() { served <- m.app.Listener(m.ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	m.Log.Info("shutting down", "service", m.name)
	if err := m.app.ShutdownWithTimeout(m.Config.ShutdownTimeout); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return <-served
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
