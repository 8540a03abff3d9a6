package keyword_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"mediarec"
	"mediarec/internal/keyword"
)

// TestQueryGrowsLikeSearchFilter: a query widened twice by feedback ranks
// and scores, bit for bit, as SearchFilter does on the joined texts, on the
// real catalog; also when the index changes between two rounds.
func TestQueryGrowsLikeSearchFilter(t *testing.T) {
	items := mustRealCatalog(t)
	x := keyword.New()
	x.Put(items...)
	filters := []keyword.Filter{
		{},
		{Types: []mediarec.ItemType{mediarec.TypeDocumentary}},
		{Types: []mediarec.ItemType{mediarec.TypeBook, mediarec.TypePodcast}, YearFrom: 1990},
		{Genres: []string{"Drama"}},
	}
	about := func(it *mediarec.Item) string {
		return strings.Join(slices.Concat(it.Genres, it.Tags, it.Creators), ", ") + ". " + it.Description
	}
	compared := 0
	for i := 0; i < len(items); i += len(items) / 20 {
		f := filters[i%len(filters)]
		changes := i%3 == 0
		q := x.NewQuery(f)
		text := about(items[i])
		q.Add(text)
		for round, j := range []int{(i * 31) % len(items), (i * 77) % len(items)} {
			got, want := q.Top(20), x.SearchFilter(text, 20, f)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("item %d, round %d (-SearchFilter +Query):\n%s", items[i].ID, round, diff)
			}
			compared++
			if changes {
				// Another item changes: the scores held are stale.
				changed := *items[j]
				changed.Description += " " + items[i].Title
				x.Put(&changed)
			}
			more := ". " + strings.Join(items[j].Tags, ", ")
			q.Add(more)
			text += more
		}
		if diff := cmp.Diff(x.SearchFilter(text, 20, f), q.Top(20)); diff != "" {
			t.Fatalf("item %d, last round (-SearchFilter +Query):\n%s", items[i].ID, diff)
		}
		q.Close()
	}
	t.Logf("%d rounds compared", compared)
}
