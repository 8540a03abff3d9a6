package postgres_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"mediarec"
	"mediarec/internal/catalog"
	"mediarec/internal/catalog/catalogtest"
	"mediarec/internal/postgres"
	"mediarec/internal/postgres/pgtest"
)

var _ catalog.Store = (*postgres.CatalogStore)(nil)

func TestCatalogStore(t *testing.T) {
	catalogtest.Run(t, func(t *testing.T) catalogtest.Store {
		return mustCatalogStore(t, mustOpen(t, pgtest.NewDatabase(t)))
	})
}

// TestCatalogStoreTrigramExtension runs the catalog's migrations as a user
// who is not a superuser: pg_trgm is trusted, so CREATE on the database is
// enough; without it the error says what the catalog needs.
func TestCatalogStoreTrigramExtension(t *testing.T) {
	tests := []struct {
		name        string
		createOnDB  bool
		wantErrText string // "" for success
	}{
		{name: "CREATE on the database", createOnDB: true},
		{name: "no CREATE on the database", createOnDB: false, wantErrText: "the catalog indexes titles with the pg_trgm extension"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			dsn := pgtest.NewDatabase(t)
			admin := mustOpen(t, dsn)
			role := fmt.Sprintf("mediarec_migrator_%d", time.Now().UnixNano())
			ident := pgx.Identifier{role}.Sanitize()
			var dbName string
			if err := admin.Pool.QueryRow(ctx, "SELECT current_database()").Scan(&dbName); err != nil {
				t.Fatal(err)
			}
			// A password, so that servers that require one (CI's
			// service container) let the role in as well.
			password := fmt.Sprintf("pw%d", time.Now().UnixNano())
			if _, err := admin.Pool.Exec(ctx, "CREATE ROLE "+ident+" LOGIN PASSWORD '"+password+"'"); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				// A role is the cluster's: drop what it owns and was
				// granted here, then the role itself.
				for _, sql := range []string{"DROP OWNED BY " + ident, "DROP ROLE " + ident} {
					if _, err := admin.Pool.Exec(context.Background(), sql); err != nil {
						t.Errorf("%s: %v", sql, err)
					}
				}
			})
			grants := []string{"GRANT USAGE, CREATE ON SCHEMA public TO " + ident}
			if tt.createOnDB {
				grants = append(grants, "GRANT CREATE ON DATABASE "+pgx.Identifier{dbName}.Sanitize()+" TO "+ident)
			}
			for _, sql := range grants {
				if _, err := admin.Pool.Exec(ctx, sql); err != nil {
					t.Fatalf("%s: %v", sql, err)
				}
			}

			cfg, err := pgx.ParseConfig(dsn)
			if err != nil {
				t.Fatal(err)
			}
			u := url.URL{Scheme: "postgres", User: url.UserPassword(role, password), Host: fmt.Sprintf("%s:%d", cfg.Host, cfg.Port), Path: "/" + dbName, RawQuery: "sslmode=disable"}
			db, err := postgres.Open(ctx, u.String())
			if err != nil {
				t.Skipf("cannot log in as a new role (the server may require passwords): %v", err)
			}
			t.Cleanup(db.Close)
			_, err = postgres.NewCatalogStore(ctx, db)
			switch {
			case tt.wantErrText == "" && err != nil:
				t.Fatalf("NewCatalogStore: %v", err)
			case tt.wantErrText != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErrText)):
				t.Fatalf("NewCatalogStore error = %v, want %q", err, tt.wantErrText)
			case err != nil:
				t.Logf("NewCatalogStore: %v", err)
			}
		})
	}
}

func TestCatalogStoreReopen(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.NewDatabase(t)
	first := mustCatalogStore(t, mustOpen(t, dsn))
	item := &mediarec.Item{ExternalID: "x", Type: mediarec.TypeBook, Title: "Dune"}
	if err := first.CreateItem(ctx, item); err != nil {
		t.Fatal(err)
	}

	// The migrations are applied already; opening again must neither fail
	// nor lose data.
	second := mustCatalogStore(t, mustOpen(t, dsn))
	got, err := second.FindItemByID(ctx, item.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Title != "Dune" {
		t.Fatalf("title after reopen = %q, want Dune", got.Title)
	}
}

func TestCatalogStoreConcurrentStart(t *testing.T) {
	// Replicas that start together must not race to create the schema.
	dsn := pgtest.NewDatabase(t)
	const replicas = 4
	dbs := make([]*postgres.DB, replicas)
	for i := range dbs {
		dbs[i] = mustOpen(t, dsn)
	}
	errs := make(chan error, replicas)
	for _, db := range dbs {
		go func() {
			_, err := postgres.NewCatalogStore(context.Background(), db)
			errs <- err
		}()
	}
	for range replicas {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// BenchmarkUpsertItems upserts batches of 10,000 items that are all new, all
// changed, or all unchanged.
func BenchmarkUpsertItems(b *testing.B) {
	const n = 10000
	batch := func(prefix, title string) []*mediarec.Item {
		items := make([]*mediarec.Item, n)
		for i := range items {
			items[i] = &mediarec.Item{
				ExternalID: fmt.Sprintf("%s:%05d", prefix, i), Type: mediarec.TypeMovie,
				Title:       fmt.Sprintf("%s %d", title, i),
				Description: "A crew travels through a wormhole in search of a new home for humanity.",
				Genres:      []string{"Sci-Fi", "Drama"}, Tags: []string{"space", "time travel"},
				Creators: []string{"Christopher Nolan"}, Year: 2014, Language: "en",
			}
		}
		return items
	}
	tests := []struct {
		name  string
		items func(round int) []*mediarec.Item
	}{
		{"create", func(round int) []*mediarec.Item { return batch(fmt.Sprint("r", round), "Movie") }},
		{"update", func(round int) []*mediarec.Item { return batch("same", fmt.Sprint("Movie, round ", round)) }},
		{"unchanged", func(int) []*mediarec.Item { return batch("same", "Movie") }},
	}
	for _, tt := range tests {
		b.Run(tt.name, func(b *testing.B) {
			ctx := context.Background()
			store := mustCatalogStore(b, mustOpen(b, pgtest.NewDatabase(b)))
			if _, err := store.UpsertItems(ctx, batch("same", "Movie")); err != nil {
				b.Fatal(err)
			}
			rounds := 0
			for b.Loop() {
				rounds++
				if _, err := store.UpsertItems(ctx, tt.items(rounds)); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n*rounds)/b.Elapsed().Seconds(), "items/s")
		})
	}
}

func mustOpen(tb testing.TB, dsn string) *postgres.DB {
	tb.Helper()
	db, err := postgres.Open(context.Background(), dsn)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(db.Close)
	return db
}

func mustCatalogStore(tb testing.TB, db *postgres.DB) *postgres.CatalogStore {
	tb.Helper()
	s, err := postgres.NewCatalogStore(context.Background(), db)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}
