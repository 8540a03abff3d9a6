-- The relay names each message after its outbox row, and the bus drops a
-- message whose name it saw in the last minutes. Without AUTOINCREMENT,
-- SQLite hands out row ids again once the table has emptied, so a new change
-- could be dropped as a duplicate of an old one: rebuild the table with it.
CREATE TABLE outbox_new (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    item_id    INTEGER NOT NULL,
    version    INTEGER NOT NULL,
    deleted    INTEGER NOT NULL DEFAULT 0,
    collection TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL
);
INSERT INTO outbox_new (id, item_id, version, deleted, collection, created_at)
    SELECT id, item_id, version, deleted, collection, created_at FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_new RENAME TO outbox;
