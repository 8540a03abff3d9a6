-- The title filter (FindItems' q) is a case-insensitive substring match,
-- title ILIKE '%q%', which no btree can serve: at a million items it read
-- the whole table (2.3 s for a title nothing matched). A trigram index
-- serves ILIKE itself, so the semantics stay those of ILIKE: pg_trgm only
-- narrows the candidates and the executor rechecks every one.
--
-- pg_trgm ships with PostgreSQL's contrib modules and is a trusted extension
-- (PostgreSQL 13+): the migration user needs the CREATE privilege on the
-- database, or a superuser runs CREATE EXTENSION pg_trgm once beforehand.
-- Without either, this migration fails and the catalog does not start (see
-- NewCatalogStore's message); nothing is half-applied. At a million items
-- the index takes 5-7 s to build (39 MB), writes waiting meanwhile.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- The extension may already live in a schema that is not on the search
-- path, where IF NOT EXISTS leaves it: name its operator class by schema.
DO $$
DECLARE
    ext_schema name;
BEGIN
    SELECT n.nspname INTO ext_schema
    FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
    WHERE e.extname = 'pg_trgm';
    EXECUTE format('CREATE INDEX items_title_trgm_idx ON items USING gin (title %I.gin_trgm_ops)', ext_schema);
END
$$;
