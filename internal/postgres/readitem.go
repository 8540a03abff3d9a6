package postgres

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"slices"

	"github.com/jackc/pgx/v5"

	"mediarec"
	"mediarec/internal/recs"
)

//go:embed migrations/recs/*.sql
var recsMigrations embed.FS

// RecsItemStore is the recs service's read model of the catalog in
// PostgreSQL: the items the catalog's events describe, and a tombstone for
// each deleted one.
type RecsItemStore struct {
	db *DB
}

// NewRecsItemStore applies the recs migrations to db and returns a store
// over it.
func NewRecsItemStore(ctx context.Context, db *DB) (*RecsItemStore, error) {
	migrations, err := fs.Sub(recsMigrations, "migrations/recs")
	if err != nil {
		return nil, fmt.Errorf("recs migrations: %w", err)
	}
	if err := db.Migrate(ctx, "recs", migrations); err != nil {
		return nil, err
	}
	return &RecsItemStore{db: db}, nil
}

// applyItemEventsSQL writes a whole batch in one statement, hence one
// round trip and one transaction. A row applies only above the stored
// sequence: that guard makes replays and slower replicas harmless,
// tombstones included. An item may appear once only, since one statement
// cannot update a row twice.
const applyItemEventsSQL = `INSERT INTO read_items (id, seq, deleted, type, popularity, item)
SELECT id, seq, deleted, type, popularity, item::json
FROM unnest($1::bigint[], $2::bigint[], $3::boolean[], $4::text[], $5::bigint[], $6::text[]) AS e(id, seq, deleted, type, popularity, item)
ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, deleted = excluded.deleted, type = excluded.type,
	popularity = excluded.popularity, item = excluded.item
WHERE excluded.seq > read_items.seq`

// ApplyItemEvents applies evs atomically; EINVALID, and nothing applied,
// when an event that is not a deletion carries no item or a sequence
// beyond PostgreSQL's bigint.
func (s *RecsItemStore) ApplyItemEvents(ctx context.Context, evs []recs.ItemEvent) error {
	if len(evs) == 0 {
		return nil
	}
	// Check every event, not only those kept below, so that a batch is
	// refused whatever its order.
	for _, ev := range evs {
		if ev.Seq > math.MaxInt64 {
			return mediarec.Errorf(mediarec.EINVALID, "Event %d of item %d: sequence out of range.", ev.Seq, ev.Event.ItemID)
		}
		if !ev.Event.Deleted && ev.Event.Item == nil {
			return mediarec.Errorf(mediarec.EINVALID, "Event %d of item %d carries no item.", ev.Seq, ev.Event.ItemID)
		}
	}
	// Keep each item's newest event, which is where applying the batch in
	// order would end; of equal sequences the first, as the guard would.
	latest := make(map[int64]recs.ItemEvent, len(evs))
	for _, ev := range evs {
		if old, ok := latest[ev.Event.ItemID]; !ok || ev.Seq > old.Seq {
			latest[ev.Event.ItemID] = ev
		}
	}
	// Rows go in id order, so the row locks of two replicas writing
	// overlapping batches are taken in one order and cannot deadlock.
	itemIDs := make([]int64, 0, len(latest))
	for id := range latest {
		itemIDs = append(itemIDs, id)
	}
	slices.Sort(itemIDs)

	var (
		n       = len(itemIDs)
		seqs    = make([]int64, n)
		deleted = make([]bool, n)
		types   = make([]*string, n) // NULL for a tombstone
		pops    = make([]int64, n)
		items   = make([]*string, n)
	)
	for i, id := range itemIDs {
		ev := latest[id]
		seqs[i] = int64(ev.Seq)
		if ev.Event.Deleted {
			deleted[i] = true
			continue
		}
		// The event's ItemID names the row; the stored item must agree.
		item := *ev.Event.Item
		item.ID = id
		b, err := json.Marshal(&item)
		if err != nil {
			return fmt.Errorf("encode item %d: %w", id, err)
		}
		typ, raw := string(item.Type), string(b)
		types[i], pops[i], items[i] = &typ, item.Popularity, &raw
	}
	if _, err := s.db.Pool.Exec(ctx, applyItemEventsSQL, itemIDs, seqs, deleted, types, pops, items); err != nil {
		return fmt.Errorf("apply %d item events: %w", len(evs), err)
	}
	return nil
}

// FindItemByID returns ENOTFOUND for an unknown or deleted id.
func (s *RecsItemStore) FindItemByID(ctx context.Context, id int64) (*mediarec.Item, error) {
	var raw []byte
	err := s.db.Pool.QueryRow(ctx, `SELECT item FROM read_items WHERE id = $1 AND NOT deleted`, id).Scan(&raw)
	if errors.Is(err, pgx.ErrNoRows) {
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
	items, err := s.findItems(ctx, `SELECT id, item FROM read_items WHERE id = ANY($1) AND NOT deleted`, ids)
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
	// One statement per shape: a generic plan for "type = ANY($1)" could
	// not count on a single type to walk the index in order.
	switch len(types) {
	case 0:
		items, err = s.findItems(ctx, `SELECT id, item FROM read_items WHERE NOT deleted ORDER BY popularity DESC, id LIMIT $1`, limit)
	case 1:
		items, err = s.findItems(ctx, `SELECT id, item FROM read_items WHERE NOT deleted AND type = $1 ORDER BY popularity DESC, id LIMIT $2`,
			string(types[0]), limit)
	default:
		items, err = s.findItems(ctx, `SELECT id, item FROM read_items WHERE NOT deleted AND type = ANY($1) ORDER BY popularity DESC, id LIMIT $2`,
			typeStrings(types), limit)
	}
	if err != nil {
		return nil, fmt.Errorf("find popular items of type %v: %w", types, err)
	}
	return items, nil
}

// findItems runs a query that selects id and item.
func (s *RecsItemStore) findItems(ctx context.Context, query string, args ...any) ([]*mediarec.Item, error) {
	rows, _ := s.db.Pool.Query(ctx, query, args...)
	items := []*mediarec.Item{}
	var (
		id  int64
		raw []byte
	)
	if _, err := pgx.ForEachRow(rows, []any{&id, &raw}, func() error {
		item, err := decodeReadItem(id, raw)
		if err != nil {
			return err
		}
		items = append(items, item)
		return nil
	}); err != nil {
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
