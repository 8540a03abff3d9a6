package recs

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"mediarec"
)

// ParsedQuery is what a plain-words query asks for.
type ParsedQuery struct {
	// Types are the media types the query names, in the order named.
	Types []mediarec.ItemType
	// Text is the rest of the query, in the user's own words and casing;
	// empty when the query only names types ("documentaries").
	Text string
}

// ParseQuery reads the media types out of a query and strips the
// conversational filler around what it is about:
//
//	"a documentary about the ocean"        → [documentary] "the ocean"
//	"find me something like Interstellar"  → []            "Interstellar"
//	"good podcasts on ancient Rome please" → [podcast]     "ancient Rome"
//
// Matching ignores case. Type words are taken anywhere, with the
// determiners and adjectives that only modify them ("some good books");
// filler ("find me", "I'd like", "something like", "a") only where the
// query or a clause opens, so that titles keep their words ("About a Boy",
// "Good Will Hunting", "For Whom the Bell Tolls" after the opening).
//
// Words that name media types are sometimes the topic instead: after
// "about", "on" or "of" that follows a type word ("a book about movies"),
// type words are text until the clause ends. "show" and "episode" are
// ambiguous — "The Truman Show", "Star Wars Episode IV", "show me" — so
// they mean podcast only when followed by "about" or "on" and not preceded
// by "TV" ("a show about startups"). "doc" and "docs" mean documentary
// unless a capitalised word follows ("Doc Holliday"). "read" means book.
func ParseQuery(q string) ParsedQuery {
	words := splitQuery(q)
	keep := make([]bool, len(words))
	var types []mediarec.ItemType
	addType := func(t mediarec.ItemType) {
		if !slices.Contains(types, t) {
			types = append(types, t)
		}
	}
	opening, topic := true, false
	for i := 0; i < len(words); {
		if words[i].clause {
			opening, topic = true, false
		}
		if !topic {
			if n, t, about := matchType(words, i); n > 0 {
				addType(t)
				i += n
				if m := matchPhrase(words, i, topicMarkers); m > 0 {
					i += m
					about = true
				}
				topic = about
				continue
			}
		}
		if opening {
			if n := matchPhrase(words, i, fillers); n > 0 {
				topic = topic || words[i+n-1].low == "about" || words[i+n-1].low == "on"
				i += n
				continue
			}
		}
		keep[i] = true
		opening = false
		i++
	}
	trimEdges(words, keep)
	return ParsedQuery{Types: types, Text: keptText(q, words, keep)}
}

// qword is a word of a query: letters, digits and marks, with inner
// apostrophes and hyphens ("I'd", "sci-fi").
type qword struct {
	start, end int    // byte offsets in the query
	low        string // lowercase, typographic apostrophes made plain
	clause     bool   // clause punctuation separates it from the word before
	capital    bool   // starts with an upper-case letter
}

func splitQuery(q string) []qword {
	var words []qword
	clause := false
	for i := 0; i < len(q); {
		r, size := utf8.DecodeRuneInString(q[i:])
		if !isQueryWordRune(r) {
			if isClauseBreak(r) {
				clause = true
			}
			i += size
			continue
		}
		start := i
		for i < len(q) {
			r, size = utf8.DecodeRuneInString(q[i:])
			if isQueryWordRune(r) {
				i += size
				continue
			}
			// An apostrophe or a hyphen joins two runs of word runes.
			if isJoiner(r) && i+size < len(q) {
				if next, _ := utf8.DecodeRuneInString(q[i+size:]); isQueryWordRune(next) {
					i += size
					continue
				}
			}
			break
		}
		first, _ := utf8.DecodeRuneInString(q[start:])
		low := plainPunct.Replace(strings.ToLower(q[start:i]))
		words = append(words, qword{start: start, end: i, low: low, clause: clause && len(words) > 0, capital: unicode.IsUpper(first)})
		clause = false
	}
	return words
}

// plainPunct spells typographic apostrophes and hyphens plainly.
var plainPunct = strings.NewReplacer("\u2019", "'", "\u2018", "'", "\u2010", "-", "\u2011", "-")

func isQueryWordRune(r rune) bool {
	return r != utf8.RuneError && (unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.In(r, unicode.Mn, unicode.Mc))
}

func isJoiner(r rune) bool {
	switch r {
	case '\'', '\u2019', '\u2018', '-', '\u2010', '\u2011':
		return true
	}
	return false
}

// isClauseBreak reports the punctuation that ends a clause: after it, the
// query may open anew ("space, something funny") and a topic ends. A colon
// does not: in titles it opens a subtitle ("Star Wars: A New Hope").
func isClauseBreak(r rune) bool {
	switch r {
	case '&', '\'', '\u2019', '-', '#', '@', '+', '*', ':':
		return false
	}
	return unicode.IsPunct(r) || r == '|'
}

// phrase is a run of lowercase words.
type phrase []string

func phrases(list ...string) []phrase {
	out := make([]phrase, len(list))
	for i, s := range list {
		out[i] = strings.Fields(s)
	}
	return out
}

// matchPhrase returns the length of the longest phrase of list that starts
// at words[i], or 0.
func matchPhrase(words []qword, i int, list []phrase) int {
	best := 0
	for _, p := range list {
		if len(p) > best && hasPhrase(words, i, p) {
			best = len(p)
		}
	}
	return best
}

func hasPhrase(words []qword, i int, p phrase) bool {
	if i+len(p) > len(words) {
		return false
	}
	for j, w := range p {
		if words[i+j].low != w {
			return false
		}
	}
	return true
}

type typePhrases struct {
	typ  mediarec.ItemType
	list []phrase
}

// typeWords name the media types. The podcast phrases that end in a topic
// marker are the only way "show" and "episode" name a type.
var typeWords = []typePhrases{
	{mediarec.TypeDocumentary, phrases(
		"documentary", "documentaries", "docuseries", "docu-series", "docu-serie",
		"docudrama", "docudramas", "docu", "docs", "doc", "documentary film",
		"documentary films", "documentary movie", "documentary movies",
		"documentary series", "film documentary")},
	{mediarec.TypePodcast, phrases(
		"podcast", "podcasts", "podcast episode", "podcast episodes", "podcast series",
		"podcast show", "podcast shows", "radio show", "radio shows",
		"show about", "shows about", "show on", "shows on",
		"episode about", "episodes about", "episode on", "episodes on")},
	{mediarec.TypeBook, phrases(
		"book", "books", "novel", "novels", "novella", "novellas", "audiobook",
		"audiobooks", "audio book", "audio books", "ebook", "ebooks", "e-book",
		"e-books", "read", "reads", "to read")},
	{mediarec.TypeMovie, phrases(
		"film", "films", "movie", "movies", "cinema", "flick", "flicks",
		"feature film", "feature films")},
}

// modifiers only qualify a following type word ("some good books", "the
// best documentaries") and go with it.
var modifiers = map[string]bool{
	"a": true, "an": true, "the": true, "some": true, "any": true, "few": true,
	"several": true, "more": true, "other": true, "good": true, "great": true,
	"best": true, "top": true, "nice": true, "cool": true, "awesome": true,
	"decent": true, "interesting": true, "favorite": true, "favourite": true,
	"popular": true, "recommended": true, "must-see": true, "must-read": true,
}

// topicMarkers after a type word introduce what it is about.
var topicMarkers = phrases(
	"about", "on", "of", "regarding", "concerning", "covering", "exploring",
	"that are about", "that is about", "which are about", "which is about",
	"that's about", "all about", "about the topic of", "on the topic of",
)

// fillers are the conversational openings that say nothing of the topic.
var fillers = phrases(
	"please", "pls", "plz", "hey", "hi", "hello", "ok", "okay", "so", "and", "or",
	"can you", "could you", "would you", "will you", "can i get", "can i have", "could i get",
	"find me", "find", "show me", "give me", "get me", "tell me", "list",
	"recommend me", "recommend", "suggest me", "suggest", "me",
	"recommendations for", "some recommendations for", "recommendation for",
	"suggestions for", "ideas for", "any recommendations for",
	"i want", "i wanna", "i'd like", "id like", "i would like", "i'd love", "i would love",
	"i want to", "i'd like to", "i would like to",
	"i'm looking for", "im looking for", "i am looking for", "looking for", "look for",
	"search for", "searching for", "search", "i need", "need",
	"i'm in the mood for", "im in the mood for", "in the mood for", "mood for",
	"what are", "what is", "what's", "whats", "are there", "is there", "do you have",
	"do you know", "got",
	"something", "anything", "stuff", "things",
	"like", "something like", "anything like", "stuff like", "things like", "more like",
	"similar to", "something similar to", "anything similar to",
	"something about", "anything about", "stuff about", "things about", "something on",
	"watch", "to watch", "listen to", "to listen to",
	"learn about", "to learn about", "learn more about", "to learn more about",
	"a", "an", "some", "any",
)

// closers are the trailing filler of a query.
var closers = phrases(
	"please", "pls", "plz", "thanks", "thank you", "thx", "for me", "to watch",
	"to listen to", "tonight", "for tonight",
)

// edgeWords are dropped where a kept run of words borders removed ones or
// the end of the query: "dragons and [books]" → "dragons".
var edgeWords = map[string]bool{"and": true, "or": true, "nor": true, "plus": true, "a": true, "an": true, "some": true, "any": true}

// matchType returns the length of the type phrase at words[i], with the
// modifiers before it, its type, and whether it ends in a topic marker.
func matchType(words []qword, i int) (n int, t mediarec.ItemType, about bool) {
	j := i
	for j < len(words) && modifiers[words[j].low] {
		j++
	}
	m, typ := longestType(words, j)
	if m == 0 {
		return 0, "", false
	}
	last := words[j+m-1].low
	return j - i + m, typ, last == "about" || last == "on"
}

func longestType(words []qword, i int) (int, mediarec.ItemType) {
	best, typ := 0, mediarec.ItemType("")
	for _, tp := range typeWords {
		for _, p := range tp.list {
			if len(p) > best && hasPhrase(words, i, p) && typeAllowed(words, i, p) {
				best, typ = len(p), tp.typ
			}
		}
	}
	return best, typ
}

// typeAllowed rules out the readings the type list cannot express alone.
func typeAllowed(words []qword, i int, p phrase) bool {
	switch p[0] {
	case "show", "shows", "episode", "episodes":
		return i == 0 || (words[i-1].low != "tv" && words[i-1].low != "television")
	case "doc", "docs":
		return len(p) > 1 || i+1 >= len(words) || !words[i+1].capital
	}
	return true
}

// trimEdges drops the filler left at the end of the query and the
// conjunctions and articles left dangling at the edges of kept runs.
func trimEdges(words []qword, keep []bool) {
	trimClosers(words, keep)
	for i := 0; i < len(words); {
		if !keep[i] {
			i++
			continue
		}
		j := i
		for j < len(words) && keep[j] {
			j++
		}
		for s := i; s < j && edgeWords[words[s].low]; s++ {
			keep[s] = false
		}
		for e := j - 1; e >= i && keep[e] && edgeWords[words[e].low]; e-- {
			keep[e] = false
		}
		i = j
	}
	trimClosers(words, keep)
}

func trimClosers(words []qword, keep []bool) {
	last := len(words)
	for {
		for last > 0 && !keep[last-1] {
			last--
		}
		n := 0
		for _, p := range closers {
			if s := last - len(p); s >= 0 && allKept(keep[s:last]) && hasPhrase(words, s, p) {
				n = len(p)
				break
			}
		}
		if n == 0 {
			return
		}
		clear(keep[last-n : last])
	}
}

func allKept(keep []bool) bool {
	for _, k := range keep {
		if !k {
			return false
		}
	}
	return true
}

// keptText joins the runs of kept words. Within a run the query's own
// punctuation is kept ("Star Wars: Episode IV"), with whitespace, invisible
// characters and invalid bytes collapsed to one space; runs are joined by a
// space.
func keptText(q string, words []qword, keep []bool) string {
	var b strings.Builder
	for i := 0; i < len(words); i++ {
		if !keep[i] {
			continue
		}
		j := i
		for j+1 < len(words) && keep[j+1] {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		space := false
		for _, r := range q[words[i].start:words[j].end] {
			switch {
			case unicode.IsSpace(r) || r == utf8.RuneError || !unicode.IsGraphic(r):
				space = true
			default:
				if space {
					b.WriteByte(' ')
					space = false
				}
				b.WriteRune(r)
			}
		}
		i = j
	}
	return b.String()
}

// FusedHit is an item ranked by reciprocal rank fusion.
type FusedHit struct {
	ID    int64
	Score float64
}

// rrfK damps the weight of the top ranks, as in Cormack, Clarke and
// Büttcher, "Reciprocal Rank Fusion outperforms Condorcet and individual
// rank learning methods" (SIGIR 2009); 60 is their value and the common
// default.
const rrfK = 60

// FuseRanks merges ranked lists of item IDs, best first each, by reciprocal
// rank fusion: an item scores Σ 1/(60 + rank) over the lists it is in, rank
// counting from 1, so items ranked well by several lists come first without
// their lists' scores having to be comparable. It returns the k best (all
// when k ≤ 0), best first, equal scores by ascending ID. An ID repeated
// within one list counts once, at its best rank.
func FuseRanks(k int, lists ...[]int64) []FusedHit {
	scores := make(map[int64]float64)
	seen := make(map[int64]bool)
	for _, list := range lists {
		clear(seen)
		for r, id := range list {
			if seen[id] {
				continue
			}
			seen[id] = true
			scores[id] += 1 / float64(rrfK+r+1)
		}
	}
	hits := make([]FusedHit, 0, len(scores))
	for id, s := range scores {
		hits = append(hits, FusedHit{ID: id, Score: s})
	}
	slices.SortFunc(hits, func(a, b FusedHit) int {
		switch {
		case a.Score > b.Score:
			return -1
		case a.Score < b.Score:
			return 1
		case a.ID < b.ID:
			return -1
		case a.ID > b.ID:
			return 1
		}
		return 0
	})
	if k > 0 && len(hits) > k {
		hits = hits[:k]
	}
	return hits
}
