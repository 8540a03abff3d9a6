package postgres_test

import (
	"context"
	"testing"
	"testing/fstest"

	"mediarec/internal/postgres/pgtest"
)

func TestMigrate(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t, pgtest.NewDatabase(t))
	// 10 must run after 2 although it sorts first as text.
	fsys := fstest.MapFS{
		"1_create.sql": {Data: []byte("CREATE TABLE t (a int); CREATE TABLE log (v int);")},
		"2_add.sql":    {Data: []byte("ALTER TABLE t ADD COLUMN b int; INSERT INTO log VALUES (2);")},
		"10_add.sql":   {Data: []byte("ALTER TABLE t ADD COLUMN c int; INSERT INTO log VALUES (10);")},
	}
	for range 2 {
		if err := db.Migrate(ctx, "test", fsys); err != nil {
			t.Fatal(err)
		}
	}
	var log []int32
	if err := db.Pool.QueryRow(ctx, "SELECT array_agg(v ORDER BY v) FROM log").Scan(&log); err != nil {
		t.Fatal(err)
	}
	if len(log) != 2 || log[0] != 2 || log[1] != 10 {
		t.Fatalf("migrations ran as %v, want [2 10] once each", log)
	}

	// A later migration is applied on the next start.
	fsys["11_add.sql"] = &fstest.MapFile{Data: []byte("ALTER TABLE t ADD COLUMN d int;")}
	if err := db.Migrate(ctx, "test", fsys); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Pool.Exec(ctx, "INSERT INTO t (a, b, c, d) VALUES (1, 2, 3, 4)"); err != nil {
		t.Fatal(err)
	}
}

func TestMigrateFailureRollsBack(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t, pgtest.NewDatabase(t))
	fsys := fstest.MapFS{
		"1_ok.sql":  {Data: []byte("CREATE TABLE t (a int);")},
		"2_bad.sql": {Data: []byte("ALTER TABLE missing ADD COLUMN b int;")},
	}
	if err := db.Migrate(ctx, "test", fsys); err == nil {
		t.Fatal("migrate succeeded with a broken migration")
	}
	// Nothing of the failed run may remain, so a fixed release starts clean.
	var exists bool
	if err := db.Pool.QueryRow(ctx, "SELECT to_regclass('t') IS NOT NULL").Scan(&exists); err != nil {
		t.Fatal(err)
	}
	if exists {
		t.Fatal("table of a failed migration run exists")
	}
}

func TestMigrateBadName(t *testing.T) {
	db := mustOpen(t, pgtest.NewDatabase(t))
	fsys := fstest.MapFS{"create.sql": {Data: []byte("SELECT 1")}}
	if err := db.Migrate(context.Background(), "test", fsys); err == nil {
		t.Fatal("migrate accepted a file without a version")
	}
}
