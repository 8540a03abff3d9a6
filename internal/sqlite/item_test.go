package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"mediarec/internal/catalog"
	"mediarec/internal/catalog/catalogtest"
	"mediarec/internal/sqlite"
)

var _ catalog.Store = (*sqlite.CatalogStore)(nil)

// MustOpenDB opens a fresh database file that is closed when the test ends.
func MustOpenDB(tb testing.TB) *sqlite.DB {
	tb.Helper()
	db, err := sqlite.Open(filepath.Join(tb.TempDir(), "test.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

func TestCatalogStore(t *testing.T) {
	catalogtest.Run(t, func(t *testing.T) catalogtest.Store {
		s, err := sqlite.NewCatalogStore(context.Background(), MustOpenDB(t))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestMigrateTwice(t *testing.T) {
	path := filepath.Join(t.TempDir(), "twice.db")
	for range 2 {
		db, err := sqlite.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sqlite.NewCatalogStore(context.Background(), db); err != nil {
			t.Fatal(err)
		}
		db.Close()
	}
}
