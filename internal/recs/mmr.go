package recs

import (
	"slices"
	"strings"

	"mediarec"
	"mediarec/internal/linalg"
)

// candidate is an item found near the profile, with its vector and genres
// for the rerank.
type candidate struct {
	id        int64
	typ       mediarec.ItemType
	relevance float32
	vector    []float32
	genres    []string
}

// mmr picks up to n candidates by maximal marginal relevance: each pick
// maximises λ·relevance − (1−λ)·(similarity to the closest item already
// picked), with λ = 1 − 0.9·diversity and relevance scaled to [0, 1] over
// the pool. Diversity 0 keeps the relevance order; at 0.8 half of a
// science-fiction fan's films are of other genres, for a fifth of the
// hybrid's NDCG (see BENCHMARKS.md); λ stays above 0 so that relevance
// still breaks ties at 1. No more than perType items of
// one media type are picked while other types have candidates left.
// Candidates arrive best first.
//
// Similarity is the mean of the vectors' cosine and the genres' Jaccard
// overlap. By vectors alone, twenty science-fiction films can be far
// enough apart to count as varied, and the list a user sees stays one
// genre at every setting; genres are the variety a user notices.
func mmr(cands []candidate, n int, diversity float64, perType int) []candidate {
	lambda := float32(1 - diversity*0.9)
	// Relevance runs from 0 to 1 over the pool, so that a setting trades
	// as much in the hybrid space, whose scores are small, as in the
	// content space.
	lo, hi := float32(0), float32(1)
	if len(cands) > 0 {
		lo, hi = cands[0].relevance, cands[0].relevance
		for _, c := range cands {
			lo, hi = min(lo, c.relevance), max(hi, c.relevance)
		}
	}
	span := hi - lo
	if span <= 0 {
		span = 1
	}
	count := map[mediarec.ItemType]int{}
	picked := make([]candidate, 0, min(n, len(cands)))
	left := append([]candidate(nil), cands...)
	// closest[i] is the similarity of left[i] to its nearest picked item.
	closest := make([]float32, len(left))
	for i := range closest {
		closest[i] = -1
	}
	for len(picked) < n && len(left) > 0 {
		best, bestScore := -1, float32(0)
		for _, capped := range []bool{true, false} {
			for i, c := range left {
				if capped && count[c.typ] >= perType {
					continue
				}
				score := lambda*(c.relevance-lo)/span - (1-lambda)*max(closest[i], 0)
				if best < 0 || score > bestScore {
					best, bestScore = i, score
				}
			}
			if best >= 0 {
				break
			}
		}
		p := left[best]
		count[p.typ]++
		picked = append(picked, p)
		left = append(left[:best], left[best+1:]...)
		closest = append(closest[:best], closest[best+1:]...)
		if diversity > 0 {
			for i, c := range left {
				closest[i] = max(closest[i], similarity(c, p))
			}
		}
	}
	return picked
}

// similarity is the mean of the cosine and the genres' overlap, or the
// cosine alone when either item has no genres.
func similarity(a, b candidate) float32 {
	cos := linalg.Dot(a.vector, b.vector)
	if len(a.genres) == 0 || len(b.genres) == 0 {
		return cos
	}
	return (cos + jaccard(a.genres, b.genres)) / 2
}

// jaccard is the overlap of two non-empty genre lists, ignoring case.
func jaccard(a, b []string) float32 {
	shared := 0
	for _, g := range a {
		if slices.ContainsFunc(b, func(h string) bool { return strings.EqualFold(g, h) }) {
			shared++
		}
	}
	return float32(shared) / float32(len(a)+len(b)-shared)
}
