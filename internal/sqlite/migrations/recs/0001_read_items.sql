-- The recs service's copy of the catalog, kept current by the catalog's item
-- events. Not named items: the catalog's items may share this file.
--
-- seq is the stream sequence of the event the row holds; an event applies
-- only above it. A deleted item keeps its row (deleted = 1, no item) so that
-- the sequence survives and an older event replayed later cannot bring the
-- item back.
--
-- item is the item as JSON: recs reads it whole and never queries inside it.
-- type is copied out for the type filter. Neither is checked against the
-- catalog's types: a type a newer catalog adds must not stop the stream.
CREATE TABLE read_items (
    id      INTEGER PRIMARY KEY,
    seq     INTEGER NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0,
    type    TEXT,
    item    TEXT,
    CHECK ((deleted = 1) = (item IS NULL))
);

-- Serves a type filter in id order; tombstones stay out of it. Queries must
-- say deleted = 0, the same term, for SQLite to use it.
CREATE INDEX read_items_type_id ON read_items (type, id) WHERE deleted = 0;
