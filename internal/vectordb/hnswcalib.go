package vectordb

import (
	"math"
	"math/rand/v2"
	"sync/atomic"
)

// A fixed efSearch is right for one data set only. The recall of a beam
// depends on the intrinsic dimension of the vectors and on the queries, not
// on the number of points alone: 48 gave recall@10 1.000 on 100k
// well-separated clusters, 0.83 on 100k points of a 32-d latent space
// embedded in 256-d with noise, 0.95 on LSA profiles of the real catalog
// and 0.99 on users' profiles in the hybrid index. So each collection
// measures its own: when it has grown by a quarter since the last
// measurement (kept in the snapshot), it draws sample queries from its own
// points, finds their exact top-10 by scan, and takes the smallest beam of
// hnswEfGrid whose recall@10 reaches hnswCalTarget, a margin over the 0.95
// floor for what 128 sample queries cannot tell apart.
//
// Growth by a quarter keeps the work geometric: all calibrations of a bulk
// load cost about five times the last one, seconds at 1M points against
// minutes of graph building.
const (
	hnswCalQueries = 128
	hnswCalTarget  = 0.98
	hnswCalK       = 10
)

var hnswEfGrid = []int{10, 12, 16, 20, 24, 32, 40, 48, 64, 80, 96, 128, 160, 192, 256, 320, 384, 512, 640, 768, 1024}

// calibrate returns the beam width of the graph as it stands; it only reads
// the graph. seed makes it repeatable.
//
// Stored points are not queries: a query is rarely a point of the index. The
// sample mixes three kinds of query built from them, a third each: a point
// moved by its distance to its nearest neighbour (a new point of the same
// region), a mix of a point and two points within two hops of it (a profile
// of related items), and a mix of two to six points drawn anywhere (a
// profile of broad taste, which lands between regions, where the graph is
// thinnest). On the benchmark sets the sample is as hard as real queries
// on low-rank data and harder on the catalog's LSA vectors and the hybrid
// index, where the beam comes out wider than their queries need.
//
// With from and accept, the queries start from the nodes from takes and
// the search keeps only what accept takes: the correlated filter of a
// profile of one type asking for the others.
func (h *hnswIndex) calibrate(seed uint64, from, accept func(uint32) bool) int {
	live := h.live()
	if live <= hnswCalK {
		return hnswEfGrid[0]
	}
	rng := rand.New(rand.NewPCG(seed, uint64(live)))
	pick := func() uint32 {
		for {
			if n := uint32(rng.IntN(h.len())); h.state[n] == hnswLive && (from == nil || from(n)) {
				return n
			}
		}
	}
	queries := make([][]float32, hnswCalQueries)
	for i := range queries {
		q := make([]float32, h.dim)
		add := func(n uint32, w float32) {
			for j, x := range h.vec(n) {
				q[j] += w * x
			}
		}
		a := pick()
		add(a, 1)
		switch i % 3 {
		case 0:
			// As far from a as its nearest linked neighbour: where a
			// new point of the same region would fall.
			var d2 float64
			best := float32(math.Inf(-1))
			for _, b := range h.links(a, 0) {
				if sc := dot(h.vec(a), h.vec(b)); sc > best {
					best, d2 = sc, 0
					for j, x := range h.vec(b) {
						y := float64(x - q[j])
						d2 += y * y
					}
				}
			}
			sd := math.Sqrt(d2 / float64(h.dim))
			for j := range q {
				q[j] += float32(rng.NormFloat64() * sd)
			}
		case 1:
			for range 2 {
				hop := h.links(a, 0)
				if len(hop) == 0 {
					break
				}
				b := hop[rng.IntN(len(hop))]
				if next := h.links(b, 0); len(next) > 0 {
					b = next[rng.IntN(len(next))]
				}
				if h.state[b] == hnswLive {
					add(b, 0.3+0.7*rng.Float32())
				}
			}
		case 2:
			for range 1 + rng.IntN(5) {
				add(pick(), 0.3+0.7*rng.Float32())
			}
		}
		queries[i] = q
	}
	truth := make([][]uint32, len(queries))
	h.parallel(len(queries), func(s *hnswScratch, i int) {
		for _, r := range h.scanAll(queries[i], hnswCalK, accept, s) {
			truth[i] = append(truth[i], r.node)
		}
	})
	recall := func(ef int) float64 {
		var found, total atomic.Int64
		h.parallel(len(queries), func(s *hnswScratch, i int) {
			n := 0
			for _, r := range h.search(queries[i], hnswCalK, ef, accept, s) {
				for _, t := range truth[i] {
					if r.node == t {
						n++
						break
					}
				}
			}
			found.Add(int64(n))
			total.Add(int64(len(truth[i])))
		})
		return float64(found.Load()) / float64(total.Load())
	}
	lo, hi := 0, len(hnswEfGrid)-1
	for lo < hi {
		mid := (lo + hi) / 2
		if recall(hnswEfGrid[mid]) >= hnswCalTarget {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return hnswEfGrid[lo]
}
