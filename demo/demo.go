// Package demo bundles the demo catalog that "mediarec demo" loads on a fresh
// clone, with no data directory and no network.
//
// The catalog holds every movie and documentary of MovieLens ml-latest-small
// (GroupLens), the 2,000 most-rated books of goodbooks-10k (Zygmunt Zając) and
// about seventy podcasts written for this project. MovieLens data may be
// redistributed only under its own non-commercial research terms, which are
// in movielens-README.txt; the book records are shared under CC BY-SA 4.0.
// README.md in this directory gives the counts, the attributions and the
// command that regenerates catalog.jsonl.gz (scripts/democatalog).
package demo

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"fmt"
	"io"
)

//go:embed catalog.jsonl.gz
var catalogGzip []byte

// Catalog returns the demo catalog as uncompressed JSON Lines: one
// mediarec.Item JSON object per line, holding only the content fields
// external_id, type, title, description, genres, tags, creators, year and
// language. The caller must close it.
func Catalog() (io.ReadCloser, error) {
	zr, err := gzip.NewReader(bytes.NewReader(catalogGzip))
	if err != nil {
		return nil, fmt.Errorf("open demo catalog: %w", err)
	}
	return zr, nil
}
