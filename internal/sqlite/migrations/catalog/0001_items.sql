CREATE TABLE items (
    id               INTEGER PRIMARY KEY,
    external_id      TEXT UNIQUE,
    type             TEXT NOT NULL CHECK (type IN ('book', 'movie', 'documentary', 'podcast')),
    title            TEXT NOT NULL,
    title_fold       TEXT NOT NULL,
    description      TEXT NOT NULL DEFAULT '',
    genres           TEXT NOT NULL DEFAULT '[]',
    genres_fold      TEXT NOT NULL DEFAULT '[]',
    tags             TEXT NOT NULL DEFAULT '[]',
    creators         TEXT NOT NULL DEFAULT '[]',
    year             INTEGER,
    language         TEXT NOT NULL DEFAULT '',
    embedding_status TEXT NOT NULL DEFAULT 'pending',
    version          INTEGER NOT NULL DEFAULT 1,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
);

CREATE INDEX items_type_id ON items (type, id);
