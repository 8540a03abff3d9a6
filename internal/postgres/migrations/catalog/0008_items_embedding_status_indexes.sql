-- The operator's page counts items per type and status: with the type in
-- the index the grouped count can read the index alone, and the status counts
-- the embedding coordinator takes every second still read its leading
-- column.
DROP INDEX items_embedding_status_idx;
CREATE INDEX items_embedding_status_type_idx ON items (embedding_status, type);

-- The operator's page lists the failed items in id order, a cursor page at a
-- time. They are few among a million, and a status has three values, so a
-- partial index on the failed rows alone serves the listing without
-- walking every done item before the first failure.
CREATE INDEX items_embedding_failed_id_idx ON items (id) WHERE embedding_status = 'failed';
