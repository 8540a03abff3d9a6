package recs

import (
	"mediarec"
	"mediarec/internal/linalg"
)

// candidate is an item found near the profile, with its vector for the
// rerank.
type candidate struct {
	id        int64
	typ       mediarec.ItemType
	relevance float32
	vector    []float32
}

// mmr picks up to n candidates by maximal marginal relevance: each pick
// maximises λ·relevance − (1−λ)·(similarity to the closest item already
// picked), with λ = 1 − diversity/2. Diversity 0 keeps the relevance order;
// 1 weighs relevance and novelty equally (beyond that, lists fill with
// items unrelated to the user). No more than perType items of
// one media type are picked while other types have candidates left.
// Candidates arrive best first.
func mmr(cands []candidate, n int, diversity float64, perType int) []candidate {
	lambda := float32(1 - diversity/2)
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
				score := lambda*c.relevance - (1-lambda)*max(closest[i], 0)
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
				closest[i] = max(closest[i], linalg.Dot(c.vector, p.vector))
			}
		}
	}
	return picked
}
