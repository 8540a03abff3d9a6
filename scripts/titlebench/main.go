// Command titlebench measures the catalog's title match (FindItems with q,
// as GET /v1/items?q= runs it) at a million items: on PostgreSQL without the
// title indexes and with them, on SQLite (--sqlite) with the FTS5 index. It
// creates a scratch database through the catalog's migrations, fills it
// straight from SQL with the demo catalog's titles repeated under numbered
// suffixes, times about 200 varied queries through the store, and drops the
// database.
//
//	go run ./scripts/titlebench --dsn 'postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable' --items 1000000
//	go run ./scripts/titlebench --sqlite --items 1000000
package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	mrand "math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode"

	"github.com/jackc/pgx/v5"

	"mediarec"
	"mediarec/demo"
	"mediarec/internal/postgres"
	"mediarec/internal/sqlite"
)

func main() {
	dsn := flag.String("dsn", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable", "PostgreSQL server to create the scratch database on")
	items := flag.Int("items", 1_000_000, "items to load")
	passes := flag.Int("passes", 3, "timed passes over the queries with the indexes (one without them)")
	lite := flag.Bool("sqlite", false, "measure the SQLite store in a temporary file instead")
	before := flag.Bool("before", true, "on PostgreSQL, measure without the title indexes first")
	keep := flag.Bool("keep", false, "on PostgreSQL, keep the scratch database (its name is printed) to look into")
	flag.Parse()
	var err error
	if *lite {
		err = runSQLite(context.Background(), *items, *passes)
	} else {
		err = runPostgres(context.Background(), *dsn, *items, *passes, *before, *keep)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "titlebench:", err)
		os.Exit(1)
	}
}

// demoItem is what the load takes of a demo catalog line.
type demoItem struct {
	Type   string   `json:"type"`
	Title  string   `json:"title"`
	Genres []string `json:"genres"`
}

func runPostgres(ctx context.Context, serverDSN string, n, passes int, before, keep bool) error {
	catalog, err := readDemo()
	if err != nil {
		return err
	}
	server, err := pgx.Connect(ctx, serverDSN)
	if err != nil {
		return err
	}
	defer server.Close(ctx)
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "titlebench_" + hex.EncodeToString(b)
	if _, err := server.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return err
	}
	if keep {
		fmt.Println("database", name)
	} else {
		defer server.Exec(context.Background(), "DROP DATABASE "+name+" WITH (FORCE)") //nolint:errcheck // best effort
	}
	u, err := url.Parse(serverDSN)
	if err != nil {
		return err
	}
	u.Path = "/" + name
	db, err := postgres.Open(ctx, u.String())
	if err != nil {
		return err
	}
	defer db.Close()
	store, err := postgres.NewCatalogStore(ctx, db)
	if err != nil {
		return err
	}

	// Load without the title indexes, as an existing catalog meets the
	// migrations.
	if _, err := db.Pool.Exec(ctx, "DROP INDEX items_title_trgm_idx, items_title_grams_idx"); err != nil {
		return err
	}
	start := time.Now()
	if err := load(ctx, db, catalog, n); err != nil {
		return err
	}
	fmt.Printf("loaded %d items in %s\n", n, time.Since(start).Round(time.Second))

	queries := makeQueries(catalog)
	fmt.Printf("%d queries\n", len(queries))
	if before {
		fmt.Printf("\nwithout the title indexes (one pass):\n")
		report(ctx, store.FindItems, queries, 1)
	}

	start = time.Now()
	for _, sql := range []string{
		"CREATE INDEX items_title_trgm_idx ON items USING gin (title gin_trgm_ops)",
		"CREATE INDEX items_title_grams_idx ON items USING gin (title_grams(title))",
		"ANALYZE items",
	} {
		if _, err := db.Pool.Exec(ctx, sql); err != nil {
			return err
		}
	}
	var size string
	if err := db.Pool.QueryRow(ctx, "SELECT pg_size_pretty(pg_relation_size('items_title_trgm_idx')) || ' + ' || pg_size_pretty(pg_relation_size('items_title_grams_idx'))").Scan(&size); err != nil {
		return err
	}
	fmt.Printf("\nindexes built in %s, %s (trigrams + letters and pairs)\n\nwith the title indexes (%d passes after a warm-up):\n", time.Since(start).Round(time.Second), size, passes)
	timeQueries(ctx, store.FindItems, queries) // a warm-up
	report(ctx, store.FindItems, queries, passes)
	return nil
}

func runSQLite(ctx context.Context, n, passes int) error {
	catalog, err := readDemo()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "titlebench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "catalog.db")
	db, err := sqlite.Open(path)
	if err != nil {
		return err
	}
	defer db.Close()
	store, err := sqlite.NewCatalogStore(ctx, db)
	if err != nil {
		return err
	}

	// The store keeps its connections to itself: load through another.
	start := time.Now()
	raw, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return err
	}
	defer raw.Close()
	tx, err := raw.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	if _, err := tx.ExecContext(ctx, "CREATE TEMP TABLE demo (i INTEGER PRIMARY KEY, type TEXT, title TEXT, title_fold TEXT, genres TEXT, genres_fold TEXT)"); err != nil {
		return err
	}
	for i, it := range catalog {
		fold := []string{}
		for _, g := range it.Genres {
			fold = append(fold, strings.ToLower(g))
		}
		g, _ := json.Marshal(append([]string{}, it.Genres...))
		gf, _ := json.Marshal(fold)
		if _, err := tx.ExecContext(ctx, "INSERT INTO demo VALUES (?, ?, ?, ?, ?, ?)", i, it.Type, it.Title, strings.ToLower(it.Title), string(g), string(gf)); err != nil {
			return err
		}
	}
	// Through the triggers, as items arrive in the catalog.
	if _, err := tx.ExecContext(ctx, `WITH RECURSIVE g(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM g WHERE n < ? - 1)
		INSERT INTO items (external_id, type, title, title_fold, description, genres, genres_fold, created_at, updated_at)
		SELECT 'bench:' || n, d.type, d.title || ' (' || (n / ? + 1) || ')', d.title_fold || ' (' || (n / ? + 1) || ')',
			hex(randomblob(96)), d.genres, d.genres_fold, 0, 0
		FROM g JOIN demo d ON d.i = n % ?`, n, len(catalog), len(catalog), len(catalog)); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	if _, err := raw.ExecContext(ctx, "ANALYZE"); err != nil {
		return err
	}
	fmt.Printf("loaded %d items with the FTS5 index in %s\n", n, time.Since(start).Round(time.Second))
	queries := makeQueries(catalog)
	fmt.Printf("%d queries\n\nwith the FTS5 trigram index (%d passes after a warm-up):\n", len(queries), passes)
	timeQueries(ctx, store.FindItems, queries) // a warm-up
	report(ctx, store.FindItems, queries, passes)
	return nil
}

func readDemo() ([]demoItem, error) {
	r, err := demo.Catalog()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var out []demoItem
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var it demoItem
		if err := json.Unmarshal(sc.Bytes(), &it); err != nil {
			return nil, err
		}
		out = append(out, it)
	}
	return out, sc.Err()
}

// load inserts n items: demo title i%len with " (k)" appended, k the
// repetition, and a 192-byte description so that rows are as wide as real
// ones.
func load(ctx context.Context, db *postgres.DB, catalog []demoItem, n int) error {
	tx, err := db.Pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx) //nolint:errcheck // a no-op after Commit
	if _, err := tx.Exec(ctx, "CREATE TEMP TABLE demo (i int, type text, title text, genres text[]) ON COMMIT DROP"); err != nil {
		return err
	}
	rows := make([][]any, len(catalog))
	for i, it := range catalog {
		rows[i] = []any{i, it.Type, it.Title, it.Genres}
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"demo"}, []string{"i", "type", "title", "genres"}, pgx.CopyFromRows(rows)); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO items (external_id, type, title, description, genres, tags, creators)
		SELECT 'bench:' || g, d.type, d.title || ' (' || (g / $2 + 1) || ')', repeat(md5(g::text), 6), d.genres, '{}', '{}'
		FROM generate_series(0, $1 - 1) g JOIN demo d ON d.i = g % $2`, n, len(catalog)); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return err
	}
	// Set the visibility map and the statistics, as autovacuum would.
	_, err = db.Pool.Exec(ctx, "VACUUM ANALYZE items")
	return err
}

// query is one title match and the kind it is reported under.
type query struct {
	kind   string
	filter mediarec.ItemFilter
}

// makeQueries builds about 200 queries from the demo titles, the same ones
// every run.
func makeQueries(catalog []demoItem) []query {
	rng := mrand.New(mrand.NewPCG(1, 2))
	counts := make(map[string]int)
	var titles []string
	for _, it := range catalog {
		titles = append(titles, it.Title)
		for _, w := range strings.FieldsFunc(strings.ToLower(it.Title), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
			if len([]rune(w)) >= 3 {
				counts[w]++
			}
		}
	}
	words := make([]string, 0, len(counts))
	for w := range counts {
		words = append(words, w)
	}
	sort.Slice(words, func(i, j int) bool {
		return counts[words[i]] > counts[words[j]] || counts[words[i]] == counts[words[j]] && words[i] < words[j]
	})
	var qs []query
	add := func(kind, q string, f mediarec.ItemFilter) {
		f.Query, f.Limit = q, 51 // the service asks for a page of 50 and one more
		qs = append(qs, query{kind, f})
	}
	for _, w := range words[:20] {
		add("common word", w, mediarec.ItemFilter{})
	}
	rare := words[20:]
	for range 80 {
		add("title word", rare[rng.IntN(len(rare))], mediarec.ItemFilter{})
	}
	for len(qs) < 130 {
		t := []rune(strings.ToLower(titles[rng.IntN(len(titles))]))
		if len(t) < 8 {
			continue
		}
		at := 1 + rng.IntN(len(t)-6)
		add("mid-word substring", string(t[at:at+4+rng.IntN(2)]), mediarec.ItemFilter{})
	}
	for _, q := range []string{"zzzqqq", "qxjzv", "xqzvjk", "jjqqzz", "vvkxq", "zqzqzq", "kqxzj", "wxqzv", "qqqjjj", "zxcvq"} {
		add("no match", q, mediarec.ItemFilter{})
	}
	for _, q := range []string{"a", "e", "o", "s", "1", "x", "z", "q", "é", "ou", "th", "an", "er", "lo", "ma", "st", "ri", "on", "in", "de"} {
		add("1–2 characters", q, mediarec.ItemFilter{})
	}
	for _, q := range []string{"qz", "xj", "zx", "jq", "vq"} {
		add("1–2 characters, rare", q, mediarec.ItemFilter{})
	}
	types := []mediarec.ItemType{mediarec.TypeMovie, mediarec.TypeBook, mediarec.TypeDocumentary}
	genres := []string{"Horror", "Comedy", "Drama", "Thriller", "Fantasy"}
	add("with type and genre", "night", mediarec.ItemFilter{Types: types[:1], Genre: "Horror"})
	for range 29 {
		f := mediarec.ItemFilter{}
		if rng.IntN(2) == 0 {
			i := rng.IntN(len(types))
			f.Types = types[i : i+1]
		}
		if f.Types == nil || rng.IntN(2) == 0 {
			f.Genre = genres[rng.IntN(len(genres))]
		}
		add("with type and genre", words[rng.IntN(200)], f)
	}
	for range 10 {
		add("next page (id > 500,000)", rare[rng.IntN(len(rare))], mediarec.ItemFilter{AfterID: 500_000})
	}
	return qs
}

// findItems is the store method measured.
type findItems func(context.Context, mediarec.ItemFilter) ([]*mediarec.Item, error)

// timeQueries runs every query once and returns its duration by kind, and
// the slowest queries.
func timeQueries(ctx context.Context, find findItems, qs []query) (map[string][]time.Duration, []string) {
	out := make(map[string][]time.Duration)
	type timed struct {
		q query
		d time.Duration
	}
	var all []timed
	for _, q := range qs {
		start := time.Now()
		if _, err := find(ctx, q.filter); err != nil {
			fmt.Fprintln(os.Stderr, "titlebench:", err)
			os.Exit(1)
		}
		d := time.Since(start)
		out[q.kind] = append(out[q.kind], d)
		out["all"] = append(out["all"], d)
		if len([]rune(q.filter.Query)) >= 3 {
			out["all of 3 characters or more"] = append(out["all of 3 characters or more"], d)
		}
		all = append(all, timed{q, d})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].d > all[j].d })
	var slowest []string
	for _, t := range all[:12] {
		slowest = append(slowest, fmt.Sprintf("%q %v %q (%s) %s", t.q.filter.Query, t.q.filter.Types, t.q.filter.Genre, t.q.kind, ms(t.d)))
	}
	return out, slowest
}

func report(ctx context.Context, find findItems, qs []query, passes int) {
	all := make(map[string][]time.Duration)
	var kinds []string
	for _, q := range qs {
		if !slices.Contains(kinds, q.kind) {
			kinds = append(kinds, q.kind)
		}
	}
	var slowest []string
	for range passes {
		times, slow := timeQueries(ctx, find, qs)
		for k, d := range times {
			all[k] = append(all[k], d...)
		}
		slowest = slow
	}
	fmt.Printf("| queries | n | p50 | p99 | max |\n|---|---:|---:|---:|---:|\n")
	for _, k := range append(kinds, "all", "all of 3 characters or more") {
		d := all[k]
		slices.Sort(d)
		fmt.Printf("| %s | %d | %s | %s | %s |\n", k, len(d)/passes, ms(pct(d, 50)), ms(pct(d, 99)), ms(d[len(d)-1]))
	}
	fmt.Printf("slowest of the last pass:\n  %s\n", strings.Join(slowest, "\n  "))
}

func pct(d []time.Duration, p float64) time.Duration {
	i := int(math.Ceil(p/100*float64(len(d)))) - 1
	return d[max(i, 0)]
}

func ms(d time.Duration) string {
	return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000)
}
