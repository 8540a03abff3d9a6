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

	// termMax bounds the tf-part (see tfPart) of each term's postings at
	// the field-length slopes refSlope, so that a search can tell which
	// terms cannot lift a document into its top k (see maxscore.go). An
	// addition raises it; a removal leaves it loose until the bounds are
	// recomputed, at compaction or when the slopes have drifted.
	termMax  []float32
	refSlope [numFields]float32

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

	scratch sync.Pool // *scratch
}

type docStats struct {
	lens  [numFields]uint16
	year  int16
	typ   uint8
	alive bool
}

type docMeta struct {
	id     int64
	terms  []uint32
	titles []titleKey
	genres []uint16
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
	items = slices.DeleteFunc(slices.Clone(items), func(it *mediarec.Item) bool { return it == nil })
	docs := analyze(items)
	for len(docs) > 0 {
		n := min(len(docs), mergeBatch)
		x.merge(docs[:n])
		docs = docs[n:]
	}
}

func (x *Index) merge(docs []doc) {
	x.mu.Lock()
	defer x.mu.Unlock()
	for i := range docs {
		x.add(&docs[i])
	}
	x.maybeCompact()
	x.maybeRebound()
}

// Remove removes the items with the given IDs; unknown IDs are ignored.
func (x *Index) Remove(ids ...int64) {
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, id := range ids {
		if d, ok := x.byID[id]; ok {
			x.remove(d)
		}
	}
	x.maybeCompact()
	x.maybeRebound()
}

func (x *Index) add(dc *doc) {
	if old, ok := x.byID[dc.id]; ok {
		x.remove(old)
	}
	d := uint32(len(x.docs))
	terms := make([]uint32, len(dc.terms))
	norm, _ := slopes(&x.total, &x.has)
	for i, s := range dc.terms {
		t, ok := x.dict[s]
		if !ok {
			t = x.newTerm(s)
		}
		x.postings[t] = append(x.postings[t], uint64(d)|dc.freqs[i])
		x.df[t]++
		x.termMax[t] = max(x.termMax[t], tfPart(dc.freqs[i], &dc.lens, &norm, &x.refSlope))
		terms[i] = t
	}
	x.docs = append(x.docs, docStats{lens: dc.lens, year: dc.year, typ: dc.typ, alive: true})
	genres := x.genreIDs(dc.genres, dc.typ)
	x.meta = append(x.meta, docMeta{id: dc.id, terms: terms, titles: dc.titles, genres: genres})
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
		x.termMax[t] = 0
		return t
	}
	t := uint32(len(x.termText))
	x.dict[s] = t
	x.termText = append(x.termText, s)
	x.postings = append(x.postings, nil)
	x.df = append(x.df, 0)
	x.termMax = append(x.termMax, 0)
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
	x.rebound()
}

