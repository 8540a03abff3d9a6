-- How many ratings or reviews the item has in its source. Existing items
-- start at 0, which the cold start reads as "no count": the next ingest of
-- their source fills it in without a new version (see
-- mediarec.Item.SameContent).
ALTER TABLE items ADD COLUMN popularity INTEGER NOT NULL DEFAULT 0 CHECK (popularity >= 0);
