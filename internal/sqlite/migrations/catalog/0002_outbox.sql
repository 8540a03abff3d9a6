ALTER TABLE items ADD COLUMN embedding_error TEXT NOT NULL DEFAULT '';

-- Every item change leaves a row here in the same transaction; the relay
-- publishes the rows to the bus and deletes them once the bus has them, so a
-- change is never lost between the database and the bus.
CREATE TABLE outbox (
    id         INTEGER PRIMARY KEY,
    item_id    INTEGER NOT NULL,
    version    INTEGER NOT NULL,
    deleted    INTEGER NOT NULL DEFAULT 0,
    collection TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL
);
