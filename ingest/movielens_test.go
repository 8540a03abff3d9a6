package ingest

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"mediarec"
	"mediarec/internal/datatest"
)

// ignoreServerFields leaves out the fields only the server sets.
var ignoreServerFields = cmpopts.IgnoreFields(mediarec.Item{}, "ID", "EmbeddingStatus", "CreatedAt", "UpdatedAt")

func TestReadMovieLensData(t *testing.T) {
	dir := datatest.Dir(t, datatest.MovieLens)
	recs := MustRead(t, "movielens", dir)
	byID := make(map[string]*mediarec.Item)
	docs := 0
	for _, r := range recs {
		if r.Err != nil {
			t.Fatalf("%s:%d: %v", r.Source, r.Line, r.Err)
		}
		byID[r.Item.ExternalID] = r.Item
		if r.Item.Type == mediarec.TypeDocumentary {
			docs++
		}
	}
	if len(recs) != 9742 || len(byID) != 9742 {
		t.Errorf("got %d records, %d distinct ids, want 9742", len(recs), len(byID))
	}
	if docs != 440 {
		t.Errorf("got %d documentaries, want 440", docs)
	}

	tests := []struct {
		name string
		want *mediarec.Item
	}{
		{
			name: "article moved to the front, tags ranked",
			want: &mediarec.Item{
				ExternalID: "movielens:2571", Type: mediarec.TypeMovie, Title: "The Matrix", Year: 1999,
				Genres: []string{"Action", "Sci-Fi", "Thriller"},
				Tags:   []string{"alternate universe", "martial arts", "philosophy", "post apocalyptic", "sci-fi"},
				// ratings.csv has 278 rows of movie 2571.
				Popularity: 278,
			},
		},
		{
			name: "article fixed in the alternate title too",
			want: &mediarec.Item{
				ExternalID: "movielens:29", Type: mediarec.TypeMovie,
				Title: "The City of Lost Children (La Cité des enfants perdus)", Year: 1995,
				Genres:     []string{"Adventure", "Drama", "Fantasy", "Mystery", "Sci-Fi"},
				Tags:       []string{"kidnapping"},
				Popularity: 38,
			},
		},
		{
			name: "documentary",
			want: &mediarec.Item{
				ExternalID: "movielens:5643", Type: mediarec.TypeDocumentary, Title: "Powaqqatsi", Year: 1988,
				Genres: []string{"Documentary"}, Popularity: 3,
			},
		},
		{
			name: "year range, no genres",
			want: &mediarec.Item{
				ExternalID: "movielens:171749", Type: mediarec.TypeMovie, Title: "Death Note: Desu nôto", Year: 2006,
				Popularity: 1,
			},
		},
		{
			name: "no year",
			want: &mediarec.Item{
				ExternalID: "movielens:40697", Type: mediarec.TypeMovie, Title: "Babylon 5",
				Genres: []string{"Sci-Fi"}, Popularity: 2,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := byID[tt.want.ExternalID]
			if diff := cmp.Diff(tt.want, got, ignoreServerFields, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("item mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReadMovieLensBadRows(t *testing.T) {
	dir := MustWriteFiles(t, map[string]string{
		"movies.csv": "movieId,title,genres\n" +
			"1,Toy Story (1995),Adventure|Children\n" +
			"x,Bad Id (1995),Drama\n" +
			"3,\"Broken \"quote\" (1995)\",Drama\n" +
			"4,\"Multi\nline, The (2001)\",Drama\n" +
			"5,,Drama\n" +
			"6,Last (2002),(no genres listed)\n",
		"tags.csv": "userId,movieId,tag,timestamp\n" +
			"1,1,Pixar,1\n" +
			"2,1,pixar ,2\n" +
			"2,1,in netflix queue,2\n" +
			"3,oops,fun,3\n" +
			"3,1,fun,3\n",
		"ratings.csv": "userId,movieId,rating,timestamp\n" +
			"1,1,4.0,1\n" +
			"2,1,3.5,2\n" +
			"2,6,5.0,2\n" +
			"3,zero,1.0,3\n" +
			"3,1,2.0,3\n",
	})
	recs := MustRead(t, "movielens", dir)
	want := []result{
		{File: "tags.csv", Line: 5, Err: `movieId: "oops" is not a movie id`},
		{File: "ratings.csv", Line: 5, Err: `movieId: "zero" is not a movie id`},
		{File: "movies.csv", Line: 2, Item: "Toy Story"},
		{File: "movies.csv", Line: 3, Err: `movieId: "x" is not a movie id`},
		{File: "movies.csv", Line: 4, Err: `malformed CSV: extraneous or missing " in quoted-field`},
		{File: "movies.csv", Line: 5, Item: "The Multi line"},
		{File: "movies.csv", Line: 7, Err: "title: empty"},
		{File: "movies.csv", Line: 8, Item: "Last"},
	}
	if diff := cmp.Diff(want, results(recs)); diff != "" {
		t.Errorf("records mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"pixar", "fun"}, recs[2].Item.Tags); diff != "" {
		t.Errorf("tags mismatch (-want +got):\n%s", diff)
	}
	// Each rating counts once per movie; a movie nobody rated counts 0.
	for _, tt := range []struct {
		rec  int
		want int64
	}{{2, 3}, {5, 0}, {7, 1}} {
		if got := recs[tt.rec].Item.Popularity; got != tt.want {
			t.Errorf("%s: popularity %d, want %d", recs[tt.rec].Item.Title, got, tt.want)
		}
	}
}

func TestMovieLensTitle(t *testing.T) {
	tests := []struct {
		name      string
		in        string
		wantTitle string
		wantYear  int
	}{
		{name: "plain", in: "Toy Story (1995)", wantTitle: "Toy Story", wantYear: 1995},
		{name: "The", in: "Matrix, The (1999)", wantTitle: "The Matrix", wantYear: 1999},
		{name: "A", in: "Walk in the Clouds, A (1995)", wantTitle: "A Walk in the Clouds", wantYear: 1995},
		{name: "An", in: "Awfully Big Adventure, An (1995)", wantTitle: "An Awfully Big Adventure", wantYear: 1995},
		{name: "both titles", in: "Postman, The (Postino, Il) (1994)", wantTitle: "The Postman (Il Postino)", wantYear: 1994},
		{name: "elided article", in: "School of Flesh, The (École de la chair, L') (1998)", wantTitle: "The School of Flesh (L'École de la chair)", wantYear: 1998},
		{name: "only alternate", in: "Hate (Haine, La) (1995)", wantTitle: "Hate (La Haine)", wantYear: 1995},
		{name: "aka kept", in: "Seven (a.k.a. Se7en) (1995)", wantTitle: "Seven (a.k.a. Se7en)", wantYear: 1995},
		{name: "aka with article", in: "Macbeth (a.k.a. Tragedy of Macbeth, The) (1971)", wantTitle: "Macbeth (a.k.a. The Tragedy of Macbeth)", wantYear: 1971},
		{name: "aka and alternate", in: "Dream of Light (a.k.a. Quince Tree Sun, The) (Sol del membrillo, El) (1992)",
			wantTitle: "Dream of Light (a.k.a. The Quince Tree Sun) (El Sol del membrillo)", wantYear: 1992},
		{name: "comma not an article", in: "Paris, Texas (1984)", wantTitle: "Paris, Texas", wantYear: 1984},
		{name: "comma inside title", in: "Good, the Bad and the Ugly, The (Buono, il brutto, il cattivo, Il) (1966)",
			wantTitle: "The Good, the Bad and the Ugly (Il Buono, il brutto, il cattivo)", wantYear: 1966},
		{name: "I as a word", in: "Honey, I Shrunk the Kids (1989)", wantTitle: "Honey, I Shrunk the Kids", wantYear: 1989},
		{name: "trailing space", in: "Runaway Brain (1995) ", wantTitle: "Runaway Brain", wantYear: 1995},
		{name: "year range", in: "Death Note: Desu nôto (2006–2007)", wantTitle: "Death Note: Desu nôto", wantYear: 2006},
		{name: "no year", in: "Babylon 5", wantTitle: "Babylon 5"},
		{name: "only a year", in: "(1999)", wantTitle: "(1999)"},
		{name: "unbalanced", in: "Oops) (2000)", wantTitle: "Oops)", wantYear: 2000},
		{name: "empty", in: "", wantTitle: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			title, year := movieLensTitle(tt.in)
			if title != tt.wantTitle || year != tt.wantYear {
				t.Errorf("movieLensTitle(%q) = %q, %d; want %q, %d", tt.in, title, year, tt.wantTitle, tt.wantYear)
			}
		})
	}
}

func FuzzMovieLensTitle(f *testing.F) {
	for _, s := range []string{
		"Matrix, The (1999)", "Postman, The (Postino, Il) (1994)", "Babylon 5", "(1999)",
		"School of Flesh, The (École de la chair, L') (1998)", "((()", ")", ", The", "x, L' (2000–)", "00000\xe5, The(0001)",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		title, year := movieLensTitle(in)
		if year < 0 || year > 9999 {
			t.Errorf("movieLensTitle(%q) year = %d", in, year)
		}
		if title != strings.TrimSpace(title) {
			t.Errorf("movieLensTitle(%q) = %q, not trimmed", in, title)
		}
		if utf8.ValidString(in) && !utf8.ValidString(title) {
			t.Errorf("movieLensTitle(%q) = %q, invalid UTF-8", in, title)
		}
	})
}
