package synth

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

	"mediarec"
	"mediarec/internal/embed"
	"mediarec/internal/validate"
)

// Limits of a mix: real catalogs keep a dozen or so tags an item (ingest
// caps crowd tags at 15), and titles of a dozen words.
const (
	maxTags       = 20
	maxGenres     = 50
	maxTitleWords = 12
	maxTitleLen   = 200
	maxSentence   = 2000
	// maxAttempts bounds the draws for one new item: past it the source is
	// too small for the number of distinct items asked for.
	maxAttempts = 10000
)

// Mix is one generated item and the real items it was made from.
type Mix struct {
	Item *mediarec.Item
	// Text is embed.ItemText(Item).
	Text string
	// Source is the index in Source.Items of the item whose type, year,
	// genres, creators, language and cover the mix has.
	Source int
	// Partners are the indexes of the two related items whose title words,
	// tags and sentences it borrows.
	Partners [2]int
}

// Mixer makes mixes of a Source whose texts and titles (case-insensitive)
// differ from each other and from the real items'. It is deterministic for
// a seed and not safe for concurrent use.
type Mixer struct {
	src    *Source
	rng    *rand.Rand
	texts  map[uint64]struct{}
	titles map[uint64]struct{}
	made   int
}

// NewMixer returns a Mixer drawing from s with the given seed.
func (s *Source) NewMixer(seed uint64) *Mixer {
	m := &Mixer{
		src:    s,
		rng:    rand.New(rand.NewPCG(seed, 0x5917)),
		texts:  make(map[uint64]struct{}, len(s.Items)),
		titles: make(map[uint64]struct{}, len(s.Items)),
	}
	for i := range s.Items {
		m.texts[s.textHashes[i]] = struct{}{}
		m.titles[s.titleHashes[i]] = struct{}{}
	}
	return m
}

// Next returns a new mix. Its item's ExternalID is "synth:<k>" for the k-th
// mix of this Mixer. It fails only when maxAttempts draws in a row found
// nothing new.
func (m *Mixer) Next() (Mix, error) {
	s := m.src
	for range maxAttempts {
		src := m.rng.IntN(len(s.Items))
		p := s.Related(m.rng, src, 2)
		title := m.title(src, p[m.rng.IntN(2)])
		if title == "" {
			continue
		}
		th := titleHash(title)
		if _, dup := m.titles[th]; dup {
			continue
		}
		it := m.item(src, p, title)
		text := embed.ItemText(it)
		h := hashString(text)
		if _, dup := m.texts[h]; dup {
			continue
		}
		m.texts[h] = struct{}{}
		m.titles[th] = struct{}{}
		m.made++
		it.ExternalID = "synth:" + strconv.Itoa(m.made)
		return Mix{Item: it, Text: text, Source: src, Partners: [2]int{p[0], p[1]}}, nil
	}
	return Mix{}, fmt.Errorf("synth: no new distinct item in %d draws after %d mixes", maxAttempts, m.made)
}

// item builds the mix of src and its partners p under title.
func (m *Mixer) item(src int, p []int, title string) *mediarec.Item {
	s := m.src
	a := s.Items[src]
	it := &mediarec.Item{
		Type: a.Type, Title: title, Year: a.Year, Language: a.Language,
		Creators: slices.Clone(a.Creators), ImageURL: a.ImageURL,
	}
	if a.Popularity > 0 {
		it.Popularity = m.rng.Int64N(a.Popularity + 1)
	}
	genres := slices.Clone(a.Genres)
	var tags []string
	for _, j := range []int{src, p[0], p[1]} {
		for _, tag := range s.Items[j].Tags {
			if m.rng.IntN(2) == 0 {
				tags = append(tags, tag)
			}
		}
	}
	var desc []string
	for _, j := range p {
		if sent := s.sentences[j]; len(sent) > 0 {
			if x := sent[m.rng.IntN(len(sent))]; len(x) <= maxSentence {
				desc = append(desc, x)
			}
		}
		if g := s.Items[j].Genres; len(g) > 0 && m.rng.IntN(2) == 0 {
			genres = append(genres, g[m.rng.IntN(len(g))])
		}
	}
	// CleanList as the catalog normalizes, so that the stored text is the
	// one whose distinctness was checked.
	genres = validate.CleanList(genres)
	tags = validate.CleanList(tags)
	it.Genres = genres[:min(len(genres), maxGenres)]
	it.Tags = tags[:min(len(tags), maxTags)]
	it.Description = strings.Join(desc, " ")
	return it
}

// joiners are the words a title part should not end with when the next
// part starts with one of them ("Lord of the" + "and Peace").
var joiners = map[string]bool{
	"a": true, "an": true, "the": true, "of": true, "and": true, "&": true, "in": true, "on": true,
	"to": true, "for": true, "with": true, "at": true, "by": true, "from": true, "or": true, "-": true,
}

func isJoiner(w string) bool { return joiners[strings.ToLower(w)] }

func hasColon(words []string) bool {
	return slices.ContainsFunc(words, func(w string) bool { return strings.Contains(w, ":") })
}

// title makes a new title from the words of the titles of src and partner:
// most often the head of one and the tail of the other ("The Hunger" + "of
// Thrones"), sometimes one as the subtitle of the other ("Twilight: The
// Soundtrack Show"). It returns "" when the words make nothing new.
func (m *Mixer) title(src, partner int) string {
	sw, pw := m.src.words[src], m.src.words[partner]
	if len(sw) == 0 || len(pw) == 0 || src == partner {
		return ""
	}
	var t string
	if m.rng.IntN(10) < 3 && len(sw)+len(pw) <= maxTitleWords-2 && !hasColon(sw) && !hasColon(pw) {
		lead := strings.TrimRight(strings.Join(sw, " "), " ,;:-&")
		if lead == "" {
			return ""
		}
		t = lead + ": " + strings.Join(pw, " ")
	} else {
		// A proper part of each when it has more than one word: the whole
		// of one and a word of the other reads as a typo of a real title.
		head := sw[:1+m.rng.IntN(max(1, len(sw)-1))]
		tail := pw[len(pw)-1-m.rng.IntN(max(1, len(pw)-1)):]
		if len(head)+len(tail) > maxTitleWords {
			return ""
		}
		for len(tail) > 1 && isJoiner(head[len(head)-1]) && isJoiner(tail[0]) {
			tail = tail[1:]
		}
		last := strings.TrimRight(head[len(head)-1], ",;:-&")
		if last == "" {
			return ""
		}
		tail = slices.Clone(tail)
		// "Coherence" + "The Return" reads as a subtitle.
		if first := strings.ToLower(tail[0]); (first == "the" || first == "a" || first == "an") && !isJoiner(last) && len(tail) > 1 && !hasColon(tail) {
			last += ":"
			tail[0] = strings.ToUpper(tail[0][:1]) + tail[0][1:]
		}
		words := append(append(slices.Clip(head[:len(head)-1]), last), tail...)
		t = strings.Join(words, " ")
	}
	if len(t) > maxTitleLen {
		return ""
	}
	return t
}

// Generate calls fn with n items: the real items of s first, in their
// order and without repeated texts (a real catalog holds a few), then
// mixes from NewMixer(seed). The items are fn's to keep or modify; none is
// retained, so n may be far larger than memory would hold.
func (s *Source) Generate(n int, seed uint64, fn func(*mediarec.Item) error) error {
	count := 0
	texts := make(map[uint64]bool, len(s.Items))
	ids := make(map[string]bool, len(s.Items))
	for i, it := range s.Items {
		if count == n {
			return nil
		}
		if texts[s.textHashes[i]] || ids[it.ExternalID] {
			continue
		}
		texts[s.textHashes[i]], ids[it.ExternalID] = true, true
		if err := fn(copyItem(it)); err != nil {
			return err
		}
		count++
	}
	m := s.NewMixer(seed)
	for ; count < n; count++ {
		mix, err := m.Next()
		if err != nil {
			return err
		}
		if err := fn(mix.Item); err != nil {
			return err
		}
	}
	return nil
}

// copyItem copies a real item without its source id, which means nothing
// to a catalog.
func copyItem(it *mediarec.Item) *mediarec.Item {
	c := *it
	c.ID = 0
	c.Genres = slices.Clone(it.Genres)
	c.Tags = slices.Clone(it.Tags)
	c.Creators = slices.Clone(it.Creators)
	return &c
}
