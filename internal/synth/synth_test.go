package synth_test

import (
	"hash/maphash"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"mediarec"
	"mediarec/ingest"
	"mediarec/internal/datatest"
	"mediarec/internal/embed"
	"mediarec/internal/synth"
	"mediarec/internal/validate"
)

var sourceOnce struct {
	sync.Once
	s   *synth.Source
	err error
}

// mustSource loads the real catalog once for the package's tests, or skips
// without the shared data sets.
func mustSource(tb testing.TB) *synth.Source {
	tb.Helper()
	dir := filepath.Dir(datatest.Dir(tb, datatest.MovieLens))
	for _, name := range []string{datatest.TMDB, datatest.Goodbooks, datatest.Podcasts} {
		datatest.Dir(tb, name)
	}
	sourceOnce.Do(func() { sourceOnce.s, sourceOnce.err = synth.Load(dir) })
	if sourceOnce.err != nil {
		tb.Fatal(sourceOnce.err)
	}
	return sourceOnce.s
}

// checkCatalog generates n items and checks that they are valid, that
// their texts and external ids never repeat, that no generated title
// repeats another title in any letter case, and that the types keep the
// real catalog's shares.
func checkCatalog(t *testing.T, n int) {
	s := mustSource(t)
	seed := maphash.MakeSeed()
	texts := make(map[uint64]bool, n)
	ids := make(map[string]bool, n)
	titles := make(map[string]bool, n)
	for _, it := range s.Items {
		titles[strings.ToLower(it.Title)] = true
	}
	counts := map[mediarec.ItemType]int{}
	got, mixes := 0, 0
	err := s.Generate(n, 1, func(it *mediarec.Item) error {
		got++
		if err := validate.Struct(it, "invalid"); err != nil {
			t.Fatalf("item %d %q: %v (%+v)", got, it.ExternalID, mediarec.ErrorFields(err), it)
		}
		if it.ExternalID == "" || ids[it.ExternalID] {
			t.Fatalf("item %d: external id %q empty or repeated", got, it.ExternalID)
		}
		ids[it.ExternalID] = true
		// maphash, not the package's FNV: a second, independent hash.
		h := maphash.String(seed, embed.ItemText(it))
		if texts[h] {
			t.Fatalf("item %d %q: text repeated: %q", got, it.ExternalID, embed.ItemText(it))
		}
		texts[h] = true
		if strings.HasPrefix(it.ExternalID, "synth:") {
			mixes++
			k := strings.ToLower(it.Title)
			if titles[k] {
				t.Fatalf("item %d %q: title %q repeated", got, it.ExternalID, it.Title)
			}
			titles[k] = true
			if len(it.Tags) > 20 || len(it.Title) > 200 {
				t.Fatalf("item %d: %d tags, title of %d bytes", got, len(it.Tags), len(it.Title))
			}
		}
		counts[it.Type]++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got != n {
		t.Fatalf("got %d items, want %d", got, n)
	}
	if real := n - mixes; real < len(s.Items)-50 {
		t.Errorf("%d real items of %d", real, len(s.Items))
	}
	for typ, want := range s.TypeShares() {
		share := float64(counts[typ]) / float64(n)
		t.Logf("%-12s %6d  %.3f (real %.3f)", typ, counts[typ], share, want)
		if math.Abs(share-want) > 0.03 {
			t.Errorf("%s: share %.3f, real catalog's %.3f", typ, share, want)
		}
	}
}

func TestGenerate(t *testing.T) {
	checkCatalog(t, 50_000)
}

// TestGenerateBenchmarkSize is the size the vectordb benchmarks mix
// (BenchmarkANN100k) and twice more.
func TestGenerateBenchmarkSize(t *testing.T) {
	if testing.Short() {
		t.Skip("200k items: not in -short")
	}
	checkCatalog(t, 200_000)
}

func TestGenerateDeterministic(t *testing.T) {
	s := mustSource(t)
	n := len(s.Items) + 3000
	lines := func(seed uint64) []string {
		var out []string
		err := s.Generate(n, seed, func(it *mediarec.Item) error {
			b, err := ingest.MarshalItem(it)
			out = append(out, string(b))
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	a, b := lines(1), lines(1)
	if diff := cmp.Diff(a, b); diff != "" {
		t.Fatalf("seed 1 twice (-first +second):\n%s", diff)
	}
	c := lines(2)
	if !slices.Equal(a[:len(s.Items)-50], c[:len(s.Items)-50]) {
		t.Error("the real items depend on the seed")
	}
	if slices.Equal(a[n-3000:], c[n-3000:]) {
		t.Error("seeds 1 and 2 made the same mixes")
	}
}

// TestMix checks what a mix takes from its source: type, year, genres,
// creators and cover, a popularity no greater than the source's, tags of
// the three items and sentences of the partners.
func TestMix(t *testing.T) {
	s := mustSource(t)
	m := s.NewMixer(3)
	withDesc := 0
	for i := range 2000 {
		mix, err := m.Next()
		if err != nil {
			t.Fatal(err)
		}
		it, src := mix.Item, s.Items[mix.Source]
		if i < 20 {
			t.Logf("%s %q from %q + %q", it.Type, it.Title, src.Title, []string{s.Items[mix.Partners[0]].Title, s.Items[mix.Partners[1]].Title})
		}
		if mix.Text != embed.ItemText(it) {
			t.Fatalf("Text is not ItemText of the item")
		}
		if it.Type != src.Type || it.Year != src.Year || it.ImageURL != src.ImageURL || !slices.Equal(it.Creators, src.Creators) {
			t.Fatalf("mix %+v does not keep its source's type, year, cover and creators: %+v", it, src)
		}
		for _, p := range mix.Partners {
			if s.Items[p].Type != src.Type {
				t.Fatalf("partner %q is a %s, source %q a %s", s.Items[p].Title, s.Items[p].Type, src.Title, src.Type)
			}
		}
		for _, g := range src.Genres {
			if !slices.Contains(it.Genres, g) {
				t.Fatalf("mix lost its source's genre %q: %v", g, it.Genres)
			}
		}
		if it.Popularity < 0 || it.Popularity > src.Popularity {
			t.Fatalf("popularity %d, source's %d", it.Popularity, src.Popularity)
		}
		var pool []string
		for _, j := range []int{mix.Source, mix.Partners[0], mix.Partners[1]} {
			pool = append(pool, s.Items[j].Tags...)
		}
		for _, tag := range it.Tags {
			if !slices.Contains(pool, tag) {
				t.Fatalf("tag %q is not a tag of the source or partners", tag)
			}
		}
		if it.Description != "" {
			withDesc++
		}
	}
	if withDesc < 500 {
		t.Errorf("%d of 2000 mixes have a description", withDesc)
	}
}

func TestSentences(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"empty", "", nil},
		{"short ones dropped", "Too short. A sentence that is long enough to keep. Yes.", []string{"A sentence that is long enough to keep."}},
		{"stop kept", "The first sentence is long enough. Is the second one long enough?", []string{"The first sentence is long enough.", "Is the second one long enough?"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, synth.Sentences(tt.in)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
