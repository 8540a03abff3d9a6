package postgres_test

import (
	"context"
	"testing"

	"mediarec"
	"mediarec/internal/postgres"
	"mediarec/internal/postgres/pgtest"
	"mediarec/internal/recs"
	"mediarec/internal/recs/recstest"
)

var _ recs.ItemStore = (*postgres.RecsItemStore)(nil)

func TestRecsItemStore(t *testing.T) {
	recstest.RunItemStore(t, func(t *testing.T) recs.ItemStore {
		return mustRecsItemStore(t, mustOpen(t, pgtest.NewDatabase(t)))
	})
}

// TestRecsItemStoreSharedDatabase checks that the read model and the catalog
// can share one database, and that migrating again keeps the data.
func TestRecsItemStoreSharedDatabase(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.NewDatabase(t)
	mustCatalogStore(t, mustOpen(t, dsn))
	first := mustRecsItemStore(t, mustOpen(t, dsn))
	// A NUL in a string field is valid JSON that jsonb would refuse.
	item := &mediarec.Item{ID: 1, Type: mediarec.TypeBook, Title: "Dune", Description: "nul \x00 inside"}
	ev := recs.ItemEvent{Seq: 1, Event: mediarec.CatalogItemEvent{ItemID: 1, Item: item}}
	if err := first.ApplyItemEvents(ctx, []recs.ItemEvent{ev}); err != nil {
		t.Fatal(err)
	}

	second := mustRecsItemStore(t, mustOpen(t, dsn))
	got, err := second.FindItemByID(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if got.Title != item.Title || got.Description != item.Description {
		t.Fatalf("after reopen: %q %q, want %q %q", got.Title, got.Description, item.Title, item.Description)
	}
}

func mustRecsItemStore(tb testing.TB, db *postgres.DB) *postgres.RecsItemStore {
	tb.Helper()
	s, err := postgres.NewRecsItemStore(context.Background(), db)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}
