package sqlite

import (
	"context"
	"io/fs"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"mediarec"
)

// migrateTo applies the service's migrations up to version last, as a
// database made before the later ones would have them.
func migrateTo(t *testing.T, db *DB, service string, last int) {
	t.Helper()
	dir := "migrations/" + service
	entries, err := fs.ReadDir(migrations, dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.write.Exec(`CREATE TABLE schema_migrations (
		service TEXT NOT NULL, version INTEGER NOT NULL, applied_at INTEGER NOT NULL,
		PRIMARY KEY (service, version))`); err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		prefix, _, _ := strings.Cut(e.Name(), "_")
		version, _ := strconv.Atoi(prefix)
		if version > last {
			continue
		}
		body, err := fs.ReadFile(migrations, dir+"/"+e.Name())
		if err != nil {
			t.Fatal(err)
		}
		if err := db.applyMigration(context.Background(), service, version, string(body)); err != nil {
			t.Fatalf("migration %s: %v", e.Name(), err)
		}
	}
}

// TestPopularityMigrations opens databases written before items had a
// popularity: catalog items read as 0 until a count arrives, which then
// asks for no re-embedding; read-model rows take the popularity their
// stored item carries, so the cold-start order holds without a replay.
func TestPopularityMigrations(t *testing.T) {
	ctx := context.Background()
	open := func(t *testing.T) *DB {
		db, err := Open(filepath.Join(t.TempDir(), "old.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}

	t.Run("catalog", func(t *testing.T) {
		db := open(t)
		migrateTo(t, db, "catalog", 6)
		if _, err := db.write.Exec(`INSERT INTO items (id, external_id, type, title, title_fold, embedding_status, created_at, updated_at)
			VALUES (1, 'ml:1', 'movie', 'Heat', 'heat', 'done', 0, 0)`); err != nil {
			t.Fatal(err)
		}
		s, err := NewCatalogStore(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		it, err := s.FindItemByID(ctx, 1)
		if err != nil || it.Popularity != 0 {
			t.Fatalf("old item %+v, %v; want popularity 0", it, err)
		}
		it.Popularity = 1234
		out, err := s.UpsertItems(ctx, []*mediarec.Item{it})
		if err != nil || out[0] != mediarec.Updated {
			t.Fatalf("upsert a count: %v, %v; want Updated", out, err)
		}
		changes, err := s.FindChanges(ctx, 10)
		if err != nil || len(changes) != 1 || !changes[0].EventOnly || changes[0].Version != 1 {
			t.Fatalf("changes %+v, %v; want one event-only change of version 1", changes, err)
		}
	})

	t.Run("recs", func(t *testing.T) {
		db := open(t)
		migrateTo(t, db, "recs", 1)
		if _, err := db.write.Exec(`INSERT INTO read_items (id, seq, deleted, type, item) VALUES
			(1, 1, 0, 'book', '{"id":1,"type":"book","title":"Few","popularity":3}'),
			(2, 2, 0, 'book', '{"id":2,"type":"book","title":"None"}'),
			(3, 3, 0, 'book', '{"id":3,"type":"book","title":"Many","popularity":4000000}'),
			(4, 4, 1, NULL, NULL)`); err != nil {
			t.Fatal(err)
		}
		s, err := NewRecsItemStore(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.FindPopularItems(ctx, []mediarec.ItemType{mediarec.TypeBook}, 10)
		if err != nil {
			t.Fatal(err)
		}
		var ids []int64
		for _, it := range got {
			ids = append(ids, it.ID)
		}
		if want := []int64{3, 1, 2}; !slices.Equal(ids, want) {
			t.Fatalf("popular books %v, want %v", ids, want)
		}
	})
}
