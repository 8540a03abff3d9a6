-- How many ratings or reviews the item has in its source. Existing items
-- start at 0, which the cold start reads as "no count": the next ingest of
-- their source fills it in without a new version (see
-- mediarec.Item.SameContent). A constant default adds the column without
-- rewriting the table.
ALTER TABLE items ADD COLUMN popularity bigint NOT NULL DEFAULT 0 CHECK (popularity >= 0);
