package postgres_test

import (
	"context"
	"fmt"
	"testing"

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
