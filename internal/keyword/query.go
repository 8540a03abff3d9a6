package keyword

import (
	"math"
	"slices"

	"mediarec/internal/embed"
)

// Query is a search whose text grows, as a more-like-this search widened
// by feedback grows: each Add scores only the terms not scored yet, and
// Top ranks what has been scored, exactly as SearchFilter ranks the texts
// added so far joined together. A query of three rounds over an item's
// whole text scored its first text three times, most of the time of a
// search at a million items. When the index changes between two calls,
// the next call scores everything again. A Query is for one goroutine;
// Close returns its buffers.
type Query struct {
	x     *Index
	f     Filter
	stems []string // every text added, analysed

	// What has been scored, valid while epoch is the index's.
	s           *scratch
	epoch       uint64
	scored      []uint32
	c           compiledFilter
	ok          bool
	norm, slope [numFields]float32
	n           float64
}

// NewQuery starts a query over the items that pass f.
func (x *Index) NewQuery(f Filter) *Query {
	return &Query{x: x, f: f}
}

// Add adds text to the query.
func (q *Query) Add(text string) {
	q.stems = embed.Tokens(q.stems, text)
	x := q.x
	x.mu.RLock()
	defer x.mu.RUnlock()
	q.score()
}

// Top returns the k best items for the texts added so far, best first,
// ties by ascending ID.
func (q *Query) Top(k int) []Hit {
	x := q.x
	x.mu.RLock()
	defer x.mu.RUnlock()
	q.score()
	if k <= 0 || !q.ok || len(q.scored) == 0 {
		return nil
	}
	var keep *compiledFilter
	if !q.f.onlyTypes() {
		keep = &q.c
	}
	return x.topK(q.s, k, keep)
}

// Close releases the query's buffers; the query must not be used again.
func (q *Query) Close() {
	if q.s != nil {
		q.x.putScratch(q.s)
		q.s = nil
	}
}

// score brings the scores up to the stems and the index; the caller holds
// the read lock.
func (q *Query) score() {
	x := q.x
	if q.s == nil || q.epoch != x.epoch {
		q.restart()
	}
	if !q.ok {
		return
	}
	for _, t := range x.queryTerms(q.stems) {
		if slices.Contains(q.scored, t) {
			continue
		}
		q.scoreTerm(t)
		q.scored = append(q.scored, t)
	}
}

// restart drops the scores and takes the index's statistics as they are.
func (q *Query) restart() {
	x := q.x
	if q.s != nil {
		x.putScratch(q.s)
	}
	q.s = x.getScratch()
	q.epoch, q.scored = x.epoch, q.scored[:0]
	q.c, q.ok = x.compile(q.f)
	q.ok = q.ok && x.live > 0
	// Field length normalisation, norm + slope·len: the average length
	// is over the items that have the field, so that the many items
	// without a description do not make every description look long.
	for f, p := range fieldParams {
		q.norm[f], q.slope[f] = 1-p.b, 0
		if x.total[f] > 0 {
			q.slope[f] = p.b * float32(float64(x.has[f])/float64(x.total[f]))
		}
	}
	q.n = float64(x.live)
}

// scoreTerm adds term t's BM25F contribution to every document that
// holds it and passes the type mask.
func (q *Query) scoreTerm(t uint32) {
	x, s, mask := q.x, q.s, q.c.mask
	df := float64(x.df[t])
	idf := float32(math.Log(1 + (q.n-df+0.5)/(df+0.5)))
	w := idf * (k1 + 1)
	for _, p := range x.postings[t] {
		d := uint32(p)
		st := &x.docs[d]
		if !st.alive || mask>>st.typ&1 == 0 {
			continue
		}
		var tf float32
		for f, fr := 0, p>>freqShift; fr != 0; f, fr = f+1, fr>>4 {
			if c := fr & 0xF; c != 0 {
				tf += fieldParams[f].weight * float32(c) / (q.norm[f] + q.slope[f]*float32(st.lens[f]))
			}
		}
		if s.acc[d] == 0 {
			s.touched = append(s.touched, d)
		}
		s.acc[d] += w * tf / (k1 + tf)
	}
}
