package embed

import (
	"bytes"
	"context"
	"encoding/binary"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"

	"mediarec"
)

// tinyCorpus has three topics; no term occurs in only one text, so all are
// in the vocabulary.
var tinyCorpus = []string{
	"space travel astronaut rocket", "astronaut rocket moon landing", "space station astronaut orbit",
	"rocket launch space orbit moon", "moon landing space station", "wedding romance love comedy",
	"romantic comedy wedding bride", "love story romance wedding", "bride love comedy story",
	"football match team goal", "football team league season", "team goal league football match",
	"season match goal team",
}

func mustFitTiny(tb testing.TB, dim int) *LSA {
	tb.Helper()
	m, err := FitLSA(tinyCorpus, dim)
	if err != nil {
		tb.Fatalf("FitLSA: %v", err)
	}
	return m
}

func TestFitLSASmallCatalog(t *testing.T) {
	m := mustFitTiny(t, 64)
	if m.Dimensions() != 64 || m.k > len(tinyCorpus) {
		t.Fatalf("Dimensions() = %d with %d components, want 64 with at most %d", m.Dimensions(), m.k, len(tinyCorpus))
	}
	if !strings.HasPrefix(m.Model(), "lsa-") || len(m.Model()) != len("lsa-")+8 {
		t.Errorf("Model() = %q, want lsa-<8 hex digits>", m.Model())
	}
	vecs := mustEmbed(t, m, append([]string{"astronaut"}, tinyCorpus...))
	for i, v := range vecs {
		if len(v) != 64 || math.Abs(norm(v)-1) > 1e-5 {
			t.Errorf("vector %d: length %d, norm %v; want 64, 1", i, len(v), norm(v))
		}
		for c := m.k; c < len(v); c++ {
			if v[c] != 0 {
				t.Fatalf("vector %d: component %d beyond the %d fitted is %v, want 0", i, c, m.k, v[c])
			}
		}
	}
	// Untruncated, the model ranks like TF-IDF: the texts naming
	// astronauts come first.
	for i, text := range tinyCorpus {
		c := cosine(vecs[0], vecs[i+1])
		if strings.Contains(text, "astronaut") != (c > 0.1) {
			t.Errorf("cos(astronaut, %q) = %.3f", text, c)
		}
	}
}

// Truncated to the three topics of the corpus, terms that never meet in a
// text but share their contexts come together: that is what LSA is for.
func TestFitLSATopics(t *testing.T) {
	m := mustFitTiny(t, 3)
	vecs := mustEmbed(t, m, []string{"station", "launch", "wedding", "football"})
	near, far := cosine(vecs[0], vecs[1]), max(cosine(vecs[0], vecs[2]), cosine(vecs[0], vecs[3]))
	if near < far+0.5 {
		t.Errorf("cos(station, launch) = %.3f, not clearly above the unrelated %.3f", near, far)
	}
}

// A text without a known term gets the catalog centroid: cosine on a zero
// vector is undefined, and the centroid ranks such a text next to the most
// typical items instead of next to arbitrary ones.
func TestLSAUnknownText(t *testing.T) {
	m := mustFitTiny(t, 8)
	vecs := mustEmbed(t, m, []string{"", "the of and", "zzz qqq", "wedding"})
	for i := range 3 {
		if math.Abs(norm(vecs[i])-1) > 1e-5 {
			t.Fatalf("unknown text %d: norm %v, want 1", i, norm(vecs[i]))
		}
		if c := cosine(vecs[i], padded(m.centroid, 8)); c < 0.9999 {
			t.Errorf("unknown text %d: cosine to the centroid %.4f, want 1", i, c)
		}
	}
	if c := cosine(vecs[3], vecs[0]); c > 0.9 {
		t.Errorf("a known text embeds like an unknown one (cos %.3f)", c)
	}
}

// Repeated texts make the doc×term matrix rank-deficient: the fit must
// drop the empty components rather than divide by them.
func TestFitLSARepeatedTexts(t *testing.T) {
	m, err := FitLSA([]string{"space rocket", "space rocket", "space rocket"}, 8)
	if err != nil {
		t.Fatalf("FitLSA: %v", err)
	}
	if m.k != 1 {
		t.Errorf("%d components, want 1", m.k)
	}
	for i, v := range mustEmbed(t, m, []string{"rocket", "space", "unknown"}) {
		if math.Abs(norm(v)-1) > 1e-5 {
			t.Errorf("vector %d: norm %v, want 1", i, norm(v))
		}
	}
}

// Embed shares scratch buffers through a pool: concurrent calls must still
// give each text its own vector.
func TestLSAConcurrentEmbed(t *testing.T) {
	m := mustFitTiny(t, 3)
	want := mustEmbed(t, m, tinyCorpus)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for range 20 {
				got, err := m.Embed(context.Background(), tinyCorpus)
				if err != nil {
					t.Errorf("goroutine %d: %v", g, err)
					return
				}
				if !slices.EqualFunc(want, got, slices.Equal) {
					t.Errorf("goroutine %d: vectors differ from a serial Embed", g)
					return
				}
			}
		})
	}
	wg.Wait()
}

func padded(v []float32, dim int) []float32 {
	out := make([]float32, dim)
	copy(out, v)
	return out
}

func TestFitLSAErrors(t *testing.T) {
	tests := []struct {
		name  string
		texts []string
		dim   int
	}{
		{name: "dimension 0", texts: tinyCorpus, dim: 0},
		{name: "no texts", texts: nil, dim: 8},
		{name: "no shared term", texts: []string{"alpha beta", "gamma delta", "the of"}, dim: 8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := FitLSA(tt.texts, tt.dim)
			if code := mediarec.ErrorCode(err); code != mediarec.EINVALID {
				t.Errorf("FitLSA error %v, code %q; want %q", err, code, mediarec.EINVALID)
			}
		})
	}
}

func TestLSARoundTripSmall(t *testing.T) {
	m := mustFitTiny(t, 8)
	assertRoundTrip(t, m, tinyCorpus)
}

// assertRoundTrip checks that m survives MarshalBinary and UnmarshalLSA
// exactly: same bytes again, same name, bit-identical vectors.
func assertRoundTrip(t *testing.T, m *LSA, texts []string) {
	t.Helper()
	data, err := m.MarshalBinary()
	if err != nil {
		t.Fatalf("MarshalBinary: %v", err)
	}
	got, err := UnmarshalLSA(data)
	if err != nil {
		t.Fatalf("UnmarshalLSA: %v", err)
	}
	again, err := got.MarshalBinary()
	if err != nil || !bytes.Equal(data, again) {
		t.Fatalf("re-marshalled model differs (err %v)", err)
	}
	if got.Model() != m.Model() || got.Dimensions() != m.Dimensions() {
		t.Errorf("loaded model %q/%d, want %q/%d", got.Model(), got.Dimensions(), m.Model(), m.Dimensions())
	}
	want := mustEmbed(t, m, texts)
	have := mustEmbed(t, got, texts)
	for i := range want {
		for c := range want[i] {
			if want[i][c] != have[i][c] {
				t.Fatalf("text %d, component %d: %v after loading, %v before", i, c, have[i][c], want[i][c])
			}
		}
	}
}

func TestUnmarshalLSAErrors(t *testing.T) {
	good, err := mustFitTiny(t, 8).MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	edit := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(good)) }
	header := len(lsaMagic)
	tests := []struct {
		name string
		data []byte
	}{
		{name: "empty", data: nil},
		{name: "not a model", data: []byte("hello, world, this is not a model at all")},
		{name: "truncated", data: good[:len(good)-1]},
		{name: "trailing byte", data: append(bytes.Clone(good), 0)},
		{name: "header only", data: good[:header+16]},
		{name: "other format", data: edit(func(b []byte) []byte { binary.LittleEndian.PutUint16(b[header:], 99); return b })},
		{name: "other analyzer", data: edit(func(b []byte) []byte { binary.LittleEndian.PutUint16(b[header+2:], 99); return b })},
		{name: "k above dim", data: edit(func(b []byte) []byte { binary.LittleEndian.PutUint32(b[header+8:], 9); return b })},
		{name: "huge term count", data: edit(func(b []byte) []byte { binary.LittleEndian.PutUint32(b[header+12:], 1<<31); return b })},
		{name: "NaN weight", data: edit(func(b []byte) []byte {
			binary.LittleEndian.PutUint32(b[len(b)-4:], math.Float32bits(float32(math.NaN())))
			return b
		})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := UnmarshalLSA(tt.data)
			if code := mediarec.ErrorCode(err); code != mediarec.EINVALID {
				t.Errorf("UnmarshalLSA error %v, code %q; want %q", err, code, mediarec.EINVALID)
			}
		})
	}
}
