package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"

	"mediarec"
	"mediarec/internal/tracing"
)

const enqueueSQL = `INSERT INTO outbox (item_id, version, deleted, created_at, trace_parent) VALUES (?, ?, ?, ?, ?)`

// enqueue records an item change in the caller's transaction, with the
// trace context of ctx.
func enqueue(ctx context.Context, tx *sql.Tx, itemID int64, version int, deleted bool) error {
	if _, err := tx.ExecContext(ctx, enqueueSQL, itemID, version, deleted, time.Now().UnixMicro(), tracing.TraceParent(ctx)); err != nil {
		return fmt.Errorf("enqueue change of item %d: %w", itemID, err)
	}
	return nil
}

// EnqueueAll records a change of every item, for re-embedding into
// collection, and returns how many.
func (s *CatalogStore) EnqueueAll(ctx context.Context, collection string) (int, error) {
	res, err := s.db.write.ExecContext(ctx, `INSERT INTO outbox (item_id, version, collection, created_at)
		SELECT id, version, ?, ? FROM items ORDER BY id`, collection, time.Now().UnixMicro())
	if err != nil {
		return 0, fmt.Errorf("enqueue all items: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// FindChanges returns up to limit outbox entries, oldest first.
func (s *CatalogStore) FindChanges(ctx context.Context, limit int) ([]mediarec.ItemChange, error) {
	rows, err := s.db.read.QueryContext(ctx, `SELECT id, item_id, version, deleted, collection, event_only, trace_parent FROM outbox ORDER BY id LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("find changes: %w", err)
	}
	defer rows.Close()
	var out []mediarec.ItemChange
	for rows.Next() {
		var c mediarec.ItemChange
		if err := rows.Scan(&c.Seq, &c.ItemID, &c.Version, &c.Deleted, &c.Collection, &c.EventOnly, &c.TraceParent); err != nil {
			return nil, fmt.Errorf("find changes: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("find changes: %w", err)
	}
	return out, nil
}

// CountChanges returns how many outbox entries wait.
func (s *CatalogStore) CountChanges(ctx context.Context) (int, error) {
	var n int
	if err := s.db.read.QueryRowContext(ctx, `SELECT count(*) FROM outbox`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count changes: %w", err)
	}
	return n, nil
}

// DeleteChanges removes published outbox entries.
func (s *CatalogStore) DeleteChanges(ctx context.Context, seqs []int64) error {
	if len(seqs) == 0 {
		return nil
	}
	if _, err := s.db.write.ExecContext(ctx, `DELETE FROM outbox WHERE id IN (`+placeholders(len(seqs))+`)`, int64Args(seqs)...); err != nil {
		return fmt.Errorf("delete %d changes: %w", len(seqs), err)
	}
	return nil
}

// FindItemsByIDs returns the items that exist among ids, in no set order.
func (s *CatalogStore) FindItemsByIDs(ctx context.Context, ids []int64) ([]*mediarec.Item, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	rows, err := s.db.query(ctx, `SELECT `+itemColumns+` FROM items WHERE id IN (SELECT value FROM json_each(?))`, jsonInts(ids))
	if err != nil {
		return nil, fmt.Errorf("find %d items: %w", len(ids), err)
	}
	defer rows.Close()
	var items []*mediarec.Item
	for rows.Next() {
		item, err := scanItem(rows)
		if err != nil {
			return nil, fmt.Errorf("find %d items: %w", len(ids), err)
		}
		items = append(items, item)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("find %d items: %w", len(ids), err)
	}
	return items, nil
}

// SetEmbeddingStatuses records embedding results, each if it is for the
// item's current version (a result for an older version is dropped), in
// one transaction. A result that changes the status leaves an event-only
// change in the outbox, so that other services' copies of the item
// follow; of two results for one item the later holds.
func (s *CatalogStore) SetEmbeddingStatuses(ctx context.Context, rs []mediarec.EmbedResult) error {
	tx, err := s.db.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("set the embedding status of %d items: %w", len(rs), err)
	}
	defer tx.Rollback()
	update, err := tx.PrepareContext(ctx, `UPDATE items SET embedding_status = ?, embedding_error = ?
		WHERE id = ? AND version = ? AND (embedding_status <> ? OR embedding_error <> ?)`)
	if err != nil {
		return fmt.Errorf("set the embedding status of %d items: %w", len(rs), err)
	}
	enqueue, err := tx.PrepareContext(ctx, `INSERT INTO outbox (item_id, version, event_only, created_at, trace_parent) VALUES (?, ?, 1, ?, ?)`)
	if err != nil {
		return fmt.Errorf("set the embedding status of %d items: %w", len(rs), err)
	}
	now, trace := time.Now().UnixMicro(), tracing.TraceParent(ctx)
	for _, r := range rs {
		res, err := update.ExecContext(ctx, string(r.Status), r.Error, r.ItemID, r.Version, string(r.Status), r.Error)
		if err != nil {
			return fmt.Errorf("set the embedding status of item %d: %w", r.ItemID, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			continue // nothing changed: nothing to announce
		}
		if _, err := enqueue.ExecContext(ctx, r.ItemID, r.Version, now, trace); err != nil {
			return fmt.Errorf("enqueue the status of item %d: %w", r.ItemID, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("set the embedding status of %d items: %w", len(rs), err)
	}
	return nil
}

// CountEmbeddingStatus counts items per embedding status.
func (s *CatalogStore) CountEmbeddingStatus(ctx context.Context) (map[mediarec.EmbeddingStatus]int, error) {
	rows, err := s.db.read.QueryContext(ctx, `SELECT embedding_status, count(*) FROM items GROUP BY embedding_status`)
	if err != nil {
		return nil, fmt.Errorf("count embedding status: %w", err)
	}
	defer rows.Close()
	counts := map[mediarec.EmbeddingStatus]int{}
	for rows.Next() {
		var st mediarec.EmbeddingStatus
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			return nil, fmt.Errorf("count embedding status: %w", err)
		}
		counts[st] = n
	}
	return counts, rows.Err()
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?,", n), ",")
}

// jsonInts is ids as a JSON array, for json_each: one statement text for
// any number of ids.
func jsonInts(ids []int64) string {
	b := []byte{'['}
	for i, id := range ids {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, id, 10)
	}
	return string(append(b, ']'))
}

func int64Args(ids []int64) []any {
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	return args
}

// CountEmbeddingStatusByType counts items per type and embedding status,
// in one grouped query that the (embedding_status, type) index serves.
func (s *CatalogStore) CountEmbeddingStatusByType(ctx context.Context) (map[mediarec.ItemType]map[mediarec.EmbeddingStatus]int, error) {
	rows, err := s.db.read.QueryContext(ctx, `SELECT type, embedding_status, count(*) FROM items GROUP BY embedding_status, type`)
	if err != nil {
		return nil, fmt.Errorf("count embedding status by type: %w", err)
	}
	defer rows.Close()
	counts := map[mediarec.ItemType]map[mediarec.EmbeddingStatus]int{}
	for rows.Next() {
		var (
			typ mediarec.ItemType
			st  mediarec.EmbeddingStatus
			n   int
		)
		if err := rows.Scan(&typ, &st, &n); err != nil {
			return nil, fmt.Errorf("count embedding status by type: %w", err)
		}
		if counts[typ] == nil {
			counts[typ] = map[mediarec.EmbeddingStatus]int{}
		}
		counts[typ][st] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("count embedding status by type: %w", err)
	}
	return counts, nil
}
