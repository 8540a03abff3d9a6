-- Accounts. Uniqueness ignores letter case through the index on lower(email);
-- login looks up by the same expression so the index serves it.
CREATE TABLE users (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email         text NOT NULL,
    display_name  text NOT NULL,
    password_hash text NOT NULL,
    role          text NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'admin')),
    tags          text[] NOT NULL DEFAULT '{}',
    media_types   text[] NOT NULL DEFAULT '{}',
    created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE UNIQUE INDEX users_email_key ON users (lower(email));

-- One judgement per user and item. item_id has no foreign key: items live in
-- the catalog's database.
CREATE TABLE feedback (
    user_id    bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    item_id    bigint NOT NULL,
    kind       text NOT NULL CHECK (kind IN ('like', 'dislike', 'rating')),
    rating     double precision NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, item_id)
);

-- Every feedback or preference change leaves its event here in the same
-- transaction; a relay publishes and then deletes the rows. Not named outbox:
-- the catalog's outbox may share this database.
CREATE TABLE user_outbox (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    subject    text NOT NULL,
    payload    bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
