-- The title filter (FindItems' q) is a substring of title_fold, the title
-- lowered by the store, which LIKE '%q%' can only find by reading every row.
-- An FTS5 index with the trigram tokenizer finds the rows holding a substring
-- of 3 characters or more; shorter ones keep the LIKE. It indexes title_fold
-- itself, case-sensitively, so that it folds exactly as the LIKE does (Go's
-- strings.ToLower, accents kept) and FindItems can keep the LIKE as the
-- final word. An external-content table stores no copy of the titles;
-- triggers keep it in step with items.
CREATE VIRTUAL TABLE items_title_fts USING fts5(
    title_fold, content = 'items', content_rowid = 'id', tokenize = 'trigram case_sensitive 1'
);

INSERT INTO items_title_fts (items_title_fts) VALUES ('rebuild');

CREATE TRIGGER items_title_fts_insert AFTER INSERT ON items BEGIN
    INSERT INTO items_title_fts (rowid, title_fold) VALUES (new.id, new.title_fold);
END;

CREATE TRIGGER items_title_fts_delete AFTER DELETE ON items BEGIN
    INSERT INTO items_title_fts (items_title_fts, rowid, title_fold) VALUES ('delete', old.id, old.title_fold);
END;

-- Upserts and updates set title_fold whether or not it changed; the WHEN
-- spares the index the rewrite when it did not.
CREATE TRIGGER items_title_fts_update AFTER UPDATE OF title_fold ON items
WHEN old.title_fold IS NOT new.title_fold BEGIN
    INSERT INTO items_title_fts (items_title_fts, rowid, title_fold) VALUES ('delete', old.id, old.title_fold);
    INSERT INTO items_title_fts (rowid, title_fold) VALUES (new.id, new.title_fold);
END;
