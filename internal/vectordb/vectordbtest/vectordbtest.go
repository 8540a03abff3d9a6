// Package vectordbtest is the conformance suite every vector store passes:
// the in-process index and the Qdrant adapter.
package vectordbtest

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"mediarec"
)

// Store is the vector store port. Collection arguments of the point methods
// may name an alias.
type Store interface {
	// CreateCollection makes an empty cosine collection; ECONFLICT if the
	// name is taken.
	CreateCollection(ctx context.Context, name string, dim int) error
	// CreateScanCollection makes one without a graph: every search is
	// exact. The same errors.
	CreateScanCollection(ctx context.Context, name string, dim int) error
	// DeleteCollection returns ENOTFOUND for an unknown name.
	DeleteCollection(ctx context.Context, name string) error
	// CollectionInfo returns ENOTFOUND for an unknown name or alias.
	CollectionInfo(ctx context.Context, name string) (mediarec.Collection, error)
	// Upsert adds or replaces points; EINVALID on a wrong dimension.
	Upsert(ctx context.Context, collection string, points []mediarec.VectorPoint) error
	// Delete removes points; unknown ids are ignored.
	Delete(ctx context.Context, collection string, ids []int64) error
	// Search returns up to k hits by descending cosine similarity.
	Search(ctx context.Context, collection string, vector []float32, k int, f mediarec.VectorFilter) ([]mediarec.VectorHit, error)
	// Get returns the stored points of ids, skipping unknown ones.
	Get(ctx context.Context, collection string, ids []int64) ([]mediarec.VectorPoint, error)
	// SetAlias points alias at collection, atomically replacing any
	// previous target.
	SetAlias(ctx context.Context, alias, collection string) error
	// ResolveAlias returns the collection an alias points at, or ENOTFOUND.
	ResolveAlias(ctx context.Context, alias string) (string, error)
}

// NewStore returns an empty store that lives until the test ends.
type NewStore func(t *testing.T) Store

// Run runs the conformance suite.
func Run(t *testing.T, newStore NewStore) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s Store)
	}{
		{"Collections", testCollections},
		{"UpsertGet", testUpsertGet},
		{"SearchOrder", testSearchOrder},
		{"SearchFilters", testSearchFilters},
		{"DeleteAndReplace", testDeleteAndReplace},
		{"Errors", testErrors},
		{"Aliases", testAliases},
		{"Recall", testRecall},
		{"ScanCollection", testScanCollection},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, newStore(t)) })
	}
}

func ctx() context.Context { return context.Background() }

func mustCreate(t *testing.T, s Store, name string, dim int) {
	t.Helper()
	if err := s.CreateCollection(ctx(), name, dim); err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
}

func mustUpsert(t *testing.T, s Store, coll string, pts []mediarec.VectorPoint) {
	t.Helper()
	if err := s.Upsert(ctx(), coll, pts); err != nil {
		t.Fatalf("upsert into %s: %v", coll, err)
	}
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := mediarec.ErrorCode(err); got != code {
		t.Fatalf("error code = %q (%v), want %q", got, err, code)
	}
}

func point(id int64, typ mediarec.ItemType, v ...float32) mediarec.VectorPoint {
	return mediarec.VectorPoint{ID: id, Vector: v, Payload: mediarec.VectorPayload{Type: typ, Genres: []string{"g"}, Tags: []string{}}}
}

func ids(hits []mediarec.VectorHit) []int64 {
	out := make([]int64, len(hits))
	for i, h := range hits {
		out[i] = h.ID
	}
	return out
}

func testCollections(t *testing.T, s Store) {
	mustCreate(t, s, "items_a", 3)
	wantCode(t, s.CreateCollection(ctx(), "items_a", 3), mediarec.ECONFLICT)
	mustUpsert(t, s, "items_a", []mediarec.VectorPoint{point(1, mediarec.TypeMovie, 1, 0, 0), point(2, mediarec.TypeBook, 0, 1, 0)})
	info, err := s.CollectionInfo(ctx(), "items_a")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(mediarec.Collection{Name: "items_a", Dimensions: 3, Points: 2}, info); diff != "" {
		t.Fatalf("info (-want +got):\n%s", diff)
	}
	if err := s.DeleteCollection(ctx(), "items_a"); err != nil {
		t.Fatal(err)
	}
	_, err = s.CollectionInfo(ctx(), "items_a")
	wantCode(t, err, mediarec.ENOTFOUND)
	wantCode(t, s.DeleteCollection(ctx(), "items_a"), mediarec.ENOTFOUND)
}

func testUpsertGet(t *testing.T, s Store) {
	mustCreate(t, s, "c", 4)
	in := []mediarec.VectorPoint{
		{ID: 7, Vector: []float32{3, 0, 4, 0}, Payload: mediarec.VectorPayload{Type: mediarec.TypeDocumentary, Genres: []string{"Documentary", "History"}, Tags: []string{"space", "nasa"}, Year: 1989, Version: "v1"}},
		{ID: 1 << 40, Vector: []float32{0, 1, 0, 0}, Payload: mediarec.VectorPayload{Type: mediarec.TypePodcast, Genres: []string{}, Tags: []string{}}},
	}
	mustUpsert(t, s, "c", in)
	got, err := s.Get(ctx(), "c", []int64{1 << 40, 7, 999})
	if err != nil {
		t.Fatal(err)
	}
	sort.Slice(got, func(i, j int) bool { return got[i].ID < got[j].ID })
	// Stores may normalise vectors (cosine), so compare directions.
	want := []mediarec.VectorPoint{in[0], in[1]}
	want[0].Vector = []float32{0.6, 0, 0.8, 0}
	opt := cmpopts.EquateApprox(0, 1e-5)
	if diff := cmp.Diff(want, got, opt, cmpopts.EquateEmpty()); diff != "" {
		t.Fatalf("get (-want +got):\n%s", diff)
	}
}

func testSearchOrder(t *testing.T, s Store) {
	mustCreate(t, s, "c", 2)
	var pts []mediarec.VectorPoint
	for i := range 8 {
		a := float64(i) * math.Pi / 16 // 0 … 7π/16 from the x axis
		pts = append(pts, point(int64(i+1), mediarec.TypeMovie, float32(math.Cos(a)), float32(math.Sin(a))))
	}
	mustUpsert(t, s, "c", pts)
	hits, err := s.Search(ctx(), "c", []float32{1, 0}, 3, mediarec.VectorFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]int64{1, 2, 3}, ids(hits)); diff != "" {
		t.Fatalf("nearest (-want +got):\n%s", diff)
	}
	if math.Abs(float64(hits[0].Score)-1) > 1e-4 || math.Abs(float64(hits[1].Score)-math.Cos(math.Pi/16)) > 1e-4 {
		t.Fatalf("scores are not cosine similarities: %+v", hits)
	}
	if hits[0].Payload.Type != mediarec.TypeMovie {
		t.Fatalf("hit lacks its payload: %+v", hits[0])
	}
	all, err := s.Search(ctx(), "c", []float32{0, 2}, 100, mediarec.VectorFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]int64{8, 7, 6, 5, 4, 3, 2, 1}, ids(all)); diff != "" {
		t.Fatalf("k beyond the collection (-want +got):\n%s", diff)
	}
}

func testSearchFilters(t *testing.T, s Store) {
	mustCreate(t, s, "c", 2)
	mustUpsert(t, s, "c", []mediarec.VectorPoint{
		point(1, mediarec.TypeMovie, 1, 0),
		point(2, mediarec.TypeBook, 1, 0.1),
		point(3, mediarec.TypePodcast, 1, 0.2),
		point(4, mediarec.TypeDocumentary, 1, 0.3),
		point(5, mediarec.TypeBook, 1, 0.4),
	})
	tests := []struct {
		name   string
		filter mediarec.VectorFilter
		want   []int64
	}{
		{"none", mediarec.VectorFilter{}, []int64{1, 2, 3, 4, 5}},
		{"one type", mediarec.VectorFilter{Types: []mediarec.ItemType{mediarec.TypeBook}}, []int64{2, 5}},
		{"two types", mediarec.VectorFilter{Types: []mediarec.ItemType{mediarec.TypePodcast, mediarec.TypeMovie}}, []int64{1, 3}},
		{"exclude", mediarec.VectorFilter{ExcludeIDs: []int64{1, 3}}, []int64{2, 4, 5}},
		{"type and exclude", mediarec.VectorFilter{Types: []mediarec.ItemType{mediarec.TypeBook}, ExcludeIDs: []int64{2}}, []int64{5}},
		{"nothing left", mediarec.VectorFilter{Types: []mediarec.ItemType{mediarec.TypeMovie}, ExcludeIDs: []int64{1}}, []int64{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hits, err := s.Search(ctx(), "c", []float32{1, 0}, 10, tt.filter)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, ids(hits), cmpopts.EquateEmpty()); diff != "" {
				t.Fatalf("ids (-want +got):\n%s", diff)
			}
		})
	}
}

func testDeleteAndReplace(t *testing.T, s Store) {
	mustCreate(t, s, "c", 2)
	mustUpsert(t, s, "c", []mediarec.VectorPoint{point(1, mediarec.TypeMovie, 1, 0), point(2, mediarec.TypeMovie, 0, 1)})
	if err := s.Delete(ctx(), "c", []int64{1, 42}); err != nil {
		t.Fatal(err)
	}
	hits, err := s.Search(ctx(), "c", []float32{1, 0}, 5, mediarec.VectorFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]int64{2}, ids(hits)); diff != "" {
		t.Fatalf("after delete (-want +got):\n%s", diff)
	}
	// Re-upserting an id moves it and replaces its payload.
	mustUpsert(t, s, "c", []mediarec.VectorPoint{point(2, mediarec.TypeBook, 1, 0)})
	hits, err = s.Search(ctx(), "c", []float32{1, 0}, 5, mediarec.VectorFilter{Types: []mediarec.ItemType{mediarec.TypeBook}})
	if err != nil {
		t.Fatal(err)
	}
	if len(hits) != 1 || hits[0].ID != 2 || hits[0].Score < 0.999 {
		t.Fatalf("replaced point: %+v", hits)
	}
	info, err := s.CollectionInfo(ctx(), "c")
	if err != nil {
		t.Fatal(err)
	}
	if info.Points != 1 {
		t.Fatalf("%d points after delete and replace, want 1", info.Points)
	}
}

func testErrors(t *testing.T, s Store) {
	mustCreate(t, s, "c", 3)
	wantCode(t, s.Upsert(ctx(), "c", []mediarec.VectorPoint{point(1, mediarec.TypeMovie, 1, 0)}), mediarec.EINVALID)
	_, err := s.Search(ctx(), "c", []float32{1, 0}, 3, mediarec.VectorFilter{})
	wantCode(t, err, mediarec.EINVALID)
	wantCode(t, s.Upsert(ctx(), "nope", []mediarec.VectorPoint{point(1, mediarec.TypeMovie, 1, 0, 0)}), mediarec.ENOTFOUND)
	_, err = s.Search(ctx(), "nope", []float32{1, 0, 0}, 3, mediarec.VectorFilter{})
	wantCode(t, err, mediarec.ENOTFOUND)
	_, err = s.ResolveAlias(ctx(), "no_alias")
	wantCode(t, err, mediarec.ENOTFOUND)
	wantCode(t, s.SetAlias(ctx(), "a", "nope"), mediarec.ENOTFOUND)
}

func testAliases(t *testing.T, s Store) {
	mustCreate(t, s, "items_v1", 2)
	mustCreate(t, s, "items_v2", 2)
	mustUpsert(t, s, "items_v1", []mediarec.VectorPoint{point(1, mediarec.TypeMovie, 1, 0)})
	mustUpsert(t, s, "items_v2", []mediarec.VectorPoint{point(2, mediarec.TypeMovie, 1, 0)})
	search := func() []int64 {
		t.Helper()
		hits, err := s.Search(ctx(), "items", []float32{1, 0}, 5, mediarec.VectorFilter{})
		if err != nil {
			t.Fatal(err)
		}
		return ids(hits)
	}
	if err := s.SetAlias(ctx(), "items", "items_v1"); err != nil {
		t.Fatal(err)
	}
	if got := search(); !slices.Equal(got, []int64{1}) {
		t.Fatalf("through alias to v1: %v", got)
	}
	if err := s.SetAlias(ctx(), "items", "items_v2"); err != nil {
		t.Fatal(err)
	}
	if got := search(); !slices.Equal(got, []int64{2}) {
		t.Fatalf("through alias to v2: %v", got)
	}
	target, err := s.ResolveAlias(ctx(), "items")
	if err != nil || target != "items_v2" {
		t.Fatalf("resolve = %q, %v", target, err)
	}
	// Writes through an alias land in its target.
	mustUpsert(t, s, "items", []mediarec.VectorPoint{point(3, mediarec.TypeMovie, 0, 1)})
	info, err := s.CollectionInfo(ctx(), "items_v2")
	if err != nil || info.Points != 2 {
		t.Fatalf("v2 info = %+v, %v", info, err)
	}
}

// testRecall checks that approximate search finds what an exact scan finds,
// also under a selective filter (2% of the points).
func testRecall(t *testing.T, s Store) {
	const n, dim, k = 4000, 32, 10
	rng := rand.New(rand.NewPCG(1, 2))
	pts := ClusteredPoints(rng, n, dim, 40)
	mustCreate(t, s, "c", dim)
	for lo := 0; lo < n; lo += 500 {
		mustUpsert(t, s, "c", pts[lo:lo+500])
	}
	selective := mediarec.VectorFilter{Types: []mediarec.ItemType{mediarec.TypePodcast}}
	for _, f := range []mediarec.VectorFilter{{}, selective} {
		found, total := 0, 0
		for range 50 {
			q := pts[rng.IntN(n)].Vector
			want := ExactSearch(pts, q, k, f)
			hits, err := s.Search(ctx(), "c", q, k, f)
			if err != nil {
				t.Fatal(err)
			}
			found += overlap(want, ids(hits))
			total += len(want)
		}
		if recall := float64(found) / float64(total); recall < 0.95 {
			t.Fatalf("recall@%d with filter %+v = %.3f, want ≥ 0.95", k, f, recall)
		}
	}
}

// A scan collection answers exactly, before and after points are replaced
// and deleted, with more points than any planner scans by default.
func testScanCollection(t *testing.T, s Store) {
	const n, dim, k = 6000, 32, 10
	rng := rand.New(rand.NewPCG(3, 4))
	pts := ClusteredPoints(rng, n, dim, 40)
	if err := s.CreateScanCollection(ctx(), "scan", dim); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.CreateScanCollection(ctx(), "scan", dim), mediarec.ECONFLICT)
	for lo := 0; lo < n; lo += 1000 {
		mustUpsert(t, s, "scan", pts[lo:lo+1000])
	}
	exact := func(live []mediarec.VectorPoint) {
		t.Helper()
		for i := range 20 {
			q := live[rng.IntN(len(live))].Vector
			f := mediarec.VectorFilter{ExcludeIDs: []int64{live[0].ID, live[1].ID}}
			if i%2 == 1 {
				f.Types = []mediarec.ItemType{mediarec.TypePodcast}
			}
			hits, err := s.Search(ctx(), "scan", q, k, f)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(ExactSearch(live, q, k, f), ids(hits)); diff != "" {
				t.Fatalf("search with %+v (-exact +got):\n%s", f, diff)
			}
		}
	}
	exact(pts)

	replaced := ClusteredPoints(rng, 500, dim, 40) // ids 1..500, new vectors
	mustUpsert(t, s, "scan", replaced)
	var deleted []int64
	for _, p := range pts[500:1500] {
		deleted = append(deleted, p.ID)
	}
	if err := s.Delete(ctx(), "scan", deleted); err != nil {
		t.Fatal(err)
	}
	live := append(slices.Clone(replaced), pts[1500:]...)
	exact(live)
	info, err := s.CollectionInfo(ctx(), "scan")
	if err != nil {
		t.Fatal(err)
	}
	if info.Points != len(live) || info.Dimensions != dim {
		t.Fatalf("info %+v, want %d points of %d dimensions", info, len(live), dim)
	}
}

// ClusteredPoints returns n unit vectors around `clusters` random centres;
// every 50th point is a podcast (2%), the rest movies.
func ClusteredPoints(rng *rand.Rand, n, dim, clusters int) []mediarec.VectorPoint {
	centres := make([][]float32, clusters)
	for i := range centres {
		centres[i] = randomUnit(rng, dim, nil, 0)
	}
	pts := make([]mediarec.VectorPoint, n)
	for i := range pts {
		typ := mediarec.TypeMovie
		if i%50 == 0 {
			typ = mediarec.TypePodcast
		}
		pts[i] = mediarec.VectorPoint{
			ID:      int64(i + 1),
			Vector:  randomUnit(rng, dim, centres[rng.IntN(clusters)], 0.35),
			Payload: mediarec.VectorPayload{Type: typ, Genres: []string{}, Tags: []string{}},
		}
	}
	return pts
}

func randomUnit(rng *rand.Rand, dim int, centre []float32, spread float64) []float32 {
	v := make([]float32, dim)
	var norm float64
	for i := range v {
		x := rng.NormFloat64()
		if centre != nil {
			x = float64(centre[i]) + spread*x/math.Sqrt(float64(dim))
		}
		v[i] = float32(x)
		norm += x * x
	}
	for i := range v {
		v[i] /= float32(math.Sqrt(norm))
	}
	return v
}

// ExactSearch is the brute-force answer searches are measured against.
func ExactSearch(pts []mediarec.VectorPoint, q []float32, k int, f mediarec.VectorFilter) []int64 {
	type scored struct {
		id    int64
		score float64
	}
	var all []scored
	for _, p := range pts {
		if (len(f.Types) > 0 && !slices.Contains(f.Types, p.Payload.Type)) || slices.Contains(f.ExcludeIDs, p.ID) {
			continue
		}
		all = append(all, scored{p.ID, cosine(p.Vector, q)})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].score > all[j].score })
	out := []int64{}
	for i := 0; i < len(all) && i < k; i++ {
		out = append(out, all[i].id)
	}
	return out
}

func cosine(a, b []float32) float64 {
	var dot, na, nb float64
	for i := range a {
		dot += float64(a[i]) * float64(b[i])
		na += float64(a[i]) * float64(a[i])
		nb += float64(b[i]) * float64(b[i])
	}
	return dot / math.Sqrt(na*nb)
}

func overlap(want, got []int64) int {
	n := 0
	for _, id := range got {
		if slices.Contains(want, id) {
			n++
		}
	}
	return n
}
