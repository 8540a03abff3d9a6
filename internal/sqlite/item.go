package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"mediarec"
	"mediarec/internal/tracing"
)

// CatalogStore keeps the catalog's items.
type CatalogStore struct {
	db *DB
}

// NewCatalogStore applies the catalog migrations and returns the store.
func NewCatalogStore(ctx context.Context, db *DB) (*CatalogStore, error) {
	if err := db.migrate(ctx, "catalog"); err != nil {
		return nil, err
	}
	return &CatalogStore{db: db}, nil
}

const itemColumns = `id, external_id, type, title, description, genres, tags, creators, year, language, popularity, image_url, embedding_status, embedding_error, version, created_at, updated_at`

// FindItemByID returns ENOTFOUND for an unknown id.
func (s *CatalogStore) FindItemByID(ctx context.Context, id int64) (*mediarec.Item, error) {
	item, err := scanItem(preparedReads{s.db}.QueryRowContext(ctx, `SELECT `+itemColumns+` FROM items WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, mediarec.Errorf(mediarec.ENOTFOUND, "Item %d not found.", id)
	} else if err != nil {
		return nil, fmt.Errorf("find item %d: %w", id, err)
	}
	return item, nil
}

// FindItems returns up to f.Limit items with ID > f.AfterID in ID order.
func (s *CatalogStore) FindItems(ctx context.Context, f mediarec.ItemFilter) ([]*mediarec.Item, error) {
	where, args := []string{"id > ?"}, []any{f.AfterID}
	if len(f.Types) > 0 {
		where = append(where, "type IN (?"+strings.Repeat(",?", len(f.Types)-1)+")")
		for _, t := range f.Types {
			args = append(args, string(t))
		}
	}
	if f.Genre != "" {
		where = append(where, "EXISTS (SELECT 1 FROM json_each(items.genres_fold) WHERE json_each.value = ?)")
		args = append(args, strings.ToLower(f.Genre))
	}
	var match string // the trigram index's condition, if q has a trigram
	if f.Query != "" {
		fold := strings.ToLower(f.Query)
		where = append(where, `title_fold LIKE ? ESCAPE '\'`)
		args = append(args, "%"+escapeLike(fold)+"%")
		if utf8.RuneCountInString(fold) >= 3 {
			// A quoted phrase is a plain substring to the trigram
			// tokenizer, % and _ included.
			match = `"` + strings.ReplaceAll(fold, `"`, `""`) + `"`
		}
	}
	if f.EmbeddingStatus != "" {
		where = append(where, "embedding_status = ?")
		args = append(args, string(f.EmbeddingStatus))
	}
	cond := strings.Join(where, " AND ")
	if match == "" {
		// Without q, or with one too short for a trigram, the id order
		// is walked until the page is full, which short strings, common
		// in titles, soon fill.
		return s.findItems(ctx, `SELECT `+itemColumns+` FROM items WHERE `+cond+` ORDER BY id LIMIT ?`, append(args, f.Limit)...)
	}
	// As in the PostgreSQL store: a common q fills the page from the
	// first rows in id order, where the index would hand over a third of
	// the table ("the": 0.1 s at a million items); a rarer one does not,
	// and then the index finds it. The LIKE stays the final word.
	if f.Limit > 0 {
		items, err := s.findItems(ctx, `SELECT `+itemColumns+` FROM (SELECT * FROM items WHERE id > ? ORDER BY id LIMIT `+
			strconv.Itoa(titleScanRows)+`) AS items WHERE `+cond+` ORDER BY id LIMIT ?`, append(append([]any{f.AfterID}, args...), f.Limit)...)
		if err != nil || len(items) == f.Limit {
			return items, err
		}
	}
	return s.findItems(ctx, `SELECT `+itemColumns+` FROM items WHERE `+cond+
		` AND id IN (SELECT rowid FROM items_title_fts WHERE items_title_fts MATCH ?) ORDER BY id LIMIT ?`, append(args, match, f.Limit)...)
}

// titleScanRows is how many rows in id order a title match reads before it
// turns to the trigram index: a q in one title of twenty or more fills a
// page of 50 within them. The index hands over rowids cheaply (a q in 3% of
// a million titles: 17 ms), so the walk is kept shorter than PostgreSQL's,
// which every rare q pays for.
const titleScanRows = 1000

// findItems runs a query that selects itemColumns.
func (s *CatalogStore) findItems(ctx context.Context, query string, args ...any) ([]*mediarec.Item, error) {
	rows, err := s.db.read.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("find items: %w", err)
	}
	defer rows.Close()
	items := []*mediarec.Item{}
	for rows.Next() {
		item, err := scanItem(rows)
		if err != nil {
			return nil, fmt.Errorf("find items: %w", err)
		}
		items = append(items, item)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("find items: %w", err)
	}
	return items, nil
}

// CreateItem sets item's ID, timestamps and pending status.
func (s *CatalogStore) CreateItem(ctx context.Context, item *mediarec.Item) error {
	tx, err := s.db.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("create item: %w", err)
	}
	defer tx.Rollback()
	now := time.Now().UTC().Truncate(time.Microsecond)
	args := append(contentArgs(item), now.UnixMicro(), now.UnixMicro())
	err = tx.QueryRowContext(ctx, `INSERT INTO items (external_id, type, title, title_fold, description, genres, genres_fold, tags, creators, year, language, popularity, image_url, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, args...).Scan(&item.ID)
	if err != nil {
		return formatError(fmt.Errorf("create item: %w", err))
	}
	if err := enqueue(ctx, tx, item.ID, 1, false); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("create item: %w", err)
	}
	item.CreatedAt, item.UpdatedAt, item.EmbeddingStatus, item.Version = now, now, mediarec.EmbeddingPending, 1
	return nil
}

// UpdateItem returns ENOTFOUND or ECONFLICT (external id taken).
func (s *CatalogStore) UpdateItem(ctx context.Context, id int64, upd mediarec.ItemUpdate) (*mediarec.Item, error) {
	tx, err := s.db.write.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("update item %d: %w", id, err)
	}
	defer tx.Rollback()
	item, err := scanItem(tx.QueryRowContext(ctx, `SELECT `+itemColumns+` FROM items WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, mediarec.Errorf(mediarec.ENOTFOUND, "Item %d not found.", id)
	} else if err != nil {
		return nil, fmt.Errorf("update item %d: %w", id, err)
	}
	before := *item
	upd.Apply(item)
	if item.SameContent(&before) {
		if item.SameAttributes(&before) {
			return item, nil
		}
		return item, s.setAttributes(ctx, tx, item)
	}
	// A content change invalidates the item's vector.
	item.UpdatedAt = time.Now().UTC().Truncate(time.Microsecond)
	item.EmbeddingStatus, item.EmbeddingError = mediarec.EmbeddingPending, ""
	item.Version++
	args := append(contentArgs(item), item.UpdatedAt.UnixMicro(), id)
	if _, err := tx.ExecContext(ctx, `UPDATE items SET external_id = ?, type = ?, title = ?, title_fold = ?, description = ?, genres = ?, genres_fold = ?,
		tags = ?, creators = ?, year = ?, language = ?, popularity = ?, image_url = ?, embedding_status = 'pending', embedding_error = '', version = version + 1, updated_at = ? WHERE id = ?`, args...); err != nil {
		return nil, formatError(fmt.Errorf("update item %d: %w", id, err))
	}
	if err := enqueue(ctx, tx, id, item.Version, false); err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("update item %d: %w", id, err)
	}
	return item, nil
}

// setAttributes writes a new popularity and image URL alone, in tx, and
// commits. It keeps the version, so nothing is re-embedded; the event-only
// change tells the other services' copies of the item.
func (s *CatalogStore) setAttributes(ctx context.Context, tx *sql.Tx, item *mediarec.Item) error {
	if _, err := tx.ExecContext(ctx, `UPDATE items SET popularity = ?, image_url = ? WHERE id = ?`, item.Popularity, item.ImageURL, item.ID); err != nil {
		return fmt.Errorf("update attributes of item %d: %w", item.ID, err)
	}
	if _, err := tx.ExecContext(ctx, enqueueEventOnlySQL, item.ID, item.Version, time.Now().UnixMicro(), tracing.TraceParent(ctx)); err != nil {
		return fmt.Errorf("update attributes of item %d: enqueue: %w", item.ID, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("update attributes of item %d: %w", item.ID, err)
	}
	return nil
}

// enqueueEventOnlySQL records a change that other services must hear of but
// that asks for no embedding.
const enqueueEventOnlySQL = `INSERT INTO outbox (item_id, version, event_only, created_at, trace_parent) VALUES (?, ?, 1, ?, ?)`

// DeleteItem returns ENOTFOUND for an unknown id.
func (s *CatalogStore) DeleteItem(ctx context.Context, id int64) error {
	tx, err := s.db.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("delete item %d: %w", id, err)
	}
	defer tx.Rollback()
	var version int
	err = tx.QueryRowContext(ctx, `DELETE FROM items WHERE id = ? RETURNING version`, id).Scan(&version)
	if errors.Is(err, sql.ErrNoRows) {
		return mediarec.Errorf(mediarec.ENOTFOUND, "Item %d not found.", id)
	} else if err != nil {
		return fmt.Errorf("delete item %d: %w", id, err)
	}
	if err := enqueue(ctx, tx, id, version, true); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("delete item %d: %w", id, err)
	}
	return nil
}

// upsertSQL updates a row only when its content differs, so an unchanged item
// returns no row; version 1 tells a fresh insert from an update. Popularity
// and the image URL are not content: attributesSQL writes them first.
const upsertSQL = `INSERT INTO items (external_id, type, title, title_fold, description, genres, genres_fold, tags, creators, year, language, popularity, image_url, created_at, updated_at)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
	ON CONFLICT (external_id) DO UPDATE SET type = excluded.type, title = excluded.title, title_fold = excluded.title_fold,
		description = excluded.description, genres = excluded.genres, genres_fold = excluded.genres_fold, tags = excluded.tags,
		creators = excluded.creators, year = excluded.year, language = excluded.language, popularity = excluded.popularity, image_url = excluded.image_url, updated_at = excluded.updated_at,
		embedding_status = 'pending', embedding_error = '', version = items.version + 1
	WHERE items.type IS NOT excluded.type OR items.title IS NOT excluded.title OR items.description IS NOT excluded.description
		OR items.genres IS NOT excluded.genres OR items.tags IS NOT excluded.tags OR items.creators IS NOT excluded.creators
		OR items.year IS NOT excluded.year OR items.language IS NOT excluded.language
	RETURNING id, version`

// attributesSQL sets an existing item's popularity and image URL when
// either differs and returns the item's id and version then. It runs before
// upsertSQL, whose RETURNING cannot tell the old row from the new: when
// upsertSQL then finds the content unchanged, the row it names is a change
// of those attributes alone.
const attributesSQL = `UPDATE items SET popularity = ?, image_url = ? WHERE external_id = ? AND (popularity <> ? OR image_url <> ?) RETURNING id, version`

// UpsertItems inserts or updates items by external id in one transaction.
func (s *CatalogStore) UpsertItems(ctx context.Context, items []*mediarec.Item) ([]mediarec.UpsertOutcome, error) {
	tx, err := s.db.write.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("upsert items: %w", err)
	}
	defer tx.Rollback()
	upsert, err := tx.PrepareContext(ctx, upsertSQL)
	if err != nil {
		return nil, fmt.Errorf("upsert items: %w", err)
	}
	defer upsert.Close()
	lookup, err := tx.PrepareContext(ctx, `SELECT id FROM items WHERE external_id = ?`)
	if err != nil {
		return nil, fmt.Errorf("upsert items: %w", err)
	}
	defer lookup.Close()
	attributes, err := tx.PrepareContext(ctx, attributesSQL)
	if err != nil {
		return nil, fmt.Errorf("upsert items: %w", err)
	}
	defer attributes.Close()
	outbox, err := tx.PrepareContext(ctx, enqueueSQL)
	if err != nil {
		return nil, fmt.Errorf("upsert items: %w", err)
	}
	defer outbox.Close()
	eventOnly, err := tx.PrepareContext(ctx, enqueueEventOnlySQL)
	if err != nil {
		return nil, fmt.Errorf("upsert items: %w", err)
	}
	defer eventOnly.Close()

	now := time.Now().UTC().Truncate(time.Microsecond).UnixMicro()
	traceParent := tracing.TraceParent(ctx)
	outcomes := make([]mediarec.UpsertOutcome, len(items))
	for i, item := range items {
		var (
			version, popVersion int
			popID               int64
		)
		err := attributes.QueryRowContext(ctx, item.Popularity, item.ImageURL, item.ExternalID, item.Popularity, item.ImageURL).Scan(&popID, &popVersion)
		popChanged := err == nil
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("upsert item %q: attributes: %w", item.ExternalID, err)
		}
		err = upsert.QueryRowContext(ctx, append(contentArgs(item), now, now)...).Scan(&item.ID, &version)
		switch {
		case errors.Is(err, sql.ErrNoRows) && popChanged:
			// Only the popularity or image changed: tell the other
			// services, embed nothing.
			outcomes[i], item.ID = mediarec.Updated, popID
			if _, err := eventOnly.ExecContext(ctx, popID, popVersion, now, traceParent); err != nil {
				return nil, fmt.Errorf("upsert item %q: enqueue: %w", item.ExternalID, err)
			}
			continue
		case errors.Is(err, sql.ErrNoRows):
			outcomes[i] = mediarec.Unchanged
			err = lookup.QueryRowContext(ctx, item.ExternalID).Scan(&item.ID)
		case version == 1:
			outcomes[i] = mediarec.Created
		default:
			outcomes[i] = mediarec.Updated
		}
		if err != nil {
			return nil, formatError(fmt.Errorf("upsert item %q: %w", item.ExternalID, err))
		}
		if outcomes[i] != mediarec.Unchanged {
			if _, err := outbox.ExecContext(ctx, item.ID, version, false, now, traceParent); err != nil {
				return nil, fmt.Errorf("upsert item %q: enqueue: %w", item.ExternalID, err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("upsert items: %w", err)
	}
	return outcomes, nil
}

// contentArgs returns the columns external_id through image_url in the
// order the INSERT and UPDATE statements above name them.
func contentArgs(item *mediarec.Item) []any {
	var ext, year any
	if item.ExternalID != "" {
		ext = item.ExternalID
	}
	if item.Year != 0 {
		year = item.Year
	}
	fold := make([]string, len(item.Genres))
	for i, g := range item.Genres {
		fold[i] = strings.ToLower(g)
	}
	return []any{ext, string(item.Type), item.Title, strings.ToLower(item.Title), item.Description,
		jsonList(item.Genres), jsonList(fold), jsonList(item.Tags), jsonList(item.Creators), year, item.Language, item.Popularity, item.ImageURL}
}

func jsonList(list []string) string {
	if len(list) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(list) // a []string always marshals
	return string(b)
}

type scanner interface{ Scan(dest ...any) error }

func scanItem(row scanner) (*mediarec.Item, error) {
	var (
		item                       mediarec.Item
		ext                        sql.NullString
		year                       sql.NullInt64
		genres, tags, creators     string
		createdMicro, updatedMicro int64
	)
	if err := row.Scan(&item.ID, &ext, &item.Type, &item.Title, &item.Description, &genres, &tags, &creators,
		&year, &item.Language, &item.Popularity, &item.ImageURL, &item.EmbeddingStatus, &item.EmbeddingError, &item.Version, &createdMicro, &updatedMicro); err != nil {
		return nil, err
	}
	item.ExternalID, item.Year = ext.String, int(year.Int64)
	for _, l := range []struct {
		raw string
		dst *[]string
	}{{genres, &item.Genres}, {tags, &item.Tags}, {creators, &item.Creators}} {
		*l.dst = []string{}
		if err := json.Unmarshal([]byte(l.raw), l.dst); err != nil {
			return nil, fmt.Errorf("decode item %d lists: %w", item.ID, err)
		}
	}
	item.CreatedAt, item.UpdatedAt = time.UnixMicro(createdMicro).UTC(), time.UnixMicro(updatedMicro).UTC()
	return &item, nil
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// formatError turns a unique-constraint violation into ECONFLICT.
func formatError(err error) error {
	var serr *sqlite.Error
	if errors.As(err, &serr) && (serr.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || serr.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY) {
		return mediarec.Errorf(mediarec.ECONFLICT, "An item with this external_id already exists.")
	}
	return err
}
