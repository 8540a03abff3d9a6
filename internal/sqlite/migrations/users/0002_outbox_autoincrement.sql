-- As for the catalog's outbox: row ids name the relayed messages, which the
-- bus de-duplicates, so they must never be handed out again.
CREATE TABLE user_outbox_new (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    subject    TEXT NOT NULL,
    payload    BLOB NOT NULL,
    created_at INTEGER NOT NULL
);
INSERT INTO user_outbox_new (id, subject, payload, created_at)
    SELECT id, subject, payload, created_at FROM user_outbox;
DROP TABLE user_outbox;
ALTER TABLE user_outbox_new RENAME TO user_outbox;
