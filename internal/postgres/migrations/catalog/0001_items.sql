-- The catalog's items. An empty external id and an unknown year are stored as
-- NULL: the unique constraint must not treat two items without an external id
-- as duplicates.
CREATE TABLE items (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    external_id      text UNIQUE,
    type             text NOT NULL CHECK (type IN ('book', 'movie', 'documentary', 'podcast')),
    title            text NOT NULL,
    description      text NOT NULL DEFAULT '',
    genres           text[] NOT NULL,
    tags             text[] NOT NULL,
    creators         text[] NOT NULL,
    year             int,
    language         text NOT NULL DEFAULT '',
    embedding_status text NOT NULL DEFAULT 'pending' CHECK (embedding_status IN ('pending', 'done', 'failed')),
    version          int NOT NULL DEFAULT 1,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);

-- Serves the type filter in the keyset order of listings.
CREATE INDEX items_type_id_idx ON items (type, id);

-- The genre filter matches whole genres in any case. An expression index needs
-- an immutable function, and lower() cannot take an array. PL/pgSQL rather
-- than SQL: a non-inlinable SQL function is planned again on every call, which
-- tripled the cost of a single-row insert; PL/pgSQL caches its plans.
CREATE FUNCTION lower_all(genres text[]) RETURNS text[]
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
    AS $$
DECLARE
    lowered text[] := '{}';
    g text;
BEGIN
    FOREACH g IN ARRAY genres LOOP
        lowered := lowered || lower(g);
    END LOOP;
    RETURN lowered;
END
$$;

CREATE INDEX items_genres_idx ON items USING gin (lower_all(genres));

-- The title filter is a substring match, which only a trigram index could
-- serve; pg_trgm is an extension we do not require, so it scans.
