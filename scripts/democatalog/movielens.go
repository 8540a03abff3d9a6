package main

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"mediarec"
)

// maxMovieTags caps the user tags kept per movie.
const maxMovieTags = 15

// movieTagNoise lists MovieLens tags that say nothing about the movie.
var movieTagNoise = map[string]bool{"in netflix queue": true}

// movieExtra holds hand-written additions for one movie: topical tags for
// documentaries that MovieLens users never tagged, so that a query such as
// "space documentary" can find them. Facts only, no copied text.
type movieExtra struct {
	MovieID int      `json:"movie_id"`
	Genres  []string `json:"genres"`
	Tags    []string `json:"tags"`
	Year    int      `json:"year"` // used only when the title has no year
}

// readMovieExtras reads movie-extras.jsonl, keyed by MovieLens movieId.
func readMovieExtras(path string) (map[int]movieExtra, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open movie extras: %w", err)
	}
	defer f.Close()
	extras := map[int]movieExtra{}
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.DisallowUnknownFields()
		var e movieExtra
		if err := dec.Decode(&e); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, line, err)
		}
		if e.MovieID <= 0 {
			return nil, fmt.Errorf("%s:%d: missing movie_id", path, line)
		}
		extras[e.MovieID] = e
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read movie extras: %w", err)
	}
	return extras, nil
}

// readMovieLens turns movies.csv and tags.csv of ml-latest-small into
// records, in movieId order.
func readMovieLens(dir string, extras map[int]movieExtra) ([]record, error) {
	tags, err := readMovieTags(filepath.Join(dir, "tags.csv"))
	if err != nil {
		return nil, err
	}
	rows, err := readCSV(filepath.Join(dir, "movies.csv"), "movieId", "title", "genres")
	if err != nil {
		return nil, err
	}
	type movie struct {
		id  int
		rec record
	}
	movies := make([]movie, 0, len(rows))
	for _, row := range rows {
		id, err := strconv.Atoi(row[0])
		if err != nil {
			return nil, fmt.Errorf("movies.csv: bad movieId %q", row[0])
		}
		title, year := parseMovieTitle(row[1])
		var genres []string
		for _, g := range strings.Split(row[2], "|") {
			if g != "" && g != "(no genres listed)" {
				genres = appendUnique(genres, g)
			}
		}
		var movieTags []string
		if e, ok := extras[id]; ok {
			genres = appendUnique(genres, e.Genres...)
			movieTags = appendUnique(movieTags, e.Tags...)
			if year == 0 {
				year = e.Year
			}
		}
		movieTags = appendUnique(movieTags, tags[id]...)
		if len(movieTags) > maxMovieTags {
			movieTags = movieTags[:maxMovieTags]
		}
		typ := mediarec.TypeMovie
		if slices.Contains(genres, "Documentary") {
			typ = mediarec.TypeDocumentary
		}
		movies = append(movies, movie{id, record{
			ExternalID: "movielens:" + row[0],
			Type:       typ,
			Title:      title,
			Genres:     genres,
			Tags:       movieTags,
			Year:       year,
		}})
	}
	sort.Slice(movies, func(i, j int) bool { return movies[i].id < movies[j].id })
	records := make([]record, len(movies))
	for i, m := range movies {
		records[i] = m.rec
	}
	return records, nil
}

// readMovieTags returns each movie's user tags, lowercased, most often
// applied first (ties in alphabetical order), noise removed.
func readMovieTags(path string) (map[int][]string, error) {
	rows, err := readCSV(path, "movieId", "tag")
	if err != nil {
		return nil, err
	}
	counts := map[int]map[string]int{}
	for _, row := range rows {
		id, err := strconv.Atoi(row[0])
		if err != nil {
			return nil, fmt.Errorf("tags.csv: bad movieId %q", row[0])
		}
		tag := strings.ToLower(cleanSpace(row[1]))
		if tag == "" || len(tag) > 100 || movieTagNoise[tag] {
			continue
		}
		if counts[id] == nil {
			counts[id] = map[string]int{}
		}
		counts[id][tag]++
	}
	tags := make(map[int][]string, len(counts))
	for id, c := range counts {
		tags[id] = rankByCount(c, maxMovieTags)
	}
	return tags, nil
}

// rankByCount returns at most limit keys of counts, highest count first and
// alphabetical among equal counts.
func rankByCount(counts map[string]int, limit int) []string {
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if counts[keys[i]] != counts[keys[j]] {
			return counts[keys[i]] > counts[keys[j]]
		}
		return keys[i] < keys[j]
	})
	if len(keys) > limit {
		keys = keys[:limit]
	}
	return keys
}

// yearSuffix matches the release year that ends a MovieLens title, either
// "(1999)" or a range such as "(2006–2007)".
var yearSuffix = regexp.MustCompile(`\s*\((\d{4})(?:[–-]\d{4})?\)\s*$`)

// parseMovieTitle splits a MovieLens title into a display title and its year
// (0 when absent), and puts articles back in front:
// "Matrix, The (1999)" becomes "The Matrix", 1999, and
// "Boot, Das (Boat, The) (1981)" becomes "Das Boot (The Boat)", 1981.
func parseMovieTitle(raw string) (string, int) {
	s := strings.TrimSpace(raw)
	year := 0
	if m := yearSuffix.FindStringSubmatchIndex(s); m != nil {
		year, _ = strconv.Atoi(s[m[2]:m[3]])
		s = s[:m[0]]
	}
	// Alternative titles follow the main one in parentheses, each with its
	// own trailing article: "Postman, The (Postino, Il)".
	var alts []string
	for strings.HasSuffix(s, ")") {
		open := matchingParen(s)
		if open <= 0 {
			break
		}
		alts = append([]string{s[open+1 : len(s)-1]}, alts...)
		s = strings.TrimSpace(s[:open])
	}
	title := frontArticle(s)
	for _, alt := range alts {
		if rest, ok := strings.CutPrefix(alt, "a.k.a. "); ok {
			alt = "a.k.a. " + frontArticle(rest)
		} else {
			alt = frontArticle(alt)
		}
		title += " (" + alt + ")"
	}
	return cleanSpace(title), year
}

// matchingParen returns the index of the "(" that the final ")" of s
// closes, or -1.
func matchingParen(s string) int {
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

// articles are the English, French, Spanish, Italian, German and Scandinavian
// articles that MovieLens moves to the end of a title.
var articles = []string{
	"The", "A", "An",
	"Le", "La", "Les", "L'", "Un", "Une",
	"El", "Los", "Las", "Lo",
	"Il", "I", "Gli",
	"Der", "Die", "Das",
	"Det", "Den",
}

// frontArticle turns "Matrix, The" into "The Matrix".
func frontArticle(s string) string {
	for _, a := range articles {
		if base, ok := strings.CutSuffix(s, ", "+a); ok {
			if strings.HasSuffix(a, "'") {
				return a + base
			}
			return a + " " + base
		}
	}
	return s
}

// readCSV reads a CSV file with a header and returns, for every data row,
// the named columns in the order asked for.
func readCSV(path string, columns ...string) ([][]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", filepath.Base(path), err)
	}
	defer f.Close()
	r := csv.NewReader(bufio.NewReaderSize(f, 1<<20))
	r.ReuseRecord = true
	header, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("read %s header: %w", filepath.Base(path), err)
	}
	index := make([]int, len(columns))
	for i, name := range columns {
		index[i] = -1
		for j, h := range header {
			if strings.TrimPrefix(h, "\ufeff") == name {
				index[i] = j
			}
		}
		if index[i] < 0 {
			return nil, fmt.Errorf("%s: no column %q", filepath.Base(path), name)
		}
	}
	var rows [][]string
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", filepath.Base(path), err)
		}
		row := make([]string, len(columns))
		for i, j := range index {
			row[i] = rec[j]
		}
		rows = append(rows, row)
	}
	return rows, nil
}
