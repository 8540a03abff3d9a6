package postgres_test

import (
	"context"
	"io/fs"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"mediarec"
	"mediarec/internal/postgres"
	"mediarec/internal/postgres/pgtest"
)

// migrationsTo returns the service's migrations up to version last, as a
// database made before the later ones would have had them.
func migrationsTo(t *testing.T, service string, last int) fs.FS {
	t.Helper()
	dir := os.DirFS("migrations/" + service)
	names, err := fs.Glob(dir, "*.sql")
	if err != nil {
		t.Fatal(err)
	}
	out := fstest.MapFS{}
	for _, name := range names {
		prefix, _, _ := strings.Cut(name, "_")
		if v, _ := strconv.Atoi(prefix); v <= last {
			body, err := fs.ReadFile(dir, name)
			if err != nil {
				t.Fatal(err)
			}
			out[name] = &fstest.MapFile{Data: body}
		}
	}
	return out
}

// TestPopularityMigrations opens databases written before items had a
// popularity: catalog items read as 0 until a count arrives, which then
// asks for no re-embedding; read-model rows take the popularity their
// stored item carries, so the cold-start order holds without a replay.
func TestPopularityMigrations(t *testing.T) {
	ctx := context.Background()

	t.Run("catalog", func(t *testing.T) {
		db := mustOpen(t, pgtest.NewDatabase(t))
		if err := db.Migrate(ctx, "catalog", migrationsTo(t, "catalog", 5)); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Pool.Exec(ctx, `INSERT INTO items (external_id, type, title, genres, tags, creators, embedding_status)
			VALUES ('ml:1', 'movie', 'Heat', '{}', '{}', '{}', 'done')`); err != nil {
			t.Fatal(err)
		}
		s := mustCatalogStore(t, db)
		items, err := s.FindItems(ctx, mediarec.ItemFilter{Limit: 10})
		if err != nil || len(items) != 1 || items[0].Popularity != 0 {
			t.Fatalf("old items %+v, %v; want one with popularity 0", items, err)
		}
		it := items[0]
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
		db := mustOpen(t, pgtest.NewDatabase(t))
		if err := db.Migrate(ctx, "recs", migrationsTo(t, "recs", 1)); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Pool.Exec(ctx, `INSERT INTO read_items (id, seq, deleted, type, item) VALUES
			(1, 1, false, 'book', '{"id":1,"type":"book","title":"Few","popularity":3}'),
			(2, 2, false, 'book', '{"id":2,"type":"book","title":"None"}'),
			(3, 3, false, 'book', '{"id":3,"type":"book","title":"Many","popularity":4000000}'),
			(4, 4, true, NULL, NULL)`); err != nil {
			t.Fatal(err)
		}
		s, err := postgres.NewRecsItemStore(ctx, db)
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
