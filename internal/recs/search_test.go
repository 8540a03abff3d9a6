package recs_test

import (
	"context"
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"

	"mediarec"
	"mediarec/internal/embed"
	"mediarec/internal/recs"
)

// aboutSpace matches the tags of the demo's documentaries about space and
// the universe (For All Mankind, From the Earth to the Moon, Cosmos, A
// Brief History of Time); titles are left out, since The Forgotten Space
// is about container shipping.
var aboutSpace = regexp.MustCompile(`(?i)\b(space|spaceflight|astronom|astronaut|nasa|apollo|moon|cosmolog|universe|black hole|planet)`)

// demoSearch is search over the demo catalog.
func demoSearch(t *testing.T) (*recs.Service, *demoWorld) {
	t.Helper()
	w, err := loadDemo()
	if err != nil {
		t.Fatal(err)
	}
	return recs.New(w, w.vectors, w, w.keywords), w
}

func TestSearchLikeATitleButAnotherType(t *testing.T) {
	svc, w := demoSearch(t)
	res, err := svc.Search(context.Background(), recs.SearchQuery{Text: "find me something like Interstellar but a documentary", Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	interstellar := w.id(t, "movie:Interstellar")
	if p := res.Parsed; !slices.Equal(p.Types, []mediarec.ItemType{mediarec.TypeDocumentary}) || p.Title == nil || p.Title.ItemID != interstellar || !p.Title.Like {
		t.Fatalf("parsed %+v, title %+v; want documentaries like Interstellar", p, p.Title)
	}
	space := 0
	for i, it := range res.Items {
		if it.Item.Type != mediarec.TypeDocumentary {
			t.Errorf("result %d: %s %q, want documentaries only", i+1, it.Item.Type, it.Item.Title)
		}
		about := aboutSpace.MatchString(strings.Join(it.Item.Tags, " "))
		if i < 2 && !about {
			t.Errorf("result %d: %q (tags %v), want a documentary about space first", i+1, it.Item.Title, it.Item.Tags)
		}
		if about {
			space++
		}
	}
	if space < 3 {
		t.Errorf("%d documentaries about space in the first ten, want 3 or more: %v", space, foundTitles(res.Items))
	}
}

func TestSearchFilters(t *testing.T) {
	svc, _ := demoSearch(t)
	ctx := context.Background()
	tests := []struct {
		name  string
		q     string
		check func(it *mediarec.Item) bool
	}{
		{"decade and genres", "a romantic comedy from the 90s", func(it *mediarec.Item) bool {
			return it.Year >= 1990 && it.Year <= 1999 && slices.Contains(it.Genres, "Romance") && slices.Contains(it.Genres, "Comedy")
		}},
		{"before a year, a misspelt type", "horror moveis before 1980", func(it *mediarec.Item) bool {
			return it.Type == mediarec.TypeMovie && it.Year > 0 && it.Year < 1980 && slices.Contains(it.Genres, "Horror")
		}},
		{"like a title, of a decade", "books like The Hunger Games from the 2000s", func(it *mediarec.Item) bool {
			return it.Type == mediarec.TypeBook && it.Year >= 2000 && it.Year <= 2009 && it.Title != "The Hunger Games (The Hunger Games, #1)"
		}},
		{"a genre that documentaries use", "comedy documentries", func(it *mediarec.Item) bool {
			return it.Type == mediarec.TypeDocumentary && slices.Contains(it.Genres, "Comedy")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := svc.Search(ctx, recs.SearchQuery{Text: tt.q, Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Items) != 10 {
				t.Errorf("%d results, want 10", len(res.Items))
			}
			for i, it := range res.Items {
				if !tt.check(it.Item) {
					t.Errorf("result %d: %s %q (%d) %v passes no filter", i+1, it.Item.Type, it.Item.Title, it.Item.Year, it.Item.Genres)
				}
			}
		})
	}
}

func TestSearchNamedTitle(t *testing.T) {
	svc, w := demoSearch(t)
	ctx := context.Background()
	tests := []struct {
		q, want string // want: type:title of the first result
	}{
		{q: "the godfather", want: "movie:The Godfather"},
		{q: "the godfather book", want: "book:The Godfather"},
		{q: "Crime and Punishment", want: "book:Crime and Punishment"},
		{q: "the hitchhiker's guide", want: "movie:The Hitchhiker's Guide to the Galaxy"}, // not the series' second book
	}
	for _, tt := range tests {
		t.Run(tt.q, func(t *testing.T) {
			res, err := svc.Search(ctx, recs.SearchQuery{Text: tt.q, Limit: 5})
			if err != nil {
				t.Fatal(err)
			}
			want := w.id(t, tt.want)
			if res.Parsed.Title == nil || res.Parsed.Title.ItemID != want || res.Parsed.Title.Like {
				t.Errorf("parsed title %+v, want item %d", res.Parsed.Title, want)
			}
			if len(res.Items) == 0 || res.Items[0].Item.ID != want {
				t.Errorf("first results %v, want %s", foundTitles(res.Items), tt.want)
			}
			if len(res.Parsed.Genres) > 0 {
				t.Errorf("genres %v: a title's words are no genre", res.Parsed.Genres)
			}
		})
	}
}

// TestSearchLikeTheWellKnownOne: a title several items share, exactly or
// by its start, names the one people know: "the lord of the rings" is the
// trilogy's first film (198 ratings), not the 1978 cartoon of that exact
// title (15).
func TestSearchLikeTheWellKnownOne(t *testing.T) {
	svc, w := demoSearch(t)
	res, err := svc.Search(context.Background(), recs.SearchQuery{Text: "like the lord of the rings but a book", Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	want := w.id(t, "movie:The Lord of the Rings: The Fellowship of the Ring")
	if res.Parsed.Title == nil || res.Parsed.Title.ItemID != want || !res.Parsed.Title.Like {
		t.Fatalf("parsed title %+v, want item %d, liked", res.Parsed.Title, want)
	}
	fantasy := 0
	for _, it := range res.Items[:min(5, len(res.Items))] {
		if it.Item.Type == mediarec.TypeBook && slices.Contains(it.Item.Genres, "Fantasy") {
			fantasy++
		}
	}
	if fantasy < 4 {
		t.Errorf("%d fantasy books in the first five, want 4 or more: %v", fantasy, foundTitles(res.Items))
	}
}

// TestParsedJSON pins the additive fields of the search answer's parsed.
func TestParsedJSON(t *testing.T) {
	p := recs.Parsed{
		Types: []mediarec.ItemType{mediarec.TypeDocumentary}, Text: "Interstellar",
		Title:    &recs.ParsedTitle{ItemID: 7, Title: "Interstellar", Like: true},
		YearFrom: 1990, YearTo: 1999, Genres: []string{"Sci-Fi"},
	}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"types":["documentary"],"text":"Interstellar","title":{"item_id":7,"title":"Interstellar","like":true},"year_from":1990,"year_to":1999,"genres":["Sci-Fi"]}`
	if string(b) != want {
		t.Errorf("got %s\nwant %s", b, want)
	}
	b, _ = json.Marshal(recs.Parsed{Types: []mediarec.ItemType{}, Text: "space"})
	if want := `{"types":[],"text":"space"}`; string(b) != want {
		t.Errorf("got %s, want %s: the filters are left out when absent", b, want)
	}
}

func foundTitles(items []recs.ScoredItem) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.Item.Title
	}
	return out
}

// TestSearchIgnore: a user removes a filter the service read into their
// words, and the search runs again without it.
func TestSearchIgnore(t *testing.T) {
	svc, _ := demoSearch(t)
	ctx := context.Background()
	tests := []struct {
		q      string
		ignore []string
		check  func(t *testing.T, res *recs.SearchResult)
	}{
		{"a podcast about history", []string{"types"}, func(t *testing.T, res *recs.SearchResult) {
			if len(res.Parsed.Types) > 0 {
				t.Errorf("parsed types %v, want none", res.Parsed.Types)
			}
			if !slices.ContainsFunc(res.Items, func(it recs.ScoredItem) bool { return it.Item.Type != mediarec.TypePodcast }) {
				t.Errorf("only podcasts without the type filter: %v", foundTitles(res.Items))
			}
		}},
		{"a romantic comedy from the 90s", []string{"years"}, func(t *testing.T, res *recs.SearchResult) {
			if res.Parsed.YearFrom != 0 || res.Parsed.YearTo != 0 {
				t.Errorf("parsed years %d–%d, want none", res.Parsed.YearFrom, res.Parsed.YearTo)
			}
			if !slices.ContainsFunc(res.Items, func(it recs.ScoredItem) bool { return it.Item.Year < 1990 || it.Item.Year > 1999 }) {
				t.Errorf("only 90s items without the years: %v", foundTitles(res.Items))
			}
		}},
		{"horror movies", []string{"genres"}, func(t *testing.T, res *recs.SearchResult) {
			if len(res.Parsed.Genres) > 0 {
				t.Errorf("parsed genres %v, want none", res.Parsed.Genres)
			}
		}},
		{"something like Interstellar", []string{"title"}, func(t *testing.T, res *recs.SearchResult) {
			if res.Parsed.Title != nil {
				t.Errorf("parsed title %+v, want none", res.Parsed.Title)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.q, func(t *testing.T) {
			res, err := svc.Search(ctx, recs.SearchQuery{Text: tt.q, Limit: 10, Ignore: tt.ignore})
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, res)
		})
	}
	_, err := svc.Search(ctx, recs.SearchQuery{Text: "films", Limit: 10, Ignore: []string{"everything"}})
	if mediarec.ErrorCode(err) != mediarec.EINVALID {
		t.Errorf("ignore=everything: %v, want EINVALID", err)
	}
}

// downEmbedder is the live model with its endpoint down.
type downEmbedder struct{ embed.Embedder }

func (downEmbedder) Embed(context.Context, []string) ([][]float32, error) {
	return nil, &embed.EndpointError{Err: mediarec.Errorf(mediarec.EUNAVAILABLE, "The embedding endpoint is unavailable.")}
}

// downLive serves the demo with its query embedder down.
type downLive struct{ *demoWorld }

func (l downLive) Live(ctx context.Context) (embed.Embedder, string, error) {
	e, coll, err := l.demoWorld.Live(ctx)
	return downEmbedder{e}, coll, err
}

// While the embedding endpoint is down, a search answers by its words.
func TestSearchByWordsWhileTheEmbedderIsDown(t *testing.T) {
	_, w := demoSearch(t)
	svc := recs.New(downLive{w}, w.vectors, w, w.keywords)
	res, err := svc.Search(context.Background(), recs.SearchQuery{Text: "interstellar", Limit: 5})
	if err != nil {
		t.Fatalf("search with the embedder down: %v", err)
	}
	if len(res.Items) == 0 || res.Items[0].Item.ID != w.id(t, "movie:Interstellar") {
		t.Fatalf("results %v, want Interstellar first", foundTitles(res.Items))
	}
}
