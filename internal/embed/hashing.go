package embed

import (
	"context"
	"math"
	"slices"
	"strconv"
	"sync"

	"mediarec/internal/linalg"
)

// Hashing is the local model before the first fit: signed feature hashing
// of the unigrams and bigrams of a text, with sublinear term frequency and
// no IDF (there is no corpus yet to learn it from). Texts that share terms
// get similar vectors, but synonyms ("astronaut", "space") do not: that is
// what fitting an LSA model adds.
type Hashing struct {
	dim      int
	fallback []float32
	scratch  sync.Pool // *hashingScratch
}

// NewHashing returns a hashing embedder of dim dimensions; dim below 1 is
// taken as 1.
func NewHashing(dim int) *Hashing {
	dim = max(dim, 1)
	// A text without any term (empty, or only stop words) still needs a
	// direction, since cosine on a zero vector is undefined. The uniform
	// vector is as good as any: under signed hashing it is nearly orthogonal
	// to every real text, and it is the same for all such texts.
	fb := make([]float32, dim)
	for i := range fb {
		fb[i] = float32(1 / math.Sqrt(float64(dim)))
	}
	return &Hashing{dim: dim, fallback: fb}
}

// Model returns "hashing-<dim>".
func (h *Hashing) Model() string { return "hashing-" + strconv.Itoa(h.dim) }

// Dimensions returns the vector length.
func (h *Hashing) Dimensions() int { return h.dim }

// Embed returns one unit vector per text. It fails only when ctx is done.
func (h *Hashing) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	sc, _ := h.scratch.Get().(*hashingScratch)
	if sc == nil {
		sc = new(hashingScratch)
	}
	defer h.scratch.Put(sc)
	for i, text := range texts {
		if i%256 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		out[i] = h.embed(text, sc)
	}
	return out, nil
}

type hashingScratch struct {
	stems  []string
	hashes []uint64
}

func (h *Hashing) embed(text string, sc *hashingScratch) []float32 {
	sc.stems = tokens(sc.stems[:0], text)
	sc.hashes = sc.hashes[:0]
	eachTerm(sc.stems,
		func(s string) { sc.hashes = append(sc.hashes, fnvString(fnvOffset, s)) },
		func(a, b string) { sc.hashes = append(sc.hashes, bigramHash(a, b)) })
	slices.Sort(sc.hashes)
	v := make([]float32, h.dim)
	for i := 0; i < len(sc.hashes); {
		j := i + 1
		for j < len(sc.hashes) && sc.hashes[j] == sc.hashes[i] {
			j++
		}
		hv := linalg.Mix64(sc.hashes[i]) // FNV leaves the top bit, the sign, poorly mixed for short terms
		w := float32(1 + math.Log(float64(j-i)))
		if hv>>63 == 1 { // the sign bit is independent of the bucket (low bits)
			w = -w
		}
		v[hv%uint64(h.dim)] += w
		i = j
	}
	if !normalize(v) {
		copy(v, h.fallback)
	}
	return v
}

// FNV-1a, written out so that hashing a term does not allocate. The hash is
// part of the model: changing it changes every hashing vector.
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func fnvString(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime
	}
	return h
}

// bigramHash hashes a+" "+b, the same string the LSA vocabulary stores.
func bigramHash(a, b string) uint64 {
	h := fnvString(fnvOffset, a)
	h = fnvString(h, " ")
	return fnvString(h, b)
}
