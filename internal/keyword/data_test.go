package keyword_test

import (
	"fmt"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"mediarec"
	"mediarec/ingest"
	"mediarec/internal/datatest"
	"mediarec/internal/keyword"
)

var dataSets = []struct{ format, name string }{
	{"movielens", datatest.MovieLens},
	{"goodbooks", datatest.Goodbooks},
	{"tmdb", datatest.TMDB},
	{"podcasts", datatest.Podcasts},
}

var realCatalog struct {
	once  sync.Once
	items []*mediarec.Item
	err   error
}

// mustRealCatalog returns every item of the four public data sets (about
// 29,000), numbered from 1 in reading order. Without them it skips or
// fails as datatest.Dir says.
func mustRealCatalog(tb testing.TB) []*mediarec.Item {
	tb.Helper()
	dirs := make([]string, len(dataSets))
	for i, ds := range dataSets {
		dirs[i] = datatest.Dir(tb, ds.name)
	}
	realCatalog.once.Do(func() {
		for i, ds := range dataSets {
			err := ingest.Read(ds.format, []string{dirs[i]}, func(rec ingest.Record) error {
				if rec.Item != nil {
					rec.Item.ID = int64(len(realCatalog.items) + 1)
					realCatalog.items = append(realCatalog.items, rec.Item)
				}
				return nil
			})
			if err != nil {
				realCatalog.err = err
				return
			}
		}
	})
	if realCatalog.err != nil {
		tb.Fatalf("read data sets: %v", realCatalog.err)
	}
	return realCatalog.items
}

// catalogOf returns n items: the real catalog, then copies of it with new
// IDs whose descriptions and tags are taken from other items, so that the
// copies do not merely repeat the posting lists.
func catalogOf(tb testing.TB, n int) []*mediarec.Item {
	base := mustRealCatalog(tb)
	out := make([]*mediarec.Item, 0, n)
	for i := 0; len(out) < n; i++ {
		r, j := i/len(base), i%len(base)
		item := *base[j]
		item.ID = int64(i + 1)
		if r > 0 {
			item.Description = base[(j+r*7919)%len(base)].Description
			item.Tags = base[(j+r*104729)%len(base)].Tags
		}
		out = append(out, &item)
	}
	return out
}

// benchQueries are search texts as ParseQuery leaves them, from one-word
// topics to long descriptions, with very common words among them.
var benchQueries = []string{
	"space", "the ocean", "Interstellar", "world war ii", "serial killer detective",
	"romantic comedy in new york", "history of rome", "artificial intelligence robots",
	"true crime", "harry potter", "stephen king horror", "funny science", "climate change",
	"jazz musicians", "dystopian young adult", "murder mystery in a small town", "love story",
	"life", "best history", "ancient egypt pyramids", "vampires", "coming of age in high school",
	"cooking", "startup business entrepreneurship", "heist thriller", "pixar animation",
	"french new wave", "the martian", "time travel paradox", "nature wildlife africa",
	"a young man finds love and family in a world at war after losing his life and home",
}

func TestRealCatalog(t *testing.T) {
	items := mustRealCatalog(t)
	x := keyword.New()
	x.Put(items...)
	byID := make(map[int64]*mediarec.Item, len(items))
	for _, item := range items {
		byID[item.ID] = item
	}

	for _, q := range []string{"something like interstellar", "like the martian", "the hunger games", "harry potter", "pride and prejudice"} {
		id, ok := x.FindTitle(q)
		if !ok {
			t.Errorf("FindTitle(%q) found nothing", q)
			continue
		}
		t.Logf("FindTitle(%q) = %d %s %q", q, id, byID[id].Type, byID[id].Title)
	}

	if testing.Verbose() {
		for _, q := range benchQueries {
			var top []string
			for _, h := range x.Search(q, 5, nil) {
				top = append(top, fmt.Sprintf("%s %q %.2f", byID[h.ID].Type, byID[h.ID].Title, h.Score))
			}
			t.Logf("%q: %s", q, strings.Join(top, "; "))
		}
	}

	tests := []struct {
		name  string
		query string
		types []mediarec.ItemType
		ok    func(*mediarec.Item) bool // true of every one of the top 10
	}{
		{"space movies", "space", []mediarec.ItemType{mediarec.TypeMovie}, func(it *mediarec.Item) bool {
			return it.Type == mediarec.TypeMovie && mentions(it, "space")
		}},
		{"author", "stephen king", []mediarec.ItemType{mediarec.TypeBook}, func(it *mediarec.Item) bool {
			return slices.Contains(it.Creators, "Stephen King") || strings.Contains(it.Title, "Stephen King")
		}},
		{"podcasts on true crime", "true crime", []mediarec.ItemType{mediarec.TypePodcast}, func(it *mediarec.Item) bool {
			return mentions(it, "crime")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hits := x.Search(tt.query, 10, tt.types)
			if len(hits) < 10 {
				t.Fatalf("Search(%q) = %d hits, want 10", tt.query, len(hits))
			}
			for _, h := range hits {
				if it := byID[h.ID]; !tt.ok(it) {
					t.Errorf("Search(%q): unexpected hit %s %q %v", tt.query, it.Type, it.Title, it.Creators)
				}
			}
		})
	}
}

func mentions(it *mediarec.Item, word string) bool {
	text := strings.ToLower(it.Title + " " + strings.Join(it.Tags, " ") + " " + strings.Join(it.Genres, " ") + " " + it.Description)
	return strings.Contains(text, word)
}

var index100k struct {
	once sync.Once
	x    *keyword.Index
}

func mustIndex100k(b *testing.B) *keyword.Index {
	b.Helper()
	items := catalogOf(b, 100_000)
	index100k.once.Do(func() {
		index100k.x = keyword.New()
		index100k.x.Put(items...)
	})
	return index100k.x
}

// BenchmarkSearch100k searches 100,000 items for the top 100 with the mixed
// queries, reporting the 99th percentile besides the mean.
func BenchmarkSearch100k(b *testing.B) {
	benchSearch(b, mustIndex100k(b), benchQueries, nil)
}

func BenchmarkSearch100kTypes(b *testing.B) {
	benchSearch(b, mustIndex100k(b), benchQueries, []mediarec.ItemType{mediarec.TypeDocumentary, mediarec.TypePodcast})
}

func benchSearch(b *testing.B, x *keyword.Index, queries []string, types []mediarec.ItemType) {
	runtime.GC() // not the building's garbage
	var took []time.Duration
	for i := 0; b.Loop(); i++ {
		start := time.Now()
		x.Search(queries[i%len(queries)], 100, types)
		took = append(took, time.Since(start))
	}
	sort.Slice(took, func(i, j int) bool { return took[i] < took[j] })
	b.ReportMetric(float64(took[len(took)*99/100].Microseconds()), "p99-µs")
}

func BenchmarkFindTitle100k(b *testing.B) {
	x := mustIndex100k(b)
	for i := 0; b.Loop(); i++ {
		x.FindTitle(benchQueries[i%len(benchQueries)])
	}
}

// BenchmarkPut100k builds the index of 100,000 items and reports the heap it
// keeps.
func BenchmarkPut100k(b *testing.B) {
	items := catalogOf(b, 100_000)
	var before, after runtime.MemStats
	for b.Loop() {
		runtime.GC()
		runtime.ReadMemStats(&before)
		x := keyword.New()
		x.Put(items...)
		runtime.GC()
		runtime.ReadMemStats(&after)
		runtime.KeepAlive(x)
	}
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/(1<<20), "heap-MiB")
}
