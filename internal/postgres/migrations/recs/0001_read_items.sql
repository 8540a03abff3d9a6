-- The recs service's copy of the catalog, kept current by the catalog's item
-- events. Not named items: the catalog's items may share this database.
--
-- seq is the stream sequence of the event the row holds; an event applies
-- only above it. A deleted item keeps its row (deleted, no item) so that the
-- sequence survives and an older event replayed later cannot bring the item
-- back.
--
-- item is the item as json, not jsonb: recs reads it whole and never queries
-- inside it, json stores the text as given without converting it, and jsonb
-- would reject a \u0000 escape that a string field may well contain. type is
-- copied out for the type filter. Neither is checked against the catalog's
-- types: a type a newer catalog adds must not stop the stream.
CREATE TABLE read_items (
    id      bigint PRIMARY KEY,
    seq     bigint NOT NULL,
    deleted boolean NOT NULL DEFAULT false,
    type    text,
    item    json,
    CHECK (deleted = (item IS NULL))
);

-- Serves a type filter in id order; tombstones stay out of it.
CREATE INDEX read_items_type_id_idx ON read_items (type, id) WHERE NOT deleted;
