package ingest

import (
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"mediarec"
	"mediarec/internal/datatest"
)

func TestReadTMDBData(t *testing.T) {
	dir := datatest.Dir(t, datatest.TMDB)
	recs := MustRead(t, "tmdb", dir)
	ids := make(map[string]bool)
	docs := 0
	for _, r := range recs {
		if r.Err != nil {
			t.Fatalf("%s:%d: %v", r.Source, r.Line, r.Err)
		}
		ids[r.Item.ExternalID] = true
		if r.Item.Type == mediarec.TypeDocumentary {
			docs++
		}
		if len(r.Item.Creators) != 0 {
			t.Errorf("%s: creators %q, want none", r.Item.ExternalID, r.Item.Creators)
		}
	}
	if len(recs) != 4803 || len(ids) != 4803 {
		t.Errorf("got %d records, %d distinct ids, want 4803", len(recs), len(ids))
	}
	if docs != 110 {
		t.Errorf("got %d documentaries, want 110", docs)
	}
	got := recs[0].Item
	want := &mediarec.Item{
		ExternalID: "tmdb:19995", Type: mediarec.TypeMovie, Title: "Avatar", Year: 2009, Language: "en",
		Description: got.Description, Tags: got.Tags,
		Genres: []string{"Action", "Adventure", "Fantasy", "Science Fiction"},
	}
	if diff := cmp.Diff(want, got, ignoreServerFields); diff != "" {
		t.Errorf("Avatar mismatch (-want +got):\n%s", diff)
	}
	if len(got.Tags) != 21 || got.Tags[0] != "culture clash" || got.Description == "" {
		t.Errorf("Avatar: tags %q, description %q", got.Tags, got.Description)
	}
}

func TestReadTMDBFixture(t *testing.T) {
	dir := MustWriteFiles(t, map[string]string{
		"tmdb_5000_movies.csv": "budget,genres,id,keywords,original_language,overview,release_date,title\n" +
			`0,"[{""id"": 99, ""name"": ""Documentary""}]",10,"[{""id"": 1, ""name"": ""birds""}, {""id"": 2, ""name"": ""birds""}]",fr,Birds fly.,2001-05-02,Winged Migration` + "\n" +
			"0,not json,11,[],en,x,2001-01-01,Bad Genres\n" +
			"0,[],12,[],en,x,2001/01/01,Bad Date\n" +
			"0,,13,,de,,,Undated\n" +
			"0,[],zz,[],en,x,,Bad Id\n",
	})
	// The file path works as well as the directory.
	recs := MustRead(t, "tmdb", filepath.Join(dir, "tmdb_5000_movies.csv"))
	want := []result{
		{File: "tmdb_5000_movies.csv", Line: 2, Item: "Winged Migration"},
		{File: "tmdb_5000_movies.csv", Line: 3, Err: "genres: not a JSON array of {id, name}: invalid character 'o' in literal null (expecting 'u')"},
		{File: "tmdb_5000_movies.csv", Line: 4, Err: `release_date: "2001/01/01" is not a date (YYYY-MM-DD)`},
		{File: "tmdb_5000_movies.csv", Line: 5, Item: "Undated"},
		{File: "tmdb_5000_movies.csv", Line: 6, Err: `id: "zz" is not a TMDB id`},
	}
	if diff := cmp.Diff(want, results(recs)); diff != "" {
		t.Fatalf("records mismatch (-want +got):\n%s", diff)
	}
	wantItems := []*mediarec.Item{
		{
			ExternalID: "tmdb:10", Type: mediarec.TypeDocumentary, Title: "Winged Migration",
			Description: "Birds fly.", Genres: []string{"Documentary"}, Tags: []string{"birds"},
			Year: 2001, Language: "fr",
		},
		{ExternalID: "tmdb:13", Type: mediarec.TypeMovie, Title: "Undated", Language: "de"},
	}
	gotItems := []*mediarec.Item{recs[0].Item, recs[3].Item}
	if diff := cmp.Diff(wantItems, gotItems, ignoreServerFields, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("items mismatch (-want +got):\n%s", diff)
	}
}
