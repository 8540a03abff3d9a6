// Package config reads a binary's configuration from environment variables,
// lets flags override them, and validates the result before anything starts.
package config

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"mediarec/internal/vectordb"
)

// Config is the configuration of every mediarec command. Empty URLs select
// the embedded default of that component.
type Config struct {
	Addr       string
	DataDir    string
	AdminToken string

	CatalogDatabaseURL string
	UsersDatabaseURL   string
	// RecsDatabaseURL holds the recs service's read model of the catalog;
	// empty keeps it in SQLite in the data dir.
	RecsDatabaseURL string
	NATSURL         string
	NATSNamespace   string
	// Qdrant is the vector store's settings; an empty URL keeps the
	// vectors in process.
	Qdrant vectordb.QdrantConfig

	// CatalogURL and UsersURL are where a service running alone reaches the
	// others: the users service checks feedback items in the catalog, and
	// the catalog verifies admin tokens with the users service's JWKS.
	CatalogURL string
	UsersURL   string
	// RecsURL is where web forwards search and recommendations. Web takes
	// a comma-separated list in each of the three URLs: the replicas of
	// that service, balanced and failed over.
	RecsURL string
	// SigningKey is the users service's Ed25519 private key file (PEM),
	// created on first start when missing.
	SigningKey string
	// AdminEmails are the accounts that get the admin role when they
	// register.
	AdminEmails []string

	OpenAIBaseURL       string
	OpenAIAPIKey        string
	EmbeddingModel      string
	EmbeddingDimensions int
	// Client-side limits of the remote embedder; 0 means none.
	EmbeddingRPM int
	EmbeddingTPM int
	// EmbeddingBatchSize and EmbeddingMaxInputTokens bound a request's
	// texts and one text's tokens; 0 takes the embedder's defaults.
	EmbeddingBatchSize      int
	EmbeddingMaxInputTokens int
	// EmbeddingMaxFailedShare is the share of a re-embedding's items that
	// may fail for it still to be switched to.
	EmbeddingMaxFailedShare float64
	// EmbeddingHeaders are sent with every request to the endpoint.
	EmbeddingHeaders map[string]string
	// EmbeddingAPIType is "" or "azure"; Azure takes an API version and
	// a deployment (default: the model's name).
	EmbeddingAPIType    string
	EmbeddingAPIVersion string
	EmbeddingDeployment string
	// RefitGrowth is the catalog growth since the last fit of the local
	// model that triggers a refit; 0 turns refits off.
	RefitGrowth float64
	// HybridRefit is how often recommendations refit the collaborative
	// model when feedback arrived since the last fit.
	HybridRefit time.Duration
	// RecsCache is how many recent recommendation answers a recs process
	// keeps to give again while their inputs hold; 0 keeps none.
	RecsCache int

	// OTLPEndpoint is the OpenTelemetry collector that spans are exported
	// to, by the standard variables: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT
	// (the full URL) or OTEL_EXPORTER_OTLP_ENDPOINT (a base URL, to which
	// HTTP appends /v1/traces; OTLPTracesPath tells which). Empty exports
	// nothing: spans are still made, so that logs carry trace ids.
	OTLPEndpoint   string
	OTLPTracesPath bool
	// OTLPProtocol is "http/protobuf" (the default) or "grpc"
	// (OTEL_EXPORTER_OTLP_TRACES_PROTOCOL, OTEL_EXPORTER_OTLP_PROTOCOL).
	OTLPProtocol string

	LogLevel        slog.Level
	BodyLimit       int
	RequestTimeout  time.Duration
	ShutdownTimeout time.Duration
}

// FromEnv reads the environment through getenv; a malformed number is kept
// as an error for Validate to report with the others.
func FromEnv(getenv func(string) string) (Config, error) {
	def := func(key, fallback string) string {
		if v := getenv(key); v != "" {
			return v
		}
		return fallback
	}
	db := getenv("DATABASE_URL")
	c := Config{
		Addr:                    def("MEDIAREC_ADDR", "127.0.0.1:8080"),
		DataDir:                 def("MEDIAREC_DATA_DIR", defaultDataDir()),
		AdminToken:              getenv("MEDIAREC_ADMIN_TOKEN"),
		CatalogDatabaseURL:      def("CATALOG_DATABASE_URL", db),
		UsersDatabaseURL:        def("USERS_DATABASE_URL", db),
		RecsDatabaseURL:         def("RECS_DATABASE_URL", db),
		NATSURL:                 getenv("NATS_URL"),
		NATSNamespace:           getenv("NATS_NAMESPACE"),
		CatalogURL:              getenv("CATALOG_URL"),
		UsersURL:                getenv("USERS_URL"),
		RecsURL:                 getenv("RECS_URL"),
		SigningKey:              getenv("MEDIAREC_SIGNING_KEY"),
		AdminEmails:             splitList(getenv("MEDIAREC_ADMIN_EMAILS")),
		OpenAIBaseURL:           getenv("OPENAI_BASE_URL"),
		OpenAIAPIKey:            getenv("OPENAI_API_KEY"),
		EmbeddingModel:          getenv("EMBEDDING_MODEL"),
		EmbeddingAPIType:        getenv("EMBEDDING_API_TYPE"),
		EmbeddingAPIVersion:     getenv("EMBEDDING_API_VERSION"),
		EmbeddingDeployment:     getenv("EMBEDDING_DEPLOYMENT"),
		RefitGrowth:             0.2,
		EmbeddingMaxFailedShare: 0.01,
		HybridRefit:             30 * time.Second,
		RecsCache:               50_000,
		BodyLimit:               8 << 20,
		RequestTimeout:          30 * time.Second,
		ShutdownTimeout:         20 * time.Second,
	}
	c.OTLPEndpoint, c.OTLPTracesPath = getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"), true
	if c.OTLPEndpoint == "" {
		c.OTLPEndpoint, c.OTLPTracesPath = getenv("OTEL_EXPORTER_OTLP_ENDPOINT"), false
	}
	c.OTLPProtocol = def("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", def("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"))
	var errs []error
	var err error
	if c.Qdrant, err = vectordb.QdrantConfigFromEnv(getenv); err != nil {
		errs = append(errs, err)
	}
	for key, dst := range map[string]*int{
		"EMBEDDING_DIMENSIONS":          &c.EmbeddingDimensions,
		"EMBEDDING_REQUESTS_PER_MINUTE": &c.EmbeddingRPM,
		"EMBEDDING_TOKENS_PER_MINUTE":   &c.EmbeddingTPM,
		"EMBEDDING_BATCH_SIZE":          &c.EmbeddingBatchSize,
		"EMBEDDING_MAX_INPUT_TOKENS":    &c.EmbeddingMaxInputTokens,
		"MEDIAREC_RECS_CACHE":           &c.RecsCache,
	} {
		if v := getenv(key); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s=%q is not a whole number", key, v))
			}
			*dst = n
		}
	}
	if v := getenv("EMBEDDING_MAX_FAILED_SHARE"); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			errs = append(errs, fmt.Errorf("EMBEDDING_MAX_FAILED_SHARE=%q is not a number", v))
		}
		c.EmbeddingMaxFailedShare = f
	}
	if v := getenv("EMBEDDING_HEADERS"); v != "" {
		c.EmbeddingHeaders = map[string]string{}
		for _, kv := range splitList(v) {
			k, val, ok := strings.Cut(kv, "=")
			if !ok || strings.TrimSpace(k) == "" {
				errs = append(errs, fmt.Errorf("EMBEDDING_HEADERS: %q is not Name=value", kv))
				continue
			}
			c.EmbeddingHeaders[strings.TrimSpace(k)] = strings.TrimSpace(val)
		}
	}
	if v := getenv("MEDIAREC_REFIT_GROWTH"); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			errs = append(errs, fmt.Errorf("MEDIAREC_REFIT_GROWTH=%q is not a number", v))
		}
		c.RefitGrowth = f
	}
	if v := getenv("MEDIAREC_HYBRID_REFIT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("MEDIAREC_HYBRID_REFIT=%q is not a duration such as 30s", v))
		}
		c.HybridRefit = d
	}
	if v := getenv("MEDIAREC_LOG_LEVEL"); v != "" {
		if err := c.LogLevel.UnmarshalText([]byte(v)); err != nil {
			errs = append(errs, fmt.Errorf("MEDIAREC_LOG_LEVEL=%q: want debug, info, warn or error", v))
		}
	}
	return c, errors.Join(errs...)
}

// SplitURLs reads a comma-separated list of URLs (a service's replicas).
func SplitURLs(v string) []string { return splitList(v) }

// splitList reads a comma-separated list, dropping empty entries.
func splitList(v string) []string {
	var out []string
	for s := range strings.SplitSeq(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func defaultDataDir() string {
	if dir, err := os.UserCacheDir(); err == nil {
		return filepath.Join(dir, "mediarec")
	}
	return "mediarec-data"
}

// Flags binds the flags every server command takes, defaulting to the values
// already in c so that a flag overrides its environment variable.
func (c *Config) Flags(fs *flag.FlagSet) {
	fs.StringVar(&c.Addr, "addr", c.Addr, "listen address (MEDIAREC_ADDR)")
	fs.StringVar(&c.DataDir, "data", c.DataDir, "data directory for the embedded stores (MEDIAREC_DATA_DIR)")
	fs.StringVar(&c.CatalogDatabaseURL, "catalog-db", c.CatalogDatabaseURL, "catalog PostgreSQL URL; empty = SQLite in the data dir (CATALOG_DATABASE_URL, DATABASE_URL)")
	fs.StringVar(&c.CatalogURL, "catalog-url", c.CatalogURL, "base URL of the catalog service, for a service running alone (CATALOG_URL)")
	fs.StringVar(&c.UsersURL, "users-url", c.UsersURL, "base URL of the users service, whose JWKS verifies tokens (USERS_URL)")
	fs.StringVar(&c.RecsURL, "recs-url", c.RecsURL, "base URL of the recs service, for web (RECS_URL)")
	fs.StringVar(&c.SigningKey, "signing-key", c.SigningKey, "the users service's Ed25519 key file; empty = auth/ed25519.pem in the data dir (MEDIAREC_SIGNING_KEY)")
	fs.TextVar(&c.LogLevel, "log-level", c.LogLevel, "log level: debug, info, warn, error (MEDIAREC_LOG_LEVEL)")
	fs.Float64Var(&c.RefitGrowth, "refit-growth", c.RefitGrowth, "catalog growth since the last fit that refits the local model; 0 = never (MEDIAREC_REFIT_GROWTH)")
	fs.DurationVar(&c.HybridRefit, "hybrid-refit", c.HybridRefit, "how often recommendations refit the collaborative model on new feedback (MEDIAREC_HYBRID_REFIT)")
	fs.IntVar(&c.RecsCache, "recs-cache", c.RecsCache, "recent recommendation answers kept to give again while their inputs hold; 0 = none (MEDIAREC_RECS_CACHE)")
	fs.StringVar(&c.Qdrant.URL, "qdrant-url", c.Qdrant.URL, "Qdrant gRPC endpoint(s), comma-separated; empty = in-process vectors (QDRANT_URL)")
	fs.Func("qdrant-replication", "replication factor of new Qdrant collections (QDRANT_REPLICATION_FACTOR)", uintFlag(&c.Qdrant.ReplicationFactor))
	fs.Func("qdrant-shards", "shards of new Qdrant collections; default one per node (QDRANT_SHARDS)", uintFlag(&c.Qdrant.ShardNumber))
	fs.StringVar(&c.Qdrant.WriteOrdering, "qdrant-write-ordering", c.Qdrant.WriteOrdering, "weak, medium or strong; empty = medium (QDRANT_WRITE_ORDERING)")
	fs.DurationVar(&c.Qdrant.Timeout, "qdrant-timeout", c.Qdrant.Timeout, "deadline of each attempt of a Qdrant request; 0 = 10s (QDRANT_TIMEOUT)")
	fs.Uint64Var(&c.Qdrant.HNSWEf, "qdrant-hnsw-ef", c.Qdrant.HNSWEf, "Qdrant search beam; 0 = Qdrant's default (QDRANT_HNSW_EF)")
	fs.IntVar(&c.BodyLimit, "body-limit", c.BodyLimit, "largest request body in bytes")
	fs.DurationVar(&c.RequestTimeout, "request-timeout", c.RequestTimeout, "longest time one request may take")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", c.ShutdownTimeout, "longest time to drain in-flight requests on shutdown")
}

// uintFlag sets a positive uint32 from a flag.
func uintFlag(dst *uint32) func(string) error {
	return func(v string) error {
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil || n == 0 {
			return fmt.Errorf("%q is not a positive whole number", v)
		}
		*dst = uint32(n)
		return nil
	}
}

// Validate checks the fields together and names every problem at once.
func (c Config) Validate() error {
	var errs []error
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		errs = append(errs, fmt.Errorf("--addr %q: want host:port", c.Addr))
	}
	if c.DataDir == "" {
		errs = append(errs, errors.New("--data must not be empty"))
	}
	for name, u := range map[string]string{"CATALOG_DATABASE_URL": c.CatalogDatabaseURL, "USERS_DATABASE_URL": c.UsersDatabaseURL, "RECS_DATABASE_URL": c.RecsDatabaseURL} {
		if err := checkURL(u, "postgres", "postgresql"); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
	}
	if err := checkURL(c.NATSURL, "nats", "tls"); err != nil {
		errs = append(errs, fmt.Errorf("NATS_URL: %w", err))
	}
	if c.Qdrant.URL != "" {
		if err := c.Qdrant.Check(); err != nil {
			errs = append(errs, err)
		}
	}
	for name, u := range map[string]string{"OPENAI_BASE_URL": c.OpenAIBaseURL, "OTEL_EXPORTER_OTLP_ENDPOINT": c.OTLPEndpoint} {
		if err := checkURL(u, "http", "https"); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
	}
	for name, list := range map[string]string{"CATALOG_URL": c.CatalogURL, "USERS_URL": c.UsersURL, "RECS_URL": c.RecsURL} {
		for _, u := range SplitURLs(list) {
			if err := checkURL(u, "http", "https"); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", name, err))
			}
		}
	}
	for _, r := range c.NATSNamespace {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			errs = append(errs, fmt.Errorf("NATS_NAMESPACE %q: use letters and digits only", c.NATSNamespace))
			break
		}
	}
	if c.OTLPProtocol != "http/protobuf" && c.OTLPProtocol != "grpc" {
		errs = append(errs, fmt.Errorf("OTEL_EXPORTER_OTLP_PROTOCOL %q: want http/protobuf or grpc", c.OTLPProtocol))
	}
	if c.EmbeddingDimensions < 0 || c.EmbeddingRPM < 0 || c.EmbeddingTPM < 0 || c.EmbeddingBatchSize < 0 || c.EmbeddingMaxInputTokens < 0 {
		errs = append(errs, errors.New("EMBEDDING_DIMENSIONS, EMBEDDING_BATCH_SIZE, EMBEDDING_MAX_INPUT_TOKENS and the embedding rate limits must not be negative"))
	}
	if !(c.EmbeddingMaxFailedShare >= 0 && c.EmbeddingMaxFailedShare <= 1) {
		errs = append(errs, errors.New("EMBEDDING_MAX_FAILED_SHARE must be between 0 and 1"))
	}
	if c.EmbeddingAPIType != "" && c.EmbeddingAPIType != "openai" && c.EmbeddingAPIType != "azure" {
		errs = append(errs, fmt.Errorf("EMBEDDING_API_TYPE %q: want openai or azure", c.EmbeddingAPIType))
	}
	if c.RefitGrowth < 0 || c.RefitGrowth > 100 {
		errs = append(errs, errors.New("--refit-growth must be between 0 and 100"))
	}
	if c.HybridRefit <= 0 {
		errs = append(errs, errors.New("--hybrid-refit must be positive"))
	}
	if c.RecsCache < 0 {
		errs = append(errs, errors.New("--recs-cache must not be negative"))
	}
	if c.BodyLimit < 1<<10 {
		errs = append(errs, errors.New("--body-limit must be at least 1024 bytes"))
	}
	if c.RequestTimeout <= 0 || c.ShutdownTimeout <= 0 {
		errs = append(errs, errors.New("--request-timeout and --shutdown-timeout must be positive"))
	}
	return errors.Join(errs...)
}

// CheckWrites names what a process that takes catalog writes needs: a
// token, unless it listens on this machine only.
func (c Config) CheckWrites() error {
	host, _, err := net.SplitHostPort(c.Addr)
	if err != nil || c.AdminToken != "" || isLoopback(host) {
		return nil // a bad address is Validate's to report
	}
	return fmt.Errorf("--addr %q listens beyond this machine: set MEDIAREC_ADMIN_TOKEN so catalog writes need a token", c.Addr)
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// checkURL accepts an empty value (the embedded default) or a URL with one
// of the schemes.
func checkURL(raw string, schemes ...string) error {
	if raw == "" {
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return fmt.Errorf("%q is not a URL like %s://host:port", redact(raw), schemes[0])
	}
	for _, s := range schemes {
		if strings.EqualFold(u.Scheme, s) {
			return nil
		}
	}
	return fmt.Errorf("scheme %q: want %s", u.Scheme, strings.Join(schemes, " or "))
}

// redact hides a password in a URL so it never reaches a log or terminal.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}
