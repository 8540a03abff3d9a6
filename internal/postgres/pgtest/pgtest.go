// Package pgtest gives tests a fresh PostgreSQL database of their own.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// DefaultDSN is the server tests use when TEST_POSTGRES_DSN is unset: the
// local development server.
const DefaultDSN = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// NewDatabase creates an empty database on the server named by
// TEST_POSTGRES_DSN, drops it when the test ends, and returns its DSN. Every
// caller gets its own database, so tests can run in parallel.
//
// When the server is unreachable the test is skipped, unless CI=true: there a
// missing server is a broken pipeline, not a reason to pass.
func NewDatabase(tb testing.TB) string {
	tb.Helper()
	serverDSN := os.Getenv("TEST_POSTGRES_DSN")
	if serverDSN == "" {
		serverDSN = DefaultDSN
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, serverDSN)
	if err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("PostgreSQL unreachable (set TEST_POSTGRES_DSN): %v", err)
		}
		tb.Skipf("PostgreSQL unreachable, skipping (set TEST_POSTGRES_DSN, or CI=true to fail): %v", err)
	}
	defer conn.Close(ctx)

	name := "mediarec_test_" + randomHex(8)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		tb.Fatalf("create test database: %v", err)
	}
	tb.Cleanup(func() { dropDatabase(tb, serverDSN, name) })
	return withDatabase(serverDSN, name)
}

// dropDatabase drops a test database, disconnecting any pool the test left
// open.
func dropDatabase(tb testing.TB, serverDSN, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, serverDSN)
	if err != nil {
		tb.Errorf("drop test database %s: %v", name, err)
		return
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		tb.Errorf("drop test database %s: %v", name, err)
	}
}

// withDatabase returns dsn with its database replaced by name. It accepts
// both DSN forms PostgreSQL does: URLs and keyword/value strings.
func withDatabase(dsn, name string) string {
	if u, err := url.Parse(dsn); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		u.Path, u.RawPath = "/"+name, ""
		q := u.Query()
		q.Del("dbname") // it would override the path
		u.RawQuery = q.Encode()
		return u.String()
	}
	// In keyword/value form the last setting of a keyword wins.
	return dsn + " dbname=" + name
}

// randomHex returns n random bytes in hex.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
