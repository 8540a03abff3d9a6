-- Accounts. email_fold is the lower-cased email, so uniqueness and login
-- ignore letter case while email keeps what the user typed.
CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    email         TEXT NOT NULL,
    email_fold    TEXT NOT NULL UNIQUE,
    display_name  TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'admin')),
    tags          TEXT NOT NULL DEFAULT '[]',
    media_types   TEXT NOT NULL DEFAULT '[]',
    created_at    INTEGER NOT NULL
);

-- One judgement per user and item. item_id has no foreign key: items live in
-- the catalog's database.
CREATE TABLE feedback (
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    item_id    INTEGER NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('like', 'dislike', 'rating')),
    rating     REAL NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, item_id)
);

-- Every feedback or preference change leaves its event here in the same
-- transaction; a relay publishes and then deletes the rows. Not named outbox:
-- the catalog's outbox may share this file.
CREATE TABLE user_outbox (
    id         INTEGER PRIMARY KEY,
    subject    TEXT NOT NULL,
    payload    BLOB NOT NULL,
    created_at INTEGER NOT NULL
);
