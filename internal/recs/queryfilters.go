package recs

import (
	"strconv"
	"strings"
)

// yearRange is a span of years, both ends inclusive; zero leaves a side
// open.
type yearRange struct{ from, to int }

// yearSpans gathers the years a query asks for: the decades and years it
// names ("80s or 90s") widen the span, the bounds ("before 2000") narrow it.
type yearSpans struct {
	named yearRange
	any   bool
	limit yearRange
}

func (y *yearSpans) add(r yearRange) {
	if r.from != 0 && r.to != 0 {
		if !y.any {
			y.named, y.any = r, true
		} else {
			y.named.from, y.named.to = min(y.named.from, r.from), max(y.named.to, r.to)
		}
		return
	}
	if r.from != 0 {
		y.limit.from = max(y.limit.from, r.from)
	}
	if r.to != 0 && (y.limit.to == 0 || r.to < y.limit.to) {
		y.limit.to = r.to
	}
}

func (y *yearSpans) span() (from, to int) {
	from, to = y.limit.from, y.limit.to
	if y.any {
		from, to = max(from, y.named.from), y.named.to
		if y.limit.to != 0 {
			to = min(to, y.limit.to)
		}
	}
	if from != 0 && to != 0 && from > to {
		return to, from // contradictory bounds: the span between them
	}
	return from, to
}

// Years a query may name on its own; beyond them a number is not a year.
const (
	minYear = 1800
	maxYear = 2099
)

// yearLeads introduce a time that the user asks for. The strong ones still
// do after "about", where a weak "in the 60s" is the topic's setting.
var (
	strongYearLeads = phrases("from", "released in", "made in", "published in", "written in",
		"came out in", "coming from", "filmed in", "produced in", "recorded in")
	weakYearLeads = phrases("in", "of", "during", "around", "circa", "in the year")
)

// settingWords may stand between "set" and the time it sets a story in.
var settingWords = map[string]bool{"in": true, "during": true, "the": true, "early": true, "mid": true, "late": true}

// yearBounds read a time as one side of a span.
var yearBounds = []struct {
	words phrase
	// after: the span starts after (or at) the time; at: the time's own
	// years are in.
	after, at bool
}{
	{phrase{"before"}, false, false}, {phrase{"pre"}, false, false},
	{phrase{"prior", "to"}, false, false}, {phrase{"earlier", "than"}, false, false},
	{phrase{"older", "than"}, false, false},
	{phrase{"until"}, false, true}, {phrase{"till"}, false, true}, {phrase{"up", "to"}, false, true},
	{phrase{"after"}, true, false}, {phrase{"post"}, true, false},
	{phrase{"later", "than"}, true, false}, {phrase{"newer", "than"}, true, false},
	{phrase{"since"}, true, true},
}

// matchYears reads a time at words[i]: "the 90s", "from 1999", "before
// 1980", "between 1990 and 1995", "early 2000s", "80s and 90s". It returns
// the number of words read, 0 when none.
func matchYears(words []qword, i int, topic bool) (int, yearRange) {
	// "set in the 1920s" is where the story is.
	k := i - 1
	for k >= 0 && settingWords[words[k].low] {
		k--
	}
	if k >= 0 && words[k].low == "set" {
		return 0, yearRange{}
	}
	j, lead := i, false
	if n := matchPhrase(words, j, strongYearLeads); n > 0 {
		j, lead = j+n, true
	} else if n := matchPhrase(words, j, weakYearLeads); n > 0 && !topic {
		j, lead = j+n, true
	}
	for _, b := range yearBounds {
		if !lead && hasPhrase(words, j, b.words) {
			n, r, ok := yearTerm(words, j+len(b.words), true)
			if !ok {
				return 0, yearRange{}
			}
			switch {
			case b.after && b.at:
				r = yearRange{from: r.from}
			case b.after:
				r = yearRange{from: r.to + 1}
			case b.at:
				r = yearRange{to: r.to}
			default:
				r = yearRange{to: r.from - 1}
			}
			return j + len(b.words) + n - i, r
		}
	}
	// "pre-1980", "post-war" has no year.
	if j >= len(words) {
		return 0, yearRange{}
	}
	if w := words[j].low; !lead && (strings.HasPrefix(w, "pre-") || strings.HasPrefix(w, "post-")) {
		before := strings.HasPrefix(w, "pre-")
		if r, ok := yearWord(w[strings.IndexByte(w, '-')+1:], true); ok {
			if before {
				return 1, yearRange{to: r.from - 1}
			}
			return 1, yearRange{from: r.to + 1}
		}
		return 0, yearRange{}
	}
	between := false
	if !lead && j < len(words) && words[j].low == "between" {
		j, lead, between = j+1, true, true
	}
	if topic && !lead {
		return 0, yearRange{}
	}
	n, r, ok := yearTerm(words, j, lead)
	if !ok {
		return 0, yearRange{}
	}
	j += n
	// A second time joined to the first: a span ("from 1990 to 1995",
	// "between 1990 and 1995") or a list ("80s and 90s", "80s or 90s").
	if j+1 < len(words) && !words[j+1].clause {
		switch w := words[j].low; {
		case w == "to" || w == "until" || w == "till" || w == "through" || w == "and" && between:
			if m, r2, ok := yearTerm(words, j+1, true); ok {
				j += 1 + m
				r.to = max(r.to, r2.to)
			}
		case w == "and" || w == "or":
			if m, r2, ok := yearTerm(words, j+1, false); ok {
				j += 1 + m
				r.from, r.to = min(r.from, r2.from), max(r.to, r2.to)
			}
		}
	} else if between {
		return 0, yearRange{}
	}
	return j - i, r
}

// yearTerm reads a decade ("90s", "the 1990s", "early 2000s", "the
// nineties") or, when bare is true, a single year or a span ("1990-1995")
// at words[j], with an article before it.
func yearTerm(words []qword, j int, bare bool) (int, yearRange, bool) {
	start := j
	if j < len(words) && words[j].low == "the" {
		j++
	}
	if j >= len(words) || words[j].clause && j > start {
		return 0, yearRange{}, false
	}
	part := ""
	w := words[j].low
	for _, p := range []string{"early", "mid", "late"} {
		switch {
		case w == p && j+1 < len(words):
			part, j = p, j+1
			w = words[j].low
		case strings.HasPrefix(w, p+"-"):
			part, w = p, w[len(p)+1:]
		}
	}
	r, ok := yearWord(w, bare && part == "")
	if !ok {
		return 0, yearRange{}, false
	}
	if part != "" {
		if r.to-r.from != 9 {
			return 0, yearRange{}, false // early 1999?
		}
		switch part {
		case "early":
			r.to = r.from + 3
		case "mid":
			r.from, r.to = r.from+3, r.from+6
		case "late":
			r.from += 6
		}
	}
	return j + 1 - start, r, true
}

// decadeWords name decades in letters.
var decadeWords = map[string]int{
	"twenties": 1920, "thirties": 1930, "forties": 1940, "fifties": 1950, "sixties": 1960,
	"seventies": 1970, "eighties": 1980, "nineties": 1990, "noughties": 2000, "aughts": 2000,
}

// yearWord reads one word as a decade ("90s", "90's", "1990s"), a century
// ("1800s"; but "2000s" is a decade) or, when bare is true, a year
// ("1999") or a span of years ("1990-1995").
func yearWord(w string, bare bool) (yearRange, bool) {
	if d, ok := decadeWords[w]; ok {
		return yearRange{d, d + 9}, true
	}
	if d, ok := strings.CutSuffix(w, "s"); ok {
		d = strings.TrimSuffix(d, "'")
		n, err := strconv.Atoi(d)
		switch {
		case err != nil || n%10 != 0 || d[0] == '+' || d[0] == '-':
			return yearRange{}, false
		case len(d) == 2:
			n += 1900
			if n < 1920 { // the 00s and 10s; the 20s are the 1920s
				n += 100
			}
		case len(d) != 4 || n < minYear || n > maxYear:
			return yearRange{}, false
		case n%100 == 0 && n < 2000:
			return yearRange{n, n + 99}, true // "the 1800s" is the century
		}
		return yearRange{n, n + 9}, true
	}
	if !bare {
		return yearRange{}, false
	}
	if a, b, ok := strings.Cut(w, "-"); ok {
		ra, okA := yearWord(a, true)
		rb, okB := yearWord(b, true)
		if !okA || !okB || ra.from != ra.to || rb.from != rb.to || rb.from < ra.from {
			return yearRange{}, false
		}
		return yearRange{ra.from, rb.to}, true
	}
	if len(w) != 4 {
		return yearRange{}, false
	}
	n, err := strconv.Atoi(w)
	if err != nil || n < minYear || n > maxYear {
		return yearRange{}, false
	}
	return yearRange{n, n}, true
}

// genreWords name the catalog's genres, by the names MovieLens, the
// goodbooks shelves and the podcast categories use. A phrase may name
// several ("rom-com").
var genreWords = func() []struct {
	words  phrase
	genres []string
} {
	table := []struct {
		words  string
		genres []string
	}{
		{"comedy comedies comedic funny hilarious humor humour humorous", []string{"Comedy"}},
		{"romance romances romantic", []string{"Romance"}},
		{"rom-com rom-coms romcom romcoms", []string{"Romance", "Comedy"}},
		{"sci-fi scifi", []string{"Sci-Fi"}},
		{"horror scary", []string{"Horror"}},
		{"thriller thrillers suspense", []string{"Thriller"}},
		{"mystery mysteries whodunit whodunits detective", []string{"Mystery"}},
		{"crime", []string{"Crime"}},
		{"war", []string{"War"}},
		{"western westerns", []string{"Western"}},
		{"musical musicals", []string{"Musical"}},
		{"noir", []string{"Film-Noir"}},
		{"action", []string{"Action"}},
		{"adventure adventures", []string{"Adventure"}},
		{"animated animation cartoon cartoons anime", []string{"Animation"}},
		{"kids children children's", []string{"Children"}},
		{"fantasy", []string{"Fantasy"}},
		{"drama dramas", []string{"Drama"}},
		{"dystopian dystopia dystopias", []string{"Dystopian"}},
		{"paranormal supernatural", []string{"Paranormal"}},
		{"biography biographies biographical", []string{"Biography"}},
		{"memoir memoirs", []string{"Memoir"}},
		{"poetry poems", []string{"Poetry"}},
		{"classic classics", []string{"Classics"}},
		{"nonfiction non-fiction", []string{"Nonfiction"}},
		{"self-help", []string{"Self-Help"}},
		{"philosophy philosophical", []string{"Philosophy"}},
		{"psychology", []string{"Psychology"}},
		{"religion religious", []string{"Religion"}},
		{"history historical", []string{"History"}},
		{"science", []string{"Science"}},
		{"technology tech", []string{"Technology"}},
		{"imax", []string{"IMAX"}},
	}
	multi := []struct {
		words  string
		genres []string
	}{
		{"romantic comedy", []string{"Romance", "Comedy"}},
		{"romantic comedies", []string{"Romance", "Comedy"}},
		{"rom com", []string{"Romance", "Comedy"}},
		{"science fiction", []string{"Sci-Fi"}},
		{"science-fiction", []string{"Sci-Fi"}},
		{"film noir", []string{"Film-Noir"}},
		{"true crime", []string{"True Crime"}},
		{"young adult", []string{"Young Adult"}},
		{"historical fiction", []string{"Historical Fiction"}},
		{"literary fiction", []string{"Literary Fiction"}},
		{"short stories", []string{"Short Stories"}},
		{"chick lit", []string{"Chick Lit"}},
		{"graphic novel", []string{"Graphic Novels"}},
		{"graphic novels", []string{"Graphic Novels"}},
		{"self help", []string{"Self-Help"}},
		{"non fiction", []string{"Nonfiction"}},
		{"for kids", []string{"Children"}},
		{"love story", []string{"Romance"}},
		{"love stories", []string{"Romance"}},
	}
	var out []struct {
		words  phrase
		genres []string
	}
	for _, t := range table {
		for _, w := range strings.Fields(t.words) {
			out = append(out, struct {
				words  phrase
				genres []string
			}{phrase{w}, t.genres})
		}
	}
	for _, t := range multi {
		out = append(out, struct {
			words  phrase
			genres []string
		}{strings.Fields(t.words), t.genres})
	}
	return out
}()

// matchGenre returns the length of the longest genre phrase at words[i]
// and the genres it names.
func matchGenre(words []qword, i int) (int, []string) {
	best, genres := 0, []string(nil)
	for _, g := range genreWords {
		if len(g.words) > best && hasPhrase(words, i, g.words) {
			best, genres = len(g.words), g.genres
		}
	}
	return best, genres
}
