package recs

import (
	"math"
	"time"

	"mediarec"
)

// The profile's constants, tuned on the MovieLens evaluation (see
// BENCHMARKS.md): dislikes push half as hard as likes pull, preference tags
// weigh as much as half a like each, and a judgement loses half its weight
// in HalfLife.
const (
	DislikeWeight = 0.5
	TagWeight     = 0.5
	HalfLife      = 365 * 24 * time.Hour
)

// Judgement is a user's feedback on one item, as the profile weighs it.
type Judgement struct {
	Kind   mediarec.FeedbackKind
	Rating float64
	At     time.Time
}

// Weight is how hard a judgement pulls the profile toward its item
// (positive) or pushes it away (negative), as of now. A like counts as a
// 4.5-star rating; ratings from 3 up pull, more the higher they are
// (5 pulls five times as hard as 3); ratings below 3 count as dislikes.
func Weight(j Judgement, now time.Time) float64 {
	var w float64
	switch j.Kind {
	case mediarec.FeedbackLike:
		w = ratingPull(4.5)
	case mediarec.FeedbackDislike:
		w = -DislikeWeight
	case mediarec.FeedbackRating:
		if j.Rating >= 3 {
			w = ratingPull(j.Rating)
		} else {
			w = -DislikeWeight * (3 - j.Rating) / 2.5
		}
	}
	if age := now.Sub(j.At); age > 0 {
		w *= math.Exp2(-float64(age) / float64(HalfLife))
	}
	return w
}

// ratingPull maps 3…5 stars to 0.2…1.
func ratingPull(r float64) float64 { return (r - 2.5) / 2.5 }

// Profile is normalise(Σ wᵢ·itemᵢ + TagWeight·Σ tagₖ): the weighted sum of
// the judged items' vectors and the preference tags' vectors. It returns
// nil when the sum has no direction (no judgements and no tags, or only
// dislikes that cancel out).
func Profile(items [][]float32, weights []float64, tags [][]float32) []float32 {
	var dim int
	for _, v := range append(items[:len(items):len(items)], tags...) {
		dim = max(dim, len(v))
	}
	if dim == 0 {
		return nil
	}
	sum := make([]float64, dim)
	add := func(v []float32, w float64) {
		for i, x := range v {
			sum[i] += w * float64(x)
		}
	}
	for i, v := range items {
		add(v, weights[i])
	}
	for _, v := range tags {
		add(v, TagWeight)
	}
	var norm float64
	for _, x := range sum {
		norm += x * x
	}
	if norm == 0 || math.IsNaN(norm) || math.IsInf(norm, 0) {
		return nil
	}
	inv := 1 / math.Sqrt(norm)
	out := make([]float32, dim)
	for i, x := range sum {
		out[i] = float32(x * inv)
	}
	return out
}
