package keyword_test

import (
	"fmt"
	"math"
	"runtime"
	"testing"

	"github.com/google/go-cmp/cmp"

	"mediarec"
	"mediarec/internal/keyword"
)

var (
	movie, book, doc, podcast = mediarec.TypeMovie, mediarec.TypeBook, mediarec.TypeDocumentary, mediarec.TypePodcast
	// compareFilters mixes types, common and rare genres, genres that
	// restrict only some types, and open and closed year ranges.
	compareFilters = []keyword.Filter{
		{},
		{Types: []mediarec.ItemType{movie}},
		{Types: []mediarec.ItemType{book, podcast}},
		{Genres: []string{"Comedy"}},
		{Genres: []string{"drama"}, Types: []mediarec.ItemType{movie}},
		{Genres: []string{"Fantasy", "Young Adult"}},
		{Genres: []string{"Documentary"}, Types: []mediarec.ItemType{doc, movie}},
		{Genres: []string{"True Crime"}},
		{Genres: []string{"Western"}, YearTo: 1970},
		{YearFrom: 1990, YearTo: 1999},
		{YearTo: 1950},
		{YearFrom: 2010, Types: []mediarec.ItemType{book, movie}},
		{Genres: []string{"Comedy", "Romance"}, YearFrom: 1980, YearTo: 2005},
		{Genres: []string{"History"}, Types: []mediarec.ItemType{podcast, book, doc}},
		{Genres: []string{"Polka"}, YearFrom: 2015},
	}
)

// mustChurnedIndex indexes the real catalog, then removes and replaces a
// good part of it, through a compaction and after it, so that the index
// holds removed documents in its lists.
func mustChurnedIndex(t *testing.T) *keyword.Index {
	t.Helper()
	base := mustRealCatalog(t)
	items := make([]*mediarec.Item, len(base))
	for i, it := range base {
		c := *it
		items[i] = &c
	}
	x := keyword.New()
	x.Put(items...)
	gone := map[int64]bool{}
	remove := func(every, offset int) {
		var ids []int64
		for i := offset; i < len(items); i += every {
			ids = append(ids, items[i].ID)
			gone[items[i].ID] = true
		}
		x.Remove(ids...)
	}
	// Replacements take another item's description and tags, as new
	// documents at the end.
	replace := func(every, offset int) {
		var batch []*mediarec.Item
		for i := offset; i < len(items); i += every {
			c := *items[i]
			j := (i*7919 + 13) % len(items)
			c.Description, c.Tags = items[j].Description, items[j].Tags
			items[i] = &c
			batch = append(batch, &c)
			delete(gone, c.ID)
		}
		x.Put(batch...)
	}
	remove(3, 0) // a third: compacts
	replace(5, 1)
	remove(11, 2) // not enough to compact again
	replace(13, 4)
	if want := len(items) - len(gone); x.Len() != want {
		t.Fatalf("Len = %d, want %d", x.Len(), want)
	}
	return x
}

func TestSelectMatchesReference(t *testing.T) {
	x := mustChurnedIndex(t)
	for _, f := range compareFilters {
		for _, max := range []int{-1, 0, 10, 2048, math.MaxInt} {
			t.Run(fmt.Sprintf("%+v/%d", f, max), func(t *testing.T) {
				gotIDs, gotN := x.Select(f, max)
				wantIDs, wantN := x.ReferenceSelect(f, max)
				if gotN != wantN {
					t.Errorf("Select counted %d, want %d", gotN, wantN)
				}
				if diff := cmp.Diff(wantIDs, gotIDs); diff != "" {
					t.Errorf("Select (-want +got):\n%s", diff)
				}
			})
		}
	}
}

// BenchmarkSelect100k selects from an index of 100,000 items made from the
// 29,000 real ones (see catalogOf), beside the exhaustive reference in the
// same run.
func BenchmarkSelect100k(b *testing.B) {
	x := mustIndex100k(b)
	for _, bc := range []struct {
		name string
		f    keyword.Filter
	}{
		{"genre", keyword.Filter{Genres: []string{"Comedy"}}},
		{"types", keyword.Filter{Types: []mediarec.ItemType{movie}}},
		{"genre-year", keyword.Filter{Genres: []string{"Comedy"}, YearFrom: 1990, YearTo: 1999, Types: []mediarec.ItemType{movie}}},
		{"rare", keyword.Filter{Genres: []string{"Western"}, YearTo: 1960}},
	} {
		for _, impl := range []struct {
			name string
			sel  func(keyword.Filter, int) ([]int64, int)
		}{
			{"lists", x.Select},
			{"reference", x.ReferenceSelect},
		} {
			b.Run(bc.name+"/"+impl.name, func(b *testing.B) {
				runtime.GC()
				for b.Loop() {
					impl.sel(bc.f, 2048)
				}
			})
		}
	}
}
