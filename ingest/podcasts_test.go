package ingest

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"mediarec"
	"mediarec/internal/datatest"
)

func TestReadPodcastsData(t *testing.T) {
	dir := datatest.Dir(t, datatest.Podcasts)
	recs := MustRead(t, "podcasts", dir)
	ids := make(map[string]bool)
	var errs []Record
	for _, r := range recs {
		if r.Err != nil {
			errs = append(errs, r)
			continue
		}
		if ids[r.Item.ExternalID] {
			t.Errorf("%s listed twice", r.Item.ExternalID)
		}
		ids[r.Item.ExternalID] = true
	}
	// Every one of the 4,560 entries has its own Apple id, so none merge;
	// the 50 entries the scrape recorded as "NA" have no title and fail.
	if len(ids) != 4510 || len(errs) != 50 {
		t.Errorf("got %d podcasts and %d errors, want 4510 and 50", len(ids), len(errs))
	}
	if len(errs) > 0 && (errs[0].Line != 60 || !strings.Contains(errs[0].Err.Error(), "title")) {
		t.Errorf("first error at %d: %v, want line 60 about the title", errs[0].Line, errs[0].Err)
	}
	want := &mediarec.Item{
		ExternalID: "apple:1352800687", Type: mediarec.TypePodcast,
		Title:       "History Hyenas with Chris Distefano and Yannis Pappas",
		Description: recs[0].Item.Description,
		Genres:      []string{"Comedy"}, Creators: []string{"RiotCast Network"},
		Popularity: 1300, // num_reviews
	}
	if diff := cmp.Diff(want, recs[0].Item, ignoreServerFields); diff != "" {
		t.Errorf("first podcast mismatch (-want +got):\n%s", diff)
	}
}

func TestReadPodcastsFixture(t *testing.T) {
	tests := []struct {
		name      string
		json      string
		want      []result
		wantItems []*mediarec.Item
		wantErr   string
	}{
		{
			name: "duplicates merge, bad entries fail",
			json: `[
				{"title": "Show A", "producer": "Prod", "genre": "Comedy", "description": "About A.", "num_episodes": 3,
				 "num_reviews": 120, "link": "https://podcasts.apple.com/us/podcast/show-a/id111"},
				{"title": "NA", "producer": "NA", "genre": "NA", "description": "NA", "num_episodes": "NA",
				 "link": "https://podcasts.apple.com/us/podcast/gone/id222"},
				{"title": "Show A", "producer": "Prod", "genre": "History", "description": "About A.",
				 "num_reviews": 125, "link": "https://podcasts.apple.com/us/podcast/show-a/id111"},
				{"title": "Show B", "producer": "P", "genre": "Music", "link": "https://podcasts.apple.com/us/podcast/show-b"},
				{"title": 5, "link": "/id333"},
				{"title": " Show  C ", "producer": "NA", "genre": "NA", "description": "", "num_reviews": "NA", "link": "/id444"},
				{"title": "Show D", "num_reviews": -2, "link": "/id555"},
				{"title": "Show E", "num_reviews": 1.5, "link": "/id666"}
			]`,
			want: []result{
				{File: "podcasts_info.json", Line: 1, Item: "Show A"},
				{File: "podcasts_info.json", Line: 2, Err: `title: missing (the scrape recorded "NA")`},
				{File: "podcasts_info.json", Line: 4, Err: `link: "https://podcasts.apple.com/us/podcast/show-b" has no Apple podcast id`},
				{File: "podcasts_info.json", Line: 5, Err: "not a podcast object: json: cannot unmarshal number into Go struct field .title of type string"},
				{File: "podcasts_info.json", Line: 6, Item: "Show C"},
				{File: "podcasts_info.json", Line: 7, Err: "num_reviews: -2 is not a count"},
				{File: "podcasts_info.json", Line: 8, Err: "num_reviews: 1.5 is not a count"},
			},
			wantItems: []*mediarec.Item{
				{
					ExternalID: "apple:111", Type: mediarec.TypePodcast, Title: "Show A", Description: "About A.",
					Genres: []string{"Comedy", "History"}, Creators: []string{"Prod"},
					Popularity: 125, // the larger count of the two listings
				},
				{ExternalID: "apple:444", Type: mediarec.TypePodcast, Title: "Show C"},
			},
		},
		{name: "empty array", json: "[]", want: []result{}},
		{name: "not an array", json: `{"title": "x"}`, wantErr: "want a JSON array"},
		{name: "truncated", json: `[{"title": "x", "link": "/id1"}, {"title": `, wantErr: "podcast 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := MustWriteFiles(t, map[string]string{"podcasts_info.json": tt.json})
			var recs []Record
			err := Read("podcasts", []string{dir}, func(r Record) error {
				recs = append(recs, r)
				return nil
			})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Read() error = %v, want %q", err, tt.wantErr)
				}
				return
			} else if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, results(recs)); diff != "" {
				t.Fatalf("records mismatch (-want +got):\n%s", diff)
			}
			var gotItems []*mediarec.Item
			for _, r := range recs {
				if r.Item != nil {
					gotItems = append(gotItems, r.Item)
				}
			}
			if diff := cmp.Diff(tt.wantItems, gotItems, ignoreServerFields, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("items mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
