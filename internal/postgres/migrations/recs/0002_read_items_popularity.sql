-- The items' popularity (mediarec.Item.Popularity, the source's count of
-- ratings or reviews), copied out of item like type so that a cold start
-- reads the most popular items of a type straight from an index. Rows
-- written before this column existed get their item's value.
ALTER TABLE read_items ADD COLUMN popularity bigint NOT NULL DEFAULT 0;
UPDATE read_items SET popularity = (item->>'popularity')::bigint
WHERE NOT deleted AND item->>'popularity' IS NOT NULL;

-- Serves the most popular items of one type, best first, ties by id.
CREATE INDEX read_items_type_popularity_idx ON read_items (type, popularity DESC, id) WHERE NOT deleted;
