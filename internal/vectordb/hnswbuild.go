package vectordb

import (
	"cmp"
	"math"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
)

// Inserting is split in three so that searches keep running while the graph
// grows, and so that a batch uses every core:
//
//  1. allocate (exclusive, cheap) copies the vectors into slots nobody links
//     to yet;
//  2. plan (shared, the expensive part) searches the current graph for each
//     new node's neighbours in parallel, picks them with the heuristic, and
//     works out the pruned neighbour lists of the nodes that link back;
//  3. commit (exclusive, cheap) writes those lists.
//
// Nodes of one batch cannot find each other through the graph, so plan also
// offers them to each other as candidates; batches are kept small relative
// to the graph (chunkSize) so that this stays a small brute-force step.

// chunkSize is how many points one allocate/plan/commit round may take.
func (h *hnswIndex) chunkSize() int {
	return min(256, max(1, (h.len()-len(h.free))/16))
}

// allocate places normalised vectors into slots, reusing free slots first.
func (h *hnswIndex) allocate(vecs [][]float32) []uint32 {
	nodes := make([]uint32, len(vecs))
	for i, v := range vecs {
		var n uint32
		if k := len(h.free); k > 0 {
			n, h.free = h.free[k-1], h.free[:k-1]
			copy(h.vec(n), v)
		} else {
			n = uint32(len(h.levels))
			h.vecs = append(h.vecs, v...)
			h.links0 = append(h.links0, make([]uint32, hnswM0+1)...)
			h.upper = append(h.upper, nil)
			h.levels = append(h.levels, 0)
			h.state = append(h.state, 0)
		}
		level := h.randomLevel()
		h.levels[n], h.state[n] = uint8(level), hnswPending
		h.links0[int(n)*(hnswM0+1)] = 0
		h.upper[n] = nil
		if level > 0 {
			h.upper[n] = make([]uint32, level*(hnswM+1))
		}
		nodes[i] = n
	}
	return nodes
}

// randomLevel draws from the paper's exponentially decaying distribution.
func (h *hnswIndex) randomLevel() int {
	return min(hnswMaxLevel, int(-math.Log(1-h.rng.Float64())*h.levelMult))
}

// hnswPlan is the outcome of the shared phase of an insert.
type hnswPlan struct {
	nodes []uint32
	fwd   [][][]uint32 // fwd[i][l]: neighbours of nodes[i] on layer l
	back  []hnswLinks  // new lists of nodes that gain a link to a new node
}

type hnswLinks struct {
	node  uint32
	level int
	list  []uint32
}

// plan only reads the graph; the caller must keep other writers out.
func (h *hnswIndex) plan(nodes []uint32) *hnswPlan {
	p := &hnswPlan{nodes: nodes, fwd: make([][][]uint32, len(nodes))}
	h.parallel(len(nodes), func(s *hnswScratch, i int) { p.fwd[i] = h.connect(nodes, i, s) })

	inChunk := make(map[uint32]int, len(nodes))
	for i, x := range nodes {
		inChunk[x] = i
	}
	incoming := make(map[uint64][]uint32)
	var keys []uint64
	for i, x := range nodes {
		for l, list := range p.fwd[i] {
			for _, t := range list {
				k := uint64(t)<<8 | uint64(l)
				if _, ok := incoming[k]; !ok {
					keys = append(keys, k)
				}
				incoming[k] = append(incoming[k], x)
			}
		}
	}
	p.back = make([]hnswLinks, len(keys))
	h.parallel(len(keys), func(s *hnswScratch, j int) {
		t, l := uint32(keys[j]>>8), int(keys[j]&0xff)
		var base []uint32
		if i, ok := inChunk[t]; ok {
			base = p.fwd[i][l]
		} else {
			base = h.links(t, l)
		}
		p.back[j] = hnswLinks{t, l, h.mergeLinks(t, l, base, incoming[keys[j]], s)}
	})
	return p
}

// connect chooses the neighbours of nodes[i] on each of its layers.
func (h *hnswIndex) connect(nodes []uint32, i int, s *hnswScratch) [][]uint32 {
	x := nodes[i]
	q := h.vec(x)
	top := int(h.levels[x])
	cands := make([][]hnswCand, top+1)
	if h.maxLevel >= 0 {
		ep := hnswCand{h.entry, dot(q, h.vec(h.entry))}
		for l := h.maxLevel; l > top; l-- {
			ep = h.greedy(q, ep, l)
		}
		s.eps = append(s.eps[:0], ep)
		for l := min(top, h.maxLevel); l >= 0; l-- {
			h.searchLayer(q, s.eps, hnswEfConstruction, l, nil, s)
			cands[l] = append([]hnswCand(nil), s.res...)
			if len(s.res) > 0 {
				s.eps = append(s.eps[:0], s.res...)
			}
		}
	}
	for j, y := range nodes {
		if j == i {
			continue
		}
		sc := dot(q, h.vec(y))
		for l := range min(top, int(h.levels[y])) + 1 {
			cands[l] = append(cands[l], hnswCand{y, sc})
		}
	}
	fwd := make([][]uint32, top+1)
	for l, c := range cands {
		hnswSortDesc(c)
		fwd[l] = h.selectNeighbours(c, hnswM)
	}
	return fwd
}

// mergeLinks adds new neighbours to node's list on a layer, pruning with the
// heuristic when the list would exceed the layer's degree bound.
func (h *hnswIndex) mergeLinks(node uint32, level int, base, add []uint32, s *hnswScratch) []uint32 {
	list := make([]uint32, 0, len(base)+len(add))
	list = append(list, base...)
	for _, x := range add {
		if !slices.Contains(list, x) {
			list = append(list, x)
		}
	}
	if len(list) <= hnswMaxLinks(level) {
		return list
	}
	v := h.vec(node)
	h.prefetch(list, s)
	s.tmp = s.tmp[:0]
	for _, c := range list {
		s.tmp = append(s.tmp, hnswCand{c, dot(v, h.vec(c))})
	}
	hnswSortDesc(s.tmp)
	return h.selectNeighbours(s.tmp, hnswMaxLinks(level))
}

// selectNeighbours is the heuristic of Algorithm 4: walking candidates from
// the closest, keep one only if it is closer to the base node than to every
// neighbour kept so far. Links then point in diverse directions, which keeps
// clusters connected to each other; taking the m closest would not.
func (h *hnswIndex) selectNeighbours(cands []hnswCand, m int) []uint32 {
	out := make([]uint32, 0, min(m, len(cands)))
	for _, c := range cands {
		if len(out) == m {
			break
		}
		v := h.vec(c.node)
		keep := true
		for _, o := range out {
			if dot(v, h.vec(o)) > c.score {
				keep = false
				break
			}
		}
		if keep {
			out = append(out, c.node)
		}
	}
	return out
}

// commit links the planned nodes in; it needs exclusive access.
func (h *hnswIndex) commit(p *hnswPlan) {
	for i, x := range p.nodes {
		for l, list := range p.fwd[i] {
			h.setLinks(x, l, list)
		}
	}
	for _, b := range p.back {
		h.setLinks(b.node, b.level, b.list)
	}
	for _, x := range p.nodes {
		h.state[x] = hnswLive
		if int(h.levels[x]) > h.maxLevel {
			h.entry, h.maxLevel = x, int(h.levels[x])
		}
	}
}

// commitUnlinked makes allocated nodes live without links, for a collection
// that keeps no graph (localKind.scan); it needs exclusive access.
func (h *hnswIndex) commitUnlinked(nodes []uint32) {
	for _, x := range nodes {
		h.state[x], h.levels[x], h.upper[x] = hnswLive, 0, nil
	}
}

// needsRepair reports whether tombstones make up a tenth of the graph: past
// that they cost searches more than a repair costs the writer.
func (h *hnswIndex) needsRepair() bool {
	return h.tombstones > 0 && h.tombstones*10 >= h.len()-len(h.free)
}

// repairPlan reconnects around tombstones (the delete consolidation of
// FreshDiskANN): a live node that links to a tombstone gets the tombstone's
// live neighbours as candidates and re-selects its list with the heuristic.
// That costs work only where tombstones are, unlike a rebuild. It only reads
// the graph.
func (h *hnswIndex) repairPlan() []hnswLinks {
	var jobs []hnswLinks
	for n, st := range h.state {
		if st != hnswLive {
			continue
		}
		for l := range int(h.levels[n]) + 1 {
			if slices.ContainsFunc(h.links(uint32(n), l), func(c uint32) bool { return h.state[c] == hnswTombstone }) {
				jobs = append(jobs, hnswLinks{node: uint32(n), level: l})
			}
		}
	}
	h.parallel(len(jobs), func(s *hnswScratch, j int) {
		p, l := jobs[j].node, jobs[j].level
		v := h.vec(p)
		s.visited.reset(h.len())
		s.visited.visit(p)
		s.tmp = s.tmp[:0]
		add := func(c uint32) {
			if h.state[c] == hnswLive && !s.visited.visit(c) {
				s.tmp = append(s.tmp, hnswCand{c, dot(v, h.vec(c))})
			}
		}
		for _, c := range h.links(p, l) {
			if h.state[c] != hnswTombstone {
				add(c)
				continue
			}
			for _, d := range h.links(c, l) {
				add(d)
			}
		}
		hnswSortDesc(s.tmp)
		jobs[j].list = h.selectNeighbours(s.tmp, hnswMaxLinks(l))
	})
	return jobs
}

// repairCommit applies a repair plan and frees the tombstones' slots; it
// needs exclusive access. It returns the freed slots.
func (h *hnswIndex) repairCommit(jobs []hnswLinks) []uint32 {
	for _, j := range jobs {
		h.setLinks(j.node, j.level, j.list)
	}
	var freed []uint32
	for n, st := range h.state {
		if st != hnswTombstone {
			continue
		}
		h.state[n], h.levels[n], h.upper[n] = hnswFree, 0, nil
		h.links0[n*(hnswM0+1)] = 0
		freed = append(freed, uint32(n))
	}
	h.free = append(h.free, freed...)
	h.tombstones = 0
	if h.maxLevel >= 0 && h.state[h.entry] != hnswLive {
		h.maxLevel = -1
		for n, st := range h.state {
			if st == hnswLive && int(h.levels[n]) > h.maxLevel {
				h.entry, h.maxLevel = uint32(n), int(h.levels[n])
			}
		}
	}
	return freed
}

// parallel runs fn(i) for i in [0,n) on every core, each worker with its own
// scratch.
func (h *hnswIndex) parallel(n int, fn func(s *hnswScratch, i int)) {
	workers := min(runtime.GOMAXPROCS(0), n)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			s := h.getScratch()
			defer h.putScratch(s)
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				fn(s, i)
			}
		})
	}
	wg.Wait()
}

func hnswSortDesc(c []hnswCand) {
	slices.SortFunc(c, func(a, b hnswCand) int {
		if r := cmp.Compare(b.score, a.score); r != 0 {
			return r
		}
		return cmp.Compare(a.node, b.node)
	})
}
