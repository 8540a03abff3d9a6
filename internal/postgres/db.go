// Package postgres holds the PostgreSQL adapters of the services' stores and
// the embedded migrations that create their schemas.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

//go:embed migrations/catalog/*.sql
var catalogMigrations embed.FS

// defaultMaxConns bounds the pool unless the DSN sets pool_max_conns. pgx's
// default follows the CPU count, which a small pod underestimates and a large
// node multiplies by every replica; a fixed size keeps the total predictable
// against the server's max_connections.
const defaultMaxConns = 10

// migrationLockKey is the pg_advisory_xact_lock key that serializes
// migrations: "mediarec" in ASCII. One key for every service, because the
// first migration of any service may create schema_migrations.
const migrationLockKey = 0x6d65646961726563

// DB is a pool of connections to one PostgreSQL database.
type DB struct {
	Pool *pgxpool.Pool
}

// Open connects to the database at dsn and checks that it answers. The DSN
// may set pool_max_conns and the other pgxpool parameters.
func Open(ctx context.Context, dsn string) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("parse postgres dsn: %w", err)
	}
	if !strings.Contains(dsn, "pool_max_conns") {
		cfg.MaxConns = defaultMaxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open postgres pool: %w", err)
	}
	// The pool connects lazily; ping so that a wrong DSN fails at start
	// rather than on the first request.
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to postgres: %w", err)
	}
	return &DB{Pool: pool}, nil
}

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.Pool.Ping(ctx); err != nil {
		return fmt.Errorf("ping postgres: %w", err)
	}
	return nil
}

// Close closes every connection of the pool. It waits for acquired
// connections to be released.
func (db *DB) Close() {
	db.Pool.Close()
}

// migration is one SQL file of a service's migrations.
type migration struct {
	version int
	name    string
}

// Migrate applies the migrations of service found in fsys that are not yet
// recorded in schema_migrations, in version order, in one transaction. Each
// migration is a file named <version>_<description>.sql at the root of fsys;
// an applied migration must never be edited, only followed by a new one.
//
// Replicas that start together serialize on an advisory lock, so exactly one
// applies each migration and the others then see it recorded.
func (db *DB) Migrate(ctx context.Context, service string, fsys fs.FS) error {
	migrations, err := readMigrations(fsys)
	if err != nil {
		return fmt.Errorf("migrate %s: %w", service, err)
	}
	tx, err := db.Pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("migrate %s: begin: %w", service, err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // a no-op after Commit

	// Take the lock before creating schema_migrations: concurrent CREATE TABLE
	// IF NOT EXISTS can still fail with a unique violation on the catalog.
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", int64(migrationLockKey)); err != nil {
		return fmt.Errorf("migrate %s: lock: %w", service, err)
	}
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		service    text        NOT NULL,
		version    int         NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now(),
		PRIMARY KEY (service, version)
	)`); err != nil {
		return fmt.Errorf("migrate %s: create schema_migrations: %w", service, err)
	}

	rows, _ := tx.Query(ctx, "SELECT version FROM schema_migrations WHERE service = $1", service)
	versions, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		return fmt.Errorf("migrate %s: read applied versions: %w", service, err)
	}
	applied := make(map[int]bool, len(versions))
	for _, v := range versions {
		applied[int(v)] = true
	}

	for _, m := range migrations {
		if applied[m.version] {
			continue
		}
		sql, err := fs.ReadFile(fsys, m.name)
		if err != nil {
			return fmt.Errorf("migrate %s: %w", service, err)
		}
		// Exec without arguments uses the simple protocol, which allows
		// several statements in one file.
		if _, err := tx.Exec(ctx, string(sql)); err != nil {
			return fmt.Errorf("migrate %s: apply %s: %w", service, m.name, err)
		}
		if _, err := tx.Exec(ctx, "INSERT INTO schema_migrations (service, version, applied_at) VALUES ($1, $2, now())", service, m.version); err != nil {
			return fmt.Errorf("migrate %s: record %s: %w", service, m.name, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("migrate %s: commit: %w", service, err)
	}
	return nil
}

// readMigrations lists the *.sql files at the root of fsys in version order.
// Versions compare as numbers, so 10_x.sql follows 9_x.sql.
func readMigrations(fsys fs.FS) ([]migration, error) {
	names, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		return nil, fmt.Errorf("list migrations: %w", err)
	}
	migrations := make([]migration, 0, len(names))
	seen := make(map[int]string, len(names))
	for _, name := range names {
		prefix, _, _ := strings.Cut(path.Base(name), "_")
		version, err := strconv.Atoi(prefix)
		if err != nil || version < 1 {
			return nil, fmt.Errorf("migration %s: name must start with a positive version number and '_'", name)
		}
		if other, ok := seen[version]; ok {
			return nil, fmt.Errorf("migrations %s and %s share version %d", other, name, version)
		}
		seen[version] = name
		migrations = append(migrations, migration{version: version, name: name})
	}
	sort.Slice(migrations, func(i, j int) bool { return migrations[i].version < migrations[j].version })
	return migrations, nil
}

// isUniqueViolation reports whether err is PostgreSQL's unique_violation.
func isUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505"
}
