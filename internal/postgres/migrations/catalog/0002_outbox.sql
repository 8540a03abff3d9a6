ALTER TABLE items ADD COLUMN embedding_error text NOT NULL DEFAULT '';

-- Every item change leaves a row here in the same transaction; the relay
-- publishes the rows to the bus and deletes them once the bus has them, so a
-- change is never lost between the database and the bus.
CREATE TABLE outbox (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    item_id    bigint NOT NULL,
    version    int NOT NULL,
    deleted    boolean NOT NULL DEFAULT false,
    collection text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now()
);
