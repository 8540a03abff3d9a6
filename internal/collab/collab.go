// Package collab fits the collaborative half of the hybrid recommender:
// item factors learnt from who rated what, laid out so that one cosine
// inner-product ANN index over items serves recommendations.
//
// Why this design. The best simple collaborative model on our data is EASE,
// a ridge regression of each item's column of the user×item matrix X on the
// others, but it needs a dense items×items matrix: 4 TB at 1M items. Its
// low-rank relative keeps nearly all of its accuracy. With the truncated
// SVD X ≈ UΣVᵀ, ridge regression of X on itself restricted to the top k
// components is B = V·S·Vᵀ with S = diag(σ²/(σ²+λ)): components whose
// energy σ² is small next to λ are shrunk away, so truncating them costs
// little. EASE differs from plain ridge regression only by forbidding an
// item to predict itself, which for the off-diagonal entries amounts to
// dividing column j by 1 − Bⱼⱼ: the item-side normalisation below, which
// lifts the items with a large Bⱼⱼ, those the top components describe
// best, mostly the popular ones. A user's scores are then Σᵢ wᵢ·Bᵢⱼ over the
// items i they rated: the inner product of a query q = Σᵢ wᵢ·Vᵢ·S with the
// item vector Vⱼ/(1 − Bⱼⱼ). That is exactly what recs.Profile builds from
// per-item query vectors, and what a vector index answers.
//
// The hybrid vector concatenates the item's content vector (its text
// embedding, weighted) with these factors, so content and collaborative
// similarity add up in one inner product, and an item nobody has rated yet
// (a zero collaborative part) is still found by its content. The index
// ranks by the inner product itself, its graph linked by inner product
// too. The usual reduction to a cosine index, one more dimension
// √(M² − ‖v‖²) that makes every item vector as long as the longest
// (Bachrach et al. 2014), ranks the same exactly but not through a graph:
// the long tail of small item vectors, all but parallel to that dimension,
// became everyone's nearest neighbours, and the served hybrid found 37% of
// the exact top 10 on MovieLens (see BENCHMARKS.md, "Served hybrid").
//
// Fitting costs a randomized SVD of the sparse matrix, O(nnz·k) per pass,
// and the model holds k floats per item: no item×item matrix anywhere. On
// MovieLens it beats EASE itself (NDCG@10 0.127 against 0.102, see
// BENCHMARKS.md): with every factor kept and binary weights it would be
// EASE, and it gains by weighing ratings, in the fit and in the profile,
// where EASE counts every rating alike.
//
// To serve it: fit on every user's feedback, weighed by InteractionWeight;
// index ItemVector(id, content) of every item in an inner-product
// collection of Dim(len(content)) dimensions; build a user's query with recs.Profile over
// QueryVector(id, content) of the judged items, weighed by recs.Weight,
// and TagVector(content) of the preference tags. A user none of whose items
// is Known has no collaborative signal: the content profile alone serves.
// Refit as feedback accumulates; items added since the fit have zero
// factors until the next one.
package collab

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"mediarec"
	"mediarec/internal/linalg"
)

// Interaction is one user's weighted interaction with one item. Weights of
// the same user and item add up.
type Interaction struct {
	User, Item int64
	Weight     float64
}

// Options are the fitting parameters; the zero value of a field means its
// default.
type Options struct {
	// Factors is the number of collaborative dimensions k (default 128).
	// A catalog with fewer users or items gets fewer, zero-padded to k,
	// so that Dim does not depend on the data.
	Factors int
	// Lambda is the ridge penalty λ of the shrinkage σ²/(σ²+λ), on the
	// scale of the squared interaction weights (default 500, which suits
	// InteractionWeight).
	Lambda float64
	// ContentWeight is the weight of content similarity against
	// collaborative similarity (default 0.2). The content parts are scaled
	// by the mean length of the collaborative parts (query side and item
	// side), so that the weight means the same whatever the number of users
	// and items, and the scale of the weights.
	ContentWeight float64
	// Seed seeds the random test matrix of the SVD (default a fixed
	// constant): the same interactions and options give the same model.
	Seed uint64
}

// Fitting defaults and parameters of the randomized SVD.
const (
	DefaultFactors       = 128
	DefaultLambda        = 500
	DefaultContentWeight = 0.2
	defaultSeed          = 0x636f6c6c6162
	oversample           = 10
	powerIters           = 4
)

func (o Options) withDefaults() Options {
	if o.Factors == 0 {
		o.Factors = DefaultFactors
	}
	if o.Lambda == 0 {
		o.Lambda = DefaultLambda
	}
	if o.ContentWeight == 0 {
		o.ContentWeight = DefaultContentWeight
	}
	if o.Seed == 0 {
		o.Seed = defaultSeed
	}
	return o
}

// InteractionWeight is the weight of a judgement in the interaction matrix:
// a rating r weighs max(r − 2.5, 0.5), so 5 stars count five times as much
// as 3; a like counts as 4.5 stars and a dislike as the floor. A low rating
// still weighs something, because having watched an item says something
// about what a user watches next. On a validation split of MovieLens
// (see BENCHMARKS.md), binary weights lost 7% of NDCG@10.
func InteractionWeight(kind mediarec.FeedbackKind, rating float64) float64 {
	switch kind {
	case mediarec.FeedbackLike:
		rating = 4.5
	case mediarec.FeedbackDislike:
		rating = 0
	}
	return max(rating-2.5, 0.5)
}

// Model holds the fitted item factors. It is immutable and safe for
// concurrent use.
type Model struct {
	k            int             // factors per item, Options.Factors
	index        map[int64]int32 // item id → row of v
	v            []float32       // len(index)×k: right singular vectors
	shrink       []float32       // k: σ²/(σ²+λ), the query-side scale
	norm         []float32       // by row: 1/(1 − Bⱼⱼ), the item-side scale
	queryContent float32         // scale of the content part of queries
	itemContent  float32         // scale of the content part of items
	maxNorm2     float64         // the largest ‖item factors‖²
}

// Fit fits a model on the interactions; interactions of weight 0 are
// ignored. Errors: EINVALID when an option is negative, a weight is not
// finite, or no interaction has a non-zero weight.
func Fit(interactions []Interaction, opts Options) (*Model, error) {
	if opts.Factors < 0 || opts.Lambda < 0 || opts.ContentWeight < 0 {
		return nil, mediarec.Errorf(mediarec.EINVALID, "Collaborative options must not be negative.")
	}
	for _, in := range interactions {
		if math.IsNaN(in.Weight) || math.IsInf(in.Weight, 0) {
			return nil, mediarec.Errorf(mediarec.EINVALID, "The interaction of user %d with item %d has no finite weight.", in.User, in.Item)
		}
	}
	opts = opts.withDefaults()
	x, items := matrix(interactions)
	if len(x.Data) == 0 {
		return nil, mediarec.Errorf(mediarec.EINVALID, "No interaction with a non-zero weight to fit.")
	}
	m := &Model{
		k:      opts.Factors,
		index:  make(map[int64]int32, len(items)),
		v:      make([]float32, len(items)*opts.Factors),
		shrink: make([]float32, opts.Factors),
		norm:   make([]float32, len(items)),
	}
	for row, id := range items {
		m.index[id] = int32(row)
	}
	k := min(opts.Factors, x.Rows, x.Cols)
	v, sigma, err := linalg.TruncatedSVD(x, x.Transpose(), k, oversample, powerIters, opts.Seed)
	if err != nil {
		return nil, fmt.Errorf("fit collaborative factors on %d interactions: %w", len(x.Data), err)
	}
	for c, s := range sigma {
		m.shrink[c] = float32(s * s / (s*s + opts.Lambda))
	}
	var sumQuery, sumItem float64
	for row := range items {
		var diag, query2 float64
		for c := range k {
			x := v[row*k+c]
			m.v[row*m.k+c] = float32(x)
			diag += x * x * float64(m.shrink[c])
			query2 += x * x * float64(m.shrink[c]*m.shrink[c])
		}
		// Bⱼⱼ < 1 as ‖Vⱼ‖ ≤ 1 and every shrink < 1; the cap guards rounding.
		m.norm[row] = float32(1 / max(1-diag, 1e-3))
		var item2 float64
		for c := range k {
			x := float64(m.v[row*m.k+c] * m.norm[row])
			item2 += x * x
		}
		m.maxNorm2 = max(m.maxNorm2, item2)
		sumQuery += math.Sqrt(query2)
		sumItem += math.Sqrt(item2)
	}
	m.queryContent = float32(sumQuery / float64(len(items)))
	m.itemContent = float32(opts.ContentWeight * sumItem / float64(len(items)))
	return m, nil
}

// matrix builds the users×items CSR matrix of the interactions, rows and
// columns in id order, and returns it with the item id of every column.
func matrix(interactions []Interaction) (*linalg.CSR, []int64) {
	sorted := slices.DeleteFunc(slices.Clone(interactions), func(in Interaction) bool { return in.Weight == 0 })
	slices.SortFunc(sorted, func(a, b Interaction) int {
		return cmp.Or(cmp.Compare(a.User, b.User), cmp.Compare(a.Item, b.Item))
	})
	var items []int64
	for _, in := range sorted {
		items = append(items, in.Item)
	}
	slices.Sort(items)
	items = slices.Compact(items)
	col := make(map[int64]int32, len(items))
	for j, id := range items {
		col[id] = int32(j)
	}
	x := &linalg.CSR{Cols: len(items), Indptr: []int{0}}
	for i, in := range sorted {
		if i > 0 && in.User == sorted[i-1].User && in.Item == sorted[i-1].Item {
			x.Data[len(x.Data)-1] += in.Weight
			continue
		}
		if i > 0 && in.User != sorted[i-1].User {
			x.Indptr = append(x.Indptr, len(x.Data))
		}
		x.Indices = append(x.Indices, col[in.Item])
		x.Data = append(x.Data, in.Weight)
	}
	if len(sorted) > 0 {
		x.Indptr = append(x.Indptr, len(x.Data))
	}
	x.Rows = len(x.Indptr) - 1
	return x, items
}

// Dim returns the length of the vectors for content vectors of contentDim:
// the content part and the k factors.
func (m *Model) Dim(contentDim int) int { return contentDim + m.k }

// MaxNorm bounds the length of every ItemVector of unit content: the
// inner product of a unit query with an item divided by it is a score
// in [−1, 1], on the scale of a cosine.
func (m *Model) MaxNorm() float64 {
	cw := float64(m.itemContent)
	return math.Sqrt(cw*cw + m.maxNorm2)
}

// Factors returns k, the number of collaborative dimensions.
func (m *Model) Factors() int { return m.k }

// Items returns the ids of the items that had interactions in the fit, in
// ascending order.
func (m *Model) Items() []int64 {
	out := make([]int64, 0, len(m.index))
	for id := range m.index {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}

// Known reports whether the item had interactions in the fit, so that its
// vectors carry collaborative factors. A user none of whose items is known
// has no collaborative signal: recommend from content alone.
func (m *Model) Known(item int64) bool {
	_, ok := m.index[item]
	return ok
}

// ItemVector returns the vector to index for an item: its content vector
// (unit length, as embedders return them) scaled by the content weight,
// then its collaborative factors (zero for an item without interactions).
// It has Dim(len(content)) floats.
func (m *Model) ItemVector(item int64, content []float32) []float32 {
	out := make([]float32, m.Dim(len(content)))
	for i, x := range content {
		out[i] = m.itemContent * x
	}
	if row, ok := m.index[item]; ok {
		f := out[len(content):]
		n := m.norm[row]
		for c, x := range m.v[int(row)*m.k:][:m.k] {
			f[c] = n * x
		}
	}
	return out
}

// QueryVector returns what a judged item contributes to a user's profile,
// before its weight: the content vector and the shrunk collaborative
// factors. Combine them with recs.Profile.
func (m *Model) QueryVector(item int64, content []float32) []float32 {
	out := m.TagVector(content)
	if row, ok := m.index[item]; ok {
		f := out[len(content) : len(content)+m.k]
		for c, x := range m.v[int(row)*m.k:][:m.k] {
			f[c] = m.shrink[c] * x
		}
	}
	return out
}

// TagVector returns what a preference tag, embedded as content, contributes
// to a profile: the content part alone.
func (m *Model) TagVector(content []float32) []float32 {
	out := make([]float32, m.Dim(len(content)))
	for i, x := range content {
		out[i] = m.queryContent * x
	}
	return out
}
