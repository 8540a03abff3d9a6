-- The address of the item's cover or poster image, "" when it has none.
-- Like popularity it is not content: a change of it alone keeps the version
-- (see mediarec.Item.SameContent).
ALTER TABLE items ADD COLUMN image_url TEXT NOT NULL DEFAULT '';

-- The operator's page counts items per type and status: with the type in
-- the index the count reads the index alone, and the status counts the
-- embedding coordinator takes every second still read its leading column.
-- A status filter of a listing (embedding_status = 'failed') reads it too.
DROP INDEX items_embedding_status;
CREATE INDEX items_embedding_status_type ON items (embedding_status, type);
