package ingest

import (
	"math"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"mediarec"
)

// readGoodbooks reads a goodbooks-10k directory: books.csv gives the items,
// book_tags.csv and tags.csv the Goodreads shelves their tags and genres come
// from. Both tag files are required: without them a book is only a title and
// an author, too little to recommend from.
//
// Titles are kept as Goodreads shows them, series suffix included ("The
// Hunger Games (The Hunger Games, #1)"): the suffix tells the volumes of a
// series apart and is what people search for, and the series already shows
// up among the shelves ("harry-potter").
func readGoodbooks(dir string, fn func(Record) error) error {
	names, err := readGoodbooksTagNames(filepath.Join(dir, "tags.csv"), fn)
	if err != nil {
		return err
	}
	shelves, err := readGoodbooksShelves(filepath.Join(dir, "book_tags.csv"), names, fn)
	if err != nil {
		return err
	}
	c, err := openCSV(filepath.Join(dir, "books.csv"), "goodreads_book_id", "title", "authors")
	if err != nil {
		return err
	}
	defer c.Close()
	return c.each(func(row []string, line int, err error) error {
		rec := Record{Source: c.path, Line: line, Err: err}
		if err == nil {
			rec.Item, rec.Err = goodbooksItem(c, row, shelves)
		}
		return fn(rec)
	})
}

func goodbooksItem(c *csvFile, row []string, shelves map[int]map[string]int) (*mediarec.Item, error) {
	id, err := strconv.Atoi(c.get(row, "goodreads_book_id"))
	if err != nil || id <= 0 {
		return nil, errorf("goodreads_book_id", "%q is not a book id", c.get(row, "goodreads_book_id"))
	}
	title := normSpace(c.get(row, "title"))
	if title == "" {
		return nil, errorf("title", "empty")
	}
	year, err := goodbooksYear(c.get(row, "original_publication_year"))
	if err != nil {
		return nil, err
	}
	creators := splitList(c.get(row, "authors"), ",")
	tags := bookTags(shelves[id], creators)
	return &mediarec.Item{
		ExternalID: "goodreads:" + strconv.Itoa(id),
		Type:       mediarec.TypeBook,
		Title:      title,
		Creators:   creators,
		Year:       year,
		Language:   c.get(row, "language_code"),
		Tags:       tags,
		Genres:     bookGenres(tags),
	}, nil
}

// goodbooksYear parses the float the file stores years as ("2008.0",
// "-720.0"); an empty cell means unknown.
func goodbooksYear(s string) (int, error) {
	if s == "" {
		return 0, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f != math.Trunc(f) || f < -3000 || f > 2100 {
		return 0, errorf("original_publication_year", "%q is not a year", s)
	}
	return int(f), nil
}

func readGoodbooksTagNames(path string, fn func(Record) error) (map[int]string, error) {
	c, err := openCSV(path, "tag_id", "tag_name")
	if err != nil {
		return nil, err
	}
	defer c.Close()
	names := make(map[int]string)
	err = c.each(func(row []string, line int, err error) error {
		if err != nil {
			return fn(Record{Source: c.path, Line: line, Err: err})
		}
		id, err := strconv.Atoi(c.get(row, "tag_id"))
		if err != nil {
			return fn(Record{Source: c.path, Line: line, Err: errorf("tag_id", "%q is not a tag id", c.get(row, "tag_id"))})
		}
		names[id] = strings.ToLower(c.get(row, "tag_name"))
		return nil
	})
	return names, err
}

// readGoodbooksShelves returns, per goodreads_book_id, how many users put the
// book on each shelf. Shelf noise is removed later, once the authors are
// known.
func readGoodbooksShelves(path string, names map[int]string, fn func(Record) error) (map[int]map[string]int, error) {
	c, err := openCSV(path, "goodreads_book_id", "tag_id", "count")
	if err != nil {
		return nil, err
	}
	defer c.Close()
	shelves := make(map[int]map[string]int)
	err = c.each(func(row []string, line int, err error) error {
		if err == nil {
			err = addShelf(c, row, names, shelves)
		}
		if err != nil {
			return fn(Record{Source: c.path, Line: line, Err: err})
		}
		return nil
	})
	return shelves, err
}

func addShelf(c *csvFile, row []string, names map[int]string, shelves map[int]map[string]int) error {
	book, err := strconv.Atoi(c.get(row, "goodreads_book_id"))
	if err != nil {
		return errorf("goodreads_book_id", "%q is not a book id", c.get(row, "goodreads_book_id"))
	}
	tag, err := strconv.Atoi(c.get(row, "tag_id"))
	if err != nil {
		return errorf("tag_id", "%q is not a tag id", c.get(row, "tag_id"))
	}
	count, err := strconv.Atoi(c.get(row, "count"))
	if err != nil {
		return errorf("count", "%q is not a number", c.get(row, "count"))
	}
	name, ok := names[tag]
	if !ok {
		return errorf("tag_id", "unknown tag %d", tag)
	}
	if shelves[book] == nil {
		shelves[book] = make(map[string]int)
	}
	// The file lists a few (book, tag) pairs twice and a few counts as -1,
	// both scraping artefacts: a repeated pair is the same shelf, so keep its
	// larger count rather than adding, and a negative count never wins.
	shelves[book][name] = max(shelves[book][name], count)
	return nil
}

// bookTags ranks a book's shelves by how many users chose them and keeps
// those that describe the book rather than the reader's collection.
func bookTags(shelves map[string]int, creators []string) []string {
	clean := make(map[string]int, len(shelves))
	authors := authorShelves(creators)
	for name, n := range shelves {
		if !isShelfNoise(name) && !authors[name] && len(name) <= maxListValue {
			clean[name] = n
		}
	}
	return topTags(clean, maxTags)
}

// shelfStop lists personal shelves that match no pattern of shelfNoise.
var shelfStop = map[string]bool{
	"owned": true, "own": true, "have": true, "default": true, "maybe": true,
	"books": true, "book": true, "novels": true, "novel": true, "series": true,
	"english": true, "general": true, "recommended": true, "must-read": true,
	"school":     true,
	"for-school": true, "school-books": true, "arc": true, "arcs": true,
	"nook": true, "paperback": true, "hardcover": true, "calibre": true,
	"netgalley": true, "borrowed": true, "abandoned": true, "unfinished": true,
	"finished": true, "reviewed": true, "on-hold": true, "tbr": true,
	"first-in-series": true, "part-of-a-series": true, "stand-alone": true,
	"standalone": true, "listened-to": true, "bought": true,
}

// shelfNoise matches personal shelves: reading state ("to-read",
// "currently-reading", "dnf", "re-read"), ownership and format ("owned-books",
// "kindle", "ebook", "audiobook", "library"), favourites, wish lists, book
// clubs, years and challenges ("read-in-2015", "2016-reads", "1001-books"),
// star ratings ("5-stars") and names without a letter ("-", "--1-").
var shelfNoise = regexp.MustCompile(`to-read|currently|re-?read|dnf|did-not|didn-t|couldn-t|gave-up|` +
	`(^|-)own(ed|-it)?($|-)|books-i|(^|-)my-|kindle|(^|-)e-?books?($|-)|audio|audible|librar|shelf|` +
	`favou?rite|^fav|wish-?list|to-buy|need-to|want-to|to-be-read|book-?club|book-group|` +
	`\d{4}|(^|-)(\d|one|two|three|four|five)-?stars?$|^read-|-reads?$|^\PL*$`)

func isShelfNoise(name string) bool {
	return shelfStop[name] || shelfNoise.MatchString(name)
}

// authorShelves returns the shelf names readers file an author's books under
// ("stephen-king", "king"): they repeat Creators and would crowd out the tags
// that say what the book is about.
func authorShelves(creators []string) map[string]bool {
	out := make(map[string]bool)
	for _, c := range creators {
		words := strings.Fields(strings.ToLower(strings.NewReplacer(".", " ", "'", "").Replace(c)))
		if len(words) == 0 {
			continue
		}
		out[strings.Join(words, "-")] = true
		out[words[len(words)-1]] = true
	}
	return out
}

// bookGenre maps the shelves that name a genre to one spelling per genre.
var bookGenre = map[string]string{
	"fantasy": "fantasy", "urban-fantasy": "fantasy", "high-fantasy": "fantasy", "epic-fantasy": "fantasy",
	"science-fiction": "science-fiction", "sci-fi": "science-fiction", "scifi": "science-fiction", "sf": "science-fiction",
	"mystery": "mystery", "mysteries": "mystery",
	"thriller": "thriller", "thrillers": "thriller", "suspense": "thriller",
	"crime": "crime", "crime-fiction": "crime", "true-crime": "true-crime",
	"romance": "romance", "contemporary-romance": "romance", "historical-romance": "romance", "paranormal-romance": "romance",
	"horror":             "horror",
	"historical-fiction": "historical-fiction", "historical": "historical-fiction",
	"non-fiction": "non-fiction", "nonfiction": "non-fiction",
	"biography": "biography", "biographies": "biography", "autobiography": "biography",
	"memoir": "memoir", "memoirs": "memoir",
	"history":  "history",
	"classics": "classics", "classic": "classics", "classic-literature": "classics",
	"young-adult": "young-adult", "ya": "young-adult", "ya-fiction": "young-adult", "teen": "young-adult",
	"children": "children", "childrens": "children", "children-s": "children", "children-s-books": "children",
	"kids": "children", "picture-books": "children", "middle-grade": "children",
	"poetry": "poetry",
	"plays":  "drama", "drama": "drama",
	"graphic-novels": "graphic-novels", "graphic-novel": "graphic-novels", "comics": "graphic-novels", "manga": "graphic-novels",
	"humor": "humor", "humour": "humor",
	"dystopian": "dystopian", "dystopia": "dystopian", "post-apocalyptic": "dystopian",
	"paranormal": "paranormal",
	"philosophy": "philosophy", "psychology": "psychology", "science": "science",
	"self-help": "self-help", "business": "business", "religion": "religion", "christian": "religion",
	"short-stories": "short-stories", "travel": "travel", "cookbooks": "cooking",
}

// bookGenres returns the genres named by tags, most shelved first.
func bookGenres(tags []string) []string {
	var genres []string
	seen := make(map[string]bool)
	for _, t := range tags {
		if g, ok := bookGenre[t]; ok && !seen[g] {
			seen[g] = true
			genres = append(genres, g)
		}
	}
	return genres
}
