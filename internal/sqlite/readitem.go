package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"

	"mediarec"
	"mediarec/internal/recs"
)

// RecsItemStore is the recs service's read model of the catalog: the items
// the catalog's events describe, and a tombstone for each deleted one.
type RecsItemStore struct {
	db *DB
}

// NewRecsItemStore applies the recs migrations and returns the store.
func NewRecsItemStore(ctx context.Context, db *DB) (*RecsItemStore, error) {
	if err := db.migrate(ctx, "recs"); err != nil {
		return nil, err
	}
	return &RecsItemStore{db: db}, nil
}

// applyItemEventSQL writes an event's row unless the stored one is as new:
// the guard in the WHERE clause is what makes replays and slower replicas
// harmless, tombstones included.
const applyItemEventSQL = `INSERT INTO read_items (id, seq, deleted, type, popularity, item) VALUES (?, ?, ?, ?, ?, ?)
	ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, deleted = excluded.deleted, type = excluded.type,
		popularity = excluded.popularity, item = excluded.item
	WHERE excluded.seq > read_items.seq`

// ApplyItemEvents applies evs in one transaction; EINVALID, and nothing
// applied, when an event that is not a deletion carries no item or a
// sequence beyond SQLite's integers.
func (s *RecsItemStore) ApplyItemEvents(ctx context.Context, evs []recs.ItemEvent) error {
	if len(evs) == 0 {
		return nil
	}
	// Encode before taking the single writer connection, so that a bad
	// event costs no write and JSON encoding does not hold other writers up.
	rows := make([][]any, len(evs))
	for i, ev := range evs {
		row, err := readItemRow(ev)
		if err != nil {
			return err
		}
		rows[i] = row
	}

	tx, err := s.db.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("apply %d item events: %w", len(evs), err)
	}
	defer tx.Rollback()
	// Events apply in order, so several events of one item in a batch end
	// with the newest, as they would one batch at a time.
	st, err := tx.PrepareContext(ctx, applyItemEventSQL)
	if err != nil {
		return fmt.Errorf("apply %d item events: %w", len(evs), err)
	}
	defer st.Close()
	for i, row := range rows {
		if _, err := st.ExecContext(ctx, row...); err != nil {
			return fmt.Errorf("apply item event %d (item %d): %w", evs[i].Seq, evs[i].Event.ItemID, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("apply %d item events: %w", len(evs), err)
	}
	return nil
}

// readItemRow returns the arguments of applyItemEventSQL for ev.
func readItemRow(ev recs.ItemEvent) ([]any, error) {
	id := ev.Event.ItemID
	if ev.Seq > math.MaxInt64 {
		return nil, mediarec.Errorf(mediarec.EINVALID, "Event %d of item %d: sequence out of range.", ev.Seq, id)
	}
	if ev.Event.Deleted {
		return []any{id, int64(ev.Seq), true, nil, 0, nil}, nil
	}
	if ev.Event.Item == nil {
		return nil, mediarec.Errorf(mediarec.EINVALID, "Event %d of item %d carries no item.", ev.Seq, id)
	}
	// The event's ItemID names the row; the stored item must agree with it.
	item := *ev.Event.Item
	item.ID = id
	b, err := json.Marshal(&item)
	if err != nil {
		return nil, fmt.Errorf("encode item %d: %w", id, err)
	}
	return []any{id, int64(ev.Seq), false, string(item.Type), item.Popularity, string(b)}, nil
}

// FindItemByID returns ENOTFOUND for an unknown or deleted id.
func (s *RecsItemStore) FindItemByID(ctx context.Context, id int64) (*mediarec.Item, error) {
	var raw []byte
	err := preparedReads{s.db}.QueryRowContext(ctx, `SELECT item FROM read_items WHERE id = ? AND deleted = 0`, id).Scan(&raw)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, mediarec.Errorf(mediarec.ENOTFOUND, "Item %d not found.", id)
	} else if err != nil {
		return nil, fmt.Errorf("find item %d: %w", id, err)
	}
	return decodeReadItem(id, raw)
}

// FindItemsByIDs returns the items among ids that exist and are not
// deleted, in no set order.
func (s *RecsItemStore) FindItemsByIDs(ctx context.Context, ids []int64) ([]*mediarec.Item, error) {
	if len(ids) == 0 {
		return []*mediarec.Item{}, nil
	}
	// One JSON argument rather than a placeholder per id: one statement to
	// prepare whatever the count, and no limit on variables.
	items, err := s.findItems(ctx, `SELECT id, item FROM read_items WHERE id IN (SELECT value FROM json_each(?)) AND deleted = 0`, jsonInts(ids))
	if err != nil {
		return nil, fmt.Errorf("find %d items: %w", len(ids), err)
	}
	return items, nil
}

// FindPopularItems returns up to limit items of types (of every type when
// empty), the most popular first, ties by id; none when limit is not
// positive. A cold start asks one type at a time, which the (type,
// popularity, id) index serves in order; several types or none sort.
func (s *RecsItemStore) FindPopularItems(ctx context.Context, types []mediarec.ItemType, limit int) ([]*mediarec.Item, error) {
	if limit <= 0 {
		return []*mediarec.Item{}, nil
	}
	var (
		items []*mediarec.Item
		err   error
	)
	switch len(types) {
	case 0:
		items, err = s.findItems(ctx, `SELECT id, item FROM read_items WHERE deleted = 0 ORDER BY popularity DESC, id LIMIT ?`, limit)
	case 1:
		items, err = s.findItems(ctx, `SELECT id, item FROM read_items WHERE deleted = 0 AND type = ? ORDER BY popularity DESC, id LIMIT ?`, string(types[0]), limit)
	default:
		items, err = s.findItems(ctx, `SELECT id, item FROM read_items WHERE deleted = 0 AND type IN (SELECT value FROM json_each(?)) ORDER BY popularity DESC, id LIMIT ?`,
			jsonList(typeStrings(types)), limit)
	}
	if err != nil {
		return nil, fmt.Errorf("find popular items of type %v: %w", types, err)
	}
	return items, nil
}

// findItems runs a fixed query that selects id and item.
func (s *RecsItemStore) findItems(ctx context.Context, query string, args ...any) ([]*mediarec.Item, error) {
	rows, err := s.db.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	items := []*mediarec.Item{}
	for rows.Next() {
		var (
			id  int64
			raw sql.RawBytes // decoded before Next, so no copy is needed
		)
		if err := rows.Scan(&id, &raw); err != nil {
			return nil, err
		}
		item, err := decodeReadItem(id, raw)
		if err != nil {
			return nil, err
		}
		items = append(items, item)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return items, nil
}

func decodeReadItem(id int64, raw []byte) (*mediarec.Item, error) {
	var item mediarec.Item
	if err := json.Unmarshal(raw, &item); err != nil {
		return nil, fmt.Errorf("decode item %d: %w", id, err)
	}
	item.ID = id
	return &item, nil
}
