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
	return itemText(item, item.Description, item.Tags, tagRepeats)
}

func itemText(item *mediarec.Item, description string, tags []string, repeats int) string {
	var b strings.Builder
	b.Grow(2*len(item.Title) + len(description) + 64)
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
	joined := strings.Join(tags, ", ")
	for range repeats {
		field(joined)
	}
	field(strings.Join(item.Creators, ", "))
	field(description)
	return b.String()
}

// inputLimited is an embedder that takes texts up to a length (OpenAI).
type inputLimited interface {
	MaxInputTokens() int
	EstimateTokens(s string) int
}

// TextFor is the text e embeds item from: ItemText, unless that is longer
// than e takes. Then the description is shortened first (word by word,
// to nothing if need be), then the tags are written once instead of
// tagRepeats times, then the last tags go; the embedder cuts what is still
// too long from the end. Cutting the text's end alone, as servers that
// truncate do, would lose the description whole to a long tag list.
func TextFor(e Embedder, item *mediarec.Item) string {
	text := ItemText(item)
	lim, ok := e.(inputLimited)
	if !ok {
		return text
	}
	limit := lim.MaxInputTokens()
	fits := func(s string) bool { return lim.EstimateTokens(s) <= limit }
	if fits(text) {
		return text
	}
	words := strings.Fields(item.Description)
	// The longest start of the description that fits, by bisection.
	lo, hi := 0, len(words)
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if fits(itemText(item, strings.Join(words[:mid], " "), item.Tags, tagRepeats)) {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	if text := itemText(item, strings.Join(words[:lo], " "), item.Tags, tagRepeats); lo > 0 || fits(text) {
		return text
	}
	if text := itemText(item, "", item.Tags, 1); fits(text) {
		return text
	}
	lo, hi = 0, len(item.Tags)
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if fits(itemText(item, "", item.Tags[:mid], 1)) {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return itemText(item, "", item.Tags[:lo], 1)
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
