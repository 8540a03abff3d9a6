package eval

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"mediarec"
)

// MustLoadSubset loads the MovieLens subset bundled in testdata (see its
// SUBSET.md): 200 users, 396 movies and 2,380 ratings, enough for the
// methods to part from one another while a test of every method stays
// quick under the race detector and runs on a fresh clone.
func MustLoadSubset(tb testing.TB) *Dataset {
	tb.Helper()
	ds, err := Load(filepath.Join("testdata", "ml-latest-small-subset"), LoadOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	return ds
}

// TestRunMovieLensSubset runs the baselines and the hybrid on the MovieLens
// subset: the hybrid must beat popularity clearly and popularity must beat
// random. Popularity's lead is smaller than on the full data set, as every
// movie of the subset is a popular one. The full comparison is measured
// with the command (see BENCHMARKS.md).
func TestRunMovieLensSubset(t *testing.T) {
	ds := MustLoadSubset(t)
	rep, err := Run(context.Background(), ds, Options{Methods: []string{"random", "popularity", "hybrid"}, ContentDim: 32})
	if err != nil {
		t.Fatal(err)
	}
	got := make(map[string]Metrics)
	for _, r := range rep.Results {
		got[r.Method] = r.Metrics
		t.Logf("%-10s NDCG@10 %.4f Recall@10 %.4f coverage %.4f diversity %.3f novelty %.2f",
			r.Method, r.Metrics.NDCG, r.Metrics.Recall, r.Metrics.Coverage, r.Metrics.Diversity, r.Metrics.Novelty)
	}
	// Measured 0.0309 against 0.0158.
	if rnd, pop := got["random"].NDCG, got["popularity"].NDCG; pop < 1.5*rnd {
		t.Errorf("popularity NDCG %.4f, want at least 1.5× random's %.4f", pop, rnd)
	}
	// Measured 0.0841 against 0.0309.
	if hyb, pop := got["hybrid"].NDCG, got["popularity"].NDCG; hyb < 2*pop {
		t.Errorf("hybrid NDCG %.4f, want at least 2× popularity's %.4f", hyb, pop)
	}
	for name, m := range got {
		for _, v := range []float64{m.NDCG, m.Recall, m.Coverage, m.Diversity} {
			if v < 0 || v > 1 {
				t.Errorf("%s: metric %v outside [0, 1]", name, v)
			}
		}
	}
}

func TestRunRejectsBadOptions(t *testing.T) {
	for _, opts := range []Options{{Methods: []string{"svdpp"}}, {K: -1}} {
		_, err := Run(context.Background(), &Dataset{}, opts)
		if code := mediarec.ErrorCode(err); code != mediarec.EINVALID {
			t.Errorf("%+v: error %v, want EINVALID", opts, err)
		}
	}
}

func sampleReport() *Report {
	return &Report{
		K:    5,
		Data: Summary{Items: 100, Ratings: 1000, Users: 10, Evaluated: 9, Train: 800, Positives: 50},
		Results: []Result{
			{Method: "random", Metrics: Metrics{NDCG: 0.001, Recall: 0.002, Coverage: 0.5, Diversity: 0.8, Novelty: 12.5}, Elapsed: time.Second},
			{Method: "popularity", Metrics: Metrics{NDCG: 0.07, Recall: 0.05, Coverage: 0.01, Diversity: 0.75, Novelty: 8}},
		},
	}
}

func TestReportJSON(t *testing.T) {
	b, err := json.Marshal(sampleReport())
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"k":5,"methods":{` +
		`"random":{"ndcg_at_5":0.001,"recall_at_5":0.002,"coverage":0.5,"diversity":0.8,"novelty":12.5},` +
		`"popularity":{"ndcg_at_5":0.07,"recall_at_5":0.05,"coverage":0.01,"diversity":0.75,"novelty":8}}}`
	if string(b) != want {
		t.Errorf("JSON\n%s\nwant\n%s", b, want)
	}
}

func TestReportText(t *testing.T) {
	var b bytes.Buffer
	if err := sampleReport().WriteText(&b); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 5 {
		t.Fatalf("%d lines, want a summary, a blank, a header and 2 rows:\n%s", len(lines), b.String())
	}
	for i, want := range [][]string{{"method", "NDCG@5", "Recall@5", "coverage", "diversity", "novelty"}, {"random", "0.0010", "0.0020", "12.50", "1s"}, {"popularity", "0.0700"}} {
		for _, w := range want {
			if !slices.Contains(strings.Fields(lines[2+i]), w) {
				t.Errorf("line %q lacks %q", lines[2+i], w)
			}
		}
	}
}

func TestReportHTML(t *testing.T) {
	var b bytes.Buffer
	if err := sampleReport().WriteHTML(&b); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	for _, want := range []string{"<svg", "NDCG@5", "Recall@5", ">random<", ">popularity<", `class="ndcg"`, `class="recall"`, "0.0700"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	// Self-contained: nothing is fetched.
	for _, bad := range []string{"<script src", "<link", "<img"} {
		if strings.Contains(page, bad) {
			t.Errorf("page refers to an external resource: %q", bad)
		}
	}
}
