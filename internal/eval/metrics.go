package eval

import (
	"math"
	"slices"
)

// Metrics are a method's scores over the evaluated users.
type Metrics struct {
	// NDCG is the mean NDCG@k: binary relevance, discount log2(rank+1),
	// normalised by the ideal DCG of min(positives, k) hits.
	NDCG float64
	// Recall is the mean Recall@k: hits over the user's test positives.
	Recall float64
	// Coverage is the share of the catalog recommended to anyone.
	Coverage float64
	// Diversity is the mean intra-list diversity: the mean over pairs of
	// recommended items of 1 − the Jaccard similarity of their genres
	// (items without genres are unlike any other). Genres rather than the
	// content vectors, so that the figure does not depend on the embedder
	// under test.
	Diversity float64
	// Novelty is the mean self-information −log2(p) of the recommended
	// items, p the item's share of the train interactions; items never seen
	// in train count as seen once.
	Novelty float64
}

// ndcg returns the NDCG of a ranked list against the positives.
func ndcg(list []int, positives []int, k int) float64 {
	if len(positives) == 0 {
		return 0
	}
	var dcg, ideal float64
	for r, it := range list[:min(k, len(list))] {
		if slices.Contains(positives, it) {
			dcg += 1 / math.Log2(float64(r+2))
		}
	}
	for r := range min(len(positives), k) {
		ideal += 1 / math.Log2(float64(r+2))
	}
	return dcg / ideal
}

// recall returns the share of the positives found in the first k of list.
func recall(list []int, positives []int, k int) float64 {
	if len(positives) == 0 {
		return 0
	}
	hits := 0
	for _, it := range list[:min(k, len(list))] {
		if slices.Contains(positives, it) {
			hits++
		}
	}
	return float64(hits) / float64(len(positives))
}

// genreJaccard returns the Jaccard similarity of two sorted genre id sets,
// 0 when both are empty.
func genreJaccard(a, b []int) float64 {
	inter, i, j := 0, 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i] == b[j]:
			inter++
			i++
			j++
		case a[i] < b[j]:
			i++
		default:
			j++
		}
	}
	union := len(a) + len(b) - inter
	if union == 0 {
		return 0
	}
	return float64(inter) / float64(union)
}

// diversity returns the mean pairwise genre distance of a list, 0 for a
// list of fewer than two items.
func diversity(list []int, genres [][]int) float64 {
	var sum float64
	pairs := 0
	for i := range list {
		for j := i + 1; j < len(list); j++ {
			sum += 1 - genreJaccard(genres[list[i]], genres[list[j]])
			pairs++
		}
	}
	if pairs == 0 {
		return 0
	}
	return sum / float64(pairs)
}

// novelty returns the mean −log2 of the items' shares of the total train
// interactions, counting unseen items as seen once.
func novelty(list []int, counts []int, total int) float64 {
	if len(list) == 0 || total == 0 {
		return 0
	}
	var sum float64
	for _, it := range list {
		sum -= math.Log2(float64(max(counts[it], 1)) / float64(total))
	}
	return sum / float64(len(list))
}
