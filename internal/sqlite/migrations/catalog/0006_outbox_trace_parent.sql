-- The W3C traceparent of the request that wrote the entry, so that the
-- messages the relay publishes from it continue that request's trace.
ALTER TABLE outbox ADD COLUMN trace_parent TEXT NOT NULL DEFAULT '';
