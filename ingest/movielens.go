package ingest

import (
	"errors"
	"io/fs"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"mediarec"
)

// maxTags caps the tags kept per item from crowd-sourced tag data: beyond
// the first dozen or so the tags are rare one-offs that add noise to
// embeddings and tag matching.
const maxTags = 15

// readMovieLens reads a MovieLens "ml-latest" directory: movies.csv gives the
// items, tags.csv (optional) their tags, ratings.csv (optional) their
// popularity, the number of ratings each movie has. links.csv is not read: it
// maps to IMDb and TMDB ids, which Item has no field for.
func readMovieLens(dir string, fn func(Record) error) error {
	tags, err := readMovieLensTags(filepath.Join(dir, "tags.csv"), fn)
	if err != nil {
		return err
	}
	ratings, err := readMovieLensRatings(filepath.Join(dir, "ratings.csv"), fn)
	if err != nil {
		return err
	}
	c, err := openCSV(filepath.Join(dir, "movies.csv"), "movieid", "title", "genres")
	if err != nil {
		return err
	}
	defer c.Close()
	return c.each(func(row []string, line int, err error) error {
		rec := Record{Source: c.path, Line: line, Err: err}
		if err == nil {
			rec.Item, rec.Err = movieLensItem(c, row, tags, ratings)
		}
		return fn(rec)
	})
}

func movieLensItem(c *csvFile, row []string, tags map[int][]string, ratings map[int]int64) (*mediarec.Item, error) {
	id, err := strconv.Atoi(c.get(row, "movieid"))
	if err != nil || id <= 0 {
		return nil, errorf("movieId", "%q is not a movie id", c.get(row, "movieid"))
	}
	title, year := movieLensTitle(c.get(row, "title"))
	if title == "" {
		return nil, errorf("title", "empty")
	}
	item := &mediarec.Item{
		ExternalID: "movielens:" + strconv.Itoa(id),
		Type:       mediarec.TypeMovie,
		Title:      title,
		Year:       year,
		Tags:       tags[id],
		Popularity: ratings[id],
	}
	for _, g := range splitList(c.get(row, "genres"), "|") {
		if g == "(no genres listed)" {
			continue
		}
		if g == "Documentary" {
			item.Type = mediarec.TypeDocumentary
		}
		item.Genres = append(item.Genres, g)
	}
	return item, nil
}

// readMovieLensTags aggregates tags.csv into each movie's most frequent tags.
// The file is optional because it only enriches the items.
func readMovieLensTags(path string, fn func(Record) error) (map[int][]string, error) {
	c, err := openCSV(path, "movieid", "tag")
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	defer c.Close()
	counts := make(map[int]map[string]int)
	err = c.each(func(row []string, line int, err error) error {
		if err != nil {
			return fn(Record{Source: c.path, Line: line, Err: err})
		}
		id, err := strconv.Atoi(c.get(row, "movieid"))
		if err != nil || id <= 0 {
			return fn(Record{Source: c.path, Line: line, Err: errorf("movieId", "%q is not a movie id", c.get(row, "movieid"))})
		}
		// Users write the same tag in many spellings ("Sci-Fi", "sci-fi ");
		// folding case and spaces lets them count together.
		tag := strings.ToLower(normSpace(c.get(row, "tag")))
		if tag == "" || movieLensTagStop[tag] || utf8.RuneCountInString(tag) > maxListValue {
			return nil
		}
		if counts[id] == nil {
			counts[id] = make(map[string]int)
		}
		counts[id][tag]++
		return nil
	})
	if err != nil {
		return nil, err
	}
	tags := make(map[int][]string, len(counts))
	for id, n := range counts {
		tags[id] = topTags(n, maxTags)
	}
	return tags, nil
}

// readMovieLensRatings counts the ratings of each movie in ratings.csv. The
// file is optional: without it every movie's popularity is 0. Only the
// count is kept; who rated what is the evaluation's business, not the
// catalog's.
func readMovieLensRatings(path string, fn func(Record) error) (map[int]int64, error) {
	c, err := openCSV(path, "movieid")
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	defer c.Close()
	counts := make(map[int]int64)
	err = c.each(func(row []string, line int, err error) error {
		if err != nil {
			return fn(Record{Source: c.path, Line: line, Err: err})
		}
		id, err := strconv.Atoi(c.get(row, "movieid"))
		if err != nil || id <= 0 {
			return fn(Record{Source: c.path, Line: line, Err: errorf("movieId", "%q is not a movie id", c.get(row, "movieid"))})
		}
		counts[id]++
		return nil
	})
	return counts, err
}

// movieLensTagStop lists the tags users applied to keep track of their own
// viewing (queues, history) rather than to describe the movie; "in netflix
// queue" alone would otherwise be the most common tag of the data set.
var movieLensTagStop = map[string]bool{
	"in netflix queue": true, "no dvd at netflix": true, "not available from netflix": true,
	"seen more than once": true, "seen at the cinema": true, "not seen": true,
}

// yearSuffix matches the release year MovieLens appends to titles; series
// carry a range such as "(2006–2007)", of which the first year is kept.
var yearSuffix = regexp.MustCompile(`\s*\((\d{4})(?:\s*[-–]\s*(?:\d{4})?)?\)\s*$`)

// articles are the trailing articles MovieLens moves behind a title, library
// style ("Matrix, The", "Postino, Il", "École de la chair, L'").
var articles = map[string]bool{
	"The": true, "A": true, "An": true,
	"La": true, "Le": true, "Les": true, "L'": true, "Un": true, "Une": true,
	"Il": true, "I": true, "Lo": true, "Gli": true, "Una": true,
	"El": true, "Los": true, "Las": true,
	"Der": true, "Die": true, "Das": true, "Ein": true, "Eine": true,
	"De": true, "Het": true, "Den": true, "Det": true, "En": true, "Da": true,
}

// movieLensTitle turns a MovieLens title such as "Matrix, The (1999)" into
// "The Matrix" and 1999. The article is moved back to the front of the main
// title and of each alternate title in parentheses, so "Postman, The
// (Postino, Il) (1994)" reads "The Postman (Il Postino)" and "Macbeth
// (a.k.a. Tragedy of Macbeth, The)" reads "Macbeth (a.k.a. The Tragedy of
// Macbeth)". A title without a trailing year gets year 0.
func movieLensTitle(s string) (string, int) {
	s = normSpace(s)
	year := 0
	if m := yearSuffix.FindStringSubmatchIndex(s); m != nil && m[0] > 0 {
		year, _ = strconv.Atoi(s[m[2]:m[3]])
		s = strings.TrimSpace(s[:m[0]])
	}
	// Peel the alternate titles off the end, last first.
	var alts []string
	for strings.HasSuffix(s, ")") {
		open := openingParen(s)
		if open <= 0 {
			break
		}
		alts = append(alts, strings.TrimSpace(s[open+1:len(s)-1]))
		s = strings.TrimSpace(s[:open])
	}
	var b strings.Builder
	b.WriteString(frontArticle(s))
	for i := len(alts) - 1; i >= 0; i-- {
		b.WriteString(" (")
		// In "(a.k.a. Gates of Hell, The)" the article belongs after the
		// prefix: "(a.k.a. The Gates of Hell)".
		alt, aka := strings.CutPrefix(alts[i], "a.k.a. ")
		if aka {
			b.WriteString("a.k.a. ")
		}
		b.WriteString(frontArticle(alt))
		b.WriteString(")")
	}
	return b.String(), year
}

// openingParen returns the index of the "(" that matches the ")" ending s, or
// -1 when the parentheses do not balance.
func openingParen(s string) int {
	depth := 0
	for i := len(s) - 1; i >= 0; i-- {
		switch s[i] {
		case ')':
			depth++
		case '(':
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}

// frontArticle moves a trailing ", The" style article to the front.
func frontArticle(s string) string {
	i := strings.LastIndex(s, ", ")
	if i <= 0 || !articles[s[i+2:]] {
		return s
	}
	article, rest := s[i+2:], strings.TrimSpace(s[:i])
	if strings.HasSuffix(article, "'") {
		return article + rest
	}
	return article + " " + rest
}
