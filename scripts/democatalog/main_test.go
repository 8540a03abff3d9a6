package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"mediarec"
	"mediarec/internal/datatest"
)

// TestCatalogIsUpToDate rebuilds the catalog from the shared data sets and
// compares it with the one package demo embeds, so that a change to the
// ingest readers or to the hand-written files cannot leave it stale.
func TestCatalogIsUpToDate(t *testing.T) {
	// run reads these two from data.
	data := filepath.Dir(datatest.Dir(t, datatest.MovieLens))
	datatest.Dir(t, datatest.Goodbooks)
	out := t.TempDir()
	for _, name := range []string{"podcasts.jsonl", "movie-extras.jsonl"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "demo", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(out, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := run([]string{"-data", data, "-out", out}, io.Discard); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"catalog.jsonl.gz", "movielens-README.txt"} {
		got, err := os.ReadFile(filepath.Join(out, name))
		if err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile(filepath.Join("..", "..", "demo", name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("demo/%s is stale; regenerate it with: go run ./scripts/democatalog -data ../shared/data -out demo", name)
		}
	}
}

func TestAddExtra(t *testing.T) {
	tests := []struct {
		name  string
		item  mediarec.Item
		extra movieExtra
		want  mediarec.Item
	}{
		{
			name:  "tags first, no repeats",
			item:  mediarec.Item{Type: mediarec.TypeDocumentary, Genres: []string{"Documentary"}, Tags: []string{"titanic"}, Year: 2003},
			extra: movieExtra{Tags: []string{"titanic", "ocean"}, Year: 1900},
			want:  mediarec.Item{Type: mediarec.TypeDocumentary, Genres: []string{"Documentary"}, Tags: []string{"titanic", "ocean"}, Year: 2003},
		},
		{
			name:  "genre makes a documentary, year fills a gap",
			item:  mediarec.Item{Type: mediarec.TypeMovie},
			extra: movieExtra{Genres: []string{"Documentary"}, Tags: []string{"space"}, Year: 1980},
			want:  mediarec.Item{Type: mediarec.TypeDocumentary, Genres: []string{"Documentary"}, Tags: []string{"space"}, Year: 1980},
		},
		{
			name:  "capped",
			item:  mediarec.Item{Type: mediarec.TypeMovie, Tags: strings.Fields("a b c d e f g h i j k l m n o")},
			extra: movieExtra{Tags: []string{"x"}},
			want:  mediarec.Item{Type: mediarec.TypeMovie, Tags: strings.Fields("x a b c d e f g h i j k l m n")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addExtra(&tt.item, tt.extra)
			if diff := cmp.Diff(tt.want, tt.item); diff != "" {
				t.Errorf("addExtra mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTopRated(t *testing.T) {
	path := filepath.Join(t.TempDir(), "books.csv")
	csv := "book_id,goodreads_book_id,ratings_count\n1,10,500\n2,20,900\n3,30,500\n4,40,100\n"
	if err := os.WriteFile(path, []byte(csv), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := topRated(path, 3)
	if err != nil {
		t.Fatal(err)
	}
	// Equal counts keep the file order.
	want := map[string]int{"goodreads:20": 0, "goodreads:10": 1, "goodreads:30": 2}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("topRated mismatch (-want +got):\n%s", diff)
	}
}

func TestDecodeLinesRefusesUnknownFields(t *testing.T) {
	path := filepath.Join(t.TempDir(), "extras.jsonl")
	if err := os.WriteFile(path, []byte("{\"movie_id\":1}\n\n{\"movie_id\":2,\"tag\":[\"x\"]}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := decodeLines(path, func(movieExtra) error { return nil })
	if err == nil || !strings.Contains(err.Error(), ":3:") || !strings.Contains(err.Error(), `"tag"`) {
		t.Errorf("decodeLines error = %v, want line 3, unknown field \"tag\"", err)
	}
}

func TestEncodeCatalogIsDeterministic(t *testing.T) {
	items := []*mediarec.Item{
		{ExternalID: "movielens:1", Type: mediarec.TypeMovie, Title: "Toy Story", Year: 1995},
		{ExternalID: "demo-podcast:x", Type: mediarec.TypePodcast, Title: "X & Y", Tags: []string{"a"}},
	}
	a, err := encodeCatalog(items)
	if err != nil {
		t.Fatal(err)
	}
	b, err := encodeCatalog(items)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Error("two encodings of the same items differ")
	}
	if _, err := encodeCatalog(append(items, items[0])); err == nil {
		t.Error("duplicate external_id accepted")
	}
}

func TestCheckPodcast(t *testing.T) {
	good := mediarec.Item{
		ExternalID: "demo-podcast:x", Type: mediarec.TypePodcast, Title: "X",
		Description: "About x.", Creators: []string{"Someone"}, Genres: []string{"Science"},
		Tags: []string{"a", "b", "c"}, Language: "en",
	}
	tests := []struct {
		name  string
		edit  func(*mediarec.Item)
		valid bool
	}{
		{name: "valid", edit: func(*mediarec.Item) {}, valid: true},
		{name: "wrong type", edit: func(r *mediarec.Item) { r.Type = mediarec.TypeBook }},
		{name: "bad id", edit: func(r *mediarec.Item) { r.ExternalID = "x" }},
		{name: "no description", edit: func(r *mediarec.Item) { r.Description = "" }},
		{name: "unknown genre", edit: func(r *mediarec.Item) { r.Genres = []string{"Space"} }},
		{name: "too few tags", edit: func(r *mediarec.Item) { r.Tags = []string{"a"} }},
		{name: "not english", edit: func(r *mediarec.Item) { r.Language = "fr" }},
		{name: "a review count", edit: func(r *mediarec.Item) { r.Popularity = 1300 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := good
			tt.edit(&r)
			if err := checkPodcast(&r); (err == nil) != tt.valid {
				t.Errorf("checkPodcast: %v, want valid=%v", err, tt.valid)
			}
		})
	}
}
