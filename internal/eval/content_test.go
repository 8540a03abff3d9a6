package eval

import (
	"context"
	"testing"
)

// TestContentMovieLensSubset runs content-only recommendation on the
// MovieLens subset: the profile of a user's judged items must find their
// later favourites far more often than chance. The full comparison is
// measured with the command (see BENCHMARKS.md).
func TestContentMovieLensSubset(t *testing.T) {
	ds := MustLoadSubset(t)
	rep, err := Run(context.Background(), ds, Options{Methods: []string{"random", "content"}, ContentDim: 64})
	if err != nil {
		t.Fatal(err)
	}
	rnd, content := rep.Results[0].Metrics, rep.Results[1].Metrics
	t.Logf("NDCG@10: random %.4f, content %.4f (coverage %.3f, novelty %.2f)", rnd.NDCG, content.NDCG, content.Coverage, content.Novelty)
	// Measured 0.0670 against 0.0158. On the first 150 users of the full
	// data set: 0.0353 against 0.0039 (0.0085 without the year and the tag
	// weight in the item text and without centring the model).
	if content.NDCG < 3*rnd.NDCG {
		t.Errorf("content NDCG %.4f, want at least 3× random's %.4f", content.NDCG, rnd.NDCG)
	}
}
