package main

import (
	"cmp"
	"context"
	"crypto/ed25519"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

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
	"mediarec/internal/ratelimit"
	"mediarec/internal/recs"
	"mediarec/internal/sqlite"
	"mediarec/internal/users"
	"mediarec/internal/vectordb"
	"mediarec/internal/vectorsync"
	"mediarec/web"
)

// openCatalog wires the catalog service: its store, the outbox relay that
// publishes item events and embed jobs, the consumer of embedding results
// and the coordinator of re-embeddings.
func (m *Main) openCatalog(ctx context.Context, bus *natsbus.Bus, reg *embed.Registry, vectors vectorStore, verifier *auth.Verifier, checks map[string]func(context.Context) error) error {
	store, ping, err := m.openCatalogStore(ctx)
	if err != nil {
		return err
	}
	checks["catalog_db"] = ping
	relay := catalog.NewRelay(store, bus, reg, m.Log)
	relay.ReportDepth(m.metrics.OutboxDepth("catalog"))
	m.Catalog = catalog.New(store, m.Log, relay.Notify)
	coord := embed.NewCoordinator(reg, vectors, m.Catalog, m.Config.RefitGrowth, m.Log)
	coord.MaxFailedShare = m.Config.EmbeddingMaxFailedShare
	results := natsbus.ConsumerConfig{Stream: natsbus.StreamEmbedResults, Durable: "catalog", Batch: 256, MaxDeliver: 10, AckWait: 30 * time.Second}
	// The catalog queues the embed jobs: it reports their lag too, so that
	// it shows while no worker runs.
	m.watchConsumer(results.Stream, results.Durable)
	m.watchConsumer(natsbus.StreamEmbedJobs, embedWorkers)
	m.tasks = append(m.tasks, relay.Run, func(ctx context.Context) error {
		// A batch of results is written in the trace of its first, as the
		// workers embed a batch of jobs.
		return bus.Consume(ctx, results, natsbus.JSONBatch(func(_ context.Context, rs []mediarec.EmbedResult, _ []int, ctxs []context.Context) []error {
			for _, r := range rs {
				coord.Observe(r)
			}
			return m.Catalog.RecordEmbeddings(ctxs[0], rs)
		}))
	}, func(ctx context.Context) error { return coord.Run(ctx, time.Second) })
	admin := httpapi.RequireAdmin(m.Config.AdminToken, verifier)
	httpapi.RegisterItemRoutes(m.app, m.Catalog, admin)
	httpapi.RegisterAdminRoutes(m.app, m.Catalog, coord, admin)
	return nil
}

// openUsers wires the users service: its own database, and feedback
// checked against the catalog, in this process or over HTTP.
func (m *Main) openUsers(ctx context.Context, bus *natsbus.Bus, issuer *auth.Issuer, verifier *auth.Verifier, checks map[string]func(context.Context) error) error {
	store, ping, err := m.openUserStore(ctx)
	if err != nil {
		return err
	}
	checks["users_db"] = ping
	var items users.ItemChecker = m.Catalog
	if m.Catalog == nil {
		items = catalog.NewClient(config.SplitURLs(m.Config.CatalogURL)[0], nil)
	}
	relay := users.NewRelay(store, bus, m.Log)
	relay.ReportDepth(m.metrics.OutboxDepth("users"))
	m.tasks = append(m.tasks, relay.Run)
	svc := users.New(store, items, m.Log, users.Config{
		Changed: relay.Notify, AdminEmails: m.Config.AdminEmails, ItemCache: m.metrics.Cache("items"),
	})
	m.Users = svc
	httpapi.RegisterUserRoutes(m.app, svc, issuer, verifier, httpapi.AuthLimits{PerIP: 30, PerAccount: 10, Window: time.Minute})
	return nil
}

// recsItemCache is how many decoded items a recs process keeps in front of
// its read model (recs.ItemCache): the items of the lists and searches it
// serves. The 29,055 items of the shared data sets take 183 bytes each
// decoded, so this is tens of megabytes.
const recsItemCache = 50_000

// openRecs wires the recs service. It asks no other service anything on a
// request: the catalog's item events fill its read model and the keyword
// index, the users' events its ledger of feedback and preferences (which
// also ranks cold starts and feeds the collaborative model, whose hybrid
// index lives in a vector store of this process's own), and the vectors
// come from the shared vector store. It is ready once it has read both
// streams to their end.
func (m *Main) openRecs(ctx context.Context, bus *natsbus.Bus, reg *embed.Registry, vectors vectorStore, verifier *auth.Verifier, checks map[string]func(context.Context) error) error {
	store, ping, err := m.openRecsStore(ctx)
	if err != nil {
		return err
	}
	checks["recs_db"] = ping
	items, err := recs.NewItemCache(store, recsItemCache, m.metrics.Cache("recs_items"))
	if err != nil {
		return err
	}
	kw := keyword.New()
	search := recs.New(reg, vectors, items, kw)
	ledger := recs.NewLedger()
	profiles := recs.NewProfiles(vectors, m.Log)
	feeds := recs.NewFeeds(ledger, profiles, items, kw, m.Log)
	checks["events"] = feeds.Ready
	usersLag, catalogLag := m.metrics.ConsumerPending("recs-user-events"), m.metrics.ConsumerPending("recs-catalog-items")
	m.tasks = append(m.tasks, func(ctx context.Context) error {
		return feeds.FollowUsers(ctx, follower(bus, usersLag, natsbus.StreamUserEvents, mediarec.SubjectUserFeedback+".>", mediarec.SubjectUserPreferences+".>"))
	}, func(ctx context.Context) error {
		return feeds.FollowCatalog(ctx, follower(bus, catalogLag, natsbus.StreamCatalogItems, mediarec.SubjectCatalogItems+".>"))
	})

	dir := filepath.Join(m.Config.DataDir, "hybrid")
	if err := os.RemoveAll(dir); err != nil { // rebuilt from the ledger at every start
		return fmt.Errorf("hybrid index: %w", err)
	}
	hybridStore, err := vectordb.OpenLocal(dir)
	if err != nil {
		return fmt.Errorf("hybrid index: %w", err)
	}
	m.closers = append(m.closers, hybridStore.Close)
	hybrid := recs.NewHybrid(reg, vectors, observedLocal{m.observeVectors(hybridStore, "hybrid"), hybridStore}, ledger, collab.Options{}, m.Log)
	m.tasks = append(m.tasks, func(ctx context.Context) error { return hybrid.Run(ctx, m.Config.HybridRefit) })
	rec := recs.NewRecommender(search, ledger, ledger, hybrid, profiles, items.FindPopularItems, recs.Metrics{
		Answers: m.metrics.Recommendations(), TagCache: m.metrics.Cache("tag_vectors"),
		AnswerCache: m.metrics.Cache("recommendations"),
	})
	rec.CacheAnswers(m.Config.RecsCache)
	m.Recommender = rec
	m.tasks = append(m.tasks, rec.KeepProfiles)

	// While the bus is away, answers come from what the feeds knew last,
	// and say so.
	stale := httpapi.MarkStale(bus.Connected)
	httpapi.RegisterSearchRoutes(m.app, search, stale)
	httpapi.RegisterRecommendationRoutes(m.app, rec, stale, httpapi.RequireToken(verifier))
	return nil
}

// follower reads the subjects of a stream of the bus, as recs.Feeds do,
// and sets lag to how far behind the stream's end it is.
func follower(bus *natsbus.Bus, lag prometheus.Gauge, stream string, subjects ...string) recs.Follower {
	return func(ctx context.Context, fn func(recs.Message), caughtUp func()) error {
		return bus.Follow(ctx, stream, subjects, func(_ context.Context, f natsbus.Followed) {
			lag.Set(float64(f.Pending))
			fn(recs.Message{Subject: f.Subject, Data: f.Data, Seq: f.Seq, Pending: f.Pending})
		}, caughtUp)
	}
}

// openWeb serves the UI. Alone, web also forwards the API by path to the
// services (each URL may list replicas), so that a browser needs one
// origin, and is ready while every service has a replica ready.
func (m *Main) openWeb(r roles, checks map[string]func(context.Context) error) error {
	web.Register(m.app)
	if r.catalog {
		return nil // all in one process: the routes are here
	}
	ups := map[string]*httpapi.Upstream{}
	for name, urls := range map[string]string{"catalog": m.Config.CatalogURL, "users": m.Config.UsersURL, "recs": m.Config.RecsURL} {
		u, err := httpapi.NewUpstream(name, config.SplitURLs(urls), m.Config.RequestTimeout)
		if err != nil {
			return err
		}
		u.Logger = m.Log
		ups[name] = u
		checks[name] = u.Ready
	}
	// The recs routes first: /v1/items/{id}/similar is recs', the rest of
	// /v1/items catalog's.
	for _, route := range []struct{ path, to string }{
		{"/v1/items/:id/similar", "recs"},
		{"/v1/search", "recs"},
		{"/v1/recommendations", "recs"},
		{"/v1/items", "catalog"},
		{"/v1/items/*", "catalog"},
		{"/v1/admin/*", "catalog"},
		{"/v1/tags", "catalog"},
		{"/v1/auth/*", "users"},
		{"/v1/me", "users"},
		{"/v1/me/*", "users"},
		{"/.well-known/*", "users"},
	} {
		m.app.All(route.path, httpapi.Forward(ups[route.to]))
	}
	return nil
}

func (m *Main) openRecsStore(ctx context.Context) (recs.ItemStore, func(context.Context) error, error) {
	if dsn := m.Config.RecsDatabaseURL; dsn != "" {
		db, err := postgres.Open(ctx, dsn)
		if err != nil {
			return nil, nil, fmt.Errorf("recs database: %w", err)
		}
		m.closers = append(m.closers, func() error { db.Close(); return nil })
		store, err := postgres.NewRecsItemStore(ctx, db)
		if err != nil {
			return nil, nil, fmt.Errorf("recs database: %w", err)
		}
		return store, db.Ping, nil
	}
	db, err := sqlite.Open(filepath.Join(m.Config.DataDir, "recs.db"))
	if err != nil {
		return nil, nil, fmt.Errorf("recs database: %w", err)
	}
	m.closers = append(m.closers, db.Close)
	store, err := sqlite.NewRecsItemStore(ctx, db)
	if err != nil {
		return nil, nil, fmt.Errorf("recs database: %w", err)
	}
	return store, db.Ping, nil
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
func (m *Main) openEmbedding(ctx context.Context, bus *natsbus.Bus, r roles, checks map[string]func(context.Context) error) (vectorStore, *embed.Registry, error) {
	vectors, err := m.openVectors(ctx, bus, r, checks)
	if err != nil {
		return nil, nil, err
	}
	states, err := bus.EmbeddingStore(ctx)
	if err != nil {
		return nil, nil, err
	}
	remote, err := m.openRemoteEmbedder(ctx, bus)
	if err != nil {
		return nil, nil, err
	}
	reg := embed.NewRegistry(states, remote)
	if err := reg.Init(ctx, vectors, m.Config.RefitGrowth > 0); err != nil {
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

// openVectors opens the vector store the services share: Qdrant when
// configured; else, all in one process, the in-process index under the data
// dir; else, services running apart on one NATS, the vector log on the bus,
// followed into an in-process index of this process's own (see package
// vectorsync): whole where vectors are read, collections only in a worker,
// which writes points without reading them.
func (m *Main) openVectors(ctx context.Context, bus *natsbus.Bus, r roles, checks map[string]func(context.Context) error) (vectorStore, error) {
	if m.Config.Qdrant.URL != "" {
		q, err := vectordb.NewQdrant(m.Config.Qdrant)
		if err != nil {
			return nil, fmt.Errorf("qdrant: %w", err)
		}
		m.closers = append(m.closers, q.Close)
		checks["qdrant"] = q.Ping
		return m.observeVectors(q, "qdrant"), nil
	}
	if m.name == "serve" {
		local, err := vectordb.OpenLocal(filepath.Join(m.Config.DataDir, "vectors"))
		if err != nil {
			return nil, fmt.Errorf("vector index: %w", err)
		}
		m.closers = append(m.closers, local.Close)
		return m.observeVectors(local, "local"), nil
	}
	dir := filepath.Join(m.Config.DataDir, "vectors-replica")
	if err := os.RemoveAll(dir); err != nil { // the log is what lasts
		return nil, fmt.Errorf("vector replica: %w", err)
	}
	local, err := vectordb.OpenLocal(dir)
	if err != nil {
		return nil, fmt.Errorf("vector replica: %w", err)
	}
	m.closers = append(m.closers, local.Close)
	mode := vectorsync.Full
	if !r.catalog && !r.recs {
		mode = vectorsync.MetaOnly
	}
	store := vectorsync.New(bus, local, mode, m.Log)
	checks["vectors"] = store.Ready
	// Followed from Open on, not from Run: the embedding state's first
	// start creates a collection through it and waits to see it applied.
	follow, stop := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := store.Run(follow); err != nil {
			m.Log.Error("vector log follower stopped", "error", err)
		}
	}()
	m.closers = append(m.closers, func() error { stop(); <-done; return nil })
	return m.observeVectors(store, "vectorsync"), nil
}

// openRemoteEmbedder returns the configured OpenAI-compatible embedder,
// or nil for the local one. The rate limits are shared through the bus by
// every process that embeds.
func (m *Main) openRemoteEmbedder(ctx context.Context, bus *natsbus.Bus) (embed.Embedder, error) {
	c := m.Config
	if c.OpenAIBaseURL == "" && c.OpenAIAPIKey == "" {
		return nil, nil
	}
	cfg := embed.OpenAIConfig{
		BaseURL: c.OpenAIBaseURL, APIKey: c.OpenAIAPIKey, Model: cmp.Or(c.EmbeddingModel, "text-embedding-3-small"),
		Dimensions: c.EmbeddingDimensions, BatchSize: c.EmbeddingBatchSize, MaxInputTokens: c.EmbeddingMaxInputTokens,
		RequestsPerMinute: c.EmbeddingRPM, TokensPerMinute: c.EmbeddingTPM,
		Headers: c.EmbeddingHeaders, APIType: c.EmbeddingAPIType, APIVersion: c.EmbeddingAPIVersion, Deployment: c.EmbeddingDeployment,
	}
	if c.EmbeddingRPM > 0 || c.EmbeddingTPM > 0 {
		store, err := bus.RateStore(ctx, "embedding")
		if err != nil {
			return nil, fmt.Errorf("embedding rate limit: %w", err)
		}
		if cfg.Limiter, err = ratelimit.New(store, ratelimit.Config{Requests: c.EmbeddingRPM, Tokens: c.EmbeddingTPM}); err != nil {
			return nil, fmt.Errorf("embedding rate limit: %w", err)
		}
	}
	e, err := embed.NewOpenAI(cfg)
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
