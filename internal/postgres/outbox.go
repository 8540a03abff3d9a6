package postgres

import (
	"context"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"mediarec"
	"mediarec/internal/tracing"
)

const enqueueSQL = `INSERT INTO outbox (item_id, version, deleted, trace_parent) VALUES ($1, $2, $3, $4)`

// enqueueEventOnlySQL takes enqueueSQL's arguments, for a change that other
// services must hear of but that asks for no embedding.
const enqueueEventOnlySQL = `INSERT INTO outbox (item_id, version, deleted, event_only, trace_parent) VALUES ($1, $2, $3, true, $4)`

// change is an outbox entry about to be written.
type change struct {
	itemID    int64
	version   int32
	eventOnly bool
}

// enqueueAll writes the outbox entries of a batch in one statement, with
// the trace context of ctx.
func enqueueAll(ctx context.Context, tx pgx.Tx, changes []change) error {
	if len(changes) == 0 {
		return nil
	}
	ids, versions, eventOnly := make([]int64, len(changes)), make([]int32, len(changes)), make([]bool, len(changes))
	for i, c := range changes {
		ids[i], versions[i], eventOnly[i] = c.itemID, c.version, c.eventOnly
	}
	if _, err := tx.Exec(ctx, `INSERT INTO outbox (item_id, version, event_only, trace_parent)
		SELECT *, $4::text FROM unnest($1::bigint[], $2::int[], $3::boolean[])`,
		ids, versions, eventOnly, tracing.TraceParent(ctx)); err != nil {
		return fmt.Errorf("enqueue %d changes: %w", len(changes), err)
	}
	return nil
}

// EnqueueAll records a change of every item, for re-embedding into
// collection, and returns how many.
func (s *CatalogStore) EnqueueAll(ctx context.Context, collection string) (int, error) {
	tag, err := s.db.Pool.Exec(ctx, `INSERT INTO outbox (item_id, version, collection)
		SELECT id, version, $1 FROM items ORDER BY id`, collection)
	if err != nil {
		return 0, fmt.Errorf("enqueue all items: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

// FindChanges returns up to limit outbox entries, oldest first.
func (s *CatalogStore) FindChanges(ctx context.Context, limit int) ([]mediarec.ItemChange, error) {
	rows, _ := s.db.Pool.Query(ctx, `SELECT id, item_id, version, deleted, collection, event_only, trace_parent FROM outbox ORDER BY id LIMIT $1`, limit)
	changes, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (mediarec.ItemChange, error) {
		var c mediarec.ItemChange
		err := row.Scan(&c.Seq, &c.ItemID, &c.Version, &c.Deleted, &c.Collection, &c.EventOnly, &c.TraceParent)
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("find changes: %w", err)
	}
	return changes, nil
}

// CountChanges returns how many outbox entries wait.
func (s *CatalogStore) CountChanges(ctx context.Context) (int, error) {
	var n int
	if err := s.db.Pool.QueryRow(ctx, `SELECT count(*) FROM outbox`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count changes: %w", err)
	}
	return n, nil
}

// DeleteChanges removes published outbox entries.
func (s *CatalogStore) DeleteChanges(ctx context.Context, seqs []int64) error {
	if _, err := s.db.Pool.Exec(ctx, `DELETE FROM outbox WHERE id = ANY($1)`, seqs); err != nil {
		return fmt.Errorf("delete %d changes: %w", len(seqs), err)
	}
	return nil
}

// FindItemsByIDs returns the items that exist among ids, in no set order.
func (s *CatalogStore) FindItemsByIDs(ctx context.Context, ids []int64) ([]*mediarec.Item, error) {
	rows, _ := s.db.Pool.Query(ctx, `SELECT `+itemColumns+` FROM items WHERE id = ANY($1)`, ids)
	items, err := pgx.CollectRows(rows, scanItem)
	if err != nil {
		return nil, fmt.Errorf("find %d items: %w", len(ids), err)
	}
	return items, nil
}

// SetEmbeddingStatuses records embedding results, each if it is for the
// item's current version (a result for an older version is dropped), in
// one statement. A result that changes the status leaves an event-only
// change in the outbox, so that other services' copies of the item follow.
// Of two results for one item the later holds: the earlier is left out
// before the update, which would otherwise pick either.
func (s *CatalogStore) SetEmbeddingStatuses(ctx context.Context, rs []mediarec.EmbedResult) error {
	ids, versions := make([]int64, 0, len(rs)), make([]int32, 0, len(rs))
	statuses, errs := make([]string, 0, len(rs)), make([]string, 0, len(rs))
	for i, r := range rs {
		if slices.ContainsFunc(rs[i+1:], func(later mediarec.EmbedResult) bool { return later.ItemID == r.ItemID }) {
			continue
		}
		ids, versions = append(ids, r.ItemID), append(versions, int32(r.Version))
		statuses, errs = append(statuses, string(r.Status)), append(errs, r.Error)
	}
	if _, err := s.db.Pool.Exec(ctx, `WITH r AS (
			SELECT * FROM unnest($1::bigint[], $2::int[], $3::text[], $4::text[]) AS r(id, version, status, error)),
		changed AS (
			UPDATE items SET embedding_status = r.status, embedding_error = r.error FROM r
			WHERE items.id = r.id AND items.version = r.version
				AND (items.embedding_status <> r.status OR items.embedding_error <> r.error)
			RETURNING items.id, items.version)
		INSERT INTO outbox (item_id, version, event_only, trace_parent) SELECT id, version, true, $5::text FROM changed`,
		ids, versions, statuses, errs, tracing.TraceParent(ctx)); err != nil {
		return fmt.Errorf("set the embedding status of %d items: %w", len(ids), err)
	}
	return nil
}

// CountEmbeddingStatus counts items per embedding status.
func (s *CatalogStore) CountEmbeddingStatus(ctx context.Context) (map[mediarec.EmbeddingStatus]int, error) {
	rows, _ := s.db.Pool.Query(ctx, `SELECT embedding_status, count(*) FROM items GROUP BY embedding_status`)
	counts := map[mediarec.EmbeddingStatus]int{}
	var st string
	var n int
	if _, err := pgx.ForEachRow(rows, []any{&st, &n}, func() error {
		counts[mediarec.EmbeddingStatus(st)] = n
		return nil
	}); err != nil {
		return nil, fmt.Errorf("count embedding status: %w", err)
	}
	return counts, nil
}

// CountEmbeddingStatusByType counts items per type and embedding status,
// in one grouped query that the (embedding_status, type) index serves
// without reading the items.
func (s *CatalogStore) CountEmbeddingStatusByType(ctx context.Context) (map[mediarec.ItemType]map[mediarec.EmbeddingStatus]int, error) {
	rows, _ := s.db.Pool.Query(ctx, `SELECT type, embedding_status, count(*) FROM items GROUP BY embedding_status, type`)
	counts := map[mediarec.ItemType]map[mediarec.EmbeddingStatus]int{}
	var typ, st string
	var n int
	if _, err := pgx.ForEachRow(rows, []any{&typ, &st, &n}, func() error {
		if counts[mediarec.ItemType(typ)] == nil {
			counts[mediarec.ItemType(typ)] = map[mediarec.EmbeddingStatus]int{}
		}
		counts[mediarec.ItemType(typ)][mediarec.EmbeddingStatus(st)] = n
		return nil
	}); err != nil {
		return nil, fmt.Errorf("count embedding status by type: %w", err)
	}
	return counts, nil
}
