package main

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"mediarec/internal/datatest"
	"mediarec/internal/natsbus/natstest"
	"mediarec/internal/postgres/pgtest"
)

// MustRunMain starts the all-in-one server on a free loopback port with the
// given environment, returns once it is ready, and stops it when the test
// ends.
func MustRunMain(tb testing.TB, env map[string]string) *Main {
	tb.Helper()
	m := mustRunCommand(tb, "serve", env, io.Discard)
	// As a load balancer does, wait for /readyz: recommendations answer
	// once they have read the events.
	natstest.CheckFor(tb, 30*time.Second, func() error {
		if code, body := httpGet(m.URL()+"/readyz", ""); code != http.StatusOK {
			return fmt.Errorf("/readyz: %d %s", code, body)
		}
		return nil
	})
	return m
}

// mustRunCommand is MustRunMain for any server command, logging to logs,
// on MEDIAREC_ADDR when env sets it.
// The local model is not refitted unless env asks for it: a fit takes long
// under the race detector, and only the tests of re-embedding need one.
func mustRunCommand(tb testing.TB, name string, env map[string]string, logs io.Writer) *Main {
	tb.Helper()
	m, _ := startCommand(tb, name, cmp.Or(env["MEDIAREC_ADDR"], "127.0.0.1:0"), tb.TempDir(), env, logs)
	return m
}

// startCommand runs a server command on addr and dataDir until the
// returned stop is called or the test ends, whichever comes first.
func startCommand(tb testing.TB, name, addr, dataDir string, env map[string]string, logs io.Writer) (*Main, func()) {
	tb.Helper()
	m := NewMain(name, logs)
	getenv := func(k string) string {
		if v, ok := env[k]; ok || k != "MEDIAREC_REFIT_GROWTH" {
			return v
		}
		return "0"
	}
	if err := m.ParseConfig([]string{"--addr", addr, "--data", dataDir}, getenv, logs); err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := m.Open(ctx); err != nil {
		cancel()
		m.Close()
		tb.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			tb.Errorf("run: %v", err)
		}
		if err := m.Close(); err != nil {
			tb.Errorf("close: %v", err)
		}
	}
	tb.Cleanup(stop)
	return m, stop
}

// stores lists the catalog stores every end-to-end test runs against.
func stores(t *testing.T) map[string]func(t *testing.T) map[string]string {
	return map[string]func(t *testing.T) map[string]string{
		"sqlite": func(t *testing.T) map[string]string { return nil },
		"postgres": func(t *testing.T) map[string]string {
			return map[string]string{"CATALOG_DATABASE_URL": pgtest.NewDatabase(t)}
		},
	}
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, string(body)
}

func TestOperationsRoutes(t *testing.T) {
	for name, env := range stores(t) {
		t.Run(name, func(t *testing.T) {
			m := MustRunMain(t, env(t))
			for _, path := range []string{"/healthz", "/readyz", "/"} {
				if status, body := get(t, m.URL()+path); status != 200 {
					t.Fatalf("GET %s = %d: %s", path, status, body)
				}
			}
			for range 3 {
				res, err := http.Post(m.URL()+"/v1/items", "application/json", strings.NewReader(`{}`))
				if err != nil {
					t.Fatal(err)
				}
				res.Body.Close()
			}
			status, body := get(t, m.URL()+"/metrics")
			for _, want := range []string{
				`http_requests_total{method="GET",route="/healthz",status="200"} 1`,
				`http_requests_total{method="POST",route="/v1/items",status="400"} 3`,
			} {
				if status != 200 || !strings.Contains(body, want) {
					t.Fatalf("metrics (%d) lack %s:\n%.3000s", status, want, body)
				}
			}
			// Label values must not alias the server's reused buffers.
			for _, line := range strings.Split(body, "\n") {
				if method, ok := strings.CutPrefix(line, `http_requests_total{method="`); ok && !strings.HasPrefix(method, `GET"`) && !strings.HasPrefix(method, `POST"`) {
					t.Fatalf("garbled method label: %s", line)
				}
			}
		})
	}
}

func TestRunUsage(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		env      map[string]string
		wantCode int
		wantErr  string
	}{
		{"no command", nil, nil, 2, "Usage"},
		{"unknown command", []string{"frobnicate"}, nil, 2, "unknown command"},
		{"recs alone without the bus", []string{"recs"}, nil, 2, "set NATS_URL"},
		{"recs alone without users", []string{"recs"}, map[string]string{"NATS_URL": "nats://127.0.0.1:4222"}, 2, "set USERS_URL"},
		{"web alone without services", []string{"web"}, map[string]string{"CATALOG_URL": "http://127.0.0.1:1"}, 2, "RECS_URL"},
		{"web with a bad replica URL", []string{"web"}, map[string]string{"CATALOG_URL": "http://127.0.0.1:1,ftp://x", "USERS_URL": "http://127.0.0.1:2", "RECS_URL": "http://127.0.0.1:3"}, 2, "CATALOG_URL"},
		{"embed-worker alone without the bus", []string{"embed-worker"}, nil, 2, "set NATS_URL"},
		{"bad flag", []string{"serve", "--nope"}, nil, 2, "flag provided but not defined"},
		{"invalid config", []string{"serve", "--addr", "0.0.0.0:0"}, nil, 2, "MEDIAREC_ADMIN_TOKEN"},
		{"catalog on a public address without a token", []string{"catalog", "--addr", "0.0.0.0:0"}, nil, 2, "MEDIAREC_ADMIN_TOKEN"},
		{"invalid env", []string{"catalog"}, map[string]string{"DATABASE_URL": "mysql://db"}, 2, "want postgres"},
		{"ingest without format", []string{"ingest", "x"}, nil, 2, "Usage"},
		{"ingest unknown format", []string{"ingest", "--format", "xml", "x"}, nil, 1, "unknown format"},
		{"help", []string{"help"}, nil, 0, ""},
		{"migrate without a database", []string{"migrate"}, nil, 2, "no database to migrate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tt.args, func(k string) string { return tt.env[k] }, &stdout, &stderr)
			if code != tt.wantCode || !strings.Contains(stderr.String(), tt.wantErr) {
				t.Fatalf("exit %d, stderr %q; want %d and %q", code, stderr.String(), tt.wantCode, tt.wantErr)
			}
		})
	}
}

func TestIngestMovieLens(t *testing.T) {
	movieLensDir := datatest.Dir(t, datatest.MovieLens)
	for name, env := range stores(t) {
		t.Run(name, func(t *testing.T) {
			m := MustRunMain(t, env(t))
			ingestArgs := []string{"ingest", "--quiet", "--server", m.URL(), "--format", "movielens", movieLensDir}
			var out, errOut bytes.Buffer
			if code := run(context.Background(), ingestArgs, func(string) string { return "" }, &out, &errOut); code != 0 {
				t.Fatalf("first ingest exit %d: %s %s", code, out.String(), errOut.String())
			}
			if !strings.HasPrefix(out.String(), "9742 items: 9742 created, 0 updated, 0 unchanged, 0 failed") {
				t.Fatalf("first ingest: %s", out.String())
			}
			out.Reset()
			if code := run(context.Background(), ingestArgs, func(string) string { return "" }, &out, &errOut); code != 0 {
				t.Fatalf("second ingest exit %d: %s", code, errOut.String())
			}
			if !strings.HasPrefix(out.String(), "9742 items: 0 created, 0 updated, 9742 unchanged, 0 failed") {
				t.Fatalf("second ingest: %s", out.String())
			}
			status, body := get(t, m.URL()+"/v1/items?type=documentary&limit=500")
			if status != 200 || strings.Count(body, `"type":"documentary"`) < 400 || strings.Contains(body, `"type":"movie"`) {
				t.Fatalf("documentaries (%d): %.500s", status, body)
			}
		})
	}
}

// TestMigrate applies every service's migrations to a database as the
// deployment's Job does, twice: the second run finds nothing to do.
func TestMigrate(t *testing.T) {
	env := map[string]string{"DATABASE_URL": pgtest.NewDatabase(t)}
	for range 2 {
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), []string{"migrate"}, func(k string) string { return env[k] }, &stdout, &stderr); code != 0 {
			t.Fatalf("migrate: exit %d: %s", code, stderr.String())
		}
		for _, db := range []string{"catalog", "users", "recs"} {
			if !strings.Contains(stdout.String(), db+" database: migrated") {
				t.Errorf("migrate did not report the %s database: %s", db, stdout.String())
			}
		}
	}
}
