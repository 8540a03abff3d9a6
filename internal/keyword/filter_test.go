package keyword_test

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"mediarec"
	"mediarec/internal/keyword"
)

func TestFilter(t *testing.T) {
	M, D, B := mediarec.TypeMovie, mediarec.TypeDocumentary, mediarec.TypeBook
	var items []*mediarec.Item
	add := func(id int64, typ mediarec.ItemType, year int, genres ...string) {
		items = append(items, &mediarec.Item{ID: id, Type: typ, Title: "space story", Year: year, Genres: genres})
	}
	for i := range int64(6) {
		add(1+i, M, 1990+int(i), "Comedy", "Romance")
	}
	add(7, M, 1985, "Comedy")
	add(8, M, 0, "Comedy", "Romance")
	for i := range int64(5) {
		add(20+i, D, 2000+int(i), "Documentary", "Comedy")
	}
	add(25, D, 1995, "Documentary")
	add(30, B, 1994, "history") // one history book: the genre restricts no type
	x := MustIndex(t, items...)
	tests := []struct {
		name string
		f    keyword.Filter
		want []int64
	}{
		{name: "types only", f: keyword.Filter{Types: []mediarec.ItemType{D}}, want: []int64{20, 21, 22, 23, 24, 25}},
		{name: "decade", f: keyword.Filter{YearFrom: 1990, YearTo: 1999}, want: []int64{1, 2, 3, 4, 5, 6, 25, 30}},
		{name: "before", f: keyword.Filter{YearTo: 1990}, want: []int64{1, 7}},
		{name: "all genres, any case", f: keyword.Filter{Genres: []string{"romance", "COMEDY"}, Types: []mediarec.ItemType{M}}, want: []int64{1, 2, 3, 4, 5, 6, 8}},
		{name: "a genre restricts the types that use it", f: keyword.Filter{Genres: []string{"Romance"}}, want: []int64{1, 2, 3, 4, 5, 6, 8, 20, 21, 22, 23, 24, 25, 30}},
		{name: "documentaries that are comedies", f: keyword.Filter{Genres: []string{"Comedy"}, Types: []mediarec.ItemType{D}}, want: []int64{20, 21, 22, 23, 24}},
		{name: "a rare genre restricts nothing", f: keyword.Filter{Genres: []string{"History"}, Types: []mediarec.ItemType{B}}, want: []int64{30}},
		{name: "an unknown genre restricts nothing", f: keyword.Filter{Genres: []string{"Polka"}, YearFrom: 2003}, want: []int64{23, 24}},
		{name: "unknown type", f: keyword.Filter{Types: []mediarec.ItemType{"vinyl"}}, want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, n := x.Select(tt.f, 100)
			slices.Sort(got)
			if diff := cmp.Diff(tt.want, got); diff != "" || n != len(tt.want) {
				t.Errorf("Select = %d items (-want +got):\n%s", n, diff)
			}
			if _, n := x.Select(tt.f, 0); n != len(tt.want) {
				t.Errorf("Select with max 0 counted %d, want %d", n, len(tt.want))
			}
			all := []int64{99}
			for _, it := range items {
				all = append(all, it.ID)
			}
			if diff := cmp.Diff(tt.want, x.Keep(all, tt.f)); diff != "" {
				t.Errorf("Keep (-want +got):\n%s", diff)
			}
			searched := ids(x.SearchFilter("space", 100, tt.f))
			slices.Sort(searched)
			if diff := cmp.Diff(tt.want, searched); diff != "" {
				t.Errorf("SearchFilter (-want +got):\n%s", diff)
			}
		})
	}
	// Removing items updates what a genre restricts: with four comic
	// documentaries left, "comedy" no longer restricts documentaries.
	x.Remove(20)
	got, _ := x.Select(keyword.Filter{Genres: []string{"Comedy"}, Types: []mediarec.ItemType{D}}, 100)
	slices.Sort(got)
	if diff := cmp.Diff([]int64{21, 22, 23, 24, 25}, got); diff != "" {
		t.Errorf("after a removal (-want +got):\n%s", diff)
	}
}
