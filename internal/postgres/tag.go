package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"mediarec"
)

// FindTopTags returns up to limit tags of the items of types (of every type
// when empty) with how many items carry each, the most common first, ties
// by tag in byte order. It reads the tags of every such item: callers cache
// the answer.
func (s *CatalogStore) FindTopTags(ctx context.Context, types []mediarec.ItemType, limit int) ([]mediarec.TagCount, error) {
	names := make([]string, len(types))
	for i, t := range types {
		names[i] = string(t)
	}
	// An item lists a tag once (the catalog drops repeats), so count(*)
	// counts items. COLLATE "C" orders ties by bytes, as SQLite does,
	// whatever the database's collation.
	rows, _ := s.db.Pool.Query(ctx, `SELECT tag, count(*) AS n FROM items, unnest(tags) AS tag
		WHERE cardinality($1::text[]) = 0 OR type = ANY($1)
		GROUP BY tag ORDER BY n DESC, tag COLLATE "C" LIMIT $2`, names, limit)
	tags, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (mediarec.TagCount, error) {
		var tc mediarec.TagCount
		err := row.Scan(&tc.Tag, &tc.Items)
		return tc, err
	})
	if err != nil {
		return nil, fmt.Errorf("find top tags: %w", err)
	}
	if tags == nil {
		tags = []mediarec.TagCount{}
	}
	return tags, nil
}
