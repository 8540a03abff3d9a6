package keyword_test

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"mediarec"
	"mediarec/internal/keyword"
)

// it builds an item; fields are "title", "desc", "tags", "genres",
// "creators" in that order, lists separated by "|".
func it(id int64, typ mediarec.ItemType, fields ...string) *mediarec.Item {
	item := &mediarec.Item{ID: id, Type: typ}
	list := func(s string) []string {
		if s == "" {
			return nil
		}
		return strings.Split(s, "|")
	}
	for i, f := range fields {
		switch i {
		case 0:
			item.Title = f
		case 1:
			item.Description = f
		case 2:
			item.Tags = list(f)
		case 3:
			item.Genres = list(f)
		case 4:
			item.Creators = list(f)
		}
	}
	return item
}

// MustIndex returns an index holding items.
func MustIndex(tb testing.TB, items ...*mediarec.Item) *keyword.Index {
	tb.Helper()
	x := keyword.New()
	x.Put(items...)
	if x.Len() != len(items) {
		tb.Fatalf("Len = %d after putting %d items", x.Len(), len(items))
	}
	return x
}

func ids(hits []keyword.Hit) []int64 {
	if hits == nil {
		return nil
	}
	out := make([]int64, len(hits))
	for i, h := range hits {
		out[i] = h.ID
	}
	return out
}

// filler is a long plot summary without any of the query words.
var filler = strings.Repeat("A family moves to a quiet town where neighbours keep secrets and old friendships are tested over one long summer. ", 6)

func TestSearchRanking(t *testing.T) {
	M, D, B, P := mediarec.TypeMovie, mediarec.TypeDocumentary, mediarec.TypeBook, mediarec.TypePodcast
	tests := []struct {
		name  string
		items []*mediarec.Item
		query string
		types []mediarec.ItemType
		k     int
		want  []int64
	}{
		{
			name: "title and tag beat a passing mention in a long description",
			items: []*mediarec.Item{
				it(1, M, "Family Drama", filler+" Once, they talk about space."),
				it(2, D, "The Final Frontier", "Astronauts on the station.", "space|nasa"),
				it(3, M, "Space", filler),
				it(4, B, "Gardening", "Roses and tulips."),
			},
			query: "space", k: 10, want: []int64{3, 2, 1},
		},
		{
			name: "a title match is not diluted by its own long description",
			items: []*mediarec.Item{
				it(1, M, "Space", filler+filler),
				it(2, M, "Short", "A film set in space."),
			},
			query: "space", k: 10, want: []int64{1, 2},
		},
		{
			name: "rare words count more than common ones",
			items: []*mediarec.Item{
				it(1, M, "One", "A war story from the front."),
				it(2, M, "Two", "War and its aftermath."),
				it(3, M, "Three", "The war at sea, the war on land."),
				it(4, M, "Four", "A submarine crew under the ice."),
				it(5, M, "Five", "War seen from a submarine."),
				it(6, M, "Six", "After the war."),
			},
			query: "war submarine", k: 2, want: []int64{5, 4},
		},
		{
			name: "stemming matches other word forms",
			items: []*mediarec.Item{
				it(1, B, "The Dog Runs", ""),
				it(2, B, "Cats", "A cat sleeps."),
			},
			query: "running dogs", k: 10, want: []int64{1},
		},
		{
			name: "creators are searched",
			items: []*mediarec.Item{
				it(1, B, "It", "A clown haunts a town.", "horror", "", "Stephen King"),
				it(2, B, "Kings of the North", "Stories of kings.", "history"),
			},
			query: "stephen king", k: 10, want: []int64{1, 2},
		},
		{
			name: "genres are searched",
			items: []*mediarec.Item{
				it(1, M, "Alien", "", "", "Horror|Sci-Fi"),
				it(2, M, "Clueless", "", "", "Comedy"),
			},
			query: "sci-fi horror", k: 10, want: []int64{1},
		},
		{
			name: "type filter",
			items: []*mediarec.Item{
				it(1, M, "Ocean", "Fish."),
				it(2, D, "Blue Ocean", "Whales."),
				it(3, P, "Ocean Talk", "Weekly episodes."),
				it(4, B, "Oceans", ""),
			},
			query: "ocean", types: []mediarec.ItemType{D, P}, k: 10, want: []int64{2, 3},
		},
		{
			name:  "unknown types match nothing",
			items: []*mediarec.Item{it(1, M, "Ocean")},
			query: "ocean", types: []mediarec.ItemType{"tv"}, k: 10, want: nil,
		},
		{
			name: "equal scores by ascending ID",
			items: []*mediarec.Item{
				it(9, M, "Heat"), it(3, M, "Heat"), it(5, M, "Heat"), it(7, M, "Heat"),
			},
			query: "heat", k: 3, want: []int64{3, 5, 7},
		},
		{
			name:  "only stop words",
			items: []*mediarec.Item{it(1, M, "The Who")},
			query: "the of and", k: 10, want: nil,
		},
		{
			name:  "unknown words",
			items: []*mediarec.Item{it(1, M, "Heat")},
			query: "zyzzyva", k: 10, want: nil,
		},
		{
			name:  "k of zero",
			items: []*mediarec.Item{it(1, M, "Heat")},
			query: "heat", k: 0, want: nil,
		},
		{
			name: "unicode and accents as the embedder reads them",
			items: []*mediarec.Item{
				it(1, M, "Amélie", "Une jeune femme à Montmartre."),
				it(2, M, "千と千尋の神隠し", ""),
			},
			query: "AMÉLIE montmartre", k: 10, want: []int64{1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := MustIndex(t, tt.items...)
			got := x.Search(tt.query, tt.k, tt.types)
			if diff := cmp.Diff(tt.want, ids(got)); diff != "" {
				t.Errorf("Search(%q) (-want +got):\n%s\nhits: %v", tt.query, diff, got)
			}
			for i := 1; i < len(got); i++ {
				if got[i].Score > got[i-1].Score {
					t.Errorf("hits not best first: %v", got)
				}
			}
		})
	}
}

func TestPutRemove(t *testing.T) {
	M := mediarec.TypeMovie
	x := MustIndex(t, it(1, M, "Whales", "Songs of the deep."), it(2, M, "Sharks", "Teeth."))

	search := func(q string) []int64 { return ids(x.Search(q, 10, nil)) }
	check := func(step, q string, want []int64) {
		t.Helper()
		if diff := cmp.Diff(want, search(q)); diff != "" {
			t.Errorf("%s: Search(%q) (-want +got):\n%s", step, q, diff)
		}
	}
	check("initial", "whales", []int64{1})

	x.Put(it(1, M, "Dolphins", "Clicks and whistles."))
	check("replaced", "whales", nil)
	check("replaced", "dolphins", []int64{1})
	if x.Len() != 2 {
		t.Errorf("Len after replace = %d, want 2", x.Len())
	}
	if _, ok := x.FindTitle("whales"); ok {
		t.Errorf("FindTitle finds the replaced title")
	}
	if id, ok := x.FindTitle("dolphins"); !ok || id != 1 {
		t.Errorf("FindTitle(dolphins) = %d, %v; want 1", id, ok)
	}

	x.Put(it(3, M, "Rays", "One."), nil, it(3, M, "Octopus", "Two."))
	check("last of one ID in a batch wins", "octopus", []int64{3})
	check("last of one ID in a batch wins", "rays", nil)

	x.Remove(2, 42)
	check("removed", "sharks", nil)
	if x.Len() != 2 {
		t.Errorf("Len after remove = %d, want 2", x.Len())
	}
	if _, ok := x.FindTitle("sharks"); ok {
		t.Errorf("FindTitle finds a removed item")
	}
	x.Remove(1, 3)
	if x.Len() != 0 || search("dolphins") != nil {
		t.Errorf("index not empty after removing everything: Len %d", x.Len())
	}
	x.Put(it(2, M, "Sharks", "Back again."))
	check("re-added", "sharks", []int64{2})
}

// TestPutSameVersion: an item announced again with its content version
// and popularity unchanged (a new embedding status) keeps its analysis; a
// new version, a new popularity or an unknown version (0) replace it.
func TestPutSameVersion(t *testing.T) {
	M := mediarec.TypeMovie
	versioned := func(v int, pop int64, title string) *mediarec.Item {
		item := it(1, M, title, "A film.")
		item.Version, item.Popularity = v, pop
		return item
	}
	x := MustIndex(t, versioned(1, 10, "Whales"), it(2, M, "Whales at sea", "Another."))
	for _, tc := range []struct {
		step string
		put  *mediarec.Item
		want string // a word item 1 is then found by
	}{
		{"same version and popularity", versioned(1, 10, "Dolphins"), "whales"},
		{"new version", versioned(2, 10, "Dolphins"), "dolphins"},
		{"new popularity", versioned(2, 11, "Sharks"), "sharks"},
		{"version unknown", versioned(0, 11, "Rays"), "rays"},
	} {
		x.Put(tc.put)
		if got := ids(x.Search(tc.want, 10, nil)); !slices.Contains(got, 1) {
			t.Errorf("%s: Search(%q) = %v, want item 1 in it", tc.step, tc.want, got)
		}
	}
}

// TestChurn removes and replaces most of a catalog, through compactions, and
// checks the answers against an index built from the survivors alone.
func TestChurn(t *testing.T) {
	words := strings.Fields("ocean whale shark space rocket moon war peace love crime detective murder jazz rome history")
	gen := func(id int64, v int) *mediarec.Item {
		w := func(i int) string { return words[(int(id)*7+v*3+i*5)%len(words)] }
		return it(id, mediarec.ItemTypes[id%4], w(0)+" "+w(1), fmt.Sprintf("%s %s %s", w(2), w(3), w(2)), w(4))
	}
	var items []*mediarec.Item
	for id := int64(1); id <= 600; id++ {
		items = append(items, gen(id, 0))
	}
	x := MustIndex(t, items...)
	live := map[int64]*mediarec.Item{}
	for _, item := range items {
		live[item.ID] = item
	}
	for round := 1; round <= 6; round++ {
		var gone []int64
		for id := int64(round); id <= 600; id += 3 {
			gone = append(gone, id)
			delete(live, id)
		}
		x.Remove(gone...)
		for id := int64(round + 1); id <= 600; id += 5 {
			item := gen(id, round)
			x.Put(item)
			live[id] = item
		}
	}
	fresh := keyword.New()
	for _, item := range live {
		fresh.Put(item)
	}
	if x.Len() != len(live) || fresh.Len() != len(live) {
		t.Fatalf("Len = %d, fresh %d, want %d", x.Len(), fresh.Len(), len(live))
	}
	for _, q := range []string{"ocean", "whale war", "jazz rome history", "love", "space rocket moon"} {
		for _, types := range [][]mediarec.ItemType{nil, {mediarec.TypeBook, mediarec.TypePodcast}} {
			got, want := x.Search(q, 20, types), fresh.Search(q, 20, types)
			if diff := cmp.Diff(want, got, cmpScores); diff != "" {
				t.Errorf("Search(%q, %v) differs from a fresh index (-want +got):\n%s", q, types, diff)
			}
		}
	}
}

// cmpScores compares scores to float32 precision, the accumulator's.
var cmpScores = cmp.Comparer(func(a, b float64) bool {
	d := a - b
	return d < 1e-5*max(a, b) && -d < 1e-5*max(a, b)
})

func TestConcurrentUse(t *testing.T) {
	x := keyword.New()
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 200 {
				id := int64(w*1000 + i)
				x.Put(it(id, mediarec.TypeMovie, fmt.Sprintf("Ocean %d", i), "whales and sharks"))
				if i%3 == 0 {
					x.Remove(id - 1)
				}
			}
		})
		wg.Go(func() {
			for range 200 {
				for _, h := range x.Search("ocean whales", 5, nil) {
					if h.Score <= 0 {
						t.Errorf("non-positive score %v", h)
					}
				}
				x.FindTitle("like ocean 7")
				x.Len()
			}
		})
	}
	wg.Wait()
}
