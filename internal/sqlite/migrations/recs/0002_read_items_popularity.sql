-- The items' popularity (mediarec.Item.Popularity, the source's count of
-- ratings or reviews), copied out of item like type so that a cold start
-- reads the most popular items of a type straight from an index. Rows
-- written before this column existed get their item's value.
ALTER TABLE read_items ADD COLUMN popularity INTEGER NOT NULL DEFAULT 0;
UPDATE read_items SET popularity = coalesce(json_extract(item, '$.popularity'), 0) WHERE deleted = 0;

-- Serves the most popular items of one type, best first, ties by id.
-- Queries must say deleted = 0, the same term, for SQLite to use it.
CREATE INDEX read_items_type_popularity ON read_items (type, popularity DESC, id) WHERE deleted = 0;
