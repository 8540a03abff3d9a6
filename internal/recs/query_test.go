package recs_test

import (
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"mediarec"
	"mediarec/internal/recs"
)

func TestParseQuery(t *testing.T) {
	const (
		B = mediarec.TypeBook
		M = mediarec.TypeMovie
		D = mediarec.TypeDocumentary
		P = mediarec.TypePodcast
	)
	type T = []mediarec.ItemType
	tests := []struct {
		name  string
		q     string
		types T
		text  string
		like  string
		rest  string // Text when like is empty
		topic string // Rest when there are no genres
		other bool
		// years and genres
		from, to   int
		genres     []string
		onlyGenres bool
	}{
		{name: "documentary about", q: "a documentary about the ocean", types: T{D}, text: "the ocean"},
		{name: "something like a title", q: "find me something like Interstellar", text: "Interstellar", like: "Interstellar"},
		{name: "only a type", q: "documentaries", types: T{D}},
		{name: "only types", q: "Books and movies", types: T{B, M}},
		{name: "only types with punctuation", q: "podcasts, documentaries!", types: T{P, D}},
		{name: "empty", q: ""},
		{name: "blank", q: "  \t "},
		{name: "punctuation only", q: "?!…", text: ""},
		{name: "plain topic", q: "space exploration", text: "space exploration"},
		{name: "type after topic", q: "space documentaries", types: T{D}, text: "space"},
		{name: "movies like", q: "movies like Interstellar", types: T{M}, text: "Interstellar", like: "Interstellar"},
		{name: "like after topic words", q: "space movies like Interstellar", types: T{M}, text: "space Interstellar", like: "Interstellar", rest: "space"},
		{name: "i'd like", q: "I'd like a documentary about the ocean", types: T{D}, text: "the ocean"},
		{name: "typographic apostrophe", q: "I’d like a podcast about jazz", types: T{P}, text: "jazz"},
		{name: "i want", q: "I want a book about dragons", types: T{B}, text: "dragons"},
		{name: "recommend me", q: "recommend me some podcasts about history please", types: T{P}, text: "history"},
		{name: "looking for", q: "I'm looking for movies about artificial intelligence", types: T{M}, text: "artificial intelligence"},
		{name: "show me", q: "show me documentaries about climate change", types: T{D}, text: "climate change"},
		{name: "give me", q: "Give me novels set in Victorian London", types: T{B}, text: "set in Victorian London"},
		{name: "case is kept", q: "BOOKS ABOUT WAR", types: T{B}, text: "WAR"},
		{name: "modifiers of the type go", q: "some good books about Rome", types: T{B}, text: "Rome"},
		{name: "only next to the type", q: "what are some good sci-fi books", types: T{B}, text: "good sci-fi", topic: "good", genres: []string{"Sci-Fi"}},
		{name: "the best", q: "the best documentaries about World War II", types: T{D}, text: "World War II"},
		{name: "audiobook", q: "an audiobook for a long drive", types: T{B}, text: "for a long drive"},
		{name: "audio book", q: "audio books narrated by the author", types: T{B}, text: "narrated by the author"},
		{name: "read", q: "something to read about whales", types: T{B}, text: "whales"},
		{name: "a good read", q: "a good read for the beach", types: T{B}, text: "for the beach"},
		{name: "novels", q: "Russian novels", types: T{B}, text: "Russian"},
		{name: "cinema", q: "French cinema from the sixties", types: T{M}, text: "French", from: 1960, to: 1969},
		{name: "film", q: "a film about a heist", types: T{M}, text: "heist"},
		{name: "flicks", q: "scary flicks", types: T{M}, text: "scary", genres: []string{"Horror"}, onlyGenres: true},
		{name: "documentary film is one type", q: "a documentary film about bees", types: T{D}, text: "bees"},
		{name: "docuseries", q: "docuseries on true crime", types: T{D}, text: "true crime"},
		{name: "doc", q: "a doc about coffee", types: T{D}, text: "coffee"},
		{name: "docs", q: "nature docs", types: T{D}, text: "nature"},
		{name: "doc as a name", q: "Doc Holliday", text: "Doc Holliday"},
		{name: "podcast episodes", q: "podcast episodes about stoicism", types: T{P}, text: "stoicism"},
		{name: "show about is a podcast", q: "a show about startups", types: T{P}, text: "startups"},
		{name: "shows on", q: "shows on philosophy", types: T{P}, text: "philosophy"},
		{name: "show alone is not a type", q: "The Truman Show", text: "The Truman Show"},
		{name: "TV show is not a podcast", q: "TV shows about space", text: "TV shows about space"},
		{name: "episode alone is not a type", q: "Star Wars Episode IV", text: "Star Wars Episode IV"},
		{name: "episode about", q: "an episode about black holes", types: T{P}, text: "black holes"},
		{name: "show me is filler", q: "show me something funny", text: "funny", genres: []string{"Comedy"}, onlyGenres: true},
		{name: "types named as a topic", q: "a book about movies", types: T{B}, text: "movies"},
		{name: "cinema as a topic", q: "documentaries about cinema", types: T{D}, text: "cinema"},
		{name: "topic ends at a clause", q: "something about space, documentaries", types: T{D}, text: "space"},
		{name: "two types", q: "podcasts or documentaries about the deep sea", types: T{P, D}, text: "the deep sea"},
		{name: "duplicate types once", q: "movies, films, cinema", types: T{M}},
		{name: "conjunction left dangling", q: "dragon books and movies", types: T{B, M}, text: "dragon"},
		{name: "conjunction inside a title", q: "Pride and Prejudice", text: "Pride and Prejudice"},
		{name: "ampersand inside a title", q: "Pride & Prejudice novel", types: T{B}, text: "Pride & Prejudice"},
		{name: "title punctuation kept", q: "movies like Star Wars: A New Hope", types: T{M}, text: "Star Wars: A New Hope", like: "Star Wars: A New Hope"},
		{name: "whitespace collapsed", q: "  find   me\tthe   martian  ", text: "the martian"},
		{name: "article of a title", q: "A Beautiful Mind", text: "Beautiful Mind"},
		{name: "about inside a title", q: "10 Things I Hate About You", text: "10 Things I Hate About You"},
		{name: "good inside a title", q: "Good Will Hunting", text: "Good Will Hunting"},
		{name: "about opening a title", q: "About a Boy", text: "About a Boy"},
		{name: "for opening a title", q: "find me For Whom the Bell Tolls", text: "For Whom the Bell Tolls"},
		{name: "adjective of the type", q: "good podcasts on ancient Rome please", types: T{P}, text: "ancient Rome"},
		{name: "trailing please", q: "jazz documentaries please", types: T{D}, text: "jazz"},
		{name: "trailing thank you", q: "podcasts about chess, thank you!", types: T{P}, text: "chess"},
		{name: "for me", q: "find a movie for me", types: T{M}},
		{name: "to watch tonight", q: "something to watch tonight", text: ""},
		{name: "watch", q: "I want to watch a movie about the moon landing", types: T{M}, text: "the moon landing"},
		{name: "listen to", q: "I'd like to listen to a podcast on economics", types: T{P}, text: "economics"},
		{name: "learn about", q: "I want to learn about black holes", text: "black holes"},
		{name: "in the mood for", q: "in the mood for a feel-good movie", types: T{M}, text: "feel-good"},
		{name: "similar to", q: "books similar to The Name of the Wind", types: T{B}, text: "The Name of the Wind", like: "The Name of the Wind"},
		{name: "question", q: "Are there any documentaries about octopuses?", types: T{D}, text: "octopuses"},
		{name: "a type word in another language, within two letters", q: "documentaire sur l'océan", types: T{D}, text: "sur l'océan"},
		{name: "unicode with a type", q: "films about Amélie Poulain’s Paris", types: T{M}, text: "Amélie Poulain’s Paris"},
		{name: "cjk", q: "千と千尋の神隠し movie", types: T{M}, text: "千と千尋の神隠し"},
		{name: "emoji dropped at the edge", q: "🚀 space podcasts 🚀", types: T{P}, text: "space"},
		{name: "hyphenated type", q: "e-books about gardening", types: T{B}, text: "gardening"},
		{name: "stephen king", q: "Stephen King novels", types: T{B}, text: "Stephen King"},
		{name: "a year", q: "movies from 1999", types: T{M}, from: 1999, to: 1999},

		// Likeness: the title after "like", and "but" before the type.
		{name: "like a title but a type", q: "find me something like Interstellar but a documentary", types: T{D}, text: "Interstellar", like: "Interstellar", other: true},
		{name: "but as a", q: "like The Martian, but as a book", types: T{B}, text: "The Martian", like: "The Martian", other: true},
		{name: "multi-word title", q: "something like the lord of the rings", text: "the lord of the rings", like: "the lord of the rings"},
		{name: "title after the type", q: "podcasts similar to Serial", types: T{P}, text: "Serial", like: "Serial"},
		{name: "in the vein of", q: "novels in the vein of Gone Girl", types: T{B}, text: "Gone Girl", like: "Gone Girl"},
		{name: "but then more words", q: "like Alien but funny", text: "Alien funny", like: "Alien", rest: "funny", genres: []string{"Comedy"}},
		{name: "genre words in a title are the title", q: "something like Crime and Punishment", text: "Crime and Punishment", like: "Crime and Punishment"},
		{name: "a year ends the title", q: "movies like Heat from the 90s", types: T{M}, text: "Heat", like: "Heat", from: 1990, to: 1999},
		{name: "i'd like is not likeness", q: "I'd like something funny", text: "funny", genres: []string{"Comedy"}, onlyGenres: true},
		{name: "filler after the topic", q: "space documentaries, I'd love something about black holes", types: T{D}, text: "space black holes"},
		{name: "something in the middle", q: "documentaries something about bees", types: T{D}, text: "bees"},
		{name: "a title then but", q: "Interstellar but a documentary", types: T{D}, text: "Interstellar", other: true},
		{name: "a name with like inside", q: "Some Like It Hot", text: "It Hot", like: "It Hot"},

		// Misspelt and plural type words.
		{name: "documentry", q: "space documentry", types: T{D}, text: "space"},
		{name: "podcats", q: "podcats about history", types: T{P}, text: "history"},
		{name: "moveis", q: "funny moveis", types: T{M}, text: "funny", genres: []string{"Comedy"}, onlyGenres: true},
		{name: "two slips in a long word", q: "documetnaries on whales", types: T{D}, text: "whales"},
		{name: "a real word near a type word", q: "dance moves", text: "dance moves"},
		{name: "short type words are exact", q: "boots", text: "boots"},

		// Years.
		{name: "decade", q: "a romantic comedy from the 90s", text: "romantic comedy", from: 1990, to: 1999, genres: []string{"Romance", "Comedy"}, onlyGenres: true},
		{name: "four-digit decade", q: "2010s thrillers", text: "thrillers", from: 2010, to: 2019, genres: []string{"Thriller"}, onlyGenres: true},
		{name: "decade with an apostrophe", q: "movies from the '80s", types: T{M}, from: 1980, to: 1989},
		{name: "decade in letters", q: "nineties sci-fi", text: "sci-fi", from: 1990, to: 1999, genres: []string{"Sci-Fi"}, onlyGenres: true},
		{name: "noughties", q: "books from the noughties", types: T{B}, from: 2000, to: 2009},
		{name: "before a year", q: "horror movies before 1980", types: T{M}, text: "horror", to: 1979, genres: []string{"Horror"}, onlyGenres: true},
		{name: "after a year", q: "space documentaries after 2000", types: T{D}, text: "space", from: 2001},
		{name: "since", q: "podcasts since 2015", types: T{P}, from: 2015},
		{name: "until", q: "westerns until 1960", text: "westerns", to: 1960, genres: []string{"Western"}, onlyGenres: true},
		{name: "pre-", q: "pre-1950 film noir", types: T{M}, text: "noir", to: 1949, genres: []string{"Film-Noir"}, onlyGenres: true},
		{name: "before a century", q: "books before the 1900s", types: T{B}, to: 1899},
		{name: "a century", q: "classic novels from the 1800s", types: T{B}, text: "classic", from: 1800, to: 1899, genres: []string{"Classics"}, onlyGenres: true},
		{name: "2000s is a decade", q: "2000s films", types: T{M}, from: 2000, to: 2009},
		{name: "between", q: "movies between 1990 and 1995", types: T{M}, from: 1990, to: 1995},
		{name: "from to", q: "films from 1970 to 1979 about the mafia", types: T{M}, text: "the mafia", from: 1970, to: 1979},
		{name: "span in one word", q: "novels from 1990-1995", types: T{B}, from: 1990, to: 1995},
		{name: "early", q: "early 2000s comedies", text: "comedies", from: 2000, to: 2003, genres: []string{"Comedy"}, onlyGenres: true},
		{name: "mid hyphenated", q: "mid-90s dramas", text: "dramas", from: 1993, to: 1996, genres: []string{"Drama"}, onlyGenres: true},
		{name: "late", q: "late 1970s horror", text: "horror", from: 1976, to: 1979, genres: []string{"Horror"}, onlyGenres: true},
		{name: "two decades", q: "80s or 90s action movies", types: T{M}, text: "action", from: 1980, to: 1999, genres: []string{"Action"}, onlyGenres: true},
		{name: "decade and a bound", q: "movies from the 90s before 1995", types: T{M}, from: 1990, to: 1994},
		{name: "a bare year is a title", q: "1984", text: "1984"},
		{name: "a year in a title", q: "2001: A Space Odyssey", text: "2001: A Space Odyssey"},
		{name: "a year after a title", q: "Blade Runner 2049", text: "Blade Runner 2049"},
		{name: "a setting is the topic", q: "novels set in the 1920s", types: T{B}, text: "set in the 1920s"},
		{name: "a time that is the topic", q: "a documentary about the 60s", types: T{D}, text: "the 60s"},
		{name: "a strong lead after about", q: "a documentary about space from the 80s", types: T{D}, text: "space", from: 1980, to: 1989},
		{name: "in space is no year", q: "movies in space", types: T{M}, text: "in space"},
		{name: "a number is no decade", q: "top 25s", text: "top 25s"},

		// Genres.
		{name: "genre words", q: "rom-coms", text: "rom-coms", genres: []string{"Romance", "Comedy"}, onlyGenres: true},
		{name: "genre and topic", q: "horror movies about clowns", types: T{M}, text: "horror clowns", topic: "clowns", genres: []string{"Horror"}},
		{name: "genres in the topic stay words", q: "a podcast about the history of war", types: T{P}, text: "the history of war"},
		{name: "genre with a topic word", q: "true crime podcasts about cults", types: T{P}, text: "true crime cults", topic: "cults", genres: []string{"True Crime"}},
		{name: "science fiction", q: "science fiction books about robots", types: T{B}, text: "science fiction robots", topic: "robots", genres: []string{"Sci-Fi"}},
		{name: "genre plus other words", q: "funny space movies", types: T{M}, text: "funny space", topic: "space", genres: []string{"Comedy"}},
		{name: "young adult", q: "young adult dystopian novels", types: T{B}, text: "young adult dystopian", genres: []string{"Young Adult", "Dystopian"}, onlyGenres: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := recs.ParseQuery(tt.q)
			want := recs.ParsedQuery{
				Types: tt.types, Text: tt.text, Like: tt.like, Rest: tt.rest, OtherType: tt.other,
				YearFrom: tt.from, YearTo: tt.to, Genres: tt.genres, OnlyGenres: tt.onlyGenres,
			}
			if tt.like == "" {
				want.Rest = tt.text
			}
			want.Topic = tt.topic
			if len(tt.genres) == 0 {
				want.Topic = want.Rest
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("ParseQuery(%q) (-want +got):\n%s", tt.q, diff)
			}
		})
	}
}

func FuzzParseQuery(f *testing.F) {
	for _, q := range []string{
		"a documentary about the ocean", "find me something like Interstellar", "documentaries",
		"I’d like a podcast, please!", "The Truman Show", "Doc Holliday", "dragon books and movies",
		"千と千尋の神隠し movie", "Pride & Prejudice", "\xff\xfe bad utf8 books", "a-", "'s", "--- ,,, ...",
		"show about", "a good read", "movies like Star Wars: A New Hope", "0\x1d0", "a\u200bb",
		"find me something like Interstellar but a documentary", "a romantic comedy from the 90s",
		"books between 1990 and 1995", "pre-1950 film noir", "mid-90s", "early", "from the", "late 1999s",
		"podcats", "documetnaries 2010s", "like The Lord of the Rings, but as a podcast", "set in the 1920s",
		"80s or 90s or 00s", "since 2099-2100", "between 1995", "like", "but", "1800s classics",
	} {
		f.Add(q)
	}
	f.Fuzz(func(t *testing.T, q string) {
		got := recs.ParseQuery(q)
		seen := map[mediarec.ItemType]bool{}
		for _, typ := range got.Types {
			if !typ.Valid() || seen[typ] {
				t.Fatalf("ParseQuery(%q).Types = %v: invalid or repeated", q, got.Types)
			}
			seen[typ] = true
		}
		if !utf8.ValidString(got.Text) || strings.TrimSpace(got.Text) != got.Text || strings.Contains(got.Text, "  ") {
			t.Fatalf("ParseQuery(%q).Text = %q: not clean text", q, got.Text)
		}
		inQuery := map[string]bool{}
		for _, w := range wordsOf(q) {
			inQuery[w] = true
		}
		for _, w := range wordsOf(got.Text) {
			if !inQuery[w] {
				t.Fatalf("ParseQuery(%q).Text = %q: word %q is not in the query", q, got.Text, w)
			}
		}
		inText := map[string]bool{}
		for _, w := range wordsOf(got.Text) {
			inText[w] = true
		}
		for _, part := range []string{got.Like, got.Rest, got.Topic} {
			if strings.TrimSpace(part) != part || strings.Contains(part, "  ") {
				t.Fatalf("ParseQuery(%q) = %+v: not clean text", q, got)
			}
			for _, w := range wordsOf(part) {
				if !inText[w] {
					t.Fatalf("ParseQuery(%q) = %+v: word %q is not in the text", q, got, w)
				}
			}
		}
		if got.YearFrom != 0 && got.YearTo != 0 && got.YearFrom > got.YearTo {
			t.Fatalf("ParseQuery(%q): years %d–%d", q, got.YearFrom, got.YearTo)
		}
		if got.OnlyGenres && (len(got.Genres) == 0 || got.Like != "") {
			t.Fatalf("ParseQuery(%q) = %+v: only genres, yet none or a title", q, got)
		}
		for _, g := range got.Genres {
			if g == "" {
				t.Fatalf("ParseQuery(%q).Genres = %q", q, got.Genres)
			}
		}
	})
}

// wordsOf splits s at everything but letters, digits and marks.
func wordsOf(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool {
		return r == utf8.RuneError || !(unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.In(r, unicode.Mn, unicode.Mc))
	})
}

func TestFuseRanks(t *testing.T) {
	rrf := func(ranks ...int) float64 {
		s := 0.0
		for _, r := range ranks {
			s += 1 / float64(60+r)
		}
		return s
	}
	tests := []struct {
		name  string
		k     int
		lists [][]int64
		want  []recs.FusedHit
	}{
		{name: "no lists", k: 10, want: []recs.FusedHit{}},
		{name: "empty lists", k: 10, lists: [][]int64{nil, {}}, want: []recs.FusedHit{}},
		{
			name: "one list keeps its order", k: 10, lists: [][]int64{{7, 3, 9}},
			want: []recs.FusedHit{{ID: 7, Score: rrf(1)}, {ID: 3, Score: rrf(2)}, {ID: 9, Score: rrf(3)}},
		},
		{
			name: "items in both lists come first", k: 10, lists: [][]int64{{1, 2, 3}, {3, 2, 4}},
			want: []recs.FusedHit{
				{ID: 3, Score: rrf(3, 1)}, {ID: 2, Score: rrf(2, 2)}, {ID: 1, Score: rrf(1)},
				{ID: 4, Score: rrf(3)},
			},
		},
		{
			name: "ties by ascending ID", k: 10, lists: [][]int64{{5, 8}, {8, 5}, {9}, {4}},
			want: []recs.FusedHit{
				{ID: 5, Score: rrf(1, 2)}, {ID: 8, Score: rrf(1, 2)}, {ID: 4, Score: rrf(1)}, {ID: 9, Score: rrf(1)},
			},
		},
		{
			name: "k cuts", k: 2, lists: [][]int64{{1, 2, 3}, {3, 2, 4}},
			want: []recs.FusedHit{{ID: 3, Score: rrf(3, 1)}, {ID: 2, Score: rrf(2, 2)}},
		},
		{
			name: "k of zero keeps all", k: 0, lists: [][]int64{{1, 2}},
			want: []recs.FusedHit{{ID: 1, Score: rrf(1)}, {ID: 2, Score: rrf(2)}},
		},
		{
			name: "a repeat within a list counts once, at its best rank", k: 10, lists: [][]int64{{1, 2, 1}, {2}},
			want: []recs.FusedHit{{ID: 2, Score: rrf(2, 1)}, {ID: 1, Score: rrf(1)}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := recs.FuseRanks(tt.k, tt.lists...)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("FuseRanks (-want +got):\n%s", diff)
			}
			if !slices.IsSortedFunc(got, func(a, b recs.FusedHit) int {
				if a.Score != b.Score {
					return -cmpFloat(a.Score, b.Score)
				}
				return int(a.ID - b.ID)
			}) {
				t.Errorf("not best first: %v", got)
			}
		})
	}
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func BenchmarkParseQuery(b *testing.B) {
	queries := []string{
		"I'd like a documentary about the ocean", "find me something like Interstellar",
		"recommend me some good podcasts about the history of ancient Rome please",
		"space", "movies like Star Wars: A New Hope",
	}
	for i := 0; b.Loop(); i++ {
		recs.ParseQuery(queries[i%len(queries)])
	}
}
