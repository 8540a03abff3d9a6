package embed

import (
	"sync"
	"testing"

	"mediarec"
	"mediarec/ingest"
	"mediarec/internal/datatest"
)

var catalog struct {
	once  sync.Once
	items []*mediarec.Item
	err   error
}

// mustCatalog returns the MovieLens ml-latest-small and TMDB 5000 movies.
// Without them it skips or fails as datatest.Dir says.
func mustCatalog(tb testing.TB) []*mediarec.Item {
	tb.Helper()
	ml := datatest.Dir(tb, datatest.MovieLens)
	tmdb := datatest.Dir(tb, datatest.TMDB)
	catalog.once.Do(func() {
		read := func(format, path string) {
			if catalog.err != nil {
				return
			}
			catalog.err = ingest.Read(format, []string{path}, func(rec ingest.Record) error {
				if rec.Item != nil {
					catalog.items = append(catalog.items, rec.Item)
				}
				return nil
			})
		}
		read("movielens", ml)
		read("tmdb", tmdb)
	})
	if catalog.err != nil {
		tb.Fatalf("read catalog: %v", catalog.err)
	}
	return catalog.items
}

// itemTexts returns ItemText of every item.
func itemTexts(items []*mediarec.Item) []string {
	texts := make([]string, len(items))
	for i, it := range items {
		texts[i] = ItemText(it)
	}
	return texts
}

var fitted struct {
	once sync.Once
	lsa  *LSA
	err  error
}

// mustFitted returns the LSA of dimension 256 fitted on the real catalog,
// fitted once for all the tests and benchmarks that need it.
func mustFitted(tb testing.TB) (*LSA, []*mediarec.Item) {
	tb.Helper()
	items := mustCatalog(tb)
	fitted.once.Do(func() { fitted.lsa, fitted.err = FitLSA(itemTexts(items), 256) })
	if fitted.err != nil {
		tb.Fatalf("fit LSA: %v", fitted.err)
	}
	return fitted.lsa, items
}
