package keyword

import (
	"runtime"
	"strings"
	"sync"

	"mediarec"
	"mediarec/internal/embed"
)

// field numbers the indexed fields of an item. A posting packs one 4-bit
// term frequency per field, in this order, above the document number.
type field uint8

const (
	fieldTitle field = iota
	fieldTags
	fieldGenres
	fieldCreators
	fieldDescription
	numFields
)

// BM25F parameters (Robertson and Zaragoza, "The Probabilistic Relevance
// Framework: BM25 and Beyond", §3.4): each field's frequency is normalised
// by that field's own length before the fields are summed, so a one-word
// title match is not diluted by a long plot summary. Titles weigh most;
// tags and creators are curated and short, so they weigh more than a
// passing mention in the description. Short fields get a low b: a title of
// five words is not less about its words than a title of two. The
// description's b is below the usual 0.75 because a field normalised by b
// can gain up to 1/(1-b) over its weight when very short, and a one-line
// description mentioning a word must not outrank an item titled by it.
var fieldParams = [numFields]struct{ weight, b float32 }{
	fieldTitle:       {weight: 4, b: 0.4},
	fieldTags:        {weight: 1.5, b: 0.5},
	fieldGenres:      {weight: 1.5, b: 0.3},
	fieldCreators:    {weight: 2, b: 0.3},
	fieldDescription: {weight: 1, b: 0.6},
}

const (
	// k1 is the BM25 term-frequency saturation.
	k1 = 1.2
	// maxFreq is the largest per-field frequency a posting stores: four
	// bits. At k1 = 1.2 a 16th occurrence adds under 1% to a term's score.
	maxFreq = 15
	// freqShift is where the packed frequencies start in a posting.
	freqShift = 32
)

// doc is one analysed item, ready to be merged into the index.
type doc struct {
	id     int64
	typ    uint8
	lens   [numFields]uint16
	terms  []string
	freqs  []uint64 // per term, the packed field frequencies (doc bits zero)
	titles []titleKey
	year   int16
	genres []string // lowercase, each once
	// popularity is the source's count (Item.Popularity): of the items
	// a title names, people mean the well-known one.
	popularity int64
	version    int // Item.Version: 0 when unknown
}

// otherType is the type-mask bit of an item of no known type: no filter
// names it, so such items only match unfiltered searches.
const (
	otherType   = 7
	numTypeBits = 8
)

// typeIndex maps an item type to its bit in a type mask.
func typeIndex(t mediarec.ItemType) uint8 {
	for i, v := range mediarec.ItemTypes {
		if t == v {
			return uint8(i)
		}
	}
	return otherType
}

// analyzer turns items into docs. Stemming dominates indexing time and
// catalog text repeats the same words endlessly, so an analyzer memoises
// the stems of every whitespace-separated chunk: whitespace never belongs
// to a word, so a chunk yields the same terms alone as within its text.
// An analyzer is not safe for concurrent use.
type analyzer struct {
	stems map[string][]string
	pos   map[string]int // term → index in the doc being analysed
}

// maxCachedChunks bounds the stem memo; it is dropped when full.
const maxCachedChunks = 1 << 18

func newAnalyzer() *analyzer {
	return &analyzer{stems: make(map[string][]string), pos: make(map[string]int)}
}

func (a *analyzer) item(it *mediarec.Item) doc {
	d := doc{id: it.ID, typ: typeIndex(it.Type), titles: titleKeys(it.Title), year: int16(it.Year), genres: genreKeys(it.Genres), popularity: it.Popularity, version: it.Version}
	clear(a.pos)
	a.field(&d, fieldTitle, it.Title)
	for _, s := range it.Tags {
		a.field(&d, fieldTags, s)
	}
	for _, s := range it.Genres {
		a.field(&d, fieldGenres, s)
	}
	for _, s := range it.Creators {
		a.field(&d, fieldCreators, s)
	}
	a.field(&d, fieldDescription, it.Description)
	return d
}

func (a *analyzer) field(d *doc, f field, text string) {
	shift := freqShift + 4*uint(f)
	for chunk := range strings.FieldsSeq(text) {
		for _, s := range a.chunkStems(chunk) {
			if s == "" {
				continue
			}
			i, ok := a.pos[s]
			if !ok {
				i = len(d.terms)
				a.pos[s] = i
				d.terms = append(d.terms, s)
				d.freqs = append(d.freqs, 0)
			}
			if d.freqs[i]>>shift&0xF < maxFreq {
				d.freqs[i] += 1 << shift
			}
			if d.lens[f] < 1<<16-1 {
				d.lens[f]++
			}
		}
	}
}

func (a *analyzer) chunkStems(chunk string) []string {
	if s, ok := a.stems[chunk]; ok {
		return s
	}
	if len(a.stems) >= maxCachedChunks {
		clear(a.stems)
	}
	chunk = strings.Clone(chunk) // the memo must not pin the item's text
	s := embed.Tokens(nil, chunk)
	a.stems[chunk] = s
	return s
}

// analyze analyses items, in parallel for large batches. The items must not
// be nil.
func analyze(items []*mediarec.Item) []doc {
	docs := make([]doc, len(items))
	workers := min(runtime.GOMAXPROCS(0), len(items)/256)
	if workers <= 1 {
		a := newAnalyzer()
		for i, it := range items {
			docs[i] = a.item(it)
		}
		return docs
	}
	var wg sync.WaitGroup
	per := (len(items) + workers - 1) / workers
	for lo := 0; lo < len(items); lo += per {
		hi := min(lo+per, len(items))
		wg.Go(func() {
			a := newAnalyzer()
			for i := lo; i < hi; i++ {
				docs[i] = a.item(items[i])
			}
		})
	}
	wg.Wait()
	return docs
}
