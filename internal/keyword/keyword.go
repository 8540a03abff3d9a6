// Package keyword is the lexical side of natural-language search: an
// in-memory BM25F index over the catalog's titles, tags, genres, creators
// and descriptions, analysed exactly like the local embedder analyses text,
// and a title lookup for queries that name an item.
package keyword

import (
	"math"
	"slices"
	"strings"
	"sync"

	"mediarec"
)

// Hit is one search result.
type Hit struct {
	ID    int64
	Score float64
}

// Index is an inverted index of catalog items. It is safe for concurrent
// use: searches share a read lock, Put and Remove take the write lock only
// to merge, after analysing outside it.
type Index struct {
	mu sync.RWMutex

	// Documents are numbered densely in insertion order; a posting is
	// the document number in the low 32 bits and the packed per-field
	// frequencies above.
	dict      map[string]uint32
	termText  []string
	postings  [][]uint64
	df        []int32 // live documents per term
	freeTerms []uint32

	docs  []docStats // hot: read for every posting during a search
	meta  []docMeta  // cold: identity and what removal must undo
	byID  map[int64]uint32
	live  int
	total [numFields]int64 // summed field lengths of live documents
	has   [numFields]int   // live documents with a non-empty field

	// Removed documents stay in the postings, skipped by searches, until
	// they make up a quarter of them; then the index is compacted.
	deadPostings  int
	totalPostings int

	titles        map[string][]titleRef
	prefixes      map[string][]titleRef // the starts of titles, see titlePrefixes
	maxTitleWords int

	// genres numbers the genres of the indexed items, lowercase; perType
	// counts the live items of each type that have each genre, and
	// genreDocs lists them by document, with removed ones until the next
	// compaction. years holds each type's documents by year. They let
	// Select count and list the items that pass a filter without testing
	// the whole catalog.
	genres    map[string]uint16
	perType   [][numTypeBits]int32
	genreDocs [][numTypeBits][]uint32
	years     [numTypeBits][]yearBucket
	typeLive  [numTypeBits]int

	// epoch counts the changes to the index, so that a Query can tell
	// whether the scores it holds are still those of the index.
	epoch uint64

	scratch sync.Pool // *scratch
}

// scratch is a search's score accumulator, pooled so that a query does not
// allocate an array the size of the catalog. acc is all zeros between uses.
type scratch struct {
	acc     []float32
	touched []uint32
}

type docStats struct {
	lens  [numFields]uint16
	year  int16
	typ   uint8
	alive bool
}

type docMeta struct {
	id         int64
	popularity int64
	version    int
	terms      []uint32
	titles     []titleKey
	genres     []uint16
}

// New returns an empty index.
func New() *Index {
	return &Index{
		dict:     make(map[string]uint32),
		byID:     make(map[int64]uint32),
		titles:   make(map[string][]titleRef),
		prefixes: make(map[string][]titleRef),
		genres:   make(map[string]uint16),
	}
}

// Len returns the number of items in the index.
func (x *Index) Len() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.live
}

// mergeBatch is how many analysed items Put merges per write lock, so that
// loading a whole catalog does not hold searches up for long.
const mergeBatch = 1024

// Put adds items, replacing any indexed item with the same ID; of several
// items with one ID in a call, the last wins. Nil items are ignored. A large
// call is merged in slices, and a search running meanwhile may see part of
// it.
func (x *Index) Put(items ...*mediarec.Item) {
	docs := analyze(x.changed(items))
	for len(docs) > 0 {
		n := min(len(docs), mergeBatch)
		x.merge(docs[:n])
		docs = docs[n:]
	}
}

// changed returns the last item of each ID in items unless it is the
// indexed one: the same Version, when set, and Popularity. The catalog
// announces each change of an item's embedding status with the whole
// item, and analysing its text again cost a bulk load a tenth of its time.
func (x *Index) changed(items []*mediarec.Item) []*mediarec.Item {
	last := make(map[int64]int, len(items))
	for i, it := range items {
		if it != nil {
			last[it.ID] = i
		}
	}
	x.mu.RLock()
	defer x.mu.RUnlock()
	out := make([]*mediarec.Item, 0, len(last))
	for i, it := range items {
		if it == nil || last[it.ID] != i {
			continue
		}
		if d, ok := x.byID[it.ID]; ok && it.Version != 0 && x.meta[d].version == it.Version && x.meta[d].popularity == it.Popularity {
			continue
		}
		out = append(out, it)
	}
	return out
}

func (x *Index) merge(docs []doc) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.epoch++
	for i := range docs {
		x.add(&docs[i])
	}
	x.maybeCompact()
}

// Remove removes the items with the given IDs; unknown IDs are ignored.
func (x *Index) Remove(ids ...int64) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.epoch++
	for _, id := range ids {
		if d, ok := x.byID[id]; ok {
			x.remove(d)
		}
	}
	x.maybeCompact()
}

func (x *Index) add(dc *doc) {
	if old, ok := x.byID[dc.id]; ok {
		x.remove(old)
	}
	d := uint32(len(x.docs))
	terms := make([]uint32, len(dc.terms))
	for i, s := range dc.terms {
		t, ok := x.dict[s]
		if !ok {
			t = x.newTerm(s)
		}
		x.postings[t] = append(x.postings[t], uint64(d)|dc.freqs[i])
		x.df[t]++
		terms[i] = t
	}
	x.docs = append(x.docs, docStats{lens: dc.lens, year: dc.year, typ: dc.typ, alive: true})
	genres := x.genreIDs(dc.genres, dc.typ)
	x.meta = append(x.meta, docMeta{id: dc.id, version: dc.version, popularity: dc.popularity, terms: terms, titles: dc.titles, genres: genres})
	x.list(d, dc.typ, dc.year, genres)
	x.byID[dc.id] = d
	x.live++
	x.totalPostings += len(terms)
	for f, n := range dc.lens {
		x.total[f] += int64(n)
		if n > 0 {
			x.has[f]++
		}
	}
	x.addTitles(dc.id, dc.typ, dc.popularity, dc.titles)
}

func (x *Index) newTerm(s string) uint32 {
	s = strings.Clone(s) // the analyzer's strings may share memory with item text
	if n := len(x.freeTerms); n > 0 {
		t := x.freeTerms[n-1]
		x.freeTerms = x.freeTerms[:n-1]
		x.dict[s] = t
		x.termText[t] = s
		return t
	}
	t := uint32(len(x.termText))
	x.dict[s] = t
	x.termText = append(x.termText, s)
	x.postings = append(x.postings, nil)
	x.df = append(x.df, 0)
	return t
}

// remove marks document d dead; its postings go at the next compaction.
func (x *Index) remove(d uint32) {
	m := &x.meta[d]
	for _, t := range m.terms {
		x.df[t]--
	}
	for f, n := range x.docs[d].lens {
		x.total[f] -= int64(n)
		if n > 0 {
			x.has[f]--
		}
	}
	x.removeTitles(m.id, m.titles)
	x.unlist(d, m.genres)
	x.docs[d].alive = false
	x.deadPostings += len(m.terms)
	delete(x.byID, m.id)
	x.live--
	*m = docMeta{id: m.id}
}

func (x *Index) maybeCompact() {
	if x.deadPostings > 0 && 4*x.deadPostings >= x.totalPostings || len(x.docs)-x.live > 3*x.live {
		x.compact()
	}
}

// compact drops dead documents and renumbers the live ones densely, in
// their order, so that postings stay sorted by document; terms no document
// uses any more are freed.
func (x *Index) compact() {
	const gone = math.MaxUint32
	remap := make([]uint32, len(x.docs))
	n := uint32(0)
	for d := range x.docs {
		if !x.docs[d].alive {
			remap[d] = gone
			continue
		}
		remap[d] = n
		x.docs[n] = x.docs[d]
		x.meta[n] = x.meta[d]
		x.byID[x.meta[n].id] = n
		n++
	}
	clear(x.meta[n:]) // release the dropped documents' slices
	x.docs = slices.Clip(x.docs[:n])
	x.meta = slices.Clip(x.meta[:n])
	x.totalPostings = 0
	for t, list := range x.postings {
		if list == nil {
			continue
		}
		if x.df[t] == 0 {
			x.postings[t] = nil
			delete(x.dict, x.termText[t])
			x.termText[t] = ""
			x.freeTerms = append(x.freeTerms, uint32(t))
			continue
		}
		kept := list[:0]
		for _, p := range list {
			if d := remap[uint32(p)]; d != gone {
				kept = append(kept, p&^math.MaxUint32|uint64(d))
			}
		}
		if cap(kept) > 2*len(kept)+8 {
			kept = slices.Clone(kept)
		}
		x.postings[t] = kept
		x.totalPostings += len(kept)
	}
	x.deadPostings = 0
	x.relist()
}

// Search returns the k best items for query by BM25F, best first, ties by
// ascending ID. Only items of the given types are considered; no types
// means all. The query is analysed like the catalog text, so stop words
// and word forms ("running", "runs") are matched as the embedder would.
func (x *Index) Search(query string, k int, types []mediarec.ItemType) []Hit {
	return x.SearchFilter(query, k, Filter{Types: types})
}

// SearchFilter is Search over the items that pass f.
func (x *Index) SearchFilter(query string, k int, f Filter) []Hit {
	q := x.NewQuery(f)
	defer q.Close()
	q.Add(query)
	return q.Top(k)
}

// queryTerms returns the indexed terms among stems, each once, in query
// order: scores are summed in that order, so that the same query scores
// the same on any index of the same items.
func (x *Index) queryTerms(stems []string) []uint32 {
	terms := make([]uint32, 0, len(stems))
	var seen map[uint32]bool // only for long queries
	if len(stems) > 32 {
		seen = make(map[uint32]bool, len(stems))
	}
	for _, s := range stems {
		t, ok := x.dict[s]
		if !ok || x.df[t] == 0 {
			continue
		}
		if seen != nil {
			if seen[t] {
				continue
			}
			seen[t] = true
		} else if slices.Contains(terms, t) {
			continue
		}
		terms = append(terms, t)
	}
	return terms
}

func (x *Index) getScratch() *scratch {
	s, _ := x.scratch.Get().(*scratch)
	if s == nil {
		s = &scratch{}
	}
	if len(s.acc) < len(x.docs) {
		s.acc = make([]float32, len(x.docs)+len(x.docs)/8)
	}
	return s
}

func (x *Index) putScratch(s *scratch) {
	for _, d := range s.touched {
		s.acc[d] = 0
	}
	s.touched = s.touched[:0]
	x.scratch.Put(s)
}

// topK selects the k best touched documents that pass keep (nil: all)
// with a min-heap whose root is the worst hit kept so far.
func (x *Index) topK(s *scratch, k int, keep *compiledFilter) []Hit {
	h := make([]Hit, 0, min(k, len(s.touched)))
	for _, d := range s.touched {
		score := float64(s.acc[d])
		if len(h) == k && score < h[0].Score {
			continue
		}
		if keep != nil && !x.passes(d, keep) {
			continue
		}
		hit := Hit{ID: x.meta[d].id, Score: score}
		if len(h) < k {
			h = append(h, hit)
			siftUp(h, len(h)-1)
		} else if better(hit, h[0]) {
			h[0] = hit
			siftDown(h, 0)
		}
	}
	slices.SortFunc(h, func(a, b Hit) int {
		switch {
		case better(a, b):
			return -1
		case better(b, a):
			return 1
		}
		return 0
	})
	return h
}

// better orders hits best first: higher score, then lower ID.
func better(a, b Hit) bool {
	return a.Score > b.Score || a.Score == b.Score && a.ID < b.ID
}

func siftUp(h []Hit, i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !better(h[p], h[i]) {
			return
		}
		h[p], h[i] = h[i], h[p]
		i = p
	}
}

func siftDown(h []Hit, i int) {
	for {
		w := i
		if l := 2*i + 1; l < len(h) && better(h[w], h[l]) {
			w = l
		}
		if r := 2*i + 2; r < len(h) && better(h[w], h[r]) {
			w = r
		}
		if w == i {
			return
		}
		h[i], h[w] = h[w], h[i]
		i = w
	}
}
