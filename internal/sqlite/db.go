// Package sqlite holds the embedded-default adapters: each service's store on
// a SQLite file through the pure-Go modernc.org/sqlite driver.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

//go:embed migrations
var migrations embed.FS

// DB is one SQLite database file. SQLite allows one writer at a time, so
// writes go through a single connection (no "database is locked" retries)
// while reads use a pool that WAL mode lets run beside the writer.
type DB struct {
	write *sql.DB
	read  *sql.DB

	mu    sync.Mutex
	stmts map[string]*sql.Stmt // on read, by query text
}

// Open opens (creating if needed) the database file at path.
func Open(path string) (*DB, error) {
	q := url.Values{}
	// mmap_size lets reads of the database file skip a pread per page.
	for _, p := range []string{"busy_timeout(10000)", "journal_mode(WAL)", "synchronous(NORMAL)", "foreign_keys(1)", "mmap_size(268435456)"} {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	dsn := "file:" + path + "?" + q.Encode()
	write, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	write.SetMaxOpenConns(1)
	read, err := sql.Open("sqlite", dsn)
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	// Idle connections are kept as many as open ones: database/sql keeps 2
	// by default, and a busy server then opens (with its pragmas and
	// prepared statements) and closes a connection for most reads.
	conns := max(8, 2*runtime.NumCPU())
	read.SetMaxOpenConns(conns)
	read.SetMaxIdleConns(conns)
	db := &DB{write: write, read: read, stmts: map[string]*sql.Stmt{}}
	if err := db.Ping(context.Background()); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.write.PingContext(ctx); err != nil {
		return fmt.Errorf("ping sqlite: %w", err)
	}
	return nil
}

// Close closes the prepared statements and both connection pools.
func (db *DB) Close() error {
	db.mu.Lock()
	defer db.mu.Unlock()
	var errs []error
	for _, st := range db.stmts {
		errs = append(errs, st.Close())
	}
	clear(db.stmts)
	return errors.Join(append(errs, db.read.Close(), db.write.Close())...)
}

// query runs a read through a statement prepared once per query text: the
// hot reads (items by id, a user's feedback) otherwise spend a third of
// their time parsing SQL. Only fixed query texts belong here.
func (db *DB) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := db.prepared(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

// preparedReads is the read pool through prepared statements, for code that
// also runs inside a transaction (queryRower).
type preparedReads struct{ db *DB }

func (r preparedReads) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	st, err := r.db.prepared(ctx, query)
	if err != nil {
		return r.db.read.QueryRowContext(ctx, query, args...) // reports the same error
	}
	return st.QueryRowContext(ctx, args...)
}

func (db *DB) prepared(ctx context.Context, query string) (*sql.Stmt, error) {
	db.mu.Lock()
	defer db.mu.Unlock()
	if st, ok := db.stmts[query]; ok {
		return st, nil
	}
	st, err := db.read.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	db.stmts[query] = st
	return st, nil
}

// migrate applies the service's migrations/<service>/NNNN_name.sql files that
// are not yet recorded, each in its own transaction.
func (db *DB) migrate(ctx context.Context, service string) error {
	if _, err := db.write.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		service TEXT NOT NULL, version INTEGER NOT NULL, applied_at INTEGER NOT NULL,
		PRIMARY KEY (service, version))`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	dir := "migrations/" + service
	entries, err := fs.ReadDir(migrations, dir)
	if err != nil {
		return fmt.Errorf("read %s migrations: %w", service, err)
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
	for _, e := range entries {
		prefix, _, _ := strings.Cut(e.Name(), "_")
		version, err := strconv.Atoi(prefix)
		if err != nil {
			return fmt.Errorf("migration %s: name must start with a number", e.Name())
		}
		body, err := fs.ReadFile(migrations, dir+"/"+e.Name())
		if err != nil {
			return fmt.Errorf("read migration %s: %w", e.Name(), err)
		}
		if err := db.applyMigration(ctx, service, version, string(body)); err != nil {
			return fmt.Errorf("migration %s/%s: %w", service, e.Name(), err)
		}
	}
	return nil
}

func (db *DB) applyMigration(ctx context.Context, service string, version int, body string) error {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE service = ? AND version = ?`, service, version).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, body); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (service, version, applied_at) VALUES (?, ?, strftime('%s','now'))`, service, version); err != nil {
		return err
	}
	return tx.Commit()
}
