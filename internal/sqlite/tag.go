package sqlite

import (
	"context"
	"fmt"

	"mediarec"
)

// FindTopTags returns up to limit tags of the items of types (of every type
// when empty) with how many items carry each, the most common first, ties
// by tag. It reads the tags of every such item: callers cache the answer.
func (s *CatalogStore) FindTopTags(ctx context.Context, types []mediarec.ItemType, limit int) ([]mediarec.TagCount, error) {
	where, args := "", []any{}
	if len(types) > 0 {
		where = `WHERE items.type IN (SELECT value FROM json_each(?))`
		args = append(args, jsonList(typeStrings(types)))
	}
	args = append(args, limit)
	// An item lists a tag once (the catalog drops repeats), so count(*)
	// counts items.
	rows, err := s.db.read.QueryContext(ctx, `SELECT tag.value, count(*) AS n FROM items, json_each(items.tags) AS tag `+where+`
		GROUP BY tag.value ORDER BY n DESC, tag.value LIMIT ?`, args...)
	if err != nil {
		return nil, fmt.Errorf("find top tags: %w", err)
	}
	defer rows.Close()
	tags := []mediarec.TagCount{}
	for rows.Next() {
		var tc mediarec.TagCount
		if err := rows.Scan(&tc.Tag, &tc.Items); err != nil {
			return nil, fmt.Errorf("find top tags: %w", err)
		}
		tags = append(tags, tc)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("find top tags: %w", err)
	}
	return tags, nil
}
