package keyword

import (
	"slices"
	"strings"
	"unicode"

	"mediarec"
)

// titleKey is one way a query may name an item: its normalised title, or an
// alias — an alternate title in parentheses ("The Postman (Il Postino)"),
// a book's series ("(Harry Potter, #1)"), the main title before a colon
// ("Star Wars: Episode IV …" → "star wars") or the subtitle after it ("The
// Lord of the Rings: The Fellowship of the Ring" → "fellowship of the
// ring").
type titleKey struct {
	key   string
	alias bool
}

type titleRef struct {
	id         int64
	alias      bool
	typ        uint8
	words      uint8 // of the whole key, which a prefix names only in part
	popularity int64
}

// Longest title keys kept, and longest query scanned, in words.
const (
	maxTitleKeyWords = 20
	maxQueryWords    = 64
)

// titleKeys returns the distinct keys under which FindTitle finds title:
// lowercase words, accents folded, apostrophes dropped, a leading article
// and trailing parenthesised years removed.
func titleKeys(title string) []titleKey {
	var keys []titleKey
	add := func(text string, alias bool) {
		words := dropArticle(titleWords(nil, text))
		if len(words) == 0 || len(words) > maxTitleKeyWords {
			return
		}
		k := strings.Join(words, " ")
		if !slices.ContainsFunc(keys, func(t titleKey) bool { return t.key == k }) {
			keys = append(keys, titleKey{key: k, alias: alias})
		}
	}
	s := strings.TrimSpace(title)
	var aliases []string
	for strings.HasSuffix(s, ")") {
		open := matchingParen(s)
		if open <= 0 {
			break // the whole title is in parentheses
		}
		inner := strings.TrimSpace(s[open+1 : len(s)-1])
		s = strings.TrimSpace(s[:open])
		if isYear(inner) {
			continue
		}
		aliases = append(aliases, seriesName(inner))
	}
	add(s, false)
	if i := strings.IndexByte(s, ':'); i > 0 {
		add(s[:i], true)
		if sub := dropArticle(titleWords(nil, s[i+1:])); len(sub) >= 2 && !partWords[sub[0]] {
			add(s[i+1:], true)
		}
	}
	for _, a := range aliases {
		add(a, true)
	}
	return keys
}

// partWords open the subtitles that only number a part of a whole ("The
// Godfather: Part II"): on their own they name nothing.
var partWords = map[string]bool{
	"part": true, "vol": true, "volume": true, "chapter": true, "episode": true,
	"book": true, "season": true, "series": true, "no": true,
}

// matchingParen returns the index of the '(' that the final ')' of s
// closes, or -1.
func matchingParen(s string) int {
	depth := 0
	for i := len(s) - 1; i >= 0; i-- {
		switch s[i] {
		case ')':
			depth++
		case '(':
			if depth--; depth == 0 {
				return i
			}
		}
	}
	return -1
}

func isYear(s string) bool {
	if len(s) < 3 || len(s) > 4 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// seriesName strips the "a.k.a." of an alternate title and the number of a
// series ("The Hunger Games, #1" → "The Hunger Games").
func seriesName(s string) string {
	for _, p := range []string{"a.k.a.", "aka "} {
		if len(s) >= len(p) && strings.EqualFold(s[:len(p)], p) {
			s = s[len(p):]
		}
	}
	if i := strings.LastIndexByte(s, '#'); i >= 0 && strings.Trim(s[i+1:], "0123456789.-") == "" {
		s = strings.TrimRight(s[:i], " ,;")
	}
	return s
}

// titleWords appends the words of s to dst, lowercased, with Latin accents
// folded ("Amélie" → "amelie") and apostrophes dropped ("Schindler's" →
// "schindlers"), so that a query matches however it is typed. "&" reads
// "and".
func titleWords(dst []string, s string) []string {
	var b strings.Builder
	flush := func() {
		if b.Len() > 0 {
			dst = append(dst, b.String())
			b.Reset()
		}
	}
	for _, r := range s {
		switch {
		case r == '\'' || r == '\u2019' || r == '\u2018' || r == '\u02BC' || unicode.Is(unicode.Mn, r):
		case r == '&':
			flush()
			dst = append(dst, "and")
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			r = unicode.ToLower(r)
			if f := foldLatin(r); f != "" {
				b.WriteString(f)
			} else {
				b.WriteRune(r)
			}
		default:
			flush()
		}
	}
	flush()
	return dst
}

func isArticle(w string) bool { return w == "the" || w == "a" || w == "an" }

// dropArticle drops a leading English article, unless it is the only word.
func dropArticle(words []string) []string {
	if len(words) > 1 && isArticle(words[0]) {
		return words[1:]
	}
	return words
}

// leadIns are the openings that announce a title; FindTitle skips them.
var leadIns = [][]string{
	{"something", "like"}, {"anything", "like"}, {"stuff", "like"}, {"things", "like"},
	{"more", "like"}, {"similar", "to"}, {"fans", "of"}, {"like"},
}

func trimLeadIn(words []string) []string {
	for again := true; again; {
		again = false
		for _, p := range leadIns {
			if len(words) > len(p) && slices.Equal(words[:len(p)], p) {
				words, again = words[len(p):], true
			}
		}
	}
	return words
}

// afterCue reports whether words[i] directly follows "like", "similar to"
// or "fans of", allowing an article between.
func afterCue(words []string, i int) bool {
	j := i - 1
	if j >= 0 && isArticle(words[j]) {
		j--
	}
	switch {
	case j < 0:
		return false
	case words[j] == "like":
		return true
	case words[j] == "to":
		return j > 0 && words[j-1] == "similar"
	case words[j] == "of":
		return j > 0 && (words[j-1] == "fans" || words[j-1] == "fan")
	}
	return false
}

// FindTitle reports the item a query names, such as "like Interstellar" or
// "something like the martian": the item whose normalised title (lowercase,
// accents folded, without a leading article or a trailing "(2014)") equals
// a run of consecutive query words. The longest such run wins, then the
// earliest. One-word titles are common words too ("It", "Up", "Her"), so a
// one-word match counts only when it is the whole query once a lead-in
// ("like", "something like", "similar to") is skipped, or when it directly
// follows such a lead-in ("space movies like Interstellar").
//
// Several items may share a title (the book and the film of "Dune"): the
// item whose own title matches is preferred to one matched through an alias,
// then the lowest ID, which is the earliest ingested. A run that only starts
// a title is not enough here; FindTitles also reports those.
func (x *Index) FindTitle(query string) (id int64, ok bool) {
	m := x.findTitles(query, false)
	if len(m) == 0 {
		return 0, false
	}
	return m[0].ID, true
}

// TitleMatch is an item that a query names by its title.
type TitleMatch struct {
	ID   int64
	Type mediarec.ItemType
	// Alias says that the query names an alternate title, a series, or
	// the part of the title before or after a colon.
	Alias bool
	// Partial says that the query names only the start of the title
	// ("like the hitchhiker's guide").
	Partial bool
	// Words is the number of query words the title covers, of QueryWords
	// once a lead-in such as "something like" is skipped.
	Words, QueryWords int
	// Popularity is the item's source count (Item.Popularity).
	Popularity int64
}

// FindTitles returns every item named by the longest run of query words
// that is a title, an alias or the start of one (the run being two words
// or more), with the rules of FindTitle for one-word titles. Best first,
// by titleRank, then by how little of the title is left unnamed, then
// ascending ID.
func (x *Index) FindTitles(query string) []TitleMatch {
	return x.findTitles(query, true)
}

func (x *Index) findTitles(query string, partial bool) []TitleMatch {
	words := trimLeadIn(titleWords(nil, query))
	if len(words) > maxQueryWords {
		words = words[:maxQueryWords]
	}
	x.mu.RLock()
	defer x.mu.RUnlock()
	// A run may carry one article more than the key it matches.
	for n := min(len(words), x.maxTitleWords+1); n >= 1; n-- {
		for i := 0; i+n <= len(words); i++ {
			key := dropArticle(words[i : i+n])
			if len(key) < 2 && !(i == 0 && n == len(words)) && !afterCue(words, i) {
				continue
			}
			k := strings.Join(key, " ")
			exact := titleMatches(x.titles[k], false, n, len(words))
			if partial && len(key) >= 2 {
				exact = append(exact, titleMatches(x.prefixes[k], true, n, len(words))...)
				slices.SortStableFunc(exact, func(a, b TitleMatch) int { return titleRank(a) - titleRank(b) })
				seen := map[int64]bool{}
				exact = slices.DeleteFunc(exact, func(m TitleMatch) bool {
					dup := seen[m.ID]
					seen[m.ID] = true
					return dup
				})
			}
			if len(exact) > 0 {
				return exact
			}
		}
	}
	return nil
}

// titleRank orders matches: own titles named whole, own titles named by
// their start ("the hitchhiker's guide"), aliases named whole (the series
// "Hitchhiker's Guide" of its second book), aliases named by their start.
func titleRank(m TitleMatch) int {
	r := 0
	if m.Alias {
		r += 2
	}
	if m.Partial {
		r++
	}
	return r
}

func titleMatches(refs []titleRef, partial bool, n, of int) []TitleMatch {
	if len(refs) == 0 {
		return nil
	}
	sorted := slices.Clone(refs)
	slices.SortFunc(sorted, func(a, b titleRef) int {
		switch {
		case a.alias != b.alias:
			if !a.alias {
				return -1
			}
			return 1
		case a.words != b.words:
			return int(a.words) - int(b.words)
		case a.id < b.id:
			return -1
		case a.id > b.id:
			return 1
		}
		return 0
	})
	out := make([]TitleMatch, len(sorted))
	for i, r := range sorted {
		out[i] = TitleMatch{ID: r.id, Type: typeOf(r.typ), Alias: r.alias, Partial: partial, Words: n, QueryWords: of, Popularity: r.popularity}
	}
	return out
}

// typeOf is the item type of a type-mask bit.
func typeOf(i uint8) mediarec.ItemType {
	if int(i) < len(mediarec.ItemTypes) {
		return mediarec.ItemTypes[i]
	}
	return ""
}

func (x *Index) addTitles(id int64, typ uint8, popularity int64, keys []titleKey) {
	for _, k := range keys {
		n := strings.Count(k.key, " ") + 1
		ref := titleRef{id: id, alias: k.alias, typ: typ, words: uint8(n), popularity: popularity}
		x.titles[k.key] = append(x.titles[k.key], ref)
		x.maxTitleWords = max(x.maxTitleWords, n)
		for _, p := range titlePrefixes(k.key) {
			x.prefixes[p] = append(x.prefixes[p], ref)
		}
	}
}

func (x *Index) removeTitles(id int64, keys []titleKey) {
	drop := func(m map[string][]titleRef, key string) {
		refs := slices.DeleteFunc(m[key], func(r titleRef) bool { return r.id == id })
		if len(refs) == 0 {
			delete(m, key)
		} else {
			m[key] = refs
		}
	}
	for _, k := range keys {
		drop(x.titles, k.key)
		for _, p := range titlePrefixes(k.key) {
			drop(x.prefixes, p)
		}
	}
}

// titlePrefixes returns the starts of key, of two words or more, that a
// query may name it by ("hitchhikers guide" of "hitchhikers guide to the
// galaxy"). A start that ends in an article or a preposition would name
// the title no better than the start without it, and is left out.
func titlePrefixes(key string) []string {
	var out []string
	for i := 0; i < len(key); i++ {
		if key[i] != ' ' {
			continue
		}
		p := key[:i]
		if strings.IndexByte(p, ' ') < 0 || danglingWords[p[strings.LastIndexByte(p, ' ')+1:]] {
			continue
		}
		out = append(out, p)
	}
	return out
}

// danglingWords do not end a title's start.
var danglingWords = map[string]bool{
	"the": true, "a": true, "an": true, "of": true, "and": true, "or": true, "to": true,
	"in": true, "on": true, "at": true, "for": true, "with": true, "from": true, "by": true,
}

// foldLatin returns the unaccented spelling of a lowercase Latin letter, or
// "" for any other rune.
func foldLatin(r rune) string {
	if r < 0xDF || r > 0x17F {
		return ""
	}
	switch r {
	case 'à', 'á', 'â', 'ã', 'ä', 'å', 'ā', 'ă', 'ą':
		return "a"
	case 'æ':
		return "ae"
	case 'ç', 'ć', 'ĉ', 'ċ', 'č':
		return "c"
	case 'ď', 'đ':
		return "d"
	case 'è', 'é', 'ê', 'ë', 'ē', 'ĕ', 'ė', 'ę', 'ě':
		return "e"
	case 'ĝ', 'ğ', 'ġ', 'ģ':
		return "g"
	case 'ĥ', 'ħ':
		return "h"
	case 'ì', 'í', 'î', 'ï', 'ĩ', 'ī', 'ĭ', 'į', 'ı':
		return "i"
	case 'ĵ':
		return "j"
	case 'ķ':
		return "k"
	case 'ĺ', 'ļ', 'ľ', 'ŀ', 'ł':
		return "l"
	case 'ñ', 'ń', 'ņ', 'ň':
		return "n"
	case 'ò', 'ó', 'ô', 'õ', 'ö', 'ø', 'ō', 'ŏ', 'ő':
		return "o"
	case 'œ':
		return "oe"
	case 'ŕ', 'ŗ', 'ř':
		return "r"
	case 'ß':
		return "ss"
	case 'ś', 'ŝ', 'ş', 'š':
		return "s"
	case 'ţ', 'ť', 'ŧ':
		return "t"
	case 'ù', 'ú', 'û', 'ü', 'ũ', 'ū', 'ŭ', 'ů', 'ű', 'ų':
		return "u"
	case 'ŵ':
		return "w"
	case 'ý', 'ÿ', 'ŷ':
		return "y"
	case 'ź', 'ż', 'ž':
		return "z"
	}
	return ""
}
