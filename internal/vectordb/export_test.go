package vectordb

import "mediarec"

// ExactSearchForTest is Search answered by the exact scan of the same
// subset: the ground truth of the benchmark's recall.
func ExactSearchForTest(l *Local, coll string, q []float32, k int, f mediarec.VectorFilter) []mediarec.VectorHit {
	c := l.colls[coll]
	v, err := localVector(q, c.dim, c.dot)
	if err != nil {
		panic(err.Message)
	}
	return c.searchMode(v, k, f, true)
}

// SetEfSearchForTest fixes a collection's beam width (0 restores the
// calibrated one), for the benchmark's sweeps.
func SetEfSearchForTest(l *Local, coll string, ef int) {
	c := l.colls[coll]
	c.mu.Lock()
	c.efFixed = ef
	c.mu.Unlock()
}

// EfSearchForTest returns the beam widths of unfiltered and filtered
// searches of coll.
func EfSearchForTest(l *Local, coll string) (ef, filtered int) {
	c := l.colls[coll]
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.efSearch(false, 0), c.efSearch(true, 0)
}

// SetEfConstructionForTest sets the beam of inserts for the graphs built
// from now on, for the benchmark's weighing of build time against recall.
func SetEfConstructionForTest(ef int) { hnswEfConstruction = ef }
