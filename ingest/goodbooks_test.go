package ingest

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"mediarec"
	"mediarec/internal/datatest"
)

func TestReadGoodbooksData(t *testing.T) {
	dir := datatest.Dir(t, datatest.Goodbooks)
	recs := MustRead(t, "goodbooks", dir)
	// Shelves that say nothing about the book; none may survive as a tag.
	noise := []string{
		"to-read", "currently-reading", "favorites", "favourites", "owned", "books-i-own",
		"owned-books", "kindle", "ebook", "ebooks", "library", "default", "my-books", "wish-list",
		"to-buy", "audiobook", "2015-reads", "read-in-2016", "5-stars", "dnf", "re-read",
		"book-club", "my-library", "i-own", "tbr",
	}
	ids := make(map[string]bool)
	withGenres, withImages := 0, 0
	for _, r := range recs {
		if r.Err != nil {
			t.Fatalf("%s:%d: %v", r.Source, r.Line, r.Err)
		}
		ids[r.Item.ExternalID] = true
		if len(r.Item.Tags) == 0 || len(r.Item.Tags) > maxTags {
			t.Errorf("%s (%s): %d tags", r.Item.Title, r.Item.ExternalID, len(r.Item.Tags))
		}
		for _, tag := range r.Item.Tags {
			for _, n := range noise {
				if tag == n {
					t.Errorf("%s (%s): shelf noise %q in tags", r.Item.Title, r.Item.ExternalID, tag)
				}
			}
		}
		if len(r.Item.Genres) > 0 {
			withGenres++
		}
		if strings.Contains(r.Item.ImageURL, "nophoto") {
			t.Errorf("%s (%s): placeholder cover %s", r.Item.Title, r.Item.ExternalID, r.Item.ImageURL)
		} else if r.Item.ImageURL != "" {
			withImages++
		}
	}
	if len(recs) != 10000 || len(ids) != 10000 {
		t.Errorf("got %d records, %d distinct ids, want 10000", len(recs), len(ids))
	}
	if withGenres < 9000 {
		t.Errorf("only %d of %d books have a genre", withGenres, len(recs))
	}
	// About a third of the books show Goodreads' "nophoto" placeholder,
	// which is no cover.
	if withImages < 6000 || withImages > 7000 {
		t.Errorf("%d of %d books have a cover, want about two thirds", withImages, len(recs))
	}

	want := &mediarec.Item{
		ExternalID: "goodreads:2767052", Type: mediarec.TypeBook,
		Title: "The Hunger Games (The Hunger Games, #1)", Creators: []string{"Suzanne Collins"},
		Year: 2008, Language: "en",
		Tags: []string{"young-adult", "dystopian", "science-fiction", "fiction", "fantasy", "romance", "adventure",
			"hunger-games", "teen", "post-apocalyptic", "the-hunger-games", "action", "survival", "thriller", "futuristic"},
		Genres:     []string{"Young Adult", "Dystopian", "Sci-Fi", "Fantasy"},
		Popularity: 4780653, // ratings_count
		ImageURL:   "https://images.gr-assets.com/books/1447303603m/2767052.jpg",
	}
	if diff := cmp.Diff(want, recs[0].Item, ignoreServerFields); diff != "" {
		t.Errorf("first book mismatch (-want +got):\n%s", diff)
	}
}

func TestReadGoodbooksFixture(t *testing.T) {
	dir := MustWriteFiles(t, map[string]string{
		"books.csv": "book_id,goodreads_book_id,authors,original_publication_year,title,language_code,ratings_count,image_url\n" +
			"1,100,Suzanne Collins,2008.0,\"The Hunger Games (The Hunger Games, #1)\",eng,4780653,https://images.gr-assets.com/books/1447303603m/2767052.jpg\n" +
			"2,200,\"Homer,  Robert   Fagles\",-720.0,The Odyssey,en-US,670326,https://s.gr-assets.com/assets/nophoto/book/111x148-bcc042a9c91a29c1d680899eff700a03.png\n" +
			"3,300,Nobody,20x8,Bad Year,eng,1,\n" +
			"4,abc,X,,Bad Id,eng,1,\n" +
			"5,500,Anon,,No Tags,,,javascript:alert(1)\n" +
			"6,600,Anon,,Minus,,-3,\n",
		// Both tag files come with CRLF line ends, as upstream.
		"tags.csv": strings.ReplaceAll("tag_id,tag_name\n0,to-read\n1,fantasy\n2,young-adult\n"+
			"3,suzanne-collins\n4,5-stars\n5,dystopia\n6,classics\n7,homer\n8,favorites\n"+
			"9,Sci-Fi\n10,science-fiction\n11,collins-suzanne\n12,romance\n13,poetry\n", "\n", "\r\n"),
		"book_tags.csv": strings.ReplaceAll("goodreads_book_id,tag_id,count\n"+
			"100,0,5000\n100,1,50\n100,2,80\n100,3,70\n100,4,60\n"+
			"100,5,10\n100,5,30\n"+ // a repeated pair: the larger count wins
			"100,9,25\n100,10,20\n"+ // synonyms: their counts add up
			"100,11,65\n100,12,5\n"+
			"100,8,-1\n200,6,40\n200,7,90\n200,1,-1\n200,13,1\n"+
			"100,99,5\n"+ // unknown tag
			"200,6,many\n", "\n", "\r\n"),
	})
	recs := MustRead(t, "goodbooks", dir)
	want := []result{
		{File: "book_tags.csv", Line: 18, Err: "tag_id: unknown tag 99"},
		{File: "book_tags.csv", Line: 19, Err: `count: "many" is not a number`},
		{File: "books.csv", Line: 2, Item: "The Hunger Games (The Hunger Games, #1)"},
		{File: "books.csv", Line: 3, Item: "The Odyssey"},
		{File: "books.csv", Line: 4, Err: `original_publication_year: "20x8" is not a year`},
		{File: "books.csv", Line: 5, Err: `goodreads_book_id: "abc" is not a book id`},
		{File: "books.csv", Line: 6, Item: "No Tags"},
		{File: "books.csv", Line: 7, Err: `ratings_count: "-3" is not a count`},
	}
	if diff := cmp.Diff(want, results(recs)); diff != "" {
		t.Fatalf("records mismatch (-want +got):\n%s", diff)
	}
	wantItems := []*mediarec.Item{
		{
			// The author's shelves are left out, in either order of the name;
			// romance passes the share a genre needs, but four genres is the most.
			ExternalID: "goodreads:100", Type: mediarec.TypeBook, Title: "The Hunger Games (The Hunger Games, #1)",
			Creators: []string{"Suzanne Collins"}, Year: 2008, Language: "en",
			Tags:       []string{"young-adult", "fantasy", "science-fiction", "dystopian", "romance"},
			Genres:     []string{"Young Adult", "Fantasy", "Sci-Fi", "Dystopian"},
			Popularity: 4780653,
			ImageURL:   "https://images.gr-assets.com/books/1447303603m/2767052.jpg",
		},
		{
			// poetry has fewer than 1/20 of the classics shelvers: a tag, not a genre.
			// The "nophoto" placeholder is no cover.
			ExternalID: "goodreads:200", Type: mediarec.TypeBook, Title: "The Odyssey",
			Creators: []string{"Homer", "Robert Fagles"}, Year: -720, Language: "en-US",
			Tags: []string{"classics", "poetry"}, Genres: []string{"Classics"}, Popularity: 670326,
		},
		// Only an http(s) address is a cover.
		{ExternalID: "goodreads:500", Type: mediarec.TypeBook, Title: "No Tags", Creators: []string{"Anon"}},
	}
	gotItems := []*mediarec.Item{recs[2].Item, recs[3].Item, recs[6].Item}
	if diff := cmp.Diff(wantItems, gotItems, ignoreServerFields, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("items mismatch (-want +got):\n%s", diff)
	}
}

func TestShelfNoise(t *testing.T) {
	tests := []struct {
		name  string
		shelf string
		want  bool
	}{
		{name: "to-read", shelf: "to-read", want: true},
		{name: "currently reading", shelf: "currently-reading", want: true},
		{name: "favourites", shelf: "all-time-favourites", want: true},
		{name: "ownership", shelf: "owned-books", want: true},
		{name: "ownership prefix", shelf: "i-own", want: true},
		{name: "format", shelf: "e-books", want: true},
		{name: "audio", shelf: "audio-books", want: true},
		{name: "library", shelf: "library-books", want: true},
		{name: "my shelf", shelf: "my-books", want: true},
		{name: "year", shelf: "2015-reads", want: true},
		{name: "read in year", shelf: "read-in-2014", want: true},
		{name: "stars", shelf: "5-stars", want: true},
		{name: "spelled stars", shelf: "four-star", want: true},
		{name: "did not finish", shelf: "did-not-finish", want: true},
		{name: "book club", shelf: "book-club-books", want: true},
		{name: "no letters", shelf: "--1-", want: true},
		{name: "stoplist", shelf: "default", want: true},
		{name: "audience", shelf: "adult", want: true},
		{name: "mixed genres", shelf: "sci-fi-fantasy", want: true},
		{name: "noise word", shelf: "never-finished", want: true},
		{name: "reading list", shelf: "rory-gilmore-challenge", want: true},
		{name: "number", shelf: "top-100", want: true},
		{name: "accented duplicate", shelf: "clàssics", want: true},
		{name: "translation", shelf: "фэнтези", want: true},
		{name: "genre", shelf: "historical-fiction", want: false},
		{name: "star wars is not a rating", shelf: "star-wars", want: false},
		{name: "book in a title", shelf: "the-book-thief", want: false},
		{name: "my inside a word", shelf: "academy-awards", want: false},
		{name: "own inside a word", shelf: "small-town", want: false},
		{name: "century", shelf: "19th-century", want: false},
		{name: "read inside a word", shelf: "thread", want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := isShelfNoise(tt.shelf); got != tt.want {
				t.Errorf("isShelfNoise(%q) = %v, want %v", tt.shelf, got, tt.want)
			}
		})
	}
}

func TestShelfName(t *testing.T) {
	tests := []struct {
		name  string
		shelf string
		want  string
	}{
		{name: "lowercased", shelf: "Fantasy", want: "fantasy"},
		{name: "synonym", shelf: "sci-fi", want: "science-fiction"},
		{name: "underscore", shelf: "graphic_novel", want: "graphic-novels"},
		{name: "numbered synonym", shelf: "world-war-2", want: "wwii"},
		{name: "noise", shelf: "to-read", want: ""},
		{name: "too long", shelf: strings.Repeat("a", maxListValue+1), want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := shelfName(tt.shelf); got != tt.want {
				t.Errorf("shelfName(%q) = %q, want %q", tt.shelf, got, tt.want)
			}
		})
	}
}

func TestAuthorShelves(t *testing.T) {
	authors := authorShelves([]string{"Stephen King", "Ursula K. Le Guin", "J.R.R. Tolkien", "Kurt Vonnegut Jr."})
	tests := []struct {
		shelf string
		want  bool
	}{
		{"stephen-king", true}, {"king", true}, {"king-stephen", true}, {"le-guin", true},
		{"tolkien", true}, {"j-r-r-tolkien", true}, {"kurt-vonnegut-jr", true}, {"vonnegut", true},
		{"horror", false}, {"kingdom", false}, {"stephen", false},
	}
	for _, tt := range tests {
		t.Run(tt.shelf, func(t *testing.T) {
			if got := authors.match(tt.shelf); got != tt.want {
				t.Errorf("match(%q) = %v, want %v", tt.shelf, got, tt.want)
			}
		})
	}
}
