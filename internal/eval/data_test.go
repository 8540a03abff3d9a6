package eval

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"mediarec"
)

// MustWriteFiles writes name → content files into a new temporary
// directory and returns it.
func MustWriteFiles(tb testing.TB, files map[string]string) string {
	tb.Helper()
	dir := tb.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	return dir
}

func TestLoad100k(t *testing.T) {
	flags := func(set ...int) string {
		f := make([]string, 19)
		for i := range f {
			f[i] = "0"
		}
		for _, i := range set {
			f[i] = "1"
		}
		return strings.Join(f, "|")
	}
	dir := MustWriteFiles(t, map[string]string{
		"u.item": "1|Toy Story (1995)|01-Jan-1995||http://us.imdb.com/M/title-exact?Toy%20Story%20(1995)|" + flags(3, 4, 5) + "\n" +
			// Latin-1 "é", and a documentary.
			"7|Caf\xe9 Society (1995)|01-Jan-1995||http://x|" + flags(7) + "\n" +
			"9|Unknown (no year)|||http://x|" + flags(0) + "\n",
		"u.data": "196\t1\t3\t881250949\n" +
			"196\t7\t4\t881250950\n" +
			"22\t7\t5\t881250951\n" +
			"22\t8\t1\t881250952\n", // item 8 is not in u.item
	})
	ds, err := Load(dir, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := []*mediarec.Item{
		{ID: 1, ExternalID: "movielens:1", Type: mediarec.TypeMovie, Title: "Toy Story", Year: 1995, Genres: []string{"Animation", "Children's", "Comedy"}},
		{ID: 7, ExternalID: "movielens:7", Type: mediarec.TypeDocumentary, Title: "Café Society", Year: 1995, Genres: []string{"Documentary"}},
		{ID: 8, Type: mediarec.TypeMovie, Title: "movie 8"},
		{ID: 9, ExternalID: "movielens:9", Type: mediarec.TypeMovie, Title: "Unknown (no year)"},
	}
	if diff := cmp.Diff(want, ds.Items); diff != "" {
		t.Errorf("items (-want +got):\n%s", diff)
	}
	wantRatings := []Rating{
		{User: 196, Item: 0, Value: 3, Time: 881250949},
		{User: 196, Item: 1, Value: 4, Time: 881250950},
		{User: 22, Item: 1, Value: 5, Time: 881250951},
		{User: 22, Item: 2, Value: 1, Time: 881250952},
	}
	if diff := cmp.Diff(wantRatings, ds.Ratings); diff != "" {
		t.Errorf("ratings (-want +got):\n%s", diff)
	}
	if _, err := Load(dir, LoadOptions{TMDB: "tmdb.csv"}); err == nil {
		t.Error("TMDB join on ml-100k: no error, want one (no links.csv)")
	}
}

func TestLoadLatest(t *testing.T) {
	dir := MustWriteFiles(t, map[string]string{
		"movies.csv": "movieId,title,genres\n" +
			"1,Toy Story (1995),Adventure|Animation|Children\n" +
			"2,\"Matrix, The (1999)\",Action|Sci-Fi\n" +
			"3,Nobody Rated This (2001),(no genres listed)\n",
		"ratings.csv": "userId,movieId,rating,timestamp\n" +
			"1,1,4.0,964982703\n" +
			"1,2,2.5,964981247\n" +
			"5,2,5.0,964982224\n",
		"tags.csv": "userId,movieId,tag,timestamp\n" +
			"1,2,Cyberpunk,1\n" +
			"5,2,cyberpunk ,2\n" +
			"5,2,in netflix queue,3\n" +
			"5,2,philosophy,4\n",
		"links.csv": "movieId,imdbId,tmdbId\n1,0114709,862\n2,0133093,603\n3,0000001,\n",
	})
	tmdb := MustWriteFiles(t, map[string]string{
		"tmdb_5000_movies.csv": "budget,genres,id,keywords,original_language,overview,release_date,title\n" +
			"0,[],603,[],en,A hacker learns the truth about reality.,1999-03-30,The Matrix\n" +
			"0,[],999,[],en,Not in MovieLens.,2000-01-01,Other\n",
	})
	ds, err := Load(dir, LoadOptions{TMDB: filepath.Join(tmdb, "tmdb_5000_movies.csv")})
	if err != nil {
		t.Fatal(err)
	}
	if len(ds.Items) != 3 {
		t.Fatalf("%d items, want 3", len(ds.Items))
	}
	matrix := ds.Items[1]
	if matrix.ID != 2 || matrix.Title != "The Matrix" || matrix.Year != 1999 {
		t.Errorf("item 2 = %d %q %d, want 2 \"The Matrix\" 1999", matrix.ID, matrix.Title, matrix.Year)
	}
	// Tags are lowercased and counted together; a viewing-queue tag is not
	// a tag of the movie.
	if want := []string{"cyberpunk", "philosophy"}; !slices.Equal(matrix.Tags, want) {
		t.Errorf("tags %q, want %q", matrix.Tags, want)
	}
	if want := "A hacker learns the truth about reality."; matrix.Description != want {
		t.Errorf("description %q, want %q", matrix.Description, want)
	}
	if ds.Items[0].Description != "" || ds.Items[2].Genres != nil {
		t.Errorf("item 1 description %q, item 3 genres %q: want none", ds.Items[0].Description, ds.Items[2].Genres)
	}
	want := []Rating{
		{User: 1, Item: 0, Value: 4, Time: 964982703},
		{User: 1, Item: 1, Value: 2.5, Time: 964981247},
		{User: 5, Item: 1, Value: 5, Time: 964982224},
	}
	if diff := cmp.Diff(want, ds.Ratings); diff != "" {
		t.Errorf("ratings (-want +got):\n%s", diff)
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
	}{
		{name: "no ratings file", files: map[string]string{"movies.csv": "movieId,title,genres\n"}},
		{name: "bad rating", files: map[string]string{
			"movies.csv":  "movieId,title,genres\n1,A (1999),Drama\n",
			"ratings.csv": "userId,movieId,rating,timestamp\n1,1,four,5\n",
		}},
		{name: "missing column", files: map[string]string{
			"movies.csv":  "movieId,title,genres\n1,A (1999),Drama\n",
			"ratings.csv": "userId,movieId,timestamp\n1,1,5\n",
		}},
		{name: "short u.data line", files: map[string]string{"u.data": "1\t2\t3\n", "u.item": ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Load(MustWriteFiles(t, tt.files), LoadOptions{}); err == nil {
				t.Error("no error")
			}
		})
	}
}
