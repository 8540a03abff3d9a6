package vectordb

import (
	"math"
	"math/rand/v2"
	"sync"
)

// The in-process ANN index is a hierarchical navigable small world graph
// (Malkov & Yashunin, "Efficient and robust approximate nearest neighbor
// search using HNSW graphs", 2018). In a cosine collection vectors are
// L2-normalised when they enter the store, so the cosine similarity is a
// plain dot product; an inner-product collection keeps them as given, and
// the same code builds and walks its graph by inner product (ip-NSW).
// "Closer" means "larger dot product" throughout this file.
//
// Parameters follow the paper and hnswlib: M links per node on the upper
// layers, 2M on layer 0, efConstruction 200. The beam width of a query is
// measured per collection (hnswcalib.go); hnswEfSearch is only the width of
// a graph not measured yet.
const (
	hnswM        = 16
	hnswM0       = 2 * hnswM
	hnswEfSearch = 48
	hnswMaxLevel = 15
)

// hnswEfConstruction is the beam of an insert's search for neighbours: a
// variable only so that the benchmark can weigh build time against recall.
var hnswEfConstruction = 200

// Node states. A tombstone is a deleted node that still routes searches until
// repair reconnects its neighbours; a free slot is reused by the next insert;
// a pending node has its vector but no links yet (see hnswbuild.go).
const (
	hnswLive uint8 = iota
	hnswTombstone
	hnswFree
	hnswPending
)

// hnswIndex is the graph. Nodes are dense uint32 slots; vectors live in one
// contiguous array so a beam search walks memory rather than pointers.
//
// Locking is the caller's job (see localCollection): searches may run
// concurrently with each other and with the read-only build phases (plan,
// repairPlan); allocate, commit, markDeleted and repairCommit need exclusive
// access; and only one writer may build at a time.
type hnswIndex struct {
	dim    int
	vecs   []float32  // node i at [i*dim, (i+1)*dim)
	links0 []uint32   // node i at [i*(hnswM0+1), …): count, then neighbours
	upper  [][]uint32 // node i: layers 1..level, each count + hnswM neighbours
	levels []uint8
	state  []uint8

	free       []uint32 // free slots, reused by allocate
	tombstones int
	entry      uint32
	maxLevel   int // -1 while the graph has no node

	rng       *rand.Rand
	levelMult float64
	scratch   sync.Pool // *hnswScratch
}

// hnswCand is a node with its score against the current query.
type hnswCand struct {
	node  uint32
	score float32
}

func newHNSW(dim int) *hnswIndex {
	return &hnswIndex{
		dim:       dim,
		maxLevel:  -1,
		rng:       rand.New(rand.NewPCG(uint64(dim), 0x9e3779b97f4a7c15)),
		levelMult: 1 / math.Log(hnswM),
	}
}

func (h *hnswIndex) len() int { return len(h.levels) }

// live counts the nodes a search may return.
func (h *hnswIndex) live() int { return len(h.levels) - len(h.free) - h.tombstones }

func (h *hnswIndex) vec(node uint32) []float32 {
	i := int(node) * h.dim
	return h.vecs[i : i+h.dim : i+h.dim]
}

// links returns node's neighbours on a layer; the slice aliases the graph.
func (h *hnswIndex) links(node uint32, level int) []uint32 {
	var row []uint32
	if level == 0 {
		i := int(node) * (hnswM0 + 1)
		row = h.links0[i : i+hnswM0+1]
	} else {
		i := (level - 1) * (hnswM + 1)
		row = h.upper[node][i : i+hnswM+1]
	}
	return row[1 : 1+row[0]]
}

func (h *hnswIndex) setLinks(node uint32, level int, list []uint32) {
	var row []uint32
	if level == 0 {
		i := int(node) * (hnswM0 + 1)
		row = h.links0[i : i+hnswM0+1]
	} else {
		i := (level - 1) * (hnswM + 1)
		row = h.upper[node][i : i+hnswM+1]
	}
	row[0] = uint32(copy(row[1:], list))
}

// hnswMaxLinks is the degree bound of a layer.
func hnswMaxLinks(level int) int {
	if level == 0 {
		return hnswM0
	}
	return hnswM
}

// markDeleted turns a live node into a tombstone.
func (h *hnswIndex) markDeleted(node uint32) {
	if h.state[node] == hnswLive {
		h.state[node] = hnswTombstone
		h.tombstones++
	}
}

// search returns up to k accepted live nodes by descending score. accept may
// be nil. The result aliases s and is valid until s is reused.
//
// The beam keeps ef candidates on layer 0 and only stops once the best
// unexpanded candidate is worse than the worst of ef results. Under a filter
// the walk scores only accepted nodes and hops over the rejected ones and
// tombstones (acceptedNeighbours), so the filter neither starves the beam
// nor makes it score what it cannot return.
func (h *hnswIndex) search(q []float32, k, ef int, accept func(uint32) bool, s *hnswScratch) []hnswCand {
	if h.maxLevel < 0 || k <= 0 {
		return nil
	}
	ep := hnswCand{h.entry, dot(q, h.vec(h.entry))}
	for l := h.maxLevel; l > 0; l-- {
		ep = h.greedy(q, ep, l)
	}
	s.eps = append(s.eps[:0], ep)
	h.searchLayer(q, s.eps, max(ef, k), 0, accept, s)
	return s.sorted(k)
}

// greedy walks one upper layer to a local maximum (ef = 1): upper layers only
// pick the entry into the layer below, so filters do not apply there.
func (h *hnswIndex) greedy(q []float32, ep hnswCand, level int) hnswCand {
	for changed := true; changed; {
		changed = false
		for _, nb := range h.links(ep.node, level) {
			if sc := dot(q, h.vec(nb)); sc > ep.score {
				ep, changed = hnswCand{nb, sc}, true
			}
		}
	}
	return ep
}

// searchLayer is Algorithm 2 of the paper, with ACORN's two-hop expansion
// under a filter: it leaves the best ef accepted nodes in s.res (a min-heap).
func (h *hnswIndex) searchLayer(q []float32, eps []hnswCand, ef, level int, accept func(uint32) bool, s *hnswScratch) {
	s.visited.reset(len(h.levels))
	s.cand, s.res = s.cand[:0], s.res[:0]
	for _, e := range eps {
		if s.visited.visit(e.node) {
			continue
		}
		s.cand.push(hnswCand{e.node, -e.score}) // negated: a max-heap
		if h.state[e.node] == hnswLive && (accept == nil || accept(e.node)) {
			s.res.push(e)
			if len(s.res) > ef {
				s.res.pop()
			}
		}
	}
	for len(s.cand) > 0 {
		c := s.cand.pop()
		if len(s.res) >= ef && -c.score < s.res[0].score {
			break
		}
		s.batch = s.batch[:0]
		if accept == nil {
			for _, nb := range h.links(c.node, level) {
				if !s.visited.visit(nb) {
					s.batch = append(s.batch, nb)
				}
			}
		} else {
			h.acceptedNeighbours(c.node, level, accept, s)
		}
		h.prefetch(s.batch, s)
		for _, nb := range s.batch {
			sc := dot(q, h.vec(nb))
			if len(s.res) >= ef && sc <= s.res[0].score {
				continue
			}
			s.cand.push(hnswCand{nb, -sc})
			if h.state[nb] == hnswLive && (accept == nil || accept(nb)) {
				s.res.push(hnswCand{nb, sc})
				if len(s.res) > ef {
					s.res.pop()
				}
			}
		}
	}
}

// acceptedNeighbours fills s.batch with the unvisited nodes a filtered walk
// scores next from node: its accepted neighbours, then the accepted
// neighbours of its rejected ones, up to hnswM0 (ACORN-1: Patel et al.,
// "ACORN: Performant and Predicate-Agnostic Search Over Vector Embeddings
// and Structured Data", 2024). Rejected nodes are never scored: the walk
// hops over them, so a filter that keeps a fraction s of the points costs
// about as many dot products as an unfiltered search instead of 1/s times
// as many. A rejected node is marked visited only once its own neighbours
// have been looked at.
func (h *hnswIndex) acceptedNeighbours(node uint32, level int, accept func(uint32) bool, s *hnswScratch) {
	s.hops = s.hops[:0]
	for _, nb := range h.links(node, level) {
		switch {
		case s.visited.has(nb):
		case h.state[nb] == hnswLive && accept(nb):
			s.visited.visit(nb)
			s.batch = append(s.batch, nb)
		default:
			s.hops = append(s.hops, nb)
		}
	}
	for _, via := range s.hops {
		if len(s.batch) >= hnswM0 {
			return
		}
		if s.visited.visit(via) {
			continue
		}
		for _, nb := range h.links(via, level) {
			if !s.visited.has(nb) && h.state[nb] == hnswLive && accept(nb) {
				s.visited.visit(nb)
				s.batch = append(s.batch, nb)
			}
		}
	}
}

// touch loads one word of every cache line of the vectors of nodes before
// they are scored, where prefetch has no instruction to issue (see
// hnswdot_amd64.go). A beam search jumps between vectors that are not in
// cache, and each costs a full memory round trip if the loads only start
// inside the dot product; issued back to back, the loads overlap.
//
//go:norace
func (h *hnswIndex) touch(nodes []uint32, s *hnswScratch) {
	var sink uint32
	for _, n := range nodes {
		v := h.vec(n)
		for j := 0; j < len(v); j += 16 {
			sink ^= math.Float32bits(v[j])
		}
	}
	s.sink ^= sink
}

// scanInto scores every accepted live node of nodes exactly, keeping the best
// k in s.res; the planner calls it once per list, then s.sorted(k). The
// nodes of a list are scattered over the vector array, so they are touched
// in small groups ahead of scoring, as in searchLayer.
func (h *hnswIndex) scanInto(q []float32, k int, nodes []uint32, accept func(uint32) bool, s *hnswScratch) {
	for lo := 0; lo < len(nodes); lo += 16 {
		s.batch = s.batch[:0]
		for _, n := range nodes[lo:min(lo+16, len(nodes))] {
			if h.state[n] == hnswLive && (accept == nil || accept(n)) {
				s.batch = append(s.batch, n)
			}
		}
		h.prefetch(s.batch, s)
		for _, n := range s.batch {
			sc := dot(q, h.vec(n))
			if len(s.res) < k {
				s.res.push(hnswCand{n, sc})
			} else if sc > s.res[0].score {
				s.res[0] = hnswCand{n, sc}
				s.res.down(0)
			}
		}
	}
}

// scanAll is the exact scan over the whole graph of the nodes accept takes
// (all when nil): the truth that calibrate measures the beam against.
func (h *hnswIndex) scanAll(q []float32, k int, accept func(uint32) bool, s *hnswScratch) []hnswCand {
	s.res = s.res[:0]
	for n := range h.state {
		if h.state[n] != hnswLive || accept != nil && !accept(uint32(n)) {
			continue
		}
		sc := dot(q, h.vec(uint32(n)))
		if len(s.res) < k {
			s.res.push(hnswCand{uint32(n), sc})
		} else if sc > s.res[0].score {
			s.res[0] = hnswCand{uint32(n), sc}
			s.res.down(0)
		}
	}
	return s.sorted(k)
}

// hnswHeap is a binary min-heap on score. It is hand-written rather than
// container/heap so that pushes do not box values into interfaces.
type hnswHeap []hnswCand

func (hp *hnswHeap) push(c hnswCand) {
	*hp = append(*hp, c)
	h := *hp
	for i := len(h) - 1; i > 0; {
		p := (i - 1) / 2
		if h[p].score <= h[i].score {
			break
		}
		h[p], h[i] = h[i], h[p]
		i = p
	}
}

func (hp *hnswHeap) pop() hnswCand {
	h := *hp
	top := h[0]
	last := len(h) - 1
	h[0] = h[last]
	*hp = h[:last]
	hp.down(0)
	return top
}

func (hp hnswHeap) down(i int) {
	for {
		l := 2*i + 1
		if l >= len(hp) {
			return
		}
		m := l
		if r := l + 1; r < len(hp) && hp[r].score < hp[l].score {
			m = r
		}
		if hp[i].score <= hp[m].score {
			return
		}
		hp[i], hp[m] = hp[m], hp[i]
		i = m
	}
}

// hnswMarks is a set of nodes, one bit each. A walk checks a mark for every
// neighbour and, under a filter, every neighbour's neighbour, at random
// nodes: at a million nodes the bits are 125 KB, which stay in the core's
// own cache, where a 32-bit generation per node (4 MB, emptied in O(1) by
// bumping the generation) made most checks a trip to memory. Emptying the
// bits costs a pass over them per search, microseconds beside the walk.
type hnswMarks struct {
	bits []uint64
}

// reset empties the set for nodes below n.
func (m *hnswMarks) reset(n int) {
	words := (n + 63) / 64
	if cap(m.bits) < words {
		m.bits = make([]uint64, words, words+words/4+1)
		return
	}
	m.bits = m.bits[:words]
	clear(m.bits)
}

// visit marks node and reports whether it was marked already.
func (m *hnswMarks) visit(node uint32) bool {
	w, b := &m.bits[node/64], uint64(1)<<(node%64)
	if *w&b != 0 {
		return true
	}
	*w |= b
	return false
}

func (m *hnswMarks) has(node uint32) bool { return m.bits[node/64]&(1<<(node%64)) != 0 }

// hnswScratch holds the per-query buffers, pooled per index so that a search
// allocates nothing once the pool is warm.
type hnswScratch struct {
	visited  hnswMarks
	excluded hnswMarks // used by the collection's planner
	cand     hnswHeap
	res      hnswHeap
	eps      []hnswCand
	out      []hnswCand
	tmp      []hnswCand
	batch    []uint32
	hops     []uint32
	sink     uint32 // keeps touch's loads from being optimised away
}

func (h *hnswIndex) getScratch() *hnswScratch {
	if s, ok := h.scratch.Get().(*hnswScratch); ok {
		return s
	}
	return &hnswScratch{}
}

func (h *hnswIndex) putScratch(s *hnswScratch) { h.scratch.Put(s) }

// sorted drains s.res into s.out by descending score, keeping at most k.
func (s *hnswScratch) sorted(k int) []hnswCand {
	for len(s.res) > k {
		s.res.pop()
	}
	n := len(s.res)
	if cap(s.out) < n {
		s.out = make([]hnswCand, n)
	}
	s.out = s.out[:n]
	for i := n - 1; i >= 0; i-- {
		s.out[i] = s.res.pop()
	}
	return s.out
}
