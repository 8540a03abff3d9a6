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
	// Like is the part of Text that follows a word of likeness ("like",
	// "similar to"): the title of what the user wants more of.
	Like string
	// Rest is Text without Like.
	Rest string
	// Topic is Rest without the genre words: what ranks the items that
	// pass the genre filter ("funny space movies" → "space").
	Topic string
	// OtherType says that the query asks for another type than the named
	// title's ("like Interstellar but a documentary").
	OtherType bool
	// YearFrom and YearTo bound the year asked for ("from the 90s",
	// "before 1980"), both inclusive; zero leaves a side open.
	YearFrom, YearTo int
	// Genres are the genres the query asks for, by the names the catalog
	// uses ("rom-com" → Romance, Comedy). Their words stay in Text.
	Genres []string
	// OnlyGenres says that every word of Text names a genre ("a romantic
	// comedy"): the query names no title.
	OnlyGenres bool
}

// ParseQuery reads the media types, years and genres out of a query and
// strips the conversational filler around what it is about:
//
//	"a documentary about the ocean"        → [documentary] "the ocean"
//	"find me something like Interstellar"  → []            "Interstellar", like "Interstellar"
//	"good podcasts on ancient Rome please" → [podcast]     "ancient Rome"
//	"a romantic comedy from the 90s"       → []            "romantic comedy", Romance+Comedy, 1990–1999
//
// Matching ignores case. Type words are taken anywhere, with the
// determiners and adjectives that only modify them ("some good books"),
// and misspelt by a letter or two ("documentry", "podcats"); filler ("find
// me", "I'd like", "a") only where the query or a clause opens, so that
// titles keep their words ("About a Boy", "Good Will Hunting", "For Whom
// the Bell Tolls" after the opening), except the filler that no title
// needs ("something", "but", "I'd love"), taken anywhere. A word of likeness
// ("like", "something like", "similar to") is taken anywhere too, and what
// follows it up to a type, a year, "but" or a clause's end is the title
// the user means (Like).
//
// Words that name media types are sometimes the topic instead: after
// "about", "on" or "of" that follows a type word ("a book about movies"),
// type words are text until the clause ends. "show" and "episode" are
// ambiguous — "The Truman Show", "Star Wars Episode IV", "show me" — so
// they mean podcast only when followed by "about" or "on" and not preceded
// by "TV" ("a show about startups"). "doc" and "docs" mean documentary
// unless a capitalised word follows ("Doc Holliday"). "read" means book.
//
// Decades are years wherever they stand ("90s", "the 1990s", "early
// 2000s"), single years only after a preposition ("from 1999", "before
// 1980"), so that "1984" and "2001: A Space Odyssey" stay titles; a time
// that is the topic ("a book about the 60s", "novels set in the 1920s")
// stays text. Genre words become genres except in a topic or a title.
func ParseQuery(q string) ParsedQuery {
	words := splitQuery(q)
	keep := make([]bool, len(words))
	genre := make([]bool, len(words)) // kept words that name a genre
	like := make([]bool, len(words))  // kept words of the title after a word of likeness
	var p ParsedQuery
	var years yearSpans
	addType := func(t mediarec.ItemType) {
		if !slices.Contains(p.Types, t) {
			p.Types = append(p.Types, t)
		}
	}
	opening, topic, inLike := true, false, false
	for i := 0; i < len(words); {
		if words[i].clause {
			opening, topic, inLike = true, false, false
		}
		if words[i].low == "but" {
			if n, _, _ := matchType(words, i+1); n > 0 && !topic {
				p.OtherType = true
			}
			inLike = false
			i++
			continue
		}
		if !topic {
			if n, t, about := matchType(words, i); n > 0 {
				addType(t)
				i += n
				if m := matchPhrase(words, i, topicMarkers); m > 0 {
					i += m
					about = true
				}
				topic, inLike = about, false
				continue
			}
		}
		if n, r := matchYears(words, i, topic); n > 0 {
			years.add(r)
			inLike = false
			i += n
			if m := matchPhrase(words, i, topicMarkers); m > 0 {
				i += m
				topic = true
			}
			continue
		}
		cue, filler := matchPhrase(words, i, likeCues), matchPhrase(words, i, anywhere)
		if opening {
			filler = max(filler, matchPhrase(words, i, fillers))
		}
		if cue > 0 && cue >= filler {
			inLike = true
			i += cue
			continue
		}
		if filler > 0 {
			topic = topic || words[i+filler-1].low == "about" || words[i+filler-1].low == "on"
			i += filler
			continue
		}
		if !topic && !inLike {
			if n, gs := matchGenre(words, i); n > 0 {
				for _, g := range gs {
					if !slices.Contains(p.Genres, g) {
						p.Genres = append(p.Genres, g)
					}
				}
				for j := i; j < i+n; j++ {
					keep[j], genre[j] = true, true
				}
				opening = false
				i += n
				continue
			}
		}
		keep[i], like[i] = true, inLike
		opening = false
		i++
	}
	trimEdges(words, keep)
	p.Text = keptText(q, words, keep)
	rest := slices.Clone(keep)
	for i := range keep {
		if like[i] {
			rest[i] = false
		}
	}
	p.Like = keptText(q, words, andMask(keep, like))
	p.Rest = keptText(q, words, rest)
	for i := range rest {
		rest[i] = rest[i] && !genre[i]
	}
	p.Topic = keptText(q, words, rest)
	p.OnlyGenres = p.Like == "" && len(p.Genres) > 0
	for i, k := range keep {
		if k && !genre[i] && !edgeWords[words[i].low] {
			p.OnlyGenres = false
		}
	}
	p.YearFrom, p.YearTo = years.span()
	return p
}

func andMask(a, b []bool) []bool {
	out := make([]bool, len(a))
	for i := range a {
		out[i] = a[i] && b[i]
	}
	return out
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

// fuzzyTypes are the type words recognised when misspelt by one letter, or
// two in the long ones ("documentry", "podcats", "moveis"): the short type
// words ("book", "film") have too many real words within a letter.
var fuzzyTypes = []struct {
	word string
	typ  mediarec.ItemType
}{
	{"documentary", mediarec.TypeDocumentary}, {"documentaries", mediarec.TypeDocumentary},
	{"docuseries", mediarec.TypeDocumentary},
	{"podcast", mediarec.TypePodcast}, {"podcasts", mediarec.TypePodcast},
	{"movie", mediarec.TypeMovie}, {"movies", mediarec.TypeMovie},
	{"audiobook", mediarec.TypeBook}, {"audiobooks", mediarec.TypeBook},
}

// notTypos are real words within a letter of a type word.
var notTypos = map[string]bool{"moves": true, "mover": true, "moved": true, "mobile": true}

// modifiers only qualify a following type word ("some good books", "the
// best documentaries") and go with it.
var modifiers = map[string]bool{
	"a": true, "an": true, "the": true, "some": true, "any": true, "few": true,
	"several": true, "more": true, "other": true, "good": true, "great": true,
	"best": true, "top": true, "nice": true, "cool": true, "awesome": true,
	"decent": true, "interesting": true, "favorite": true, "favourite": true,
	"popular": true, "recommended": true, "must-see": true, "must-read": true,
	"as": true,
}

// topicMarkers after a type word introduce what it is about.
var topicMarkers = phrases(
	"about", "on", "of", "regarding", "concerning", "covering", "exploring",
	"that are about", "that is about", "which are about", "which is about",
	"that's about", "all about", "about the topic of", "on the topic of",
)

// fillers are the conversational openings that say nothing of the topic;
// likeCues and anywhere hold more.
var fillers = phrases(
	"please", "pls", "plz", "hey", "hi", "hello", "ok", "okay", "so", "and", "or",
	"can you", "could you", "would you", "will you", "can i get", "can i have", "could i get",
	"find me", "find", "show me", "give me", "get me", "tell me", "list",
	"recommend me", "recommend", "suggest me", "suggest", "me",
	"recommendations for", "some recommendations for", "recommendation for",
	"suggestions for", "ideas for", "any recommendations for",
	"looking for", "look for", "search for", "searching for", "search", "need",
	"in the mood for", "mood for",
	"what are", "what is", "what's", "whats", "are there", "is there", "do you have",
	"do you know", "got",
	"stuff", "things", "stuff about", "things about",
	"watch", "to watch", "listen to", "to listen to",
	"learn about", "to learn about", "learn more about", "to learn more about",
	"a", "an", "some", "any",
)

// likeCues announce the title the user wants more of.
var likeCues = phrases(
	"like", "something like", "anything like", "stuff like", "things like", "more like",
	"more things like", "others like", "similar to", "something similar to",
	"anything similar to", "stuff similar to", "things similar to", "in the vein of",
	"in the style of", "along the lines of", "reminiscent of", "comparable to",
	"for fans of", "fans of", "if i liked", "if you liked", "if i loved", "if you loved",
)

// anywhere is the filler that no title needs: it goes wherever it stands.
var anywhere = phrases(
	"something", "anything", "please", "pls", "plz", "maybe", "perhaps",
	"i'd love", "id love", "i would love", "i'd love to", "i would love to",
	"i'd like", "id like", "i would like", "i'd like to", "i would like to",
	"i want", "i want to", "i wanna", "i need", "i'm looking for", "im looking for",
	"i am looking for", "i'm in the mood for", "im in the mood for",
	"something about", "anything about", "something on",
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
	if best == 0 && i < len(words) {
		if t, ok := misspeltType(words[i].low); ok {
			return 1, t
		}
	}
	return best, typ
}

// misspeltType reads w as a type word typed with a letter missing, extra,
// wrong or swapped with the next; two such slips in words of nine letters
// or more.
func misspeltType(w string) (mediarec.ItemType, bool) {
	if len(w) < 5 || notTypos[w] {
		return "", false
	}
	for _, r := range w {
		if r < 'a' || r > 'z' {
			return "", false
		}
	}
	for _, f := range fuzzyTypes {
		limit := 1
		if len(f.word) >= 9 {
			limit = 2
		}
		if d := len(w) - len(f.word); d >= -limit && d <= limit && editDistance(w, f.word) <= limit {
			return f.typ, true
		}
	}
	return "", false
}

// editDistance is the optimal string alignment distance of two ASCII
// words: insertions, deletions, substitutions and swaps of adjacent
// letters each count one.
func editDistance(a, b string) int {
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
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
