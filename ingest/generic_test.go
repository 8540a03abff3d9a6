package ingest

import (
	"bytes"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"mediarec"
)

func TestReadJSONL(t *testing.T) {
	dir := MustWriteFiles(t, map[string]string{"items.jsonl": "\xef\xbb\xbf" +
		`{"external_id": "x:1", "type": "book", "title": "Dune", "genres": ["science-fiction"], "year": 1965}` + "\n" +
		"\n" +
		"   \r\n" +
		`{"type": "movie", "title": "Broken"` + "\n" +
		`["not", "an", "object"]` + "\r\n" +
		`{"type": "podcast", "title": "Last", "creators": ["A"]}`, // no final newline
	})
	recs := MustRead(t, "jsonl", filepath.Join(dir, "items.jsonl"))
	want := []result{
		{File: "items.jsonl", Line: 1, Item: "Dune"},
		{File: "items.jsonl", Line: 4, Err: "invalid JSON: unexpected end of JSON input"},
		{File: "items.jsonl", Line: 5, Err: "invalid JSON: json: cannot unmarshal array into Go value of type mediarec.Item"},
		{File: "items.jsonl", Line: 6, Item: "Last"},
	}
	if diff := cmp.Diff(want, results(recs)); diff != "" {
		t.Fatalf("records mismatch (-want +got):\n%s", diff)
	}
	wantItem := &mediarec.Item{ExternalID: "x:1", Type: mediarec.TypeBook, Title: "Dune", Genres: []string{"science-fiction"}, Year: 1965}
	if diff := cmp.Diff(wantItem, recs[0].Item); diff != "" {
		t.Errorf("item mismatch (-want +got):\n%s", diff)
	}
}

func TestMarshalItem(t *testing.T) {
	tests := []struct {
		name string
		item *mediarec.Item
		want string
	}{
		{
			name: "server fields left out, empty lists kept",
			item: &mediarec.Item{ID: 7, ExternalID: "x:1", Type: mediarec.TypeMovie, Title: "Q&A", EmbeddingStatus: mediarec.EmbeddingDone},
			want: `{"external_id":"x:1","type":"movie","title":"Q&A","description":"","genres":[],"tags":[],"creators":[]}`,
		},
		{
			name: "every field",
			item: &mediarec.Item{Type: mediarec.TypeBook, Title: "Dune", Description: "Spice.", Genres: []string{"Sci-Fi"},
				Tags: []string{"desert"}, Creators: []string{"Frank Herbert"}, Year: 1965, Language: "en", Popularity: 950000,
				ImageURL: "https://example.com/dune.jpg?w=1&h=2"},
			want: `{"type":"book","title":"Dune","description":"Spice.","genres":["Sci-Fi"],"tags":["desert"],"creators":["Frank Herbert"],"year":1965,"language":"en","popularity":950000,"image_url":"https://example.com/dune.jpg?w=1&h=2"}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := MarshalItem(tt.item)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("MarshalItem = %s\nwant           %s", got, tt.want)
			}
		})
	}
}

func TestReadCSV(t *testing.T) {
	tests := []struct {
		name      string
		csv       string
		want      []result
		wantItems []*mediarec.Item
		wantErr   string
	}{
		{
			name: "rows",
			csv: "\xef\xbb\xbfTitle,type,year,genres,creators,external_id,rating,tags,language,description,popularity,image_url\n" +
				"Dune,book,1965,science-fiction| classics ||,Frank Herbert,x:1,5,desert|spice,en,\"Sand, worms.\",950000,https://example.com/dune.jpg\n" +
				"Bad Year,movie,nineteen,,,,,,,,\n" +
				"\"Broken \"quote,movie,,,,,,,,,\n" +
				"Short Row,Podcast\n" +
				"Bad Count,movie,,,,,,,,,many\n",
			want: []result{
				{File: "items.csv", Line: 2, Item: "Dune"},
				{File: "items.csv", Line: 3, Err: `year: "nineteen" is not a whole number`},
				{File: "items.csv", Line: 4, Err: `malformed CSV: extraneous or missing " in quoted-field`},
				{File: "items.csv", Line: 5, Item: "Short Row"},
				{File: "items.csv", Line: 6, Err: `popularity: "many" is not a whole number`},
			},
			wantItems: []*mediarec.Item{
				{
					ExternalID: "x:1", Type: mediarec.TypeBook, Title: "Dune", Description: "Sand, worms.",
					Genres: []string{"science-fiction", "classics"}, Tags: []string{"desert", "spice"},
					Creators: []string{"Frank Herbert"}, Year: 1965, Language: "en", Popularity: 950000,
					ImageURL: "https://example.com/dune.jpg",
				},
				{Type: mediarec.TypePodcast, Title: "Short Row"},
			},
		},
		{name: "missing title column", csv: "name,type\nDune,book\n", wantErr: `missing column "title"`},
		{name: "missing type column", csv: "title\nDune\n", wantErr: `missing column "type"`},
		{name: "empty file", csv: "", wantErr: "empty file"},
		{name: "header only", csv: "title,type\n", want: []result{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := MustWriteFiles(t, map[string]string{"items.csv": tt.csv})
			var recs []Record
			err := Read("csv", []string{filepath.Join(dir, "items.csv")}, func(r Record) error {
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
			if diff := cmp.Diff(tt.wantItems, gotItems, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("items mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReadStopsOnCallbackError(t *testing.T) {
	dir := MustWriteFiles(t, map[string]string{"a.jsonl": "{\"title\": \"1\"}\n{\"title\": \"2\"}\n"})
	stop := errors.New("stop")
	calls := 0
	err := Read("jsonl", []string{filepath.Join(dir, "a.jsonl"), filepath.Join(dir, "a.jsonl")}, func(Record) error {
		calls++
		return stop
	})
	if !errors.Is(err, stop) || calls != 1 {
		t.Errorf("Read() = %v after %d calls, want the callback's error after 1", err, calls)
	}
}

// checkRecords holds for any input: each record is an item or an error, and
// lines only move forward.
func checkRecords(t *testing.T, recs []Record) {
	t.Helper()
	last := 0
	for _, r := range recs {
		if (r.Item == nil) == (r.Err == nil) {
			t.Fatalf("line %d: want exactly one of Item and Err, got %+v", r.Line, r)
		}
		if r.Line < 1 || r.Line < last {
			t.Fatalf("line %d after line %d", r.Line, last)
		}
		last = r.Line
	}
}

func FuzzJSONL(f *testing.F) {
	f.Add([]byte(`{"type": "book", "title": "Dune", "genres": ["sf"], "year": 1965}` + "\n\n{bad\n"))
	f.Add([]byte("\xef\xbb\xbf[]\r\nnull\n\"x\"\n{\"year\": \"1965\"}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var recs []Record
		err := decodeJSONL("fuzz.jsonl", bytes.NewReader(data), func(r Record) error {
			recs = append(recs, r)
			return nil
		})
		if err != nil {
			t.Fatalf("decodeJSONL: %v", err) // only I/O errors are fatal
		}
		checkRecords(t, recs)
	})
}

func FuzzCSV(f *testing.F) {
	f.Add([]byte("title,type,year,genres\nDune,book,1965,a|b\nX,movie,x,\n\"bad\"q,book,,\n"))
	f.Add([]byte("type,title\n\"multi\nline\",x\nshort\n"))
	f.Add([]byte("title\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var recs []Record
		err := decodeCSV("fuzz.csv", bytes.NewReader(data), func(r Record) error {
			recs = append(recs, r)
			return nil
		})
		if err != nil {
			return // a bad header refuses the whole file
		}
		checkRecords(t, recs)
	})
}
