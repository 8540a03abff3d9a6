package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"mediarec/internal/sqlite"
	"mediarec/internal/users"
	"mediarec/internal/users/usertest"
)

var (
	_ users.Store      = (*sqlite.UserStore)(nil)
	_ users.EventStore = (*sqlite.UserStore)(nil)
)

func TestUserStore(t *testing.T) {
	usertest.Run(t, func(t *testing.T) usertest.Store {
		s, err := sqlite.NewUserStore(context.Background(), MustOpenDB(t))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// The users and catalog migrations can share one file: the all-in-one
// server may keep both there.
func TestUserStoreBesideCatalog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "shared.db")
	for range 2 {
		db, err := sqlite.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sqlite.NewCatalogStore(context.Background(), db); err != nil {
			t.Fatal(err)
		}
		if _, err := sqlite.NewUserStore(context.Background(), db); err != nil {
			t.Fatal(err)
		}
		db.Close()
	}
}
