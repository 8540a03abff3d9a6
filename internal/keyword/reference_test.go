package keyword

// ReferenceSelect answers like Select, testing every document: slow and
// obviously right, and the tests hold Select to exactly its answers.
func (x *Index) ReferenceSelect(f Filter, max int) (ids []int64, n int) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	c, ok := x.compile(f)
	if !ok {
		return nil, 0
	}
	for d := range x.docs {
		st := &x.docs[d]
		if !st.alive || c.mask>>st.typ&1 == 0 || !x.passes(uint32(d), &c) {
			continue
		}
		n++
		if n <= max {
			ids = append(ids, x.meta[d].id)
		}
	}
	if n > max {
		return nil, n
	}
	return ids, n
}
