package eval

import (
	"math"
	"slices"
	"testing"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestNDCG(t *testing.T) {
	l2 := func(rank int) float64 { return 1 / math.Log2(float64(rank+1)) } // rank is 1-based
	tests := []struct {
		name      string
		list      []int
		positives []int
		k         int
		want      float64
	}{
		{name: "hit at rank 2 of 1 positive", list: []int{1, 2, 3}, positives: []int{2}, k: 3, want: l2(2)},
		{name: "hits at ranks 1 and 3 of 2", list: []int{1, 2, 3}, positives: []int{1, 3}, k: 3,
			want: (1 + l2(3)) / (1 + l2(2))},
		{name: "ideal DCG over min(positives, k)", list: []int{1, 2}, positives: []int{1, 2, 3, 4, 5}, k: 2, want: 1},
		{name: "hit beyond k", list: []int{1, 2, 3}, positives: []int{3}, k: 2, want: 0},
		{name: "no hit", list: []int{1, 2, 3}, positives: []int{7}, k: 3, want: 0},
		{name: "no positives", list: []int{1}, positives: nil, k: 3, want: 0},
		{name: "short list", list: []int{4}, positives: []int{4, 5}, k: 10, want: 1 / (1 + l2(2))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ndcg(tt.list, tt.positives, tt.k); !near(got, tt.want) {
				t.Errorf("ndcg = %.6f, want %.6f", got, tt.want)
			}
		})
	}
}

func TestRecall(t *testing.T) {
	tests := []struct {
		name      string
		list      []int
		positives []int
		k         int
		want      float64
	}{
		{name: "one of four", list: []int{1, 2, 3}, positives: []int{3, 4, 5, 6}, k: 3, want: 0.25},
		{name: "more positives than k", list: []int{1, 2}, positives: []int{1, 2, 3, 4}, k: 2, want: 0.5},
		{name: "only the first k count", list: []int{1, 2, 3}, positives: []int{3}, k: 2, want: 0},
		{name: "all", list: []int{5, 6}, positives: []int{6, 5}, k: 10, want: 1},
		{name: "no positives", list: []int{1}, k: 1, want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := recall(tt.list, tt.positives, tt.k); !near(got, tt.want) {
				t.Errorf("recall = %.6f, want %.6f", got, tt.want)
			}
		})
	}
}

func TestDiversity(t *testing.T) {
	genres := [][]int{
		0: {0, 1},
		1: {1},
		2: {2},
		3: {0, 1},
		4: nil,
		5: nil,
	}
	tests := []struct {
		name string
		list []int
		want float64
	}{
		// Jaccard {0,1}·{1} = ½, {0,1}·{2} = 0, {1}·{2} = 0: (½ + 1 + 1)/3.
		{name: "three items", list: []int{0, 1, 2}, want: 2.5 / 3},
		{name: "same genres", list: []int{0, 3}, want: 0},
		{name: "no genres are unlike anything", list: []int{4, 5}, want: 1},
		{name: "one item", list: []int{0}, want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := diversity(tt.list, genres); !near(got, tt.want) {
				t.Errorf("diversity = %.6f, want %.6f", got, tt.want)
			}
		})
	}
}

func TestNovelty(t *testing.T) {
	counts := []int{4, 2, 0, 1, 1}
	const total = 8
	tests := []struct {
		name string
		list []int
		want float64
	}{
		{name: "half of the interactions", list: []int{0}, want: 1},
		// −log2(4/8) = 1, −log2(2/8) = 2, unseen as 1/8: 3.
		{name: "mean with an unseen item", list: []int{0, 1, 2}, want: 2},
		{name: "empty list", list: nil, want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := novelty(tt.list, counts, total); !near(got, tt.want) {
				t.Errorf("novelty = %.6f, want %.6f", got, tt.want)
			}
		})
	}
}

func TestTopK(t *testing.T) {
	tests := []struct {
		name     string
		scores   []float64
		excluded []int
		k        int
		want     []int
	}{
		{name: "best first", scores: []float64{0.1, 0.9, 0.5, 0.7}, k: 3, want: []int{1, 3, 2}},
		{name: "ties to the lower index", scores: []float64{1, 2, 2, 2, 1}, k: 2, want: []int{1, 2}},
		{name: "excluded items never rank", scores: []float64{3, 2, 1}, excluded: []int{0}, k: 2, want: []int{1, 2}},
		{name: "NaN ranks last", scores: []float64{math.NaN(), -5, math.Inf(-1)}, k: 3, want: []int{1, 0, 2}},
		{name: "fewer candidates than k", scores: []float64{1, 2}, excluded: []int{1}, k: 5, want: []int{0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			excluded := make([]bool, len(tt.scores))
			for _, i := range tt.excluded {
				excluded[i] = true
			}
			if got := topK(slices.Clone(tt.scores), excluded, tt.k); !slices.Equal(got, tt.want) {
				t.Errorf("topK = %v, want %v", got, tt.want)
			}
		})
	}
}
