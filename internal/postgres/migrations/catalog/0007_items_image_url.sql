-- The address of the item's cover or poster image, '' when it has none.
-- Like popularity it is not content: a change of it alone keeps the version
-- (see mediarec.Item.SameContent). A constant default adds the column
-- without rewriting the table.
ALTER TABLE items ADD COLUMN image_url text NOT NULL DEFAULT '' CHECK (length(image_url) <= 2000);
