package vectordb_test

import (
	stdcmp "cmp"
	"context"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"mediarec"
	"mediarec/internal/vectordb"
	"mediarec/internal/vectordb/vectordbtest"
)

var _ vectordbtest.Store = (*vectordb.Local)(nil)

// MustOpenLocal opens a store in dir and closes it when the test ends.
func MustOpenLocal(tb testing.TB, dir string) *vectordb.Local {
	tb.Helper()
	s, err := vectordb.OpenLocal(dir)
	if err != nil {
		tb.Fatalf("open local store: %v", err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("close local store: %v", err)
		}
	})
	return s
}

func TestLocalConformance(t *testing.T) {
	vectordbtest.Run(t, func(t *testing.T) vectordbtest.Store { return MustOpenLocal(t, t.TempDir()) })
}

var bg = context.Background()

// localTestPoints returns clustered points where every 50th is a podcast (as
// vectordbtest makes them) and a third of the rest are books, so filters
// cover both planner paths: the 2% exact scan and the filtered graph walk.
func localTestPoints(seed uint64, n, dim int) []mediarec.VectorPoint {
	pts := vectordbtest.ClusteredPoints(rand.New(rand.NewPCG(seed, seed+1)), n, dim, n/4000+1)
	for i := range pts {
		if pts[i].Payload.Type == mediarec.TypeMovie && i%3 == 1 {
			pts[i].Payload.Type = mediarec.TypeBook
		}
		pts[i].Payload.Genres = []string{"g" + string(rune('a'+i%5))}
		pts[i].Payload.Year = 1950 + i%70
	}
	return pts
}

func mustUpsert(tb testing.TB, s *vectordb.Local, coll string, pts []mediarec.VectorPoint) {
	tb.Helper()
	for lo := 0; lo < len(pts); lo += 1000 {
		if err := s.Upsert(bg, coll, pts[lo:min(lo+1000, len(pts))]); err != nil {
			tb.Fatalf("upsert: %v", err)
		}
	}
}

func hitIDs(hits []mediarec.VectorHit) []int64 {
	out := make([]int64, len(hits))
	for i, h := range hits {
		out[i] = h.ID
	}
	return out
}

// TestLocalRecall measures the store (planner included) against the exact
// answer: no filter, a 2% and a 33% type (scanned exactly), a 65% type and
// excluded ids (filtered graph walks).
func TestLocalRecall(t *testing.T) {
	t.Parallel()
	const n, nq, dim, k = 12_000, 50, 32, 10
	all := localTestPoints(11, n+nq, dim)
	pts, queries := all[:n], all[n:]
	s := MustOpenLocal(t, t.TempDir())
	if err := s.CreateCollection(bg, "items", dim); err != nil {
		t.Fatal(err)
	}
	mustUpsert(t, s, "items", pts)

	tests := []struct {
		name   string
		filter func(q []float32) mediarec.VectorFilter
	}{
		{"none", func([]float32) mediarec.VectorFilter { return mediarec.VectorFilter{} }},
		{"podcasts 2%", func([]float32) mediarec.VectorFilter {
			return mediarec.VectorFilter{Types: []mediarec.ItemType{mediarec.TypePodcast}}
		}},
		{"books 33%", func([]float32) mediarec.VectorFilter {
			return mediarec.VectorFilter{Types: []mediarec.ItemType{mediarec.TypeBook}}
		}},
		{"movies 65%", func([]float32) mediarec.VectorFilter {
			return mediarec.VectorFilter{Types: []mediarec.ItemType{mediarec.TypeMovie}}
		}},
		{"exclude the 5 nearest", func(q []float32) mediarec.VectorFilter {
			return mediarec.VectorFilter{ExcludeIDs: vectordbtest.ExactSearch(pts, q, 5, mediarec.VectorFilter{})}
		}},
		{"books and podcasts, excluding", func(q []float32) mediarec.VectorFilter {
			f := mediarec.VectorFilter{Types: []mediarec.ItemType{mediarec.TypeBook, mediarec.TypePodcast}}
			f.ExcludeIDs = vectordbtest.ExactSearch(pts, q, 5, f)
			return f
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			found, total := 0, 0
			for _, q := range queries {
				f := tt.filter(q.Vector)
				want := vectordbtest.ExactSearch(pts, q.Vector, k, f)
				hits, err := s.Search(bg, "items", q.Vector, k, f)
				if err != nil {
					t.Fatal(err)
				}
				for _, h := range hits {
					if slices.Contains(f.ExcludeIDs, h.ID) {
						t.Fatalf("excluded id %d returned", h.ID)
					}
				}
				for _, id := range hitIDs(hits) {
					if slices.Contains(want, id) {
						found++
					}
				}
				total += len(want)
			}
			recall := float64(found) / float64(total)
			t.Logf("recall@%d = %.3f", k, recall)
			if recall < 0.95 {
				t.Errorf("recall@%d = %.3f, want ≥ 0.95", k, recall)
			}
		})
	}
}

// localSearches runs a fixed set of searches and returns their answers.
func localSearches(t *testing.T, s *vectordb.Local, coll string, queries []mediarec.VectorPoint) [][]mediarec.VectorHit {
	t.Helper()
	var out [][]mediarec.VectorHit
	for i, q := range queries {
		f := mediarec.VectorFilter{}
		switch i % 3 {
		case 1:
			f.Types = []mediarec.ItemType{mediarec.TypePodcast}
		case 2:
			f.Types = []mediarec.ItemType{mediarec.TypeBook}
			f.ExcludeIDs = []int64{int64(i), int64(i + 1)}
		}
		hits, err := s.Search(bg, coll, q.Vector, 10, f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, hits)
	}
	return out
}

// TestLocalPersistence changes a store in every way, then checks that a
// clean restart and a crash (no Close) both bring back the same answers.
func TestLocalPersistence(t *testing.T) {
	t.Parallel()
	const n, dim = 6000, 16
	all := localTestPoints(21, n+30, dim)
	pts, queries := all[:n], all[n:]
	for _, crash := range []bool{false, true} {
		t.Run(map[bool]string{false: "close", true: "crash"}[crash], func(t *testing.T) {
			dir := t.TempDir()
			s, err := vectordb.OpenLocal(dir)
			if err != nil {
				t.Fatal(err)
			}
			for _, name := range []string{"items_v1", "items_v2"} {
				if err := s.CreateCollection(bg, name, dim); err != nil {
					t.Fatal(err)
				}
			}
			mustUpsert(t, s, "items_v1", pts)
			// Replace 100 points with other vectors and payloads, delete 300.
			moved := slices.Clone(pts[:100])
			for i := range moved {
				moved[i].Vector = pts[n-1-i].Vector
				moved[i].Payload.Type = mediarec.TypeDocumentary
			}
			mustUpsert(t, s, "items_v1", moved)
			var gone []int64
			for i := 100; i < 400; i++ {
				gone = append(gone, pts[i].ID)
			}
			if err := s.Delete(bg, "items_v1", gone); err != nil {
				t.Fatal(err)
			}
			mustUpsert(t, s, "items_v2", pts[:10])
			if err := s.SetAlias(bg, "items", "items_v1"); err != nil {
				t.Fatal(err)
			}
			want := localSearches(t, s, "items", queries)
			wantGet, err := s.Get(bg, "items", []int64{1, 50, 150, 500})
			if err != nil {
				t.Fatal(err)
			}
			if !crash {
				if err := s.Close(); err != nil {
					t.Fatal(err)
				}
			} // else: drop s without Close, as a killed process would

			s2 := MustOpenLocal(t, dir)
			got := localSearches(t, s2, "items", queries)
			if !crash {
				// The snapshot holds the graph: the very same answers.
				if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
					t.Fatalf("searches after reopening (-before +after):\n%s", diff)
				}
			} else if same := localOverlap(want, got); same < 0.95 {
				// Replay rebuilds the graph from the log in other batches,
				// so the approximate answers may differ a little.
				t.Fatalf("searches after replay share %.3f of their hits with those before, want ≥ 0.95", same)
			}
			gotGet, err := s2.Get(bg, "items", []int64{1, 50, 150, 500})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(wantGet, gotGet, cmpopts.EquateEmpty()); diff != "" {
				t.Fatalf("get after reopening (-before +after):\n%s", diff)
			}
			for name, points := range map[string]int{"items_v1": n - 300, "items_v2": 10, "items": n - 300} {
				info, err := s2.CollectionInfo(bg, name)
				if err != nil || info.Points != points || info.Dimensions != dim {
					t.Errorf("info %s = %+v, %v; want %d points", name, info, err, points)
				}
			}
			if target, err := s2.ResolveAlias(bg, "items"); err != nil || target != "items_v1" {
				t.Errorf("alias = %q, %v", target, err)
			}
		})
	}
}

// TestLocalTornLog cuts the log inside its last record, as a crash during a
// write would, and expects the store to open with every complete record.
func TestLocalTornLog(t *testing.T) {
	const dim = 8
	pts := localTestPoints(31, 30, dim)
	dir := t.TempDir()
	s, err := vectordb.OpenLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateCollection(bg, "c", dim); err != nil {
		t.Fatal(err)
	}
	for lo := 0; lo < 30; lo += 10 {
		if err := s.Upsert(bg, "c", pts[lo:lo+10]); err != nil {
			t.Fatal(err)
		}
	}
	// The process dies here: no Close. Then the last write turns out torn.
	logs, err := filepath.Glob(filepath.Join(dir, "collections", "c", "wal-*.log"))
	if err != nil || len(logs) != 1 {
		t.Fatalf("logs = %v, %v", logs, err)
	}
	st, err := os.Stat(logs[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(logs[0], st.Size()-17); err != nil {
		t.Fatal(err)
	}

	s2, err := vectordb.OpenLocal(dir)
	if err != nil {
		t.Fatalf("open after a torn write: %v", err)
	}
	got, err := s2.Get(bg, "c", hitIDsOf(pts))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(hitIDsOf(pts[:20]), hitIDsOf(got)); diff != "" {
		t.Fatalf("points after replay (-want +got):\n%s", diff)
	}
	// The torn tail is gone: new writes land after the intact records.
	if err := s2.Upsert(bg, "c", pts[20:30]); err != nil {
		t.Fatal(err)
	}
	s2 = nil // crash again
	s3 := MustOpenLocal(t, dir)
	if info, err := s3.CollectionInfo(bg, "c"); err != nil || info.Points != 30 {
		t.Fatalf("info after the second replay = %+v, %v; want 30 points", info, err)
	}
}

func localOverlap(want, got [][]mediarec.VectorHit) float64 {
	same, total := 0, 0
	for i := range want {
		for _, id := range hitIDs(got[i]) {
			if slices.Contains(hitIDs(want[i]), id) {
				same++
			}
		}
		total += len(want[i])
	}
	return float64(same) / float64(total)
}

func hitIDsOf(pts []mediarec.VectorPoint) []int64 {
	out := make([]int64, len(pts))
	for i, p := range pts {
		out[i] = p.ID
	}
	slices.Sort(out)
	return out
}

// TestLocalConcurrency searches from several goroutines while another
// upserts, replaces and deletes; run it with -race.
func TestLocalConcurrency(t *testing.T) {
	t.Parallel()
	const n, dim = 6000, 16
	pts := localTestPoints(41, n, dim)
	s := MustOpenLocal(t, t.TempDir())
	if err := s.CreateCollection(bg, "c", dim); err != nil {
		t.Fatal(err)
	}
	mustUpsert(t, s, "c", pts[:2000])

	done := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-done:
					return
				default:
				}
				q := pts[(w*997+i*31)%n].Vector
				f := mediarec.VectorFilter{}
				if i%2 == 1 {
					f.Types = []mediarec.ItemType{mediarec.TypeBook}
				}
				hits, err := s.Search(bg, "c", q, 10, f)
				if err != nil {
					t.Error(err)
					return
				}
				if !slices.IsSortedFunc(hits, byDescendingScore) {
					t.Errorf("hits out of order: %v", hits)
					return
				}
			}
		})
	}
	for lo := 2000; lo < n; lo += 200 {
		mustUpsert(t, s, "c", pts[lo:lo+200])
		if err := s.Delete(bg, "c", []int64{int64(lo - 100), int64(lo - 99)}); err != nil {
			t.Error(err)
		}
		mustUpsert(t, s, "c", pts[lo-50:lo-40]) // replacements
	}
	close(done)
	wg.Wait()
	if info, err := s.CollectionInfo(bg, "c"); err != nil || info.Points != n-2*20 {
		t.Fatalf("info = %+v, %v; want %d points", info, err, n-2*20)
	}
}

func byDescendingScore(a, b mediarec.VectorHit) int {
	switch {
	case a.Score > b.Score:
		return -1
	case a.Score < b.Score:
		return 1
	}
	return 0
}

func TestLocalErrors(t *testing.T) {
	dir := t.TempDir()
	s := MustOpenLocal(t, dir)
	code := mediarec.ErrorCode
	if err := s.CreateCollection(bg, "../x", 3); code(err) != mediarec.EINVALID {
		t.Errorf("path-like name: %v", err)
	}
	if err := s.CreateCollection(bg, "c", 0); code(err) != mediarec.EINVALID {
		t.Errorf("zero dimension: %v", err)
	}
	if err := s.CreateCollection(bg, "c", 3); err != nil {
		t.Fatal(err)
	}
	if err := s.Upsert(bg, "c", []mediarec.VectorPoint{{ID: 1, Vector: []float32{0, 0, 0}}}); code(err) != mediarec.EINVALID {
		t.Errorf("zero vector: %v", err)
	}
	if _, err := s.Search(bg, "c", []float32{0, 0, 0}, 3, mediarec.VectorFilter{}); code(err) != mediarec.EINVALID {
		t.Errorf("zero query: %v", err)
	}
	if err := s.SetAlias(bg, "c", "c"); code(err) != mediarec.ECONFLICT {
		t.Errorf("alias named like a collection: %v", err)
	}
	if err := s.SetAlias(bg, "a", "c"); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateCollection(bg, "a", 3); code(err) != mediarec.ECONFLICT {
		t.Errorf("collection named like an alias: %v", err)
	}
	// Deleting a collection drops its aliases, also on disk.
	if err := s.DeleteCollection(bg, "c"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ResolveAlias(bg, "a"); code(err) != mediarec.ENOTFOUND {
		t.Errorf("alias of a deleted collection: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CollectionInfo(bg, "c"); code(err) != mediarec.EUNAVAILABLE {
		t.Errorf("after close: %v", err)
	}
	entries, _ := os.ReadDir(filepath.Join(dir, "collections"))
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), ".") {
			t.Errorf("deleted collection left %s behind", e.Name())
		}
	}
	s2 := MustOpenLocal(t, dir)
	if _, err := s2.ResolveAlias(bg, "a"); code(err) != mediarec.ENOTFOUND {
		t.Errorf("alias of a deleted collection after reopening: %v", err)
	}
}

// TestLocalDotCollection: an inner-product collection keeps vectors as
// given and ranks by the inner product, long vectors before parallel short
// ones, through its graph (more points than the planner scans) as well as
// exactly, and keeps its metric across a reopen.
func TestLocalDotCollection(t *testing.T) {
	t.Parallel()
	const n, dim, k = 8000, 24, 10
	r := rand.New(rand.NewPCG(11, 12))
	// Norms spread over two orders of magnitude, as item vectors of a
	// collaborative model are: popular items are long.
	pts := make([]mediarec.VectorPoint, n)
	for i := range pts {
		v := make([]float32, dim)
		scale := float32(math.Exp(r.NormFloat64()))
		for j := range v {
			v[j] = scale * float32(r.NormFloat64())
		}
		typ := mediarec.TypeMovie
		if i%4 == 0 {
			typ = mediarec.TypeBook
		}
		pts[i] = mediarec.VectorPoint{ID: int64(i + 1), Vector: v, Payload: mediarec.VectorPayload{Type: typ}}
	}
	exact := func(q []float32, f func(mediarec.VectorPoint) bool) []int64 {
		type scored struct {
			id int64
			s  float64
		}
		var all []scored
		for _, p := range pts {
			if f(p) {
				var s float64
				for j := range q {
					s += float64(q[j]) * float64(p.Vector[j])
				}
				all = append(all, scored{p.ID, s})
			}
		}
		slices.SortFunc(all, func(a, b scored) int { return stdcmp.Compare(b.s, a.s) })
		out := make([]int64, k)
		for i := range out {
			out[i] = all[i].id
		}
		return out
	}
	dir := t.TempDir()
	s, err := vectordb.OpenLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateDotCollection(bg, "dot", dim); err != nil {
		t.Fatal(err)
	}
	mustUpsert(t, s, "dot", pts)

	excluded := []int64{}
	check := func(s *vectordb.Local, when string) {
		var found, total int
		for qi := range 100 {
			q := make([]float32, dim)
			for j := range q {
				q[j] = float32(r.NormFloat64())
			}
			filter, want := mediarec.VectorFilter{}, exact(q, func(mediarec.VectorPoint) bool { return true })
			if qi%2 == 1 { // books only, without the best five
				excluded = exact(q, func(p mediarec.VectorPoint) bool { return p.Payload.Type == mediarec.TypeBook })[:5]
				filter = mediarec.VectorFilter{Types: []mediarec.ItemType{mediarec.TypeBook}, ExcludeIDs: excluded}
				want = exact(q, func(p mediarec.VectorPoint) bool {
					return p.Payload.Type == mediarec.TypeBook && !slices.Contains(excluded, p.ID)
				})
			}
			hits, err := s.Search(bg, "dot", q, k, filter)
			if err != nil {
				t.Fatal(err)
			}
			for _, h := range hits {
				if slices.Contains(want, h.ID) {
					found++
				}
			}
			total += k
		}
		if recall := float64(found) / float64(total); recall < 0.95 {
			t.Errorf("%s: recall@10 by inner product %.3f, want ≥ 0.95", when, recall)
		}
		got, err := s.Get(bg, "dot", []int64{1, 2})
		if err != nil || len(got) != 2 || !slices.Equal(got[0].Vector, pts[0].Vector) {
			t.Errorf("%s: Get = %v, %v; want the vectors as given", when, got, err)
		}
	}
	check(s, "built")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = MustOpenLocal(t, dir)
	check(s, "reopened")
	long := mediarec.VectorPoint{ID: n + 1, Vector: make([]float32, dim), Payload: mediarec.VectorPayload{Type: mediarec.TypeMovie}}
	long.Vector[0] = 50
	mustUpsert(t, s, "dot", []mediarec.VectorPoint{long})
	if got, err := s.Get(bg, "dot", []int64{long.ID}); err != nil || len(got) != 1 || !slices.Equal(got[0].Vector, long.Vector) {
		t.Errorf("after the reopen, Get = %v, %v; want the vector as given", got, err)
	}
}
