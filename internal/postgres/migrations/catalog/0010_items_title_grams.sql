-- A title filter of one or two characters (FindItems' q) has no trigram for
-- items_title_trgm_idx to look up: a q that few titles hold ("qz") read the
-- whole table, 0.4-0.6 s at a million items. This index holds each title's
-- letters and pairs of letters, lower-cased as ILIKE compares them; a title
-- holding q holds all of q's, so the index narrows the candidates and ILIKE
-- still decides.
--
-- Every write of a title computes its grams: the letters come from
-- string_to_array, which is C; duplicates are left in, since GIN keeps one
-- entry per key anyway (with DISTINCT and generate_series for both, the
-- function took 63 µs a title, and a batch upsert three times as long).
CREATE FUNCTION title_grams(title text) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$
    SELECT string_to_array(t, NULL) || array(SELECT substr(t, i, 2) FROM generate_series(1, length(t) - 1) AS i)
    FROM lower(title) AS t
$$;

CREATE INDEX items_title_grams_idx ON items USING gin (title_grams(title));
