-- The embedding coordinator counts items per status every second: an index
-- lets the count read the statuses alone instead of every item row.
CREATE INDEX items_embedding_status_idx ON items (embedding_status);
