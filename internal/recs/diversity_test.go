package recs_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"mediarec"
	"mediarec/internal/recs"
)

// TestDiversityWidensTheList: a user who liked three space films meets
// more genres as the slider moves up, not the same science fiction
// reordered.
func TestDiversityWidensTheList(t *testing.T) {
	r, w, ts := newRecommender(t)
	ts.like(w.id(t, "movie:Interstellar"), w.id(t, "movie:Gravity"), w.id(t, "movie:The Martian"))
	ctx := context.Background()
	genres, scifis := map[float64]int{}, map[float64]int{}
	for _, d := range []float64{0, 0.3, 0.8} {
		got, err := r.Recommend(ctx, recs.RecommendQuery{UserID: 1, Types: []mediarec.ItemType{mediarec.TypeMovie}, Limit: 20, Diversity: d})
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		scifi := 0
		for _, rec := range got {
			for _, g := range rec.Item.Genres {
				seen[strings.ToLower(g)] = true
			}
			if slices.Contains(rec.Item.Genres, "Sci-Fi") {
				scifi++
			}
		}
		genres[d], scifis[d] = len(seen), scifi
		t.Logf("diversity %.1f: %d genres, %d of %d science fiction: %v", d, len(seen), scifi, len(got), titles(got))
	}
	if genres[0.8] <= genres[0] || scifis[0.8] >= scifis[0] {
		t.Errorf("at diversity 0.8: %d genres, %d science fiction; at 0: %d, %d; want more genres, less science fiction",
			genres[0.8], scifis[0.8], genres[0], scifis[0])
	}
}
