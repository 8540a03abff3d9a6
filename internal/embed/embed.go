// Package embed turns catalog items and search queries into dense vectors.
//
// Two embedders satisfy the Embedder port: the local one (feature hashing
// until a catalog exists, then latent semantic analysis fitted on it), which
// needs no network and is the default, and OpenAI, which speaks to any
// OpenAI-compatible /v1/embeddings endpoint.
package embed

import (
	"context"
	"math"
	"strconv"
	"strings"

	"mediarec"
)

// Embedder turns texts into L2-normalised vectors of Dimensions() floats.
type Embedder interface {
	// Embed returns one vector per text, in order. Errors: EINVALID when the
	// endpoint rejects the input, EUNAVAILABLE when it cannot be reached or
	// keeps failing; any other error is internal.
	Embed(ctx context.Context, texts []string) ([][]float32, error)
	// Model names the model and its version, e.g. "lsa-3f9a1c2b" or
	// "text-embedding-3-small": vectors of different models must not be
	// compared.
	Model() string
	// Dimensions is the length of every vector Embed returns.
	Dimensions() int
}

var (
	_ Embedder = (*Hashing)(nil)
	_ Embedder = (*LSA)(nil)
	_ Embedder = (*OpenAI)(nil)
)

// tagRepeats is how many times ItemText writes the tags. Tags are what
// people call an item ("space", "twist ending"), so they say more about it
// than its other fields: on the MovieLens validation split, writing them
// three times instead of once raised content recommendation NDCG@10 from
// 0.025 to 0.029 (see BENCHMARKS.md).
const tagRepeats = 3

// ItemText is the text an item is embedded from: title, type, release year
// and decade, genres, tags, creators, description. The title is written
// twice because it is the shortest field yet the one a searcher most often
// names, and the tags tagRepeats times. The year and decade ("1995",
// "1990s") let a profile prefer the era of the items it was built from.
// Fields are joined with ". " so that the local analyzer does not form
// bigrams across them.
func ItemText(item *mediarec.Item) string {
	var b strings.Builder
	b.Grow(2*len(item.Title) + len(item.Description) + 64)
	field := func(s string) {
		s = strings.TrimSpace(s)
		if s == "" {
			return
		}
		if b.Len() > 0 {
			b.WriteString(". ")
		}
		b.WriteString(s)
	}
	field(item.Title)
	field(item.Title)
	field(string(item.Type))
	if item.Year > 0 {
		field(strconv.Itoa(item.Year))
		field(strconv.Itoa(item.Year/10*10) + "s")
	}
	field(strings.Join(item.Genres, ", "))
	tags := strings.Join(item.Tags, ", ")
	for range tagRepeats {
		field(tags)
	}
	field(strings.Join(item.Creators, ", "))
	field(item.Description)
	return b.String()
}

// normalize scales v to unit length in place and reports false when v is
// zero (or not finite), which has no direction.
func normalize(v []float32) bool {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	if s == 0 || math.IsInf(s, 0) || math.IsNaN(s) {
		return false
	}
	inv := float32(1 / math.Sqrt(s))
	for i := range v {
		v[i] *= inv
	}
	return true
}
