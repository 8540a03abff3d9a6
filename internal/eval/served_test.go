package eval

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"mediarec/internal/datatest"
)

// TestServedEqualsExact: on MovieLens ml-latest-small, its ratings written
// in the older ml-100k layout (u.data, u.item), the hybrid served through
// the Recommender and the in-process index is as good as the hybrid
// ranked exactly, and beats EASE.
func TestServedEqualsExact(t *testing.T) {
	if testing.Short() {
		t.Skip("fits and serves the full MovieLens ratings")
	}
	dir := writeAs100k(t, datatest.Dir(t, datatest.MovieLens))
	ds, err := Load(dir, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Run(context.Background(), ds, Options{Methods: []string{"ease", MethodHybrid, MethodHybridExact}})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Result{}
	for _, r := range rep.Results {
		got[r.Method] = r
		t.Logf("%-12s NDCG@10 %.4f, agreement with exact %.3f", r.Method, r.Metrics.NDCG, r.Agreement)
	}
	served, exact, ease := got[MethodHybrid], got[MethodHybridExact], got["ease"]
	if served.Metrics.NDCG < 0.98*exact.Metrics.NDCG || served.Metrics.NDCG < ease.Metrics.NDCG {
		t.Errorf("served hybrid NDCG@10 %.4f, want ≥ 0.98 × the exact %.4f and ≥ EASE's %.4f",
			served.Metrics.NDCG, exact.Metrics.NDCG, ease.Metrics.NDCG)
	}
	if served.Exact != MethodHybridExact || served.Agreement < 0.9 {
		t.Errorf("top-10 agreement of the served hybrid with %q: %.3f, want ≥ 0.9", served.Exact, served.Agreement)
	}
}

// writeAs100k writes the ratings and movies of an ml-latest directory as
// ml-100k's tab-separated u.data and Latin-1, pipe-separated u.item with
// the 19 genre flags, and returns the new directory.
func writeAs100k(tb testing.TB, latest string) string {
	tb.Helper()
	read := func(name string) [][]string {
		f, err := os.Open(filepath.Join(latest, name))
		if err != nil {
			tb.Fatal(err)
		}
		defer f.Close()
		rows, err := csv.NewReader(f).ReadAll()
		if err != nil {
			tb.Fatalf("%s: %v", name, err)
		}
		return rows[1:]
	}
	var items bytes.Buffer
	for _, m := range read("movies.csv") {
		flags := make([]string, len(genres100k))
		for i := range flags {
			flags[i] = "0"
		}
		for _, g := range strings.Split(m[2], "|") {
			if g == "Children" {
				g = "Children's"
			}
			if i := slices.Index(genres100k, g); i > 0 {
				flags[i] = "1"
			}
		}
		fmt.Fprintf(&items, "%s|%s|||http://example.org/|%s\n", m[0], latin1Bytes(m[1]), strings.Join(flags, "|"))
	}
	var ratings bytes.Buffer
	for _, r := range read("ratings.csv") {
		fmt.Fprintf(&ratings, "%s\t%s\t%s\t%s\n", r[0], r[1], r[2], r[3])
	}
	return MustWriteFiles(tb, map[string]string{"u.item": items.String(), "u.data": ratings.String()})
}

// latin1Bytes encodes s as ml-100k does, "?" for what Latin-1 lacks.
func latin1Bytes(s string) string {
	b := make([]byte, 0, len(s))
	for _, r := range s {
		if r > 0xff {
			r = '?'
		}
		b = append(b, byte(r))
	}
	return string(b)
}
