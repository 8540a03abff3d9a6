package embed

import (
	"bytes"
	"cmp"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// TestLSAQuality checks on the real catalog (MovieLens + TMDB) what the
// fitted model is for: words that never need to co-occur ("astronaut",
// "interstellar") land near each other and near the films about them.
func TestLSAQuality(t *testing.T) {
	m, items := mustFitted(t)
	space := []string{"space travel", "astronaut", "interstellar"}
	unrelated := []string{"romantic comedy wedding", "cooking recipes", "football"}
	vecs := mustEmbed(t, m, append(slices.Clone(space), unrelated...))
	const margin = 0.15
	for i, q := range space {
		near, far := 1.0, -1.0
		for j := range vecs {
			c := cosine(vecs[i], vecs[j])
			switch {
			case j == i:
			case j < len(space):
				near = min(near, c)
			default:
				far = max(far, c)
			}
			if j != i {
				t.Logf("cos(%q, %q) = %.3f", q, append(space, unrelated...)[j], c)
			}
		}
		if near < far+margin {
			t.Errorf("%q: lowest cosine to the other space queries %.3f, not %.2f above the highest to unrelated ones %.3f", q, near, margin, far)
		}
	}

	itemVecs := mustEmbed(t, m, itemTexts(items))
	type hit struct {
		i int
		c float64
	}
	hits := make([]hit, len(items))
	for i, v := range itemVecs {
		hits[i] = hit{i, cosine(vecs[1], v)}
	}
	slices.SortFunc(hits, func(a, b hit) int { return cmp.Compare(b.c, a.c) })
	spaceWords := []string{"space", "astronaut", "nasa", "mars", "moon", "orbit", "planet", "rocket", "galaxy", "alien"}
	var titles []string
	spacey := 0
	for _, h := range hits[:10] {
		text := strings.ToLower(ItemText(items[h.i]))
		titles = append(titles, items[h.i].Title)
		if slices.ContainsFunc(spaceWords, func(w string) bool { return strings.Contains(text, w) }) {
			spacey++
		}
	}
	t.Logf("nearest to \"astronaut\": %s", strings.Join(titles, "; "))
	if spacey < 9 {
		t.Errorf("%d of the 10 items nearest to \"astronaut\" are about space, want at least 9", spacey)
	}
	if !slices.ContainsFunc(titles, func(s string) bool {
		return slices.Contains([]string{"Gravity", "The Martian", "Apollo 13", "Mission to Mars", "The Right Stuff"}, s)
	}) {
		t.Errorf("none of the well-known astronaut films is among the 10 nearest")
	}
}

func TestLSARoundTripCatalog(t *testing.T) {
	m, items := mustFitted(t)
	texts := append(itemTexts(items[:500]), "astronaut", "", "zzz unknown words")
	assertRoundTrip(t, m, texts)
}

// TestFitLSADeterministic refits the catalog and compares bytes: workers
// and search processes that fit or load the model must agree on every
// vector. Part of it runs on one processor, since the fit splits its work
// by processor count.
func TestFitLSADeterministic(t *testing.T) {
	m, items := mustFitted(t)
	texts := itemTexts(items)
	if !testing.Short() {
		again, err := FitLSA(texts, 256)
		if err != nil {
			t.Fatal(err)
		}
		assertSameModel(t, m, again)
	}

	sub := texts[:3000]
	parallel, err := FitLSA(sub, 64)
	if err != nil {
		t.Fatal(err)
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	serial, err := FitLSA(sub, 64)
	if err != nil {
		t.Fatal(err)
	}
	assertSameModel(t, parallel, serial)
}

func assertSameModel(t *testing.T, a, b *LSA) {
	t.Helper()
	ab, err := a.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	bb, err := b.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ab, bb) || a.Model() != b.Model() {
		t.Errorf("two fits on the same texts differ: %s (%d bytes) and %s (%d bytes)", a.Model(), len(ab), b.Model(), len(bb))
	}
}
