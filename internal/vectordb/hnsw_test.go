package vectordb

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"mediarec"
	"mediarec/internal/vectordb/vectordbtest"
)

// hnswTestBuild inserts points in the chunks the store uses and returns the
// graph with the node of each point.
func hnswTestBuild(tb testing.TB, pts []mediarec.VectorPoint) (*hnswIndex, []uint32) {
	tb.Helper()
	h := newHNSW(len(pts[0].Vector))
	var nodes []uint32
	for lo := 0; lo < len(pts); {
		hi := min(len(pts), lo+h.chunkSize())
		vecs := make([][]float32, 0, hi-lo)
		for _, p := range pts[lo:hi] {
			vecs = append(vecs, p.Vector)
		}
		part := h.allocate(vecs)
		h.commit(h.plan(part))
		nodes = append(nodes, part...)
		lo = hi
	}
	return h, nodes
}

// hnswTestRecall searches for held-out queries and compares with the exact
// answer of vectordbtest.ExactSearch over pts.
func hnswTestRecall(h *hnswIndex, pts, queries []mediarec.VectorPoint, byNode []int64, k, ef int, f mediarec.VectorFilter, accept func(uint32) bool) float64 {
	s := h.getScratch()
	defer h.putScratch(s)
	found, total := 0, 0
	for _, q := range queries {
		want := vectordbtest.ExactSearch(pts, q.Vector, k, f)
		var got []int64
		for _, c := range h.search(q.Vector, k, ef, accept, s) {
			got = append(got, byNode[c.node])
		}
		for _, id := range got {
			if slices.Contains(want, id) {
				found++
			}
		}
		total += len(want)
	}
	return float64(found) / float64(total)
}

func hnswTestByNode(h *hnswIndex, pts []mediarec.VectorPoint, nodes []uint32) []int64 {
	byNode := make([]int64, h.len())
	for i, n := range nodes {
		byNode[n] = pts[i].ID
	}
	return byNode
}

func TestHNSWRecall(t *testing.T) {
	t.Parallel()
	const n, nq, dim, k = 20_000, 100, 32, 10
	rng := rand.New(rand.NewPCG(7, 8))
	all := vectordbtest.ClusteredPoints(rng, n+nq, dim, 5)
	for i := range all {
		if all[i].Payload.Type == mediarec.TypeMovie && i%6 == 1 {
			all[i].Payload.Type = mediarec.TypeBook
		}
	}
	pts, queries := all[:n], all[n:]
	h, nodes := hnswTestBuild(t, pts)
	byNode := hnswTestByNode(h, pts, nodes)

	if r := hnswTestRecall(h, pts, queries, byNode, k, hnswEfSearch, mediarec.VectorFilter{}, nil); r < 0.95 {
		t.Errorf("recall@%d = %.3f, want ≥ 0.95", k, r)
	} else {
		t.Logf("recall@%d = %.3f", k, r)
	}

	// The graph alone under filters: the planner would scan the 2% subset
	// exactly, but the walk must not collapse either; the 16% one it walks.
	isType := func(t mediarec.ItemType) func(uint32) bool {
		return func(node uint32) bool { return pts[byNode[node]-1].Payload.Type == t }
	}
	for _, tc := range []struct {
		typ  mediarec.ItemType
		want float64
	}{
		{mediarec.TypePodcast, 0.8},
		{mediarec.TypeBook, 0.95},
	} {
		f := mediarec.VectorFilter{Types: []mediarec.ItemType{tc.typ}}
		r := hnswTestRecall(h, pts, queries, byNode, k, hnswEfSearch, f, isType(tc.typ))
		t.Logf("graph-only recall@%d of %ss = %.3f", k, tc.typ, r)
		if r < tc.want {
			t.Errorf("graph-only recall@%d of %ss = %.3f, want ≥ %.2f", k, tc.typ, r, tc.want)
		}
	}
}

func TestHNSWSearchOrderAndTombstones(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	pts := vectordbtest.ClusteredPoints(rng, 3000, 16, 30)
	h, nodes := hnswTestBuild(t, pts)
	byNode := hnswTestByNode(h, pts, nodes)
	s := h.getScratch()
	defer h.putScratch(s)

	q := pts[0].Vector
	hits := h.search(q, 50, hnswEfSearch, nil, s)
	if len(hits) != 50 || byNode[hits[0].node] != pts[0].ID || math.Abs(float64(hits[0].score)-1) > 1e-5 {
		t.Fatalf("first hit = %+v of %d, want point %d with score 1", hits[0], len(hits), pts[0].ID)
	}
	if !slices.IsSortedFunc(hits, func(a, b hnswCand) int { return -cmpScore(a, b) }) {
		t.Fatalf("hits not sorted by descending score: %v", hits)
	}

	// A warm search allocates nothing, filtered or not.
	accept := func(node uint32) bool { return node%2 == 0 }
	if allocs := testing.AllocsPerRun(20, func() { h.search(q, 10, hnswEfSearch, accept, s) }); allocs != 0 {
		t.Errorf("a search allocates %.1f times, want 0", allocs)
	}

	// Tombstones are skipped but still route the walk.
	h.markDeleted(nodes[0])
	for _, c := range h.search(q, 50, hnswEfSearch, nil, s) {
		if c.node == nodes[0] {
			t.Fatalf("deleted node %d returned", c.node)
		}
	}
}

func cmpScore(a, b hnswCand) int {
	switch {
	case a.score < b.score:
		return -1
	case a.score > b.score:
		return 1
	}
	return 0
}

// TestHNSWRepair deletes 30% of the graph, repairs it, checks that no link
// points at a freed slot, reuses the slots, and keeps recall.
func TestHNSWRepair(t *testing.T) {
	t.Parallel()
	const n, nq, dim, k = 6000, 60, 24, 10
	rng := rand.New(rand.NewPCG(5, 6))
	all := vectordbtest.ClusteredPoints(rng, n+nq, dim, 5)
	pts, queries := all[:n], all[n:]
	h, nodes := hnswTestBuild(t, pts)

	var kept []mediarec.VectorPoint
	var keptNodes []uint32
	for i, p := range pts {
		if rng.IntN(10) < 3 {
			h.markDeleted(nodes[i])
			continue
		}
		kept, keptNodes = append(kept, p), append(keptNodes, nodes[i])
	}
	if !h.needsRepair() {
		t.Fatal("30% tombstones do not ask for a repair")
	}
	freed := h.repairCommit(h.repairPlan())
	if len(freed) != n-len(kept) || h.tombstones != 0 || h.live() != len(kept) {
		t.Fatalf("freed %d, tombstones %d, live %d; want %d, 0, %d", len(freed), h.tombstones, h.live(), n-len(kept), len(kept))
	}
	for node, st := range h.state {
		if st != hnswLive {
			continue
		}
		for l := range int(h.levels[node]) + 1 {
			for _, nb := range h.links(uint32(node), l) {
				if h.state[nb] != hnswLive {
					t.Fatalf("node %d links to freed slot %d on layer %d", node, nb, l)
				}
			}
		}
	}
	byNode := hnswTestByNode(h, kept, keptNodes)
	if r := hnswTestRecall(h, kept, queries, byNode, k, hnswEfSearch, mediarec.VectorFilter{}, nil); r < 0.95 {
		t.Errorf("recall after repair = %.3f, want ≥ 0.95", r)
	}

	// New points fill the freed slots first.
	extra := vectordbtest.ClusteredPoints(rng, len(freed), dim, 60)
	for i := range extra {
		extra[i].ID += int64(n)
	}
	vecs := make([][]float32, len(extra))
	for i, p := range extra {
		vecs[i] = p.Vector
	}
	before := h.len()
	var added []uint32
	for lo := 0; lo < len(vecs); lo += 256 {
		part := h.allocate(vecs[lo:min(lo+256, len(vecs))])
		h.commit(h.plan(part))
		added = append(added, part...)
	}
	if h.len() != before || len(h.free) != 0 {
		t.Fatalf("graph grew from %d to %d slots with %d free; want slots reused", before, h.len(), len(h.free))
	}
	all2 := append(slices.Clone(kept), extra...)
	byNode = hnswTestByNode(h, all2, append(slices.Clone(keptNodes), added...))
	if r := hnswTestRecall(h, all2, queries, byNode, k, hnswEfSearch, mediarec.VectorFilter{}, nil); r < 0.95 {
		t.Errorf("recall after reusing slots = %.3f, want ≥ 0.95", r)
	}
}

// TestHNSWMarks: a reset empties the set whatever was marked before, also
// when it grows past its capacity or shrinks, and nodes at word edges are
// told apart.
func TestHNSWMarks(t *testing.T) {
	var m hnswMarks
	for _, n := range []int{1, 64, 65, 1000, 130, 100_000, 3} {
		m.reset(n)
		nodes := []uint32{0, uint32(n - 1), uint32(n / 2), uint32(min(63, n-1)), uint32(min(64, n-1))}
		for _, node := range nodes {
			if m.has(node) {
				t.Fatalf("n %d: node %d marked right after a reset", n, node)
			}
		}
		for _, node := range nodes {
			first := !m.has(node)
			if got := m.visit(node); got == first {
				t.Fatalf("n %d: visit(%d) = %v, want %v", n, node, got, !first)
			}
			if !m.has(node) || !m.visit(node) {
				t.Fatalf("n %d: node %d not marked after a visit", n, node)
			}
		}
		if n > 2 && m.has(1) && !slices.Contains(nodes, 1) {
			t.Fatalf("n %d: node 1 marked without a visit", n)
		}
	}
}
