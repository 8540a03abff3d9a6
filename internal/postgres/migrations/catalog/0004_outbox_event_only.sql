-- A change of an item's embedding status is announced to other services
-- (its item event) but asks for no embedding: event_only marks it.
ALTER TABLE outbox ADD COLUMN event_only boolean NOT NULL DEFAULT false;
