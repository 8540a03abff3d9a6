package keyword_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"mediarec"
	"mediarec/internal/keyword"
)

func TestFindTitle(t *testing.T) {
	M, B, D := mediarec.TypeMovie, mediarec.TypeBook, mediarec.TypeDocumentary
	x := MustIndex(t,
		it(1, M, "Interstellar"),
		it(2, M, "The Martian"),
		it(3, B, "The Martian"),
		it(4, B, "It"),
		it(5, M, "Up"),
		it(6, M, "Her"),
		it(7, B, "Harry Potter and the Sorcerer's Stone (Harry Potter, #1)"),
		it(8, B, "Harry Potter and the Chamber of Secrets (Harry Potter, #2)"),
		it(9, M, "Star Wars: Episode IV - A New Hope (1977)"),
		it(10, M, "Amélie (2001)"),
		it(11, M, "Schindler's List"),
		it(12, M, "The Postman (Il Postino)"),
		it(13, B, "Pride & Prejudice"),
		it(14, M, "The Lord of the Rings: The Fellowship of the Ring"),
		it(15, M, "Up in the Air"),
		it(16, D, "Planet Earth"),
		it(17, B, "Dune"),
		it(4000, M, "Dune (2021)"),
		it(18, M, "A Beautiful Mind"),
		it(19, B, "The Road"),
		it(20, B, "Harry Potter Collection (Harry Potter, #1-7)"),
		it(21, M, "Lord of the Rings"),
	)
	tests := []struct {
		name  string
		query string
		want  int64 // 0: no match
	}{
		{name: "bare title", query: "Interstellar", want: 1},
		{name: "after like", query: "like Interstellar", want: 1},
		{name: "after something like, with article, lowercase", query: "something like the martian", want: 2},
		{name: "same title: lowest ID", query: "The Martian", want: 2},
		{name: "one-word title after a cue inside a longer query", query: "space movies like Interstellar with great music", want: 1},
		{name: "cue then article", query: "space movies like the martian", want: 2},
		{name: "similar to", query: "similar to Dune", want: 17},
		{name: "fans of", query: "books for fans of Dune", want: 17},
		{name: "common one-word title as the whole query", query: "It", want: 4},
		{name: "common one-word title after like", query: "like Her", want: 6},
		{name: "common one-word title inside text", query: "a movie about her mother", want: 0},
		{name: "common one-word title inside text 2", query: "things to do when it rains", want: 0},
		{name: "up is not up in the air", query: "what's up with the weather", want: 0},
		{name: "longest match wins", query: "up in the air", want: 15},
		{name: "two-word title inside text", query: "documentaries like planet earth but about the ocean", want: 16},
		{name: "two-word title without a cue", query: "planet earth narrated by attenborough", want: 16},
		{name: "series alias", query: "harry potter", want: 7},
		{name: "full title beats the series", query: "harry potter and the chamber of secrets", want: 8},
		{name: "main title before a colon", query: "star wars", want: 9},
		{name: "own title beats another's alias", query: "lord of the rings", want: 21},
		{name: "accents folded", query: "amelie", want: 10},
		{name: "accents folded in the query", query: "AMÉLIE", want: 10},
		{name: "apostrophe dropped", query: "schindlers list", want: 11},
		{name: "apostrophe kept", query: "Schindler’s List", want: 11},
		{name: "alternate title", query: "il postino", want: 12},
		{name: "ampersand", query: "pride and prejudice", want: 13},
		{name: "leading article of the title omitted", query: "beautiful mind", want: 18},
		{name: "leading article of the title given", query: "a beautiful mind", want: 18},
		{name: "a one-word key does not match a longer title", query: "the martian chronicles", want: 0},
		{name: "one-word key not alone", query: "the road to perdition", want: 0},
		{name: "only an article", query: "the", want: 0},
		{name: "empty", query: "", want: 0},
		{name: "only a cue", query: "like", want: 0},
		{name: "topic, no title", query: "documentaries about the ocean", want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, ok := x.FindTitle(tt.query)
			if ok != (tt.want != 0) || id != tt.want {
				t.Errorf("FindTitle(%q) = %d, %v; want %d", tt.query, id, ok, tt.want)
			}
		})
	}
}

func TestFindTitles(t *testing.T) {
	M, B := mediarec.TypeMovie, mediarec.TypeBook
	x := MustIndex(t,
		it(1, M, "The Lord of the Rings"),
		it(2, M, "The Lord of the Rings: The Fellowship of the Ring"),
		it(3, B, "The Fellowship of the Ring (The Lord of the Rings, #1)"),
		it(4, B, "The Lord of the Rings (The Lord of the Rings, #1-3)"),
		it(5, M, "The Godfather"),
		it(6, M, "The Godfather: Part II"),
		it(7, B, "The Godfather"),
		it(8, B, "The Hitchhiker's Guide to the Galaxy (Hitchhiker's Guide to the Galaxy, #1)"),
		it(9, M, "The Hitchhiker's Guide to the Galaxy"),
		it(10, M, "Eternal Sunshine of the Spotless Mind"),
		it(11, M, "Interstellar"),
		it(12, M, "The Guide"),
	)
	type m = keyword.TitleMatch
	tests := []struct {
		name  string
		query string
		want  []keyword.TitleMatch
	}{
		{name: "own titles, then their starts, then aliases", query: "the lord of the rings", want: []m{
			{ID: 1, Type: M, Words: 5, QueryWords: 5}, {ID: 4, Type: B, Words: 5, QueryWords: 5},
			{ID: 2, Type: M, Partial: true, Words: 5, QueryWords: 5}, {ID: 3, Type: B, Alias: true, Words: 5, QueryWords: 5},
		}},
		{name: "subtitle", query: "like the fellowship of the ring", want: []m{
			{ID: 3, Type: B, Words: 5, QueryWords: 5}, {ID: 2, Type: M, Alias: true, Words: 5, QueryWords: 5},
		}},
		{name: "the film and the book, not the sequel's alias first", query: "the godfather", want: []m{
			{ID: 5, Type: M, Words: 2, QueryWords: 2}, {ID: 7, Type: B, Words: 2, QueryWords: 2}, {ID: 6, Type: M, Alias: true, Words: 2, QueryWords: 2},
		}},
		{name: "start of a title", query: "something like eternal sunshine but a book", want: []m{
			{ID: 10, Type: M, Partial: true, Words: 2, QueryWords: 5},
		}},
		{name: "start of titles", query: "the hitchhiker's guide", want: []m{
			{ID: 8, Type: B, Partial: true, Words: 3, QueryWords: 3}, {ID: 9, Type: M, Partial: true, Words: 3, QueryWords: 3},
		}},
		{name: "a start ending in a preposition names nothing", query: "the lord of", want: nil},
		{name: "start of a longer title", query: "lord of the rings the fellowship", want: []m{
			{ID: 2, Type: M, Partial: true, Words: 6, QueryWords: 6},
		}},
		{name: "a whole title beats a start of the same length", query: "the guide", want: []m{
			{ID: 12, Type: M, Words: 2, QueryWords: 2},
		}},
		{name: "one-word title alone", query: "Interstellar", want: []m{{ID: 11, Type: M, Words: 1, QueryWords: 1}}},
		{name: "no title", query: "space documentaries", want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, x.FindTitles(tt.query)); diff != "" {
				t.Errorf("FindTitles(%q) (-want +got):\n%s", tt.query, diff)
			}
		})
	}
	x.Remove(10)
	if got := x.FindTitles("eternal sunshine"); got != nil {
		t.Errorf("after removing the item, FindTitles = %v", got)
	}
}
