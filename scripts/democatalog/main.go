// Command democatalog builds the demo catalog embedded by package demo.
//
// It reads the shared data sets and writes demo/catalog.jsonl.gz: every
// MovieLens ml-latest-small movie, the most-rated goodbooks-10k books and the
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
	"os"
	"path/filepath"
	"slices"
	"strings"

	"mediarec"
)

// record is one catalog line: the content fields of mediarec.Item and no
// more, so that the catalog can be ingested as is.
type record struct {
	ExternalID  string            `json:"external_id"`
	Type        mediarec.ItemType `json:"type"`
	Title       string            `json:"title"`
	Description string            `json:"description,omitempty"`
	Genres      []string          `json:"genres,omitempty"`
	Tags        []string          `json:"tags,omitempty"`
	Creators    []string          `json:"creators,omitempty"`
	Year        int               `json:"year,omitempty"`
	Language    string            `json:"language,omitempty"`
}

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
	books := fs.Int("books", 2000, "number of goodbooks-10k books to keep, most rated first")
	if err := fs.Parse(args); err != nil {
		return err
	}

	movieLensDir := filepath.Join(*dataDir, "movielens-ml-latest-small")
	extras, err := readMovieExtras(filepath.Join(*outDir, "movie-extras.jsonl"))
	if err != nil {
		return err
	}
	movies, err := readMovieLens(movieLensDir, extras)
	if err != nil {
		return err
	}
	bookRecords, err := readGoodbooks(filepath.Join(*dataDir, "goodbooks-10k"), *books)
	if err != nil {
		return err
	}
	podcasts, err := readPodcasts(filepath.Join(*outDir, "podcasts.jsonl"))
	if err != nil {
		return err
	}

	all := append(append(movies, bookRecords...), podcasts...)
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
	for _, r := range all {
		counts[r.Type]++
	}
	for _, t := range mediarec.ItemTypes {
		fmt.Fprintf(stdout, "%-12s %6d\n", t, counts[t])
	}
	fmt.Fprintf(stdout, "%-12s %6d\ncatalog.jsonl.gz: %d bytes\n", "total", len(all), len(data))
	return nil
}

// encodeCatalog validates the records and returns them as gzipped JSON Lines.
// The gzip header carries no name and no time, so the bytes depend only on
// the records.
func encodeCatalog(records []record) ([]byte, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	enc := json.NewEncoder(zw)
	enc.SetEscapeHTML(false)
	seen := make(map[string]bool, len(records))
	for _, r := range records {
		if err := checkRecord(r); err != nil {
			return nil, err
		}
		if seen[r.ExternalID] {
			return nil, fmt.Errorf("duplicate external_id %q", r.ExternalID)
		}
		seen[r.ExternalID] = true
		if err := enc.Encode(r); err != nil {
			return nil, fmt.Errorf("encode %s: %w", r.ExternalID, err)
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// checkRecord applies the limits of mediarec.Item, so that every line of the
// catalog ingests without a validation error.
func checkRecord(r record) error {
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

// cleanSpace trims s and collapses runs of white space to one space.
func cleanSpace(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// appendUnique appends the entries of add that are not in list yet.
func appendUnique(list []string, add ...string) []string {
	for _, s := range add {
		if !slices.Contains(list, s) {
			list = append(list, s)
		}
	}
	return list
}
