package main

import (
	"bytes"
	"slices"
	"testing"

	"mediarec"
)

func TestParseMovieTitle(t *testing.T) {
	tests := []struct {
		name, raw, title string
		year             int
	}{
		{name: "plain", raw: "Toy Story (1995)", title: "Toy Story", year: 1995},
		{name: "the", raw: "Matrix, The (1999)", title: "The Matrix", year: 1999},
		{name: "a", raw: "Brief History of Time, A (1991)", title: "A Brief History of Time", year: 1991},
		{name: "an", raw: "Inconvenient Truth, An (2006)", title: "An Inconvenient Truth", year: 2006},
		{name: "alternative title", raw: "Boot, Das (Boat, The) (1981)", title: "Das Boot (The Boat)", year: 1981},
		{name: "elided article", raw: "Atalante, L' (1934)", title: "L'Atalante", year: 1934},
		{name: "aka", raw: "Dream of Light (a.k.a. Quince Tree Sun, The) (Sol del membrillo, El) (1992)",
			title: "Dream of Light (a.k.a. The Quince Tree Sun) (El Sol del membrillo)", year: 1992},
		{name: "comma inside title", raw: "Good, the Bad and the Ugly, The (Buono, il brutto, il cattivo, Il) (1966)",
			title: "The Good, the Bad and the Ugly (Il Buono, il brutto, il cattivo)", year: 1966},
		{name: "year range", raw: "Death Note: Desu nôto (2006–2007)", title: "Death Note: Desu nôto", year: 2006},
		{name: "no year", raw: "Babylon 5", title: "Babylon 5"},
		{name: "comma not an article", raw: "Paris, Texas (1984)", title: "Paris, Texas", year: 1984},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			title, year := parseMovieTitle(tt.raw)
			if title != tt.title || year != tt.year {
				t.Errorf("parseMovieTitle(%q) = %q, %d; want %q, %d", tt.raw, title, year, tt.title, tt.year)
			}
		})
	}
}

func TestIsShelfNoise(t *testing.T) {
	tests := []struct {
		shelf string
		noise bool
	}{
		{"to-read", true}, {"currently-reading", true}, {"favorites", true},
		{"all-time-favourites", true}, {"owned", true}, {"books-i-own", true},
		{"kindle", true}, {"ebooks", true}, {"library", true}, {"default", true},
		{"my-books", true}, {"wish-list", true}, {"2015-reads", true},
		{"read-in-2016", true}, {"5-stars", true}, {"to-buy", true},
		{"book-club", true}, {"1001-books", true}, {"clàssics", true},
		{"sci-fi-fantasy", true},
		{"fantasy", false}, {"science-fiction", false}, {"space-opera", false},
		{"historical-fiction", false}, {"19th-century", false}, {"young-adult", false},
	}
	for _, tt := range tests {
		t.Run(tt.shelf, func(t *testing.T) {
			if got := isShelfNoise(tt.shelf); got != tt.noise {
				t.Errorf("isShelfNoise(%q) = %v, want %v", tt.shelf, got, tt.noise)
			}
		})
	}
}

func TestRankShelves(t *testing.T) {
	shelves := map[string]int{
		"to-read": 900, "sci-fi": 50, "science-fiction": 40, "stephen-king": 30,
		"horror": 20, "fantasy": 4, "owned": 100,
	}
	ranked, counts := rankShelves(shelves, []string{"Stephen King"})
	want := []string{"science-fiction", "horror", "fantasy"}
	if !slices.Equal(ranked, want) {
		t.Fatalf("rankShelves = %q, want %q", ranked, want)
	}
	// fantasy has 4 of 90 readers, under the 1/20 share a genre needs.
	if got, want := shelfGenres(ranked, counts), []string{"Sci-Fi", "Horror"}; !slices.Equal(got, want) {
		t.Errorf("shelfGenres = %q, want %q", got, want)
	}
}

func TestEncodeCatalogIsDeterministic(t *testing.T) {
	records := []record{
		{ExternalID: "movielens:1", Type: mediarec.TypeMovie, Title: "Toy Story", Year: 1995},
		{ExternalID: "demo-podcast:x", Type: mediarec.TypePodcast, Title: "X & Y", Tags: []string{"a"}},
	}
	a, err := encodeCatalog(records)
	if err != nil {
		t.Fatal(err)
	}
	b, err := encodeCatalog(records)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Error("two encodings of the same records differ")
	}
	if _, err := encodeCatalog(append(records, records[0])); err == nil {
		t.Error("duplicate external_id accepted")
	}
}

func TestCheckPodcast(t *testing.T) {
	good := record{
		ExternalID: "demo-podcast:x", Type: mediarec.TypePodcast, Title: "X",
		Description: "About x.", Creators: []string{"Someone"}, Genres: []string{"Science"},
		Tags: []string{"a", "b", "c"}, Language: "en",
	}
	tests := []struct {
		name  string
		edit  func(*record)
		valid bool
	}{
		{name: "valid", edit: func(*record) {}, valid: true},
		{name: "wrong type", edit: func(r *record) { r.Type = mediarec.TypeBook }},
		{name: "bad id", edit: func(r *record) { r.ExternalID = "x" }},
		{name: "no description", edit: func(r *record) { r.Description = "" }},
		{name: "unknown genre", edit: func(r *record) { r.Genres = []string{"Space"} }},
		{name: "too few tags", edit: func(r *record) { r.Tags = []string{"a"} }},
		{name: "not english", edit: func(r *record) { r.Language = "fr" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := good
			tt.edit(&r)
			if err := checkPodcast(r); (err == nil) != tt.valid {
				t.Errorf("checkPodcast: %v, want valid=%v", err, tt.valid)
			}
		})
	}
}
