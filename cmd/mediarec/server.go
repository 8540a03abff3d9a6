package main

import (
	"cmp"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"mediarec"
	"mediarec/internal/auth"
	"mediarec/internal/catalog"
	"mediarec/internal/collab"
	"mediarec/internal/config"
	"mediarec/internal/embed"
	"mediarec/internal/httpapi"
	"mediarec/internal/keyword"
	"mediarec/internal/natsbus"
	"mediarec/internal/postgres"
	"mediarec/internal/recs"
	"mediarec/internal/sqlite"
	"mediarec/internal/users"
	"mediarec/internal/vectordb"
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
	tasks   []func(context.Context) error // background loops, run by Run
}

// roles says which services a command runs.
type roles struct{ catalog, worker, search, users bool }

var commandRoles = map[string]roles{
	"serve":        {catalog: true, worker: true, search: true, users: true},
	"catalog":      {catalog: true},
	"users":        {users: true},
	"embed-worker": {worker: true},
}

// NewMain returns a server for the named command ("serve", "catalog",
// "embed-worker").
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
	err := errors.Join(envErr, cfg.Validate())
	if m.name == "embed-worker" && (cfg.NATSURL == "" || cfg.QdrantURL == "") {
		// Alone, a worker is useful only on the shared bus and store.
		err = errors.Join(err, errors.New("embed-worker takes its jobs from NATS and writes to Qdrant: set NATS_URL and QDRANT_URL"))
	}
	if m.name == "users" && cfg.CatalogURL == "" {
		err = errors.Join(err, errors.New("users checks feedback items in the catalog: set CATALOG_URL"))
	}
	if err != nil {
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
	r := commandRoles[m.name]
	checks := map[string]func(context.Context) error{}

	bus, err := natsbus.Open(ctx, natsbus.Options{
		URL: m.Config.NATSURL, Dir: filepath.Join(m.Config.DataDir, "nats"), Namespace: m.Config.NATSNamespace,
	}, m.Log)
	if err != nil {
		return err
	}
	m.closers = append(m.closers, bus.Close)
	checks["nats"] = bus.Ping

	issuer, verifier, err := m.openTokens(ctx, r)
	if err != nil {
		return err
	}
	var (
		vectors vectorStore
		reg     *embed.Registry
		coord   *embed.Coordinator
		relay   *catalog.Relay
	)
	if r.catalog || r.worker || r.search {
		// These roles read the shared embedding state: the catalog to route
		// jobs and re-embed, workers to embed, searches to embed queries.
		if vectors, reg, err = m.openEmbedding(ctx, bus, checks); err != nil {
			return err
		}
	}
	if r.catalog {
		store, ping, err := m.openCatalogStore(ctx)
		if err != nil {
			return err
		}
		checks["catalog_db"] = ping
		relay = catalog.NewRelay(store, bus, reg, m.Log)
		m.Catalog = catalog.New(store, m.Log, relay.Notify)
		coord = embed.NewCoordinator(reg, vectors, m.Catalog, m.Config.RefitGrowth, m.Log)
		results := natsbus.ConsumerConfig{Stream: natsbus.StreamEmbedResults, Durable: "catalog", Batch: 256, MaxDeliver: 10, AckWait: 30 * time.Second}
		m.tasks = append(m.tasks, relay.Run, func(ctx context.Context) error {
			return bus.Consume(ctx, results, natsbus.JSONEach(func(ctx context.Context, res mediarec.EmbedResult) error {
				coord.Observe(res)
				return m.Catalog.RecordEmbedding(ctx, res)
			}))
		}, func(ctx context.Context) error { return coord.Run(ctx, time.Second) })
	}
	if r.worker {
		w := embed.NewWorker(reg, vectors, bus, jobAttempts, m.Log)
		jobs := natsbus.ConsumerConfig{Stream: natsbus.StreamEmbedJobs, Durable: "embed-workers", Batch: 128, MaxDeliver: jobAttempts, AckWait: 30 * time.Second}
		m.tasks = append(m.tasks, func(ctx context.Context) error {
			return bus.Consume(ctx, jobs, natsbus.JSONBatch(w.Handle))
		})
	}

	m.app = httpapi.NewApp(httpapi.Options{
		Name: "mediarec-" + m.name, BodyLimit: m.Config.BodyLimit,
		RequestTimeout: m.Config.RequestTimeout, Logger: m.Log, Checks: checks,
	})
	if r.catalog {
		admin := httpapi.RequireAdmin(m.Config.AdminToken, verifier)
		httpapi.RegisterItemRoutes(m.app, m.Catalog, admin)
		httpapi.RegisterAdminRoutes(m.app, m.Catalog, coord, admin)
	}
	var search *recs.Service
	if r.search {
		search = recs.New(reg, vectors, m.Catalog, m.openKeywords(relay))
		httpapi.RegisterSearchRoutes(m.app, search)
	}
	if r.users {
		svc, err := m.openUsers(ctx, bus, issuer, verifier, checks)
		if err != nil {
			return err
		}
		if r.search {
			if err := m.openRecommendations(bus, reg, vectors, search, svc, httpapi.RequireUser(verifier, svc)); err != nil {
				return err
			}
		}
	}
	if m.name == "serve" {
		web.Register(m.app)
	}
	httpapi.NotFound(m.app)

	if m.ln, err = net.Listen("tcp", m.Config.Addr); err != nil {
		return fmt.Errorf("listen on %s: %w", m.Config.Addr, err)
	}
	return nil
}

// openUsers wires the users service: its own database, and feedback
// checked against the catalog, in this process or over HTTP.
func (m *Main) openUsers(ctx context.Context, bus *natsbus.Bus, issuer *auth.Issuer, verifier *auth.Verifier, checks map[string]func(context.Context) error) (*users.Service, error) {
	store, ping, err := m.openUserStore(ctx)
	if err != nil {
		return nil, err
	}
	checks["users_db"] = ping
	var items users.ItemChecker = m.Catalog
	if m.Catalog == nil {
		items = catalog.NewClient(m.Config.CatalogURL, nil)
	}
	relay := users.NewRelay(store, bus, m.Log)
	m.tasks = append(m.tasks, relay.Run)
	svc := users.New(store, items, m.Log, users.Config{Changed: relay.Notify, AdminEmails: m.Config.AdminEmails})
	httpapi.RegisterUserRoutes(m.app, svc, issuer, verifier, httpapi.AuthLimits{PerIP: 30, PerAccount: 10, Window: time.Minute})
	return svc, nil
}

// openKeywords builds the keyword index of search from the catalog in the
// background, and keeps it current with the changes the relay reports. A
// change reported while the build runs can be overwritten by the older
// copy the build read; the item's next change sets it right, and results
// always show the catalog's current item.
func (m *Main) openKeywords(relay *catalog.Relay) *keyword.Index {
	kw := keyword.New()
	relay.OnChange(func(items []*mediarec.Item, deleted []int64) {
		kw.Put(items...)
		kw.Remove(deleted...)
	})
	m.tasks = append(m.tasks, func(ctx context.Context) error {
		start := time.Now()
		const batch = 5000
		var items []*mediarec.Item
		err := m.Catalog.EachItem(ctx, func(it *mediarec.Item) error {
			if items = append(items, it); len(items) == batch {
				kw.Put(items...)
				items = items[:0:0]
			}
			return nil
		})
		kw.Put(items...)
		if err != nil {
			return fmt.Errorf("keyword index: %w", err)
		}
		m.Log.Info("keyword index built", "items", kw.Len(), "took", time.Since(start).Round(time.Millisecond))
		return nil
	})
	return kw
}

// openRecommendations serves recommendations from the users' tastes. The
// users' events, followed on the bus, keep the profiles stored beside the
// items fresh and fill the ledger of everyone's feedback, which ranks cold
// starts and feeds the collaborative model, whose hybrid index lives in a
// vector store of this process's own under the data dir.
func (m *Main) openRecommendations(bus *natsbus.Bus, live recs.Live, vectors recs.VectorStore, search *recs.Service, tastes recs.Tastes, requireUser fiber.Handler) error {
	ledger := recs.NewLedger()
	profiles := recs.NewProfiles(vectors, m.Log)
	m.tasks = append(m.tasks, func(ctx context.Context) error {
		return bus.Follow(ctx, natsbus.StreamUserEvents, []string{mediarec.SubjectUserFeedback + ".>"}, func(msg natsbus.Followed) {
			var ev mediarec.UserFeedbackEvent
			if err := json.Unmarshal(msg.Data, &ev); err != nil {
				m.Log.Warn("undecodable feedback event", "error", err)
				return
			}
			ledger.Observe(ev)
			profiles.Touch(ev.UserID)
		}, nil)
	}, func(ctx context.Context) error {
		return bus.Follow(ctx, natsbus.StreamUserEvents, []string{mediarec.SubjectUserPreferences + ".>"}, func(msg natsbus.Followed) {
			var ev mediarec.UserPreferencesEvent
			if err := json.Unmarshal(msg.Data, &ev); err != nil {
				m.Log.Warn("undecodable preferences event", "error", err)
				return
			}
			profiles.Touch(ev.UserID)
		}, nil)
	})
	dir := filepath.Join(m.Config.DataDir, "hybrid")
	if err := os.RemoveAll(dir); err != nil { // rebuilt from the ledger at every start
		return fmt.Errorf("hybrid index: %w", err)
	}
	store, err := vectordb.OpenLocal(dir)
	if err != nil {
		return fmt.Errorf("hybrid index: %w", err)
	}
	m.closers = append(m.closers, store.Close)
	hybrid := recs.NewHybrid(live, vectors, store, ledger, collab.Options{}, m.Log)
	m.tasks = append(m.tasks, func(ctx context.Context) error { return hybrid.Run(ctx, m.Config.HybridRefit) })
	starters := func(ctx context.Context, types []mediarec.ItemType, limit int) ([]*mediarec.Item, error) {
		page, err := m.Catalog.FindItems(ctx, catalog.ListQuery{Types: types, Limit: min(limit, catalog.MaxLimit)})
		if err != nil {
			return nil, err
		}
		return page.Items, nil
	}
	rec := recs.NewRecommender(search, tastes, ledger, hybrid, profiles, starters)
	m.tasks = append(m.tasks, rec.KeepProfiles)
	httpapi.RegisterRecommendationRoutes(m.app, rec, requireUser)
	return nil
}

// openTokens returns what this process needs of the users' tokens: the
// users service signs them with its key and verifies them; another
// service verifies them with the public key from the users service's JWKS
// when USERS_URL is set, and takes none otherwise (nil verifier).
func (m *Main) openTokens(ctx context.Context, r roles) (*auth.Issuer, *auth.Verifier, error) {
	if r.users {
		path := cmp.Or(m.Config.SigningKey, filepath.Join(m.Config.DataDir, "auth", "ed25519.pem"))
		key, err := auth.LoadOrCreateKey(path)
		if err != nil {
			return nil, nil, fmt.Errorf("signing key: %w", err)
		}
		return auth.NewIssuer(key, tokenIssuer, tokenTTL), auth.NewVerifier(key.Public().(ed25519.PublicKey), tokenIssuer), nil
	}
	if m.Config.UsersURL == "" {
		return nil, nil, nil
	}
	// The users service may start after this one: keep asking a while.
	ctx, cancel := context.WithTimeout(ctx, jwksWait)
	defer cancel()
	url := strings.TrimRight(m.Config.UsersURL, "/") + "/.well-known/jwks.json"
	for {
		pub, err := auth.FetchJWKS(ctx, url, nil)
		if err == nil {
			return nil, auth.NewVerifier(pub, tokenIssuer), nil
		}
		m.Log.Warn("users service's public key not available yet", "url", url, "error", err)
		select {
		case <-ctx.Done():
			return nil, nil, fmt.Errorf("users service's public key: %w", err)
		case <-time.After(time.Second):
		}
	}
}

// jwksWait is how long a service waits at start for the users service's
// public key.
const jwksWait = 60 * time.Second

// openEmbedding opens the vector store and the shared embedding state.
func (m *Main) openEmbedding(ctx context.Context, bus *natsbus.Bus, checks map[string]func(context.Context) error) (vectorStore, *embed.Registry, error) {
	vectors, err := m.openVectors(ctx, checks)
	if err != nil {
		return nil, nil, err
	}
	states, err := bus.EmbeddingStore(ctx)
	if err != nil {
		return nil, nil, err
	}
	remote, err := m.openRemoteEmbedder()
	if err != nil {
		return nil, nil, err
	}
	reg := embed.NewRegistry(states, remote)
	if err := reg.Init(ctx, vectors); err != nil {
		return nil, nil, fmt.Errorf("embedding state: %w", err)
	}
	return vectors, reg, nil
}

// userStore is everything the users service and its relay use.
type userStore interface {
	users.Store
	users.EventStore
}

// Tokens name their issuer and live an hour.
const (
	tokenIssuer = "mediarec-users"
	tokenTTL    = time.Hour
)

func (m *Main) openUserStore(ctx context.Context) (userStore, func(context.Context) error, error) {
	if dsn := m.Config.UsersDatabaseURL; dsn != "" {
		db, err := postgres.Open(ctx, dsn)
		if err != nil {
			return nil, nil, fmt.Errorf("users database: %w", err)
		}
		m.closers = append(m.closers, func() error { db.Close(); return nil })
		store, err := postgres.NewUserStore(ctx, db)
		if err != nil {
			return nil, nil, fmt.Errorf("users database: %w", err)
		}
		return store, db.Ping, nil
	}
	db, err := sqlite.Open(filepath.Join(m.Config.DataDir, "users.db"))
	if err != nil {
		return nil, nil, fmt.Errorf("users database: %w", err)
	}
	m.closers = append(m.closers, db.Close)
	store, err := sqlite.NewUserStore(ctx, db)
	if err != nil {
		return nil, nil, fmt.Errorf("users database: %w", err)
	}
	return store, db.Ping, nil
}

// jobAttempts is how often an embed job is tried before its item is marked
// failed.
const jobAttempts = 5

// vectorStore is what the worker, the coordinator and the read paths need
// of the vectors.
type vectorStore interface {
	embed.CollectionStore
	embed.VectorWriter
	recs.VectorStore
}

func (m *Main) openVectors(ctx context.Context, checks map[string]func(context.Context) error) (vectorStore, error) {
	if m.Config.QdrantURL != "" {
		q, err := vectordb.NewQdrant(vectordb.QdrantConfig{URL: m.Config.QdrantURL, APIKey: m.Config.QdrantAPIKey})
		if err != nil {
			return nil, fmt.Errorf("qdrant: %w", err)
		}
		m.closers = append(m.closers, q.Close)
		checks["qdrant"] = q.Ping
		return q, nil
	}
	local, err := vectordb.OpenLocal(filepath.Join(m.Config.DataDir, "vectors"))
	if err != nil {
		return nil, fmt.Errorf("vector index: %w", err)
	}
	m.closers = append(m.closers, local.Close)
	return local, nil
}

// openRemoteEmbedder returns the configured OpenAI-compatible embedder, or
// nil for the local one.
func (m *Main) openRemoteEmbedder() (embed.Embedder, error) {
	c := m.Config
	if c.OpenAIBaseURL == "" && c.OpenAIAPIKey == "" {
		return nil, nil
	}
	e, err := embed.NewOpenAI(embed.OpenAIConfig{
		BaseURL: c.OpenAIBaseURL, APIKey: c.OpenAIAPIKey, Model: cmp.Or(c.EmbeddingModel, "text-embedding-3-small"),
		Dimensions: c.EmbeddingDimensions, RequestsPerMinute: c.EmbeddingRPM, TokensPerMinute: c.EmbeddingTPM,
	})
	if err != nil {
		return nil, fmt.Errorf("embedder: %w", err)
	}
	return e, nil
}

// catalogStore is everything the catalog service and its relay use.
type catalogStore interface {
	catalog.Store
	catalog.ChangeStore
}

func (m *Main) openCatalogStore(ctx context.Context) (catalogStore, func(context.Context) error, error) {
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

// Run serves until ctx is done, then stops taking requests, drains the ones
// in flight within the shutdown timeout, and stops the background loops.
func (m *Main) Run(ctx context.Context) error {
	m.Log.Info("listening", "service", m.name, "url", m.URL(), "data_dir", m.Config.DataDir)
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
