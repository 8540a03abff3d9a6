package postgres

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"mediarec"
	"mediarec/internal/tracing"
)

// upsertChunk is how many upserts go to the server in one pipelined round
// trip: large enough to hide latency, small enough to bound client memory.
const upsertChunk = 1000

// itemColumns reads an item back in the shape of mediarec.Item: NULL external
// ids and years become the zero values the domain uses.
const itemColumns = `id, coalesce(external_id, ''), type, title, description, genres, tags,
	creators, coalesce(year, 0), language, popularity, image_url, embedding_status, embedding_error, version, created_at, updated_at`

// upsertSQL inserts an item or, when its external id exists and its content
// differs, replaces the content. Unchanged rows are not touched, so they keep
// their version and embedding, and the statement returns no row for them.
// Popularity and the image URL are not content: attributesSQL writes them
// first.
const upsertSQL = `INSERT INTO items (external_id, type, title, description, genres, tags, creators, year, language, popularity, image_url)
VALUES (nullif($1, ''), $2, $3, $4, $5, $6, $7, nullif($8, 0), $9, $10, $11)
ON CONFLICT (external_id) DO UPDATE SET
	type = excluded.type, title = excluded.title, description = excluded.description,
	genres = excluded.genres, tags = excluded.tags, creators = excluded.creators,
	year = excluded.year, language = excluded.language, popularity = excluded.popularity, image_url = excluded.image_url,
	embedding_status = 'pending', embedding_error = '', version = items.version + 1, updated_at = now()
WHERE (items.type, items.title, items.description, items.genres, items.tags, items.creators, items.year, items.language)
	IS DISTINCT FROM
	(excluded.type, excluded.title, excluded.description, excluded.genres, excluded.tags, excluded.creators, excluded.year, excluded.language)
RETURNING id, version`

// attributesSQL sets an existing item's popularity and image URL when
// either differs and returns the item's id and version then. It runs before
// upsertSQL, whose RETURNING cannot tell the old row from the new: when
// upsertSQL then finds the content unchanged, the row it names is a change
// of those attributes alone.
const attributesSQL = `UPDATE items SET popularity = $2, image_url = $3
WHERE external_id = $1 AND (popularity <> $2 OR image_url <> $3) RETURNING id, version`

// CatalogStore stores the catalog's items in PostgreSQL.
type CatalogStore struct {
	db *DB
}

// NewCatalogStore applies the catalog's migrations to db and returns a store
// over it.
func NewCatalogStore(ctx context.Context, db *DB) (*CatalogStore, error) {
	migrations, err := fs.Sub(catalogMigrations, "migrations/catalog")
	if err != nil {
		return nil, fmt.Errorf("catalog migrations: %w", err)
	}
	if err := db.Migrate(ctx, "catalog", migrations); err != nil {
		return nil, explainTrigramError(err)
	}
	return &CatalogStore{db: db}, nil
}

// explainTrigramError tells an operator what to do when the migration that
// indexes titles cannot create pg_trgm: PostgreSQL's own message ("permission
// denied to create extension", "could not open extension control file")
// names the extension but not why the catalog wants it.
func explainTrigramError(err error) error {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || !strings.Contains(pgErr.Message, "pg_trgm") {
		return err
	}
	return fmt.Errorf("%w (the catalog indexes titles with the pg_trgm extension: install PostgreSQL's contrib "+
		"modules and grant the migration user CREATE on the database, or have a superuser run "+
		"CREATE EXTENSION pg_trgm in it once)", err)
}

// FindItemByID returns the item with the given id, or ENOTFOUND.
func (s *CatalogStore) FindItemByID(ctx context.Context, id int64) (*mediarec.Item, error) {
	return findItemByID(ctx, s.db.Pool, id, "")
}

// FindItems returns up to f.Limit items with an ID greater than f.AfterID
// that match every set filter, in ID order. A Limit of 0 or less means no
// limit.
func (s *CatalogStore) FindItems(ctx context.Context, f mediarec.ItemFilter) ([]*mediarec.Item, error) {
	where := []string{"id > $1"}
	args := []any{f.AfterID}
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if len(f.Types) > 0 {
		types := make([]string, len(f.Types))
		for i, t := range f.Types {
			types[i] = string(t)
		}
		where = append(where, "type = ANY("+arg(types)+")")
	}
	if f.Genre != "" {
		// Same expression as items_genres_idx, so the index can serve it.
		where = append(where, "lower_all(genres) @> ARRAY[lower("+arg(f.Genre)+"::text)]")
	}
	if f.Query != "" {
		where = append(where, "title ILIKE '%' || "+arg(escapeLike(f.Query))+" || '%'")
	}
	if f.EmbeddingStatus == mediarec.EmbeddingFailed {
		// A literal, not a parameter, so that a generic plan can still
		// use the partial index items_embedding_failed_id_idx.
		where = append(where, "embedding_status = 'failed'")
	} else if f.EmbeddingStatus != "" {
		where = append(where, "embedding_status = "+arg(string(f.EmbeddingStatus)))
	}
	cond := strings.Join(where, " AND ")
	limit := ""
	if f.Limit > 0 {
		limit = " LIMIT " + arg(f.Limit)
	}
	if f.Query == "" {
		return s.findItems(ctx, "SELECT "+itemColumns+" FROM items WHERE "+cond+" ORDER BY id"+limit, args...)
	}
	return s.findByTitle(ctx, f, cond, limit, args)
}

// titleScanRows is how many rows in id order a title match reads before it
// turns to the trigram index: enough that a q in one title of a hundred or
// more fills a page of 50 within them, few enough to cost a few
// milliseconds.
const titleScanRows = 5000

// shortTitleScanRows is titleScanRows for a q of one or two characters.
// The index of letters and pairs fetches every title holding them before
// it can sort by id: "z", in one title of a hundred, took 0.26 s that
// way, where reading titles in id order fills a page at once; testing a
// short q against a title is cheap, so the walk goes further first.
const shortTitleScanRows = 25000

// findByTitle runs a FindItems query whose filter includes the title match
// (cond, with its arguments args, and the page's limit clause).
//
// How to find the first matches in id order depends on how common q is:
// "the" fills a page within the first few hundred rows in id order, while a
// q that no title holds would make that walk read the whole table (2.3 s at
// a million items); the trigram index items_title_trgm_idx finds the rare
// ones at once but would fetch and sort a third of the table for "the". The
// planner chooses from its estimate of q's frequency, which is too coarse at
// the crossing point: 0.6 s for some words and genres at a million items.
// So the choice is made on the data: the first titleScanRows rows after the
// cursor, in id order, and the index only when they do not fill the page,
// i.e. when q is rarer than about one title in a hundred there.
//
// A q of one or two characters has no trigram to look up: the index
// items_title_grams_idx, of each title's letters and letter pairs, finds
// the titles holding all of q's (a rare "qz" took 0.4-0.6 s at a million
// items by the walk alone); ILIKE still decides.
func (s *CatalogStore) findByTitle(ctx context.Context, f mediarec.ItemFilter, cond, limit string, args []any) ([]*mediarec.Item, error) {
	indexed, indexArgs, scanRows := cond, args, titleScanRows
	if utf8.RuneCountInString(f.Query) < 3 {
		scanRows = shortTitleScanRows
		indexArgs = append(slices.Clip(args), f.Query)
		indexed += " AND title_grams(title) @> title_grams($" + strconv.Itoa(len(indexArgs)) + "::text)"
	}
	// The unnamed statement of CacheDescribe is planned with q every time,
	// at no extra round trip; a cached prepared statement would soon get a
	// generic plan, blind to q.
	args = append([]any{pgx.QueryExecModeCacheDescribe}, args...)
	indexArgs = append([]any{pgx.QueryExecModeCacheDescribe}, indexArgs...)
	if f.Limit > 0 {
		items, err := s.findItems(ctx, "SELECT "+itemColumns+" FROM (SELECT * FROM items WHERE id > $1 ORDER BY id LIMIT "+
			strconv.Itoa(scanRows)+") items WHERE "+cond+" ORDER BY id"+limit, args...)
		if err != nil || len(items) == f.Limit {
			return items, err
		}
	}
	// The CTE is planned for all its rows, as the index serves them, not
	// for the first few, which would again walk the id order; the page is
	// then cut from the matching ids before any other column is read.
	return s.findItems(ctx, "WITH m AS MATERIALIZED (SELECT id FROM items WHERE "+indexed+") SELECT "+itemColumns+
		" FROM (SELECT id FROM m ORDER BY id"+limit+") p JOIN items USING (id) ORDER BY id", indexArgs...)
}

// findItems runs a query that selects itemColumns.
func (s *CatalogStore) findItems(ctx context.Context, sql string, args ...any) ([]*mediarec.Item, error) {
	rows, _ := s.db.Pool.Query(ctx, sql, args...)
	items, err := pgx.CollectRows(rows, scanItem)
	if err != nil {
		return nil, fmt.Errorf("find items: %w", err)
	}
	return items, nil
}

// CreateItem stores a new item and sets its ID, timestamps and pending
// embedding status. It returns ECONFLICT when the external id is taken.
func (s *CatalogStore) CreateItem(ctx context.Context, item *mediarec.Item) error {
	// One statement writes the item and its outbox entry atomically.
	err := s.db.Pool.QueryRow(ctx, `WITH ins AS (
			INSERT INTO items (external_id, type, title, description, genres, tags, creators, year, language, popularity, image_url)
			VALUES (nullif($1, ''), $2, $3, $4, $5, $6, $7, nullif($8, 0), $9, $10, $11)
			RETURNING id, version, embedding_status, created_at, updated_at
		), out AS (INSERT INTO outbox (item_id, version, trace_parent) SELECT id, version, $12::text FROM ins)
		SELECT id, version, embedding_status, created_at, updated_at FROM ins`, append(contentArgs(item), tracing.TraceParent(ctx))...,
	).Scan(&item.ID, &item.Version, &item.EmbeddingStatus, &item.CreatedAt, &item.UpdatedAt)
	if isUniqueViolation(err) {
		return externalIDTaken(item.ExternalID)
	} else if err != nil {
		return fmt.Errorf("create item %q: %w", item.Title, err)
	}
	return nil
}

// UpdateItem applies the set fields of upd to the item with the given id and
// returns the result. A change of content resets the embedding status to
// pending; an update that changes nothing writes nothing. It returns
// ENOTFOUND for an unknown id and ECONFLICT when the external id is taken.
func (s *CatalogStore) UpdateItem(ctx context.Context, id int64, upd mediarec.ItemUpdate) (*mediarec.Item, error) {
	tx, err := s.db.Pool.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("update item %d: begin: %w", id, err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // a no-op after Commit

	// Lock the row so a concurrent update cannot be lost between the read
	// and the write.
	old, err := findItemByID(ctx, tx, id, " FOR UPDATE")
	if err != nil {
		return nil, err
	}
	item := *old
	upd.Apply(&item)
	if item.SameContent(old) && item.SameAttributes(old) {
		return old, nil
	}

	var (
		updated *mediarec.Item
		enqueue = enqueueSQL
	)
	if item.SameContent(old) {
		// A new popularity or image alone keeps the version, so nothing
		// is re-embedded; the event-only change tells the other
		// services' copies of the item.
		rows, _ := tx.Query(ctx, `UPDATE items SET popularity = $1, image_url = $2 WHERE id = $3 RETURNING `+itemColumns, item.Popularity, item.ImageURL, id)
		updated, err = pgx.CollectExactlyOneRow(rows, scanItem)
		enqueue = enqueueEventOnlySQL
	} else {
		rows, _ := tx.Query(ctx, `UPDATE items SET external_id = nullif($1, ''), type = $2, title = $3,
		description = $4, genres = $5, tags = $6, creators = $7, year = nullif($8, 0), language = $9, popularity = $10,
		image_url = $11, embedding_status = 'pending', embedding_error = '', version = version + 1, updated_at = now()
		WHERE id = $12 RETURNING `+itemColumns, append(contentArgs(&item), id)...)
		updated, err = pgx.CollectExactlyOneRow(rows, scanItem)
	}
	if isUniqueViolation(err) {
		return nil, externalIDTaken(item.ExternalID)
	} else if err != nil {
		return nil, fmt.Errorf("update item %d: %w", id, err)
	}
	if _, err := tx.Exec(ctx, enqueue, id, updated.Version, false, tracing.TraceParent(ctx)); err != nil {
		return nil, fmt.Errorf("update item %d: enqueue: %w", id, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, fmt.Errorf("update item %d: commit: %w", id, err)
	}
	return updated, nil
}

// DeleteItem removes the item with the given id, or returns ENOTFOUND.
func (s *CatalogStore) DeleteItem(ctx context.Context, id int64) error {
	var deleted int64
	err := s.db.Pool.QueryRow(ctx, `WITH del AS (DELETE FROM items WHERE id = $1 RETURNING id, version),
		out AS (INSERT INTO outbox (item_id, version, deleted, trace_parent) SELECT id, version, true, $2::text FROM del)
		SELECT id FROM del`, id, tracing.TraceParent(ctx)).Scan(&deleted)
	if errors.Is(err, pgx.ErrNoRows) {
		return itemNotFound(id)
	} else if err != nil {
		return fmt.Errorf("delete item %d: %w", id, err)
	}
	return nil
}

// UpsertItems inserts or updates items by external id in one transaction and
// sets each item's ID. An item whose content is unchanged is left alone. Every
// item must have a distinct, non-empty external id.
func (s *CatalogStore) UpsertItems(ctx context.Context, items []*mediarec.Item) ([]mediarec.UpsertOutcome, error) {
	for _, item := range items {
		// With a NULL external id ON CONFLICT never fires, so every retry
		// would insert a duplicate.
		if item.ExternalID == "" {
			return nil, mediarec.Errorf(mediarec.EINVALID, "Every upserted item needs an external id.")
		}
	}
	tx, err := s.db.Pool.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("upsert %d items: begin: %w", len(items), err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // a no-op after Commit

	outcomes := make([]mediarec.UpsertOutcome, len(items))
	var unchanged []string // external ids whose rows returned nothing
	var changed []change
	for start := 0; start < len(items); start += upsertChunk {
		chunk := items[start:min(start+upsertChunk, len(items))]
		batch := &pgx.Batch{}
		for i, item := range chunk {
			var (
				popChanged bool
				pop        change
			)
			batch.Queue(attributesSQL, item.ExternalID, item.Popularity, item.ImageURL).QueryRow(func(row pgx.Row) error {
				err := row.Scan(&pop.itemID, &pop.version)
				if errors.Is(err, pgx.ErrNoRows) {
					return nil
				} else if err != nil {
					return fmt.Errorf("item %q: attributes: %w", item.ExternalID, err)
				}
				popChanged, pop.eventOnly = true, true
				return nil
			})
			batch.Queue(upsertSQL, contentArgs(item)...).QueryRow(func(row pgx.Row) error {
				var version int32
				err := row.Scan(&item.ID, &version)
				switch {
				case errors.Is(err, pgx.ErrNoRows) && popChanged:
					// Only the popularity or image changed: tell
					// the other services, embed nothing.
					outcomes[start+i], item.ID = mediarec.Updated, pop.itemID
					changed = append(changed, pop)
					return nil
				case errors.Is(err, pgx.ErrNoRows):
					outcomes[start+i] = mediarec.Unchanged
					unchanged = append(unchanged, item.ExternalID)
				case err != nil:
					return fmt.Errorf("item %q: %w", item.ExternalID, err)
				case version == 1:
					outcomes[start+i] = mediarec.Created
				default:
					outcomes[start+i] = mediarec.Updated
				}
				if err == nil {
					changed = append(changed, change{itemID: item.ID, version: version})
				}
				return nil
			})
		}
		if err := tx.SendBatch(ctx, batch).Close(); err != nil {
			return nil, fmt.Errorf("upsert %d items: %w", len(items), err)
		}
	}

	if err := enqueueAll(ctx, tx, changed); err != nil {
		return nil, fmt.Errorf("upsert %d items: %w", len(items), err)
	}
	if len(unchanged) > 0 {
		if err := setUnchangedIDs(ctx, tx, items, outcomes, unchanged); err != nil {
			return nil, fmt.Errorf("upsert %d items: %w", len(items), err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, fmt.Errorf("upsert %d items: commit: %w", len(items), err)
	}
	return outcomes, nil
}

// setUnchangedIDs looks up, in one query, the ids of the items an upsert left
// alone, since the upsert returned no row for them.
func setUnchangedIDs(ctx context.Context, tx pgx.Tx, items []*mediarec.Item, outcomes []mediarec.UpsertOutcome, externalIDs []string) error {
	rows, _ := tx.Query(ctx, "SELECT external_id, id FROM items WHERE external_id = ANY($1)", externalIDs)
	ids := make(map[string]int64, len(externalIDs))
	var ext string
	var id int64
	if _, err := pgx.ForEachRow(rows, []any{&ext, &id}, func() error {
		ids[ext] = id
		return nil
	}); err != nil {
		return fmt.Errorf("find ids of unchanged items: %w", err)
	}
	for i, item := range items {
		if outcomes[i] != mediarec.Unchanged {
			continue
		}
		// Read committed lets a concurrent delete slip in after the upsert.
		if item.ID = ids[item.ExternalID]; item.ID == 0 {
			return fmt.Errorf("item %q was deleted during the upsert", item.ExternalID)
		}
	}
	return nil
}

// querier is what findItemByID needs of a pool or a transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// findItemByID reads one item; suffix may lock the row (" FOR UPDATE").
func findItemByID(ctx context.Context, q querier, id int64, suffix string) (*mediarec.Item, error) {
	rows, _ := q.Query(ctx, "SELECT "+itemColumns+" FROM items WHERE id = $1"+suffix, id)
	item, err := pgx.CollectExactlyOneRow(rows, scanItem)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, itemNotFound(id)
	} else if err != nil {
		return nil, fmt.Errorf("find item %d: %w", id, err)
	}
	return item, nil
}

// scanItem reads a row selected with itemColumns.
func scanItem(row pgx.CollectableRow) (*mediarec.Item, error) {
	var it mediarec.Item
	err := row.Scan(&it.ID, &it.ExternalID, &it.Type, &it.Title, &it.Description, &it.Genres, &it.Tags,
		&it.Creators, &it.Year, &it.Language, &it.Popularity, &it.ImageURL, &it.EmbeddingStatus, &it.EmbeddingError, &it.Version, &it.CreatedAt, &it.UpdatedAt)
	return &it, err
}

// contentArgs returns the arguments $1 to $11 of the insert and update
// statements. nil lists become empty arrays, since the columns are NOT NULL
// and pgx sends a nil slice as NULL.
func contentArgs(item *mediarec.Item) []any {
	return []any{item.ExternalID, string(item.Type), item.Title, item.Description,
		nonNil(item.Genres), nonNil(item.Tags), nonNil(item.Creators), item.Year, item.Language, item.Popularity, item.ImageURL}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// escapeLike makes every character of s literal in a LIKE pattern that uses
// the default escape character, the backslash.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

func itemNotFound(id int64) error {
	return mediarec.Errorf(mediarec.ENOTFOUND, "Item %d not found.", id)
}

func externalIDTaken(externalID string) error {
	return mediarec.Errorf(mediarec.ECONFLICT, "An item with external id %q already exists.", externalID)
}
