package embed

import (
	"os"
	"path/filepath"
	"sync"
	"testing"

	"mediarec"
	"mediarec/ingest"
)

// dataDir is the shared data sets directory, seen from this package.
var dataDir = filepath.Join("..", "..", "..", "shared", "data")

var catalog struct {
	once  sync.Once
	items []*mediarec.Item
	err   error
}

// mustCatalog returns the MovieLens ml-latest-small and TMDB 5000 movies, or
// skips the test when the data sets are absent.
func mustCatalog(tb testing.TB) []*mediarec.Item {
	tb.Helper()
	ml := filepath.Join(dataDir, "movielens-ml-latest-small")
	tmdb := filepath.Join(dataDir, "tmdb-5000-movies")
	for _, dir := range []string{ml, tmdb} {
		if _, err := os.Stat(dir); err != nil {
			tb.Skipf("data set %s absent: %v", dir, err)
		}
	}
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
