package keyword

import (
	"slices"
)

// yearBucket holds the documents of one type and year in ascending order,
// with removed ones until the next compaction.
type yearBucket struct {
	year int16
	live int32
	docs []uint32
}

// bucket returns the bucket of typ and year, adding it if need be.
func (x *Index) bucket(typ uint8, year int16) *yearBucket {
	bs := x.years[typ]
	i, ok := slices.BinarySearchFunc(bs, year, func(b yearBucket, y int16) int { return int(b.year) - int(y) })
	if !ok {
		x.years[typ] = slices.Insert(bs, i, yearBucket{year: year})
	}
	return &x.years[typ][i]
}

// list files new document d under its type, year and genres.
func (x *Index) list(d uint32, typ uint8, year int16, genres []uint16) {
	b := x.bucket(typ, year)
	b.docs = append(b.docs, d)
	b.live++
	x.typeLive[typ]++
	for _, g := range genres {
		x.genreDocs[g][typ] = append(x.genreDocs[g][typ], d)
	}
}

// unlist counts document d out; its entries go at the next compaction.
func (x *Index) unlist(d uint32, genres []uint16) {
	st := &x.docs[d]
	x.bucket(st.typ, st.year).live--
	x.typeLive[st.typ]--
	for _, g := range genres {
		x.perType[g][st.typ]--
	}
}

// relist rebuilds the lists from the documents, after compaction has
// renumbered them, dropping the removed ones and the empty buckets.
func (x *Index) relist() {
	for t := range x.years {
		for i := range x.years[t] {
			x.years[t][i].docs = x.years[t][i].docs[:0]
		}
	}
	for g := range x.genreDocs {
		for t := range x.genreDocs[g] {
			x.genreDocs[g][t] = x.genreDocs[g][t][:0]
		}
	}
	for d := range x.docs {
		st := &x.docs[d]
		b := x.bucket(st.typ, st.year)
		b.docs = append(b.docs, uint32(d))
		for _, g := range x.meta[d].genres {
			x.genreDocs[g][st.typ] = append(x.genreDocs[g][st.typ], uint32(d))
		}
	}
	for t := range x.years {
		x.years[t] = slices.DeleteFunc(x.years[t], func(b yearBucket) bool { return len(b.docs) == 0 })
		for i := range x.years[t] {
			x.years[t][i].docs = trim(x.years[t][i].docs)
		}
	}
	for g := range x.genreDocs {
		for t := range x.genreDocs[g] {
			x.genreDocs[g][t] = trim(x.genreDocs[g][t])
		}
	}
}

// trim releases the spare capacity of a list that has shrunk a lot.
func trim(list []uint32) []uint32 {
	if cap(list) > 2*len(list)+8 {
		return slices.Clone(list)
	}
	return list
}

// selectPlan is where Select finds the items of one type that pass a
// filter: a genre's list of them or their buckets of the years asked,
// and whether it knows how many pass without looking at each.
type selectPlan struct {
	typ     uint8
	genre   int // the genre whose list to read, or -1 for the year buckets
	counted bool
	n       int  // if counted
	check   bool // whether a candidate must still be tested
}

// plan chooses the cheapest source of the items of type t that pass c.
func (x *Index) plan(t uint8, c *compiledFilter) selectPlan {
	p := selectPlan{typ: t, genre: -1}
	bounded := c.from != 0 || c.to != 0
	yearCost, yearLive := 0, 0
	for _, b := range x.yearRange(t, c) {
		if !bounded || b.year != 0 {
			yearCost += len(b.docs)
			yearLive += int(b.live)
		}
	}
	rules := 0
	genreCost := 0
	for _, g := range c.genres {
		if g.restrict>>t&1 == 0 {
			continue
		}
		rules++
		if n := len(x.genreDocs[g.id][t]); p.genre < 0 || n < genreCost {
			p.genre, genreCost = int(g.id), n
		}
	}
	switch {
	case rules == 0:
		p.counted, p.n = true, yearLive
	case rules == 1 && !bounded:
		p.counted, p.n = true, int(x.perType[p.genre][t])
	default:
		p.check = true
		if bounded && yearCost < genreCost {
			p.genre = -1
		}
	}
	return p
}

// yearRange returns the buckets of type t that hold the years c allows,
// the bucket of items without a year among them if c is unbounded.
func (x *Index) yearRange(t uint8, c *compiledFilter) []yearBucket {
	bs := x.years[t]
	lo, hi := 0, len(bs)
	if c.from != 0 {
		lo, _ = slices.BinarySearchFunc(bs, c.from, func(b yearBucket, y int) int { return int(b.year) - y })
	}
	if c.to != 0 {
		hi, _ = slices.BinarySearchFunc(bs, c.to+1, func(b yearBucket, y int) int { return int(b.year) - y })
	}
	return bs[lo:max(lo, hi)]
}

// scan calls yield with each live document of p's source that passes c.
func (x *Index) scan(p *selectPlan, c *compiledFilter, yield func(d uint32)) {
	visit := func(list []uint32) {
		for _, d := range list {
			if x.docs[d].alive && (!p.check || x.passes(d, c)) {
				yield(d)
			}
		}
	}
	if p.genre >= 0 {
		visit(x.genreDocs[p.genre][p.typ])
		return
	}
	bounded := c.from != 0 || c.to != 0
	for _, b := range x.yearRange(p.typ, c) {
		if !bounded || b.year != 0 {
			visit(b.docs)
		}
	}
}

// Select returns how many items pass f and, when they are at most max,
// their IDs in ascending document order. It reads, per type, the
// narrowest of the lists that hold every passing item, and counts
// without reading any when the counters tell.
func (x *Index) Select(f Filter, max int) (ids []int64, n int) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	c, ok := x.compile(f)
	if !ok {
		return nil, 0
	}
	var plans []selectPlan
	for t := range uint8(numTypeBits) {
		if c.mask>>t&1 == 0 || x.typeLive[t] == 0 {
			continue
		}
		p := x.plan(t, &c)
		if p.counted {
			n += p.n
		}
		plans = append(plans, p)
	}
	var docs []uint32
	collect := n <= max
	for i := range plans {
		if p := &plans[i]; !p.counted {
			x.scan(p, &c, func(d uint32) {
				n++
				if !collect {
					return
				}
				if n > max {
					collect, docs = false, nil
					return
				}
				docs = append(docs, d)
			})
		}
	}
	if !collect || n == 0 {
		return nil, n
	}
	for i := range plans {
		if p := &plans[i]; p.counted && p.n > 0 {
			x.scan(p, &c, func(d uint32) { docs = append(docs, d) })
		}
	}
	slices.Sort(docs)
	ids = make([]int64, len(docs))
	for i, d := range docs {
		ids[i] = x.meta[d].id
	}
	return ids, n
}
