package recs

import (
	"slices"
	"testing"

	"mediarec"
)

func TestMMR(t *testing.T) {
	// a and a2 are near duplicates; b is different but less relevant.
	a := candidate{id: 1, typ: mediarec.TypeMovie, relevance: 0.9, vector: []float32{1, 0}}
	a2 := candidate{id: 2, typ: mediarec.TypeMovie, relevance: 0.85, vector: []float32{1, 0}}
	b := candidate{id: 3, typ: mediarec.TypeBook, relevance: 0.6, vector: []float32{0, 1}}
	tests := []struct {
		name      string
		n         int
		diversity float64
		perType   int
		want      []int64
	}{
		{"relevance order", 3, 0, 3, []int64{1, 2, 3}},
		{"diversity passes the duplicate", 2, 1, 3, []int64{1, 3}},
		{"type cap", 2, 0, 1, []int64{1, 3}},
		{"cap relaxed when only one type is left", 3, 0, 1, []int64{1, 3, 2}},
		{"fewer candidates than asked", 5, 0.8, 5, []int64{1, 3, 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []int64
			for _, c := range mmr([]candidate{a, a2, b}, tt.n, tt.diversity, tt.perType) {
				got = append(got, c.id)
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("picked %v, want %v", got, tt.want)
			}
		})
	}
}

// TestMMRGenres: with the vectors equally far apart, a high setting passes
// the item of the genre already picked for one of another genre.
func TestMMRGenres(t *testing.T) {
	scifi := candidate{id: 1, typ: mediarec.TypeMovie, relevance: 0.9, vector: []float32{1, 0, 0}, genres: []string{"Sci-Fi", "Drama"}}
	scifi2 := candidate{id: 2, typ: mediarec.TypeMovie, relevance: 0.8, vector: []float32{0, 1, 0}, genres: []string{"sci-fi", "drama"}}
	western := candidate{id: 3, typ: mediarec.TypeMovie, relevance: 0.7, vector: []float32{0, 0, 1}, genres: []string{"Western"}}
	for _, tt := range []struct {
		diversity float64
		want      []int64
	}{
		{0, []int64{1, 2}},
		{0.8, []int64{1, 3}},
	} {
		var got []int64
		for _, c := range mmr([]candidate{scifi, scifi2, western}, 2, tt.diversity, 2) {
			got = append(got, c.id)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("diversity %v: picked %v, want %v", tt.diversity, got, tt.want)
		}
	}
}
