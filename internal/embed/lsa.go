package embed

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"runtime"
	"slices"
	"strings"
	"sync"

	"gonum.org/v1/gonum/floats"

	"mediarec"
	"mediarec/internal/linalg"
)

// Fitting parameters. They are part of what a fit computes, so changing one
// changes the model (and its name) fitted on the same catalog.
const (
	maxVocabulary = 100_000 // terms kept, by document frequency
	oversample    = 10      // extra random directions of the randomized SVD
	powerIters    = 3       // enough for the slowly decaying spectrum of text
	svdSeed       = 0x6d65646961726563
	// sigmaPower scales the projection onto component c by σ_c^sigmaPower,
	// so that a catalog item lands at UΣ^(1+sigmaPower). It applies only
	// to a truncated model, fitted on a catalog with more texts and terms
	// than dim (see FitLSA). Untruncated, -½ turns similarities
	// anti-correlated, while 0 (classic LSA) leaves plain TF-IDF cosine, a
	// sound floor. Truncated, -½ did best both at retrieving each MovieLens
	// movie's TMDB twin without its title (MRR 0.123; 0.111 at 0, 0.076 at
	// ½; measured before centre) and at recommending MovieLens movies by
	// content (see BENCHMARKS.md).
	sigmaPower = -0.5
	// relTol drops components whose singular value is negligible next to
	// the first: on a tiny catalog they are rounding noise, not topics.
	relTol = 1e-6
)

// LSA is the local model once fitted on a catalog: TF-IDF over stems and
// bigrams, projected onto the top right singular vectors of the catalog's
// doc×term matrix (latent semantic analysis), so that terms which occur in
// the same kind of items ("astronaut", "space", "nasa") land close together.
// An LSA is immutable and safe for concurrent use.
type LSA struct {
	dim      int              // length of the vectors returned
	k        int              // fitted components, ≤ dim; the rest are zero
	terms    []string         // vocabulary, by id
	vocab    map[string]int32 // term → id
	idf      []float32        // by id
	weights  []float32        // len(terms)×k: the projection of one unit of each term
	centroid []float32        // k: where a text with no known term goes
	model    string
	scratch  sync.Pool // *lsaScratch, so that Embed does not allocate per term
}

// FitLSA fits a model of dim dimensions on the texts of a catalog. The result
// depends only on texts (in order) and dim: fitting twice gives
// byte-identical models. A catalog with fewer usable texts or terms than dim
// gets fewer components, zero-padded to dim. Errors: EINVALID when dim < 1 or
// when no term occurs in two texts, so there is nothing to fit.
func FitLSA(texts []string, dim int) (*LSA, error) {
	if dim < 1 {
		return nil, mediarec.Errorf(mediarec.EINVALID, "The LSA dimension %d is below 1.", dim)
	}
	terms, df := vocabulary(texts)
	if len(terms) == 0 {
		return nil, mediarec.Errorf(mediarec.EINVALID, "Cannot fit an LSA model: no term occurs in two of the %d texts.", len(texts))
	}
	m := &LSA{dim: dim, terms: terms, vocab: make(map[string]int32, len(terms)), idf: make([]float32, len(terms))}
	for id, t := range terms {
		m.vocab[t] = int32(id)
		// Smooth IDF, as if one extra document held every term.
		m.idf[id] = float32(math.Log(float64(1+len(texts))/float64(1+df[id])) + 1)
	}
	a := m.tfidfMatrix(texts)
	k := min(dim, a.Rows, a.Cols)
	v, sigma, err := linalg.TruncatedSVD(a, a.Transpose(), k, oversample, powerIters, svdSeed)
	if err != nil {
		return nil, fmt.Errorf("fit LSA on %d texts: %w", len(texts), err)
	}
	for k > 1 && sigma[k-1] <= relTol*sigma[0] {
		k--
	}
	m.k = k
	truncated := k == dim && k > 1 && min(a.Rows, a.Cols) > dim
	power := 0.0
	if truncated {
		power = sigmaPower
	}
	m.weights = make([]float32, len(terms)*k)
	for j := range terms {
		for c := range k {
			m.weights[j*k+c] = float32(v[j*len(sigma)+c] * math.Pow(sigma[c], power))
		}
	}
	if truncated {
		m.centre(a)
	}
	m.centroid = m.docCentroid(a)
	if err := m.name(); err != nil {
		return nil, err
	}
	return m, nil
}

// vocabulary returns the terms (stems and bigrams) found in at least two
// texts, the most frequent maxVocabulary of them, in the order of
// decreasing document frequency then of the term, and their frequencies.
func vocabulary(texts []string) ([]string, []int) {
	counts := make([]map[string]int, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for w := range counts {
		counts[w] = make(map[string]int)
		lo, hi := chunk(len(texts), len(counts), w)
		wg.Go(func() {
			seen := make(map[string]bool)
			var stems []string
			for _, text := range texts[lo:hi] {
				stems = tokens(stems[:0], text)
				clear(seen)
				eachTerm(stems, func(s string) { seen[s] = true },
					func(a, b string) { seen[a+" "+b] = true })
				for t := range seen {
					counts[w][t]++
				}
			}
		})
	}
	wg.Wait()
	df := counts[0]
	for _, c := range counts[1:] {
		for t, n := range c {
			df[t] += n
		}
	}
	var terms []string
	for t, n := range df {
		if n >= 2 {
			terms = append(terms, t)
		}
	}
	slices.SortFunc(terms, func(a, b string) int {
		return cmp.Or(cmp.Compare(df[b], df[a]), strings.Compare(a, b))
	})
	terms = terms[:min(len(terms), maxVocabulary)]
	freq := make([]int, len(terms))
	for i, t := range terms {
		freq[i] = df[t]
	}
	return terms, freq
}

// chunk returns the bounds of part w of n items split into parts parts.
func chunk(n, parts, w int) (lo, hi int) {
	return n * w / parts, n * (w + 1) / parts
}

// tfidfMatrix returns the L2-normalised TF-IDF rows of the texts that have
// at least one known term; the others carry no information to fit.
func (m *LSA) tfidfMatrix(texts []string) *linalg.CSR {
	type part struct {
		indptr  []int
		indices []int32
		data    []float64
	}
	parts := make([]part, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for w := range parts {
		lo, hi := chunk(len(texts), len(parts), w)
		wg.Go(func() {
			var sc lsaScratch
			p := &parts[w]
			for _, text := range texts[lo:hi] {
				m.termCounts(text, &sc)
				if len(sc.counts) == 0 {
					continue
				}
				var norm float64
				start := len(p.data)
				for _, tc := range sc.counts {
					x := float64(m.tfidf(tc))
					p.indices = append(p.indices, tc.id)
					p.data = append(p.data, x)
					norm += x * x
				}
				floats.Scale(1/math.Sqrt(norm), p.data[start:])
				p.indptr = append(p.indptr, len(p.data)-start)
			}
		})
	}
	wg.Wait()
	a := &linalg.CSR{Cols: len(m.terms), Indptr: []int{0}}
	for _, p := range parts {
		for _, n := range p.indptr {
			a.Indptr = append(a.Indptr, a.Indptr[len(a.Indptr)-1]+n)
		}
		a.Indices = append(a.Indices, p.indices...)
		a.Data = append(a.Data, p.data...)
	}
	a.Rows = len(a.Indptr) - 1
	return a
}

// centre projects the catalog's mean direction out of the model. The
// texts of a catalog share much (a type, common genres, a decade), so
// their vectors gather in a cone around that direction. A profile, a sum
// of many items, points along it too, and cosine then ranks first the
// items whose short texts are mostly what all items share, not the ones
// that match the profile's particular tastes. On the MovieLens validation
// split, centring raised content recommendation NDCG@10 from 0.025 to
// 0.029 (see BENCHMARKS.md). The vectors keep k components, in a subspace
// of k − 1.
func (m *LSA) centre(a *linalg.CSR) {
	c := m.docCentroid(a)
	for j := range m.terms {
		row := m.weights[j*m.k:][:m.k]
		var d float64
		for i, x := range row {
			d += float64(x) * float64(c[i])
		}
		for i := range row {
			row[i] -= float32(d * float64(c[i]))
		}
	}
}

// docCentroid returns the unit mean direction of the catalog's own vectors,
// used for texts without any known term. A zero vector would leave cosine
// undefined, and a hashed direction would be a random point that drags in
// arbitrary neighbours; the centroid instead says "a typical item", so such
// a text is ranked next to the most generic items of the catalog.
func (m *LSA) docCentroid(a *linalg.CSR) []float32 {
	sum := make([]float64, m.k)
	v := make([]float64, m.k)
	for i := range a.Rows {
		clear(v)
		for p := a.Indptr[i]; p < a.Indptr[i+1]; p++ {
			row := m.weights[int(a.Indices[p])*m.k:][:m.k]
			for c, x := range row {
				v[c] += a.Data[p] * float64(x)
			}
		}
		if norm := floats.Norm(v, 2); norm > 0 {
			floats.AddScaled(sum, 1/norm, v)
		}
	}
	out := make([]float32, m.k)
	for c, x := range sum {
		out[c] = float32(x)
	}
	if !normalize(out) {
		out[0] = 1
	}
	return out
}

// Model returns "lsa-" and the first 8 hex digits of the SHA-256 of the
// model's bytes: a refit on a changed catalog is a new model.
func (m *LSA) Model() string { return m.model }

// Dimensions returns the vector length, the dim the model was fitted with.
func (m *LSA) Dimensions() int { return m.dim }

// Embed returns one unit vector per text. It fails only when ctx is done.
func (m *LSA) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	sc, _ := m.scratch.Get().(*lsaScratch)
	if sc == nil {
		sc = new(lsaScratch)
	}
	defer m.scratch.Put(sc)
	for i, text := range texts {
		if i%256 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		out[i] = m.embed(text, sc)
	}
	return out, nil
}

type termCount struct {
	id int32
	tf int32
}

type lsaScratch struct {
	stems  []string
	ids    []int32
	counts []termCount
	key    []byte
}

// termCounts sets sc.counts to the known terms of text and their counts,
// ordered by id.
func (m *LSA) termCounts(text string, sc *lsaScratch) {
	sc.stems = tokens(sc.stems[:0], text)
	sc.ids = sc.ids[:0]
	eachTerm(sc.stems,
		func(s string) {
			if id, ok := m.vocab[s]; ok {
				sc.ids = append(sc.ids, id)
			}
		},
		func(a, b string) {
			sc.key = append(append(append(sc.key[:0], a...), ' '), b...)
			if id, ok := m.vocab[string(sc.key)]; ok {
				sc.ids = append(sc.ids, id)
			}
		})
	slices.Sort(sc.ids)
	sc.counts = sc.counts[:0]
	for i := 0; i < len(sc.ids); {
		j := i + 1
		for j < len(sc.ids) && sc.ids[j] == sc.ids[i] {
			j++
		}
		sc.counts = append(sc.counts, termCount{id: sc.ids[i], tf: int32(j - i)})
		i = j
	}
}

// tfidf is the weight of a term in a text: sublinear TF, so that a word
// repeated ten times does not count ten times as much, times IDF.
func (m *LSA) tfidf(tc termCount) float32 {
	return float32(1+math.Log(float64(tc.tf))) * m.idf[tc.id]
}

func (m *LSA) embed(text string, sc *lsaScratch) []float32 {
	m.termCounts(text, sc)
	out := make([]float32, m.dim)
	v := out[:m.k]
	for _, tc := range sc.counts {
		w := m.tfidf(tc)
		row := m.weights[int(tc.id)*m.k:][:m.k]
		for c, x := range row {
			v[c] += w * x
		}
	}
	if !normalize(v) {
		copy(v, m.centroid)
	}
	return out
}
