package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"mediarec/internal/config"
	"mediarec/internal/postgres"
)

// runMigrate applies the migrations of every PostgreSQL database configured
// (catalog, users, recs) and exits: what a deployment runs as a Job before
// rolling out new versions. The services apply them at start too, under
// the same advisory lock, so the Job only moves the wait out of the pods'
// startup.
func runMigrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	cfg, err := config.FromEnv(getenv)
	fs := flag.NewFlagSet("mediarec migrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	if perr := fs.Parse(args); perr != nil {
		return configError(stderr, "migrate", perr)
	}
	if err == nil {
		err = cfg.Validate()
	}
	dbs := []struct {
		name, dsn string
		migrate   func(context.Context, *postgres.DB) error
	}{
		{"catalog", cfg.CatalogDatabaseURL, func(ctx context.Context, db *postgres.DB) error {
			_, err := postgres.NewCatalogStore(ctx, db)
			return err
		}},
		{"users", cfg.UsersDatabaseURL, func(ctx context.Context, db *postgres.DB) error { _, err := postgres.NewUserStore(ctx, db); return err }},
		{"recs", cfg.RecsDatabaseURL, func(ctx context.Context, db *postgres.DB) error {
			_, err := postgres.NewRecsItemStore(ctx, db)
			return err
		}},
	}
	if err == nil && cfg.CatalogDatabaseURL == "" && cfg.UsersDatabaseURL == "" && cfg.RecsDatabaseURL == "" {
		err = errors.New("no database to migrate: set DATABASE_URL, or CATALOG_DATABASE_URL, USERS_DATABASE_URL, RECS_DATABASE_URL")
	}
	if err != nil {
		return configError(stderr, "migrate", err)
	}
	for _, d := range dbs {
		if d.dsn == "" {
			continue
		}
		db, err := postgres.Open(ctx, d.dsn)
		if err == nil {
			err = d.migrate(ctx, db)
			db.Close()
		}
		if err != nil {
			fmt.Fprintf(stderr, "mediarec migrate: %s database: %v\n", d.name, err)
			return 1
		}
		fmt.Fprintf(stdout, "%s database: migrated\n", d.name)
	}
	return 0
}
