package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"mediarec"
	"mediarec/internal/recs"
	"mediarec/internal/recs/recstest"
	"mediarec/internal/sqlite"
)

var _ recs.ItemStore = (*sqlite.RecsItemStore)(nil)

func TestRecsItemStore(t *testing.T) {
	recstest.RunItemStore(t, func(t *testing.T) recs.ItemStore {
		return mustRecsItemStore(t, MustOpenDB(t))
	})
}

// TestRecsItemCache runs the same suite on the store behind the cache
// that a recs process reads it through.
func TestRecsItemCache(t *testing.T) {
	recstest.RunItemStore(t, func(t *testing.T) recs.ItemStore {
		s, err := recs.NewItemCache(mustRecsItemStore(t, MustOpenDB(t)), 100, nil)
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// TestRecsItemStoreSharedFile checks that the read model and the catalog can
// share one file, as they do in the all-in-one server, and that migrating
// again keeps the data.
func TestRecsItemStoreSharedFile(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "shared.db")
	item := &mediarec.Item{ID: 1, Type: mediarec.TypeBook, Title: "Dune"}
	for i := range 2 {
		db, err := sqlite.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sqlite.NewCatalogStore(ctx, db); err != nil {
			t.Fatal(err)
		}
		s := mustRecsItemStore(t, db)
		if i == 0 {
			ev := recs.ItemEvent{Seq: 1, Event: mediarec.CatalogItemEvent{ItemID: 1, Item: item}}
			if err := s.ApplyItemEvents(ctx, []recs.ItemEvent{ev}); err != nil {
				t.Fatal(err)
			}
		}
		got, err := s.FindItemByID(ctx, 1)
		if err != nil {
			t.Fatalf("open %d: %v", i+1, err)
		}
		if got.Title != "Dune" {
			t.Fatalf("open %d: title %q, want Dune", i+1, got.Title)
		}
		db.Close()
	}
}

func mustRecsItemStore(tb testing.TB, db *sqlite.DB) *sqlite.RecsItemStore {
	tb.Helper()
	s, err := sqlite.NewRecsItemStore(context.Background(), db)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}
