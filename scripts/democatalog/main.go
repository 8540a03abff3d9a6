// Command democatalog builds the demo catalog embedded by package demo.
//
// It reads the shared data sets with package ingest, the same readers as
// "mediarec ingest", and writes demo/catalog.jsonl.gz: every MovieLens
// ml-latest-small movie with the hand-written additions of
// demo/movie-extras.jsonl, the most-rated goodbooks-10k books and the
// hand-written podcasts of demo/podcasts.jsonl, one item per line. The output
// is deterministic: the same input gives a byte-identical file.
//
//	go run ./scripts/democatalog -data ../shared/data -out demo
package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"slices"

	"mediarec"
	"mediarec/ingest"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "democatalog:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("democatalog", flag.ContinueOnError)
	dataDir := fs.String("data", "../shared/data", "directory holding the shared data sets")
	outDir := fs.String("out", "demo", "demo package directory: reads podcasts.jsonl and movie-extras.jsonl, writes catalog.jsonl.gz")
	nBooks := fs.Int("books", 2000, "number of goodbooks-10k books to keep, most rated first")
	if err := fs.Parse(args); err != nil {
		return err
	}

	movieLensDir := filepath.Join(*dataDir, "movielens-ml-latest-small")
	movies, err := readMovies(movieLensDir, filepath.Join(*outDir, "movie-extras.jsonl"))
	if err != nil {
		return err
	}
	books, err := readBooks(filepath.Join(*dataDir, "goodbooks-10k"), *nBooks)
	if err != nil {
		return err
	}
	podcasts, err := readPodcasts(filepath.Join(*outDir, "podcasts.jsonl"))
	if err != nil {
		return err
	}

	all := slices.Concat(movies, books, podcasts)
	data, err := encodeCatalog(all)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(*outDir, "catalog.jsonl.gz"), data, 0o644); err != nil {
		return fmt.Errorf("write catalog: %w", err)
	}
	// The MovieLens licence requires its terms to travel with the data.
	readme, err := os.ReadFile(filepath.Join(movieLensDir, "README.txt"))
	if err != nil {
		return fmt.Errorf("read MovieLens README: %w", err)
	}
	if err := os.WriteFile(filepath.Join(*outDir, "movielens-README.txt"), readme, 0o644); err != nil {
		return fmt.Errorf("write MovieLens README: %w", err)
	}

	counts := map[mediarec.ItemType]int{}
	for _, it := range all {
		counts[it.Type]++
	}
	for _, t := range mediarec.ItemTypes {
		fmt.Fprintf(stdout, "%-12s %6d\n", t, counts[t])
	}
	fmt.Fprintf(stdout, "%-12s %6d\ncatalog.jsonl.gz: %d bytes\n", "total", len(all), len(data))
	return nil
}

// readAll reads a data set directory with ingest. Any bad row fails the
// build: the demo catalog is made from known data and must be complete.
func readAll(format, dir string) ([]*mediarec.Item, error) {
	var items []*mediarec.Item
	err := ingest.Read(format, []string{dir}, func(r ingest.Record) error {
		if r.Err != nil {
			return fmt.Errorf("%s:%d: %w", r.Source, r.Line, r.Err)
		}
		items = append(items, r.Item)
		return nil
	})
	return items, err
}

// decodeLines calls fn with each non-blank line of a hand-edited JSON Lines
// file decoded into a T. Unknown fields are refused, so that a misspelt key
// is an error rather than a silently missing value.
func decodeLines[T any](path string, fn func(T) error) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	for i, line := range bytes.Split(data, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.DisallowUnknownFields()
		var v T
		err := dec.Decode(&v)
		if err == nil {
			err = fn(v)
		}
		if err != nil {
			return fmt.Errorf("%s:%d: %w", path, i+1, err)
		}
	}
	return nil
}

// encodeCatalog validates the items and returns them as gzipped JSON Lines
// in the shape "mediarec ingest --format jsonl" sends, so that the catalog
// loads as is. The gzip header carries no name and no time, so the bytes
// depend only on the items.
func encodeCatalog(items []*mediarec.Item) ([]byte, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	seen := make(map[string]bool, len(items))
	for _, it := range items {
		if err := checkItem(it); err != nil {
			return nil, err
		}
		if seen[it.ExternalID] {
			return nil, fmt.Errorf("duplicate external_id %q", it.ExternalID)
		}
		seen[it.ExternalID] = true
		line, err := ingest.MarshalItem(it)
		if err != nil {
			return nil, err
		}
		if _, err := zw.Write(append(line, '\n')); err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// checkItem applies the limits of mediarec.Item, so that every line of the
// catalog ingests without a validation error.
func checkItem(r *mediarec.Item) error {
	switch {
	case r.ExternalID == "" || len(r.ExternalID) > 200:
		return fmt.Errorf("bad external_id %q", r.ExternalID)
	case !r.Type.Valid():
		return fmt.Errorf("%s: bad type %q", r.ExternalID, r.Type)
	case r.Title == "" || len(r.Title) > 500:
		return fmt.Errorf("%s: bad title %q", r.ExternalID, r.Title)
	case len(r.Genres) > 50 || len(r.Tags) > 200 || len(r.Creators) > 100:
		return fmt.Errorf("%s: too many genres, tags or creators", r.ExternalID)
	case r.Year < -3000 || r.Year > 2100:
		return fmt.Errorf("%s: bad year %d", r.ExternalID, r.Year)
	case r.Popularity < 0:
		return fmt.Errorf("%s: bad popularity %d", r.ExternalID, r.Popularity)
	case r.ImageURL != "" && !isHTTPURL(r.ImageURL):
		return fmt.Errorf("%s: bad image_url %q", r.ExternalID, r.ImageURL)
	}
	lists := []struct {
		entries []string
		maxLen  int
	}{{r.Genres, 100}, {r.Tags, 100}, {r.Creators, 200}}
	for _, l := range lists {
		for _, s := range l.entries {
			if s == "" || len(s) > l.maxLen {
				return fmt.Errorf("%s: bad list entry %q", r.ExternalID, s)
			}
		}
	}
	return nil
}

// isHTTPURL reports whether s is an absolute http or https URL of at most
// 2,000 bytes, as mediarec.Item.ImageURL must be.
func isHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && len(s) <= 2000 && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}
