package postgres_test

import (
	"context"
	"testing"

	"mediarec/internal/postgres"
	"mediarec/internal/postgres/pgtest"
	"mediarec/internal/users"
	"mediarec/internal/users/usertest"
)

var (
	_ users.Store      = (*postgres.UserStore)(nil)
	_ users.EventStore = (*postgres.UserStore)(nil)
)

func TestUserStore(t *testing.T) {
	usertest.Run(t, func(t *testing.T) usertest.Store {
		s, err := postgres.NewUserStore(context.Background(), mustOpen(t, pgtest.NewDatabase(t)))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// The users and catalog schemas can share one database: the all-in-one
// server may keep both there, and reopening applies nothing twice.
func TestUserStoreBesideCatalog(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	for range 2 {
		db := mustOpen(t, dsn)
		mustCatalogStore(t, db)
		if _, err := postgres.NewUserStore(context.Background(), db); err != nil {
			t.Fatal(err)
		}
	}
}
