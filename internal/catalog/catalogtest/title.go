package catalogtest

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"mediarec"
)

// titleItems are the items the title match tests search, by external id.
var titleItems = []struct {
	ext, title string
	typ        mediarec.ItemType
	genres     []string
}{
	{"a", "Cosmos: A Spacetime Odyssey", mediarec.TypeDocumentary, []string{"Documentary", "Science"}},
	{"b", "The Martian", mediarec.TypeMovie, []string{"Sci-Fi", "Drama"}},
	{"c", "The Martian", mediarec.TypeBook, []string{"science-fiction"}},
	{"d", "Radiolab", mediarec.TypePodcast, []string{"Science"}},
	{"e", "100% Wolf_Pack", mediarec.TypeMovie, []string{"Animation"}},
	{"f", "Amélie", mediarec.TypeMovie, []string{"Comedy"}},
	{"g", "Nightcrawler", mediarec.TypeMovie, []string{"Thriller", "Drama"}},
	{"h", `The "Quoted" Film`, mediarec.TypeBook, []string{"Fiction"}},
	{"i", `AC\DC: Let There Be Rock`, mediarec.TypeDocumentary, []string{"Music"}},
}

// testFindItemsByTitle: q is a substring of the title in any case, anywhere
// in a word, of any length, with no character special, and combines with the
// other filters and the id cursor. Stores may index the title for q of 3
// characters or more and scan for shorter ones, so both lengths are covered.
func testFindItemsByTitle(t *testing.T, s Store) {
	ctx := context.Background()
	ids := make(map[int64]string)
	for _, it := range titleItems {
		item := mustCreate(t, s, &mediarec.Item{ExternalID: it.ext, Type: it.typ, Title: it.title, Genres: it.genres, Tags: []string{}, Creators: []string{}})
		ids[item.ID] = it.ext
	}
	movie, book := []mediarec.ItemType{mediarec.TypeMovie}, []mediarec.ItemType{mediarec.TypeBook}
	tests := []struct {
		name   string
		filter mediarec.ItemFilter
		want   []string
	}{
		{"whole word", mediarec.ItemFilter{Query: "martian"}, []string{"b", "c"}},
		{"middle of a word", mediarec.ItemFilter{Query: "ghtcra"}, []string{"g"}},
		{"upper case", mediarec.ItemFilter{Query: "NIGHTCRAWLER"}, []string{"g"}},
		{"across words", mediarec.ItemFilter{Query: "e ma"}, []string{"b", "c"}},
		{"non-ASCII case folds", mediarec.ItemFilter{Query: "AMÉLIE"}, []string{"f"}},
		{"accents are not folded", mediarec.ItemFilter{Query: "amelie"}, nil},
		{"one character", mediarec.ItemFilter{Query: "Q"}, []string{"h"}},
		{"one non-ASCII character", mediarec.ItemFilter{Query: "é"}, []string{"f"}},
		{"two characters", mediarec.ItemFilter{Query: "ar"}, []string{"b", "c"}},
		{"three characters", mediarec.ItemFilter{Query: "the"}, []string{"b", "c", "h", "i"}},
		{"percent is literal", mediarec.ItemFilter{Query: "100%"}, []string{"e"}},
		{"underscore is literal", mediarec.ItemFilter{Query: "f_p"}, []string{"e"}},
		{"short underscore is literal", mediarec.ItemFilter{Query: "_"}, []string{"e"}},
		{"wildcards match nothing else", mediarec.ItemFilter{Query: "%"}, []string{"e"}},
		{"double quotes are literal", mediarec.ItemFilter{Query: `"quoted"`}, []string{"h"}},
		{"backslash is literal", mediarec.ItemFilter{Query: `c\d`}, []string{"i"}},
		{"no match", mediarec.ItemFilter{Query: "zzzqqq"}, nil},
		{"no short match", mediarec.ItemFilter{Query: "qz"}, nil},
		{"with a type", mediarec.ItemFilter{Types: movie, Query: "martian"}, []string{"b"}},
		{"short with a type", mediarec.ItemFilter{Types: movie, Query: "n"}, []string{"b", "g"}},
		{"with a genre", mediarec.ItemFilter{Genre: "drama", Query: "IGH"}, []string{"g"}},
		{"with a type and a genre", mediarec.ItemFilter{Types: book, Genre: "SCIENCE-FICTION", Query: "mart"}, []string{"c"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.filter.Limit = 100
			if diff := cmp.Diff(tt.want, findExternalIDs(t, s, tt.filter)); diff != "" {
				t.Fatalf("external ids (-want +got):\n%s", diff)
			}
		})
	}

	// Cursor pages of a title match keep the id order, with and without
	// the index.
	for _, q := range []string{"the", "e"} {
		t.Run("pages of "+q, func(t *testing.T) {
			all, err := s.FindItems(ctx, mediarec.ItemFilter{Query: q, Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			var want, got []string
			for _, it := range all {
				want = append(want, ids[it.ID])
			}
			after := int64(0)
			for {
				page, err := s.FindItems(ctx, mediarec.ItemFilter{Query: q, AfterID: after, Limit: 2})
				if err != nil {
					t.Fatal(err)
				}
				for _, it := range page {
					got = append(got, ids[it.ID])
				}
				if len(page) < 2 {
					break
				}
				after = page[len(page)-1].ID
			}
			if len(want) < 3 {
				t.Fatalf("q %q matches %v, want at least 3 items to page through", q, want)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("paged external ids (-want +got):\n%s", diff)
			}
		})
	}
}

// testFindItemsByTitleFollowsChanges: the title match sees creates, updates,
// upserts and deletes at once, through whatever index the store keeps.
func testFindItemsByTitleFollowsChanges(t *testing.T, s Store) {
	ctx := context.Background()
	check := func(step, q string, want ...string) {
		t.Helper()
		if diff := cmp.Diff(want, findExternalIDs(t, s, mediarec.ItemFilter{Query: q, Limit: 100})); diff != "" {
			t.Fatalf("%s: q %q (-want +got):\n%s", step, q, diff)
		}
	}
	item := mustCreate(t, s, sample("x1", "Solaris"))
	check("created", "olari", "x1")

	title := "Stalker"
	if _, err := s.UpdateItem(ctx, item.ID, mediarec.ItemUpdate{Title: &title}); err != nil {
		t.Fatal(err)
	}
	check("renamed", "olari")
	check("renamed", "talke", "x1")

	// A change of another field leaves the title findable.
	desc := "The Zone."
	if _, err := s.UpdateItem(ctx, item.ID, mediarec.ItemUpdate{Description: &desc}); err != nil {
		t.Fatal(err)
	}
	check("described", "talke", "x1")

	if _, err := s.UpsertItems(ctx, []*mediarec.Item{sample("x1", "Mirror"), sample("x2", "Ivan's Childhood")}); err != nil {
		t.Fatal(err)
	}
	check("upserted", "talke")
	check("upserted", "irro", "x1")
	check("upserted", "childhood", "x2")

	if err := s.DeleteItem(ctx, item.ID); err != nil {
		t.Fatal(err)
	}
	check("deleted", "irro")
	check("deleted", "ivan", "x2")
}

// findExternalIDs returns the external ids of the items FindItems finds.
func findExternalIDs(t *testing.T, s Store, f mediarec.ItemFilter) []string {
	t.Helper()
	items, err := s.FindItems(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, it := range items {
		got = append(got, it.ExternalID)
	}
	return got
}
