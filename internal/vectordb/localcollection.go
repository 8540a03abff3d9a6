package vectordb

import (
	"cmp"
	"math"
	"slices"
	"strings"
	"sync"

	"mediarec"
)

// The planner's constants. localPlanCost is roughly how many vectors one
// graph search scores (a few thousand at efSearch 48; wider beams cost more,
// see localScoredPerEf): a subset that small is scanned exactly. A larger
// subset is walked with ACORN's two-hop expansion, which scores about as
// much as an unfiltered search, while it holds at least 1/localMinWalkShare
// of the points; sparser ones leave the walk too few accepted nodes in reach
// (recall@10 on clustered data: 0.998 at 10%, 0.96 at 5%, 0.74 at 2%) and
// are scanned too. At 100k points a 16% subset walked answers 3.5× faster
// than its exact scan. Qdrant's planner makes the same call with its
// cardinality estimate and full_scan_threshold.
const (
	localPlanCost     = 4096
	localMinWalkShare = 10
	// localScoredPerEf prices a unit of beam width in vectors of an exact
	// scan: a walk visits 12 to 26 vectors per unit (on 100k low-rank
	// points, from ef 2048 down to 16), each a cache miss that costs about
	// three vectors of a sequential scan. A walk wider than
	// subset/localScoredPerEf costs more than scanning the subset exactly,
	// which the planner then does.
	localScoredPerEf = 64
)

// localCollection is one collection of the in-process store: the graph, the
// id ↔ node maps, payloads and, per payload type, the list of live nodes the
// planner counts and scans.
//
// Locking: writeMu serialises writers (upserts, deletes, repairs, snapshots,
// close) for their whole length. mu guards everything a search reads; a
// writer takes it exclusively only for the short allocate and commit steps,
// so searches go on while it plans an insert, repairs or writes a snapshot.
// Because only the holder of writeMu mutates, it may read without mu.
type localCollection struct {
	name string
	dim  int
	dir  string
	localKind

	writeMu  sync.Mutex
	gone     error     // under writeMu: why writes are refused (closed, deleted)
	wal      *localWAL // under writeMu
	snapSize int64     // under writeMu
	walMin   int64
	walMax   int64

	mu        sync.RWMutex
	g         *hnswIndex
	byID      map[int64]uint32
	ids       []int64                  // per slot
	payloads  []mediarec.VectorPayload // per slot
	types     []uint8                  // per slot: index into typeNames
	typePos   []uint32                 // per slot: position in typeNodes
	typeNames []mediarec.ItemType
	typeCodes map[mediarec.ItemType]uint8
	typeNodes [][]uint32 // per type: its live nodes
	// strs holds one copy of each genre and tag of the payloads: a
	// million items repeat a few thousand of them, each decoded anew.
	strs map[string]string
	// Beam widths (see recalibrate): unfiltered and under a type filter,
	// 0 until measured; efFixed, set by benchmarks, overrides both.
	ef, efFiltered, efFixed int
	efLive                  int // under writeMu: live points when last measured
}

// localKind is how a collection ranks and whether it keeps a graph.
type localKind struct {
	// dot ranks by the inner product of the vectors as given; otherwise
	// vectors are normalised on the way in and the dot product is the
	// cosine.
	dot bool
	// scan keeps no graph: every search scans the points exactly, and an
	// insert costs only the copy of its vector. For a collection that is
	// written in bulk and soon dropped (see Local.CreateScanCollection).
	scan bool
}

func newLocalCollection(name, dir string, dim int, kind localKind) *localCollection {
	return &localCollection{
		name:      name,
		dim:       dim,
		dir:       dir,
		localKind: kind,
		walMin:    localWALMin,
		walMax:    localWALMax,
		g:         newHNSW(dim),
		byID:      make(map[int64]uint32),
		typeCodes: make(map[mediarec.ItemType]uint8),
		strs:      make(map[string]string),
	}
}

func (c *localCollection) info() mediarec.Collection {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return mediarec.Collection{Name: c.name, Dimensions: c.dim, Points: len(c.byID)}
}

func (c *localCollection) get(ids []int64) []mediarec.VectorPoint {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make([]mediarec.VectorPoint, 0, len(ids))
	for _, id := range ids {
		if node, ok := c.byID[id]; ok {
			out = append(out, mediarec.VectorPoint{ID: id, Vector: slices.Clone(c.g.vec(node)), Payload: c.payloads[node]})
		}
	}
	return out
}

// search plans like Qdrant: it counts the points that pass the filter from
// the per-type lists, scans them exactly when they are few or sparse (see
// localPlanCost), and otherwise walks the graph scoring only what passes.
func (c *localCollection) search(q []float32, k int, f mediarec.VectorFilter) []mediarec.VectorHit {
	return c.searchMode(q, k, f, false)
}

// searchMode is search, or with exact the exact scan of the same subset:
// the ground truth of recall measurements.
func (c *localCollection) searchMode(q []float32, k int, f mediarec.VectorFilter, exact bool) []mediarec.VectorHit {
	c.mu.RLock()
	defer c.mu.RUnlock()
	s := c.g.getScratch()
	defer c.g.putScratch(s)

	var allowed [256]bool
	subset := len(c.byID)
	filtered := len(f.Types) > 0
	if filtered {
		subset = 0
		for _, t := range f.Types {
			if code, ok := c.typeCodes[t]; ok && !allowed[code] {
				allowed[code] = true
				subset += len(c.typeNodes[code])
			}
		}
	} else {
		for code := range c.typeNames {
			allowed[code] = true
		}
	}
	excluded := 0
	if len(f.ExcludeIDs) > 0 {
		s.excluded.reset(c.g.len())
		for _, id := range f.ExcludeIDs {
			if node, ok := c.byID[id]; ok && allowed[c.types[node]] && !s.excluded.visit(node) {
				subset--
				excluded++
			}
		}
	}
	excluding := excluded > 0
	if subset <= 0 || k <= 0 {
		return []mediarec.VectorHit{}
	}
	var accept func(uint32) bool
	if filtered || excluding {
		accept = func(node uint32) bool { return allowed[c.types[node]] && !(excluding && s.excluded.has(node)) }
	}

	ef := c.efSearch(filtered, excluded)
	var res []hnswCand
	if exact || c.scan || subset <= max(localPlanCost, localScoredPerEf*ef) || subset*localMinWalkShare < len(c.byID) {
		s.res = s.res[:0]
		for code, ok := range allowed[:len(c.typeNames)] {
			if ok {
				c.g.scanInto(q, k, c.typeNodes[code], accept, s)
			}
		}
		res = s.sorted(k)
	} else {
		res = c.g.search(q, k, ef, accept, s)
	}
	hits := make([]mediarec.VectorHit, len(res))
	for i, r := range res {
		hits[i] = mediarec.VectorHit{ID: c.ids[r.node], Score: r.score, Payload: c.payloads[r.node]}
	}
	// Break ties by id so that equal scores come back in the same order
	// whatever the graph's node numbering.
	slices.SortFunc(hits, func(a, b mediarec.VectorHit) int {
		if r := cmp.Compare(b.Score, a.Score); r != 0 {
			return r
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return hits
}

// applyUpsert inserts normalised points with distinct ids; the caller holds
// writeMu. An id that exists already is tombstoned in the same commit that
// links its new node, so a search sees exactly one of the two.
func (c *localCollection) applyUpsert(pts []mediarec.VectorPoint) {
	for lo := 0; lo < len(pts); {
		part := pts[lo:min(len(pts), lo+c.g.chunkSize())]
		lo += len(part)
		vecs := make([][]float32, len(part))
		for i := range part {
			vecs[i] = part[i].Vector
		}
		c.mu.Lock()
		nodes := c.g.allocate(vecs)
		if grow := c.g.len() - len(c.ids); grow > 0 {
			c.ids = append(c.ids, make([]int64, grow)...)
			c.payloads = append(c.payloads, make([]mediarec.VectorPayload, grow)...)
			c.types = append(c.types, make([]uint8, grow)...)
			c.typePos = append(c.typePos, make([]uint32, grow)...)
		}
		c.mu.Unlock()

		var plan *hnswPlan
		if !c.scan {
			plan = c.g.plan(nodes)
		}

		c.mu.Lock()
		if c.scan {
			c.g.commitUnlinked(nodes)
		} else {
			c.g.commit(plan)
		}
		for i, p := range part {
			if old, ok := c.byID[p.ID]; ok {
				c.unbind(old)
			}
			c.bind(nodes[i], p.ID, p.Payload)
		}
		c.mu.Unlock()
	}
	c.repairIfNeeded()
}

// applyDelete tombstones the nodes of ids; the caller holds writeMu.
func (c *localCollection) applyDelete(ids []int64) {
	c.mu.Lock()
	for _, id := range ids {
		if node, ok := c.byID[id]; ok {
			c.unbind(node)
		}
	}
	c.mu.Unlock()
	c.repairIfNeeded()
}

func (c *localCollection) repairIfNeeded() {
	if !c.g.needsRepair() {
		return
	}
	jobs := c.g.repairPlan()
	c.mu.Lock()
	c.g.repairCommit(jobs)
	c.mu.Unlock()
}

// bind records node as the live point id; the caller holds mu.
func (c *localCollection) bind(node uint32, id int64, p mediarec.VectorPayload) {
	code := c.typeCode(p.Type)
	p.Genres, p.Tags = c.intern(p.Genres), c.intern(p.Tags)
	c.byID[id] = node
	c.ids[node], c.payloads[node], c.types[node] = id, p, code
	c.typePos[node] = uint32(len(c.typeNodes[code]))
	c.typeNodes[code] = append(c.typeNodes[code], node)
}

// intern returns a copy of list whose strings are the collection's own
// copies; the caller holds mu.
func (c *localCollection) intern(list []string) []string {
	if list == nil {
		return nil
	}
	out := make([]string, len(list))
	for i, s := range list {
		own, ok := c.strs[s]
		if !ok {
			own = strings.Clone(s)
			c.strs[own] = own
		}
		out[i] = own
	}
	return out
}

// unbind tombstones node and forgets its point; the caller holds mu.
func (c *localCollection) unbind(node uint32) {
	code, pos := c.types[node], c.typePos[node]
	list := c.typeNodes[code]
	last := list[len(list)-1]
	list[pos], c.typePos[last] = last, pos
	c.typeNodes[code] = list[:len(list)-1]
	delete(c.byID, c.ids[node])
	c.payloads[node] = mediarec.VectorPayload{}
	c.g.markDeleted(node)
}

// typeCode interns a payload type; newTypes has checked there is room.
func (c *localCollection) typeCode(t mediarec.ItemType) uint8 {
	code, ok := c.typeCodes[t]
	if !ok {
		code = uint8(len(c.typeNames))
		c.typeCodes[t] = code
		c.typeNames = append(c.typeNames, t)
		c.typeNodes = append(c.typeNodes, nil)
	}
	return code
}

// roomForTypes reports whether the payload types of pts fit the 256 codes a
// node's one-byte type can name.
func (c *localCollection) roomForTypes(pts []mediarec.VectorPoint) bool {
	n := len(c.typeNames)
	seen := map[mediarec.ItemType]bool{}
	for _, p := range pts {
		if _, ok := c.typeCodes[p.Payload.Type]; !ok && !seen[p.Payload.Type] {
			seen[p.Payload.Type] = true
			n++
		}
	}
	return n <= 256
}

// localPrepare validates points against a collection's dimension and returns
// copies with distinct ids (the last occurrence wins) and vectors as the
// collection keeps them (see localVector); bind copies the payload lists.
func localPrepare(pts []mediarec.VectorPoint, dim int, dot bool) ([]mediarec.VectorPoint, error) {
	out := make([]mediarec.VectorPoint, 0, len(pts))
	index := make(map[int64]int, len(pts))
	for _, p := range pts {
		v, err := localVector(p.Vector, dim, dot)
		if err != nil {
			return nil, mediarec.Errorf(mediarec.EINVALID, "Point %d: %s.", p.ID, err.Message)
		}
		q := mediarec.VectorPoint{ID: p.ID, Vector: v, Payload: p.Payload} // bind copies the lists
		if i, ok := index[p.ID]; ok {
			out[i] = q
			continue
		}
		index[p.ID] = len(out)
		out = append(out, q)
	}
	return out, nil
}

// localVector returns a copy of v as a collection keeps it: as given for
// the inner product (dot), scaled to unit length otherwise.
func localVector(v []float32, dim int, dot bool) ([]float32, *mediarec.Error) {
	if dot {
		if len(v) != dim {
			return nil, mediarec.Errorf(mediarec.EINVALID, "vector has %d dimensions, the collection %d", len(v), dim)
		}
		for _, x := range v {
			if math.IsInf(float64(x), 0) || math.IsNaN(float64(x)) {
				return nil, mediarec.Errorf(mediarec.EINVALID, "vector must be finite")
			}
		}
		return slices.Clone(v), nil
	}
	return localNormalise(v, dim)
}

// localNormalise returns v scaled to unit length, so that cosine similarity
// is a dot product.
func localNormalise(v []float32, dim int) ([]float32, *mediarec.Error) {
	if len(v) != dim {
		return nil, mediarec.Errorf(mediarec.EINVALID, "vector has %d dimensions, the collection %d", len(v), dim)
	}
	var sum float64
	for _, x := range v {
		sum += float64(x) * float64(x)
	}
	if sum == 0 || math.IsInf(sum, 0) || math.IsNaN(sum) {
		return nil, mediarec.Errorf(mediarec.EINVALID, "vector must be finite and non-zero")
	}
	inv := 1 / math.Sqrt(sum)
	out := make([]float32, dim)
	for i, x := range v {
		out[i] = float32(float64(x) * inv)
	}
	return out, nil
}

// efSearch is the beam width of a search, unfiltered or under a type
// filter, that excludes excluded nodes of the subset; the caller holds mu.
// The judged items of a user lie around their own profile, and each may
// hold a place the beam would otherwise give to a result, so each widens
// the beam by one, up to doubling it: the excluded nodes still route the
// walk, and on the hybrid index real users' profiles with their rated
// items excluded kept recall@10 0.995 at a fixed beam of 48.
func (c *localCollection) efSearch(filtered bool, excluded int) int {
	if c.efFixed > 0 {
		return c.efFixed
	}
	ef := c.ef
	if filtered {
		ef = c.efFiltered
	}
	if ef == 0 {
		ef = hnswEfSearch
	}
	return ef + min(excluded, ef)
}

// recalibrate measures the beam widths again (see calibrate) once the live
// points have grown by a quarter since the last time; the caller holds
// writeMu, so the graph holds still while searches go on. Below
// localPlanCost points every search is a scan and needs no beam.
//
// A filtered walk gets its own width, measured on the hardest filter a
// collection commonly serves: profiles built from its largest type asking
// for all the others (a film lover's books and podcasts). The walk starts
// where the query is, among points it must hop over, so it needs a wider
// beam than an unfiltered search; an uncorrelated filter needs less.
func (c *localCollection) recalibrate() {
	live := len(c.byID)
	if c.scan || live < localPlanCost || 4*live < 5*c.efLive {
		return
	}
	seed := uint64(c.dim)
	ef := c.g.calibrate(seed, nil, nil)
	efFiltered := ef
	big, bigN := 0, -1
	for code, nodes := range c.typeNodes {
		if len(nodes) > bigN {
			big, bigN = code, len(nodes)
		}
	}
	if rest := live - bigN; rest > localPlanCost && rest*localMinWalkShare >= live {
		isBig := func(n uint32) bool { return c.types[n] == uint8(big) }
		efFiltered = max(ef, c.g.calibrate(seed+1, isBig, func(n uint32) bool { return !isBig(n) }))
	}
	c.mu.Lock()
	c.ef, c.efFiltered = ef, efFiltered
	c.mu.Unlock()
	c.efLive = live
}
