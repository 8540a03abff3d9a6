package ingest

import (
	"math"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

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
			rec.Item, rec.Err = goodbooksItem(c, row, names, shelves)
		}
		return fn(rec)
	})
}

func goodbooksItem(c *csvFile, row []string, names map[int]string, shelves map[int]map[int]int) (*mediarec.Item, error) {
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
	popularity, err := goodbooksCount(c.get(row, "ratings_count"))
	if err != nil {
		return nil, err
	}
	creators := splitList(c.get(row, "authors"), ",")
	ranked, counts := rankShelves(shelves[id], names, creators)
	return &mediarec.Item{
		ExternalID: "goodreads:" + strconv.Itoa(id),
		Type:       mediarec.TypeBook,
		Title:      title,
		Creators:   creators,
		Year:       year,
		Language:   bookLanguage(c.get(row, "language_code")),
		Tags:       ranked[:min(len(ranked), maxTags)],
		Genres:     bookGenres(ranked, counts),
		Popularity: popularity,
		ImageURL:   goodbooksImage(c.get(row, "image_url")),
	}, nil
}

// goodbooksImage returns the cover address of image_url, or "" for
// Goodreads' "nophoto" placeholder (a third of the books), an empty cell, a
// file without the column or anything that is not an absolute http(s) URL
// the catalog would take: a book without a cover is still a book, so a bad
// address is dropped rather than failing the record.
func goodbooksImage(s string) string {
	s = strings.TrimSpace(s)
	if s == "" || strings.Contains(s, "/nophoto/") || len(s) > 2000 {
		return ""
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return ""
	}
	return s
}

// goodbooksCount parses ratings_count, the number of Goodreads ratings of
// the book's edition; an empty cell or a file without the column means 0.
// The edition's count rather than work_ratings_count (all editions): it is
// the figure the data set's own "most rated" order and the demo's selection
// use.
func goodbooksCount(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, errorf("ratings_count", "%q is not a count", s)
	}
	return n, nil
}

// languageCodes maps the ISO 639-2 codes of books.csv ("eng") to the
// two-letter codes the other sources use ("en"). Regional tags such as
// "en-US" are already in that form.
var languageCodes = map[string]string{
	"ara": "ar", "dan": "da", "eng": "en", "fre": "fr", "ger": "de", "ind": "id",
	"ita": "it", "jpn": "ja", "nor": "no", "per": "fa", "pol": "pl", "por": "pt",
	"rum": "ro", "rus": "ru", "spa": "es", "swe": "sv", "tur": "tr", "vie": "vi",
}

func bookLanguage(code string) string {
	if short, ok := languageCodes[code]; ok {
		return short
	}
	return code
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

// readGoodbooksTagNames returns the shelf name of every tag_id, after
// shelfName; a noise shelf is known but has the name "".
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
		// Shelves are judged here, once per tag, rather than for each of the
		// million (book, tag) rows.
		names[id] = shelfName(c.get(row, "tag_name"))
		return nil
	})
	return names, err
}

// readGoodbooksShelves returns, per goodreads_book_id, how many users put the
// book on each tag_id that is not noise. Synonyms are merged and shelves
// named after the author removed later, in rankShelves.
func readGoodbooksShelves(path string, names map[int]string, fn func(Record) error) (map[int]map[int]int, error) {
	c, err := openCSV(path, "goodreads_book_id", "tag_id", "count")
	if err != nil {
		return nil, err
	}
	defer c.Close()
	shelves := make(map[int]map[int]int)
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

func addShelf(c *csvFile, row []string, names map[int]string, shelves map[int]map[int]int) error {
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
	} else if name == "" {
		return nil
	}
	if shelves[book] == nil {
		shelves[book] = make(map[int]int)
	}
	// The file lists a few (book, tag) pairs twice and a few counts as -1,
	// both scraping artefacts: a repeated pair is the same shelf, so keep its
	// larger count rather than adding, and a negative count never wins.
	shelves[book][tag] = max(shelves[book][tag], count)
	return nil
}

// rankShelves merges a book's shelves by name, so that synonyms add up,
// leaves out the shelves named after its creators, and returns the names
// ordered by how many users chose them, with those counts.
func rankShelves(shelves map[int]int, names map[int]string, creators []string) ([]string, map[string]int) {
	counts := make(map[string]int, len(shelves))
	authors := authorShelves(creators)
	for tag, n := range shelves {
		if name := names[tag]; !authors.match(name) {
			counts[name] += n
		}
	}
	return topTags(counts, len(counts)), counts
}

// shelfName returns the tag name of a Goodreads shelf, with spelling
// variants merged by shelfSynonyms, or "" when the shelf is noise.
func shelfName(shelf string) string {
	name := strings.ReplaceAll(strings.ToLower(shelf), "_", "-")
	if s, ok := shelfSynonyms[name]; ok {
		name = s
	}
	if isShelfNoise(name) || utf8.RuneCountInString(name) > maxListValue {
		return ""
	}
	return name
}

// shelfSynonyms merge spellings of the same shelf, so that one idea does not
// take several of the book's tags and its counts add up.
var shelfSynonyms = map[string]string{
	"sci-fi": "science-fiction", "scifi": "science-fiction", "sf": "science-fiction",
	"ya": "young-adult", "ya-fiction": "young-adult", "young-adult-fiction": "young-adult",
	"nonfiction": "non-fiction", "classic": "classics", "dystopia": "dystopian",
	"humour": "humor", "humorous": "humor", "funny": "humor",
	"childrens": "children", "children-s": "children", "kids": "children",
	"children-s-books": "children", "childrens-books": "children", "kids-books": "children",
	"children-s-literature": "children", "children-s-lit": "children",
	"chicklit": "chick-lit", "chic-lit": "chick-lit", "picture-book": "picture-books",
	"vampire": "vampires", "vamps": "vampires", "mysteries": "mystery",
	"thrillers": "thriller", "memoirs": "memoir", "biographies": "biography",
	"bio": "biography", "memoir-biography": "biography-memoir",
	"graphic-novel": "graphic-novels", "comic": "comics", "poems": "poetry",
	"fairy-tale": "fairy-tales", "fairytales": "fairy-tales", "faeries": "fairies",
	"play": "plays", "theater": "theatre", "short-story": "short-stories",
	"ww2": "wwii", "ww-2": "wwii", "world-war-ii": "wwii", "world-war-2": "wwii",
	"ww1": "wwi", "world-war-i": "wwi", "world-war-1": "wwi", "pulitzer-prize": "pulitzer",
	"american-lit": "american-literature", "russian-lit": "russian-literature",
	"lgbtq": "lgbt", "legal-thrillers": "legal-thriller",
	"the-wheel-of-time": "wheel-of-time", "wot": "wheel-of-time",
	"the-dresden-files": "dresden-files", "dresden": "dresden-files",
	"stephanie-plum-series": "stephanie-plum",
}

// shelfStop lists personal and catch-all shelves that match no pattern of
// shelfNoise. Mixed-genre shelves such as "sci-fi-fantasy" are here too: the
// book keeps the single-genre shelves, which say the same more precisely.
var shelfStop = map[string]bool{
	"default": true, "maybe": true, "books": true, "book": true, "novels": true,
	"novel": true, "series": true, "english": true, "general": true, "recommended": true,
	"school": true, "for-school": true, "school-books": true, "required-reading": true,
	"arc": true, "arcs": true, "calibre": true, "netgalley": true, "abandoned": true,
	"reviewed": true, "first-in-series": true, "part-of-a-series": true,
	"stand-alone": true, "standalone": true, "bought": true, "adult": true, "other": true,
	"cover-love": true, "sword-and-laser": true, "gilmore-girls": true,
	"fantasy-sci-fi": true, "fantasy-scifi": true, "sci-fi-and-fantasy": true,
	"sci-fi-fantasy": true, "science-fiction-fantasy": true, "scifi-fantasy": true,
	"sf-fantasy": true, "sff": true,
}

// shelfNoiseWords mark a shelf as noise when they are one of its
// hyphen-separated words: "books-i-own", "never-finished", "tbr-pile".
var shelfNoiseWords = map[string]bool{
	"audible": true, "audio": true, "audiobook": true, "audiobooks": true,
	"borrowed": true, "buy": true, "currently": true, "ebook": true, "ebooks": true,
	"fav": true, "faves": true, "favs": true, "finish": true, "finished": true,
	"giveaway": true, "giveaways": true, "goodreads": true, "hardcover": true,
	"have": true, "hold": true, "kindle": true, "listened": true, "nook": true,
	"own": true, "owned": true, "paperback": true, "read": true, "reading": true,
	"reads": true, "reread": true, "shelfari": true, "tbr": true,
	"unfinished": true, "unread": true,
}

// shelfNoise matches the other personal shelves: reading state ("to-read",
// "currently-reading", "dnf", "re-read"), ownership and format ("owned-books",
// "kindle", "ebook", "audiobook", "library"), favourites, wish lists, book
// clubs and reading lists ("rory-gilmore-challenge", "oprah"), years and
// challenges ("read-in-2015", "2016-reads", "1001-books", "top-100"), star
// ratings ("5-stars"), names without a letter ("-", "--1-") and names outside
// a-z, 0-9 and "-", which are mostly translations of an English shelf
// ("clàssics", "fantasía") or carry stray characters.
var shelfNoise = regexp.MustCompile(`to-read|currently|re-?read|dnf|did-not|didn-t|couldn-t|gave-up|` +
	`(^|-)own(ed|-it)?($|-)|books-i|(^|-)my-|kindle|(^|-)e-?books?($|-)|audio|audible|librar|shelf|` +
	`favou?rite|^fav|wish-?list|to-buy|need-to|want-to|to-be-read|book-?club|book-group|^rory-gilmore|^oprah|` +
	`\d{4}|(^|-)\d+(-|$)|(^|-)(\d|one|two|three|four|five)-?stars?$|^read-|-reads?$|^\PL*$|[^a-z0-9-]`)

func isShelfNoise(name string) bool {
	if name == "" || shelfStop[name] || shelfNoise.MatchString(name) {
		return true
	}
	for _, w := range strings.Split(name, "-") {
		if shelfNoiseWords[w] {
			return true
		}
	}
	return false
}

// creatorShelves holds the shelf names readers file a creator's books under:
// the whole name ("stephen-king") and the surname, alone or within a shelf
// ("king", "king-stephen", "le-guin"). They repeat Creators and would crowd
// out the tags that say what the book is about.
type creatorShelves struct {
	names    map[string]bool
	surnames map[string]bool
}

func authorShelves(creators []string) creatorShelves {
	a := creatorShelves{names: make(map[string]bool), surnames: make(map[string]bool)}
	for _, c := range creators {
		words := strings.Fields(strings.ToLower(strings.NewReplacer(".", " ", "'", "").Replace(c)))
		if len(words) == 0 {
			continue
		}
		a.names[strings.Join(words, "-")] = true
		surname := words[len(words)-1]
		if len(words) > 1 && (surname == "jr" || surname == "sr" || surname == "iii") {
			surname = words[len(words)-2] // "Kurt Vonnegut Jr."
		}
		// A short surname ("Ng") would match too many other shelves.
		if len(surname) >= 3 {
			a.surnames[surname] = true
		}
	}
	return a
}

func (a creatorShelves) match(shelf string) bool {
	if a.names[shelf] {
		return true
	}
	for _, w := range strings.Split(shelf, "-") {
		if a.surnames[w] {
			return true
		}
	}
	return false
}

// bookGenre maps the shelves that name a genre to the catalog's genre names.
// Where a book genre matches a MovieLens genre it takes the MovieLens name
// ("Sci-Fi", "Children", "Comedy"), so that one genre filter finds books and
// movies alike.
var bookGenre = map[string]string{
	"action": "Action", "adventure": "Adventure",
	"children": "Children", "picture-books": "Children", "middle-grade": "Children",
	"humor": "Comedy", "comedy": "Comedy",
	"crime": "Crime", "crime-fiction": "Crime",
	"drama": "Drama", "plays": "Drama",
	"fantasy": "Fantasy", "urban-fantasy": "Fantasy", "high-fantasy": "Fantasy", "epic-fantasy": "Fantasy",
	"horror":  "Horror",
	"mystery": "Mystery",
	"romance": "Romance", "contemporary-romance": "Romance", "historical-romance": "Romance", "paranormal-romance": "Romance",
	"science-fiction": "Sci-Fi",
	"thriller":        "Thriller", "suspense": "Thriller",
	"war": "War", "western": "Western", "westerns": "Western",

	"biography": "Biography", "autobiography": "Biography", "biography-memoir": "Biography", "memoir": "Memoir",
	"business": "Business", "chick-lit": "Chick Lit", "classics": "Classics", "classic-literature": "Classics",
	"cookbooks": "Cooking", "cooking": "Cooking", "dystopian": "Dystopian", "post-apocalyptic": "Dystopian",
	"economics": "Economics", "graphic-novels": "Graphic Novels", "comics": "Graphic Novels", "manga": "Graphic Novels",
	"historical-fiction": "Historical Fiction", "historical": "Historical Fiction", "history": "History",
	"literary-fiction": "Literary Fiction", "non-fiction": "Nonfiction", "paranormal": "Paranormal",
	"philosophy": "Philosophy", "poetry": "Poetry", "politics": "Politics", "psychology": "Psychology",
	"religion": "Religion", "christian": "Religion", "science": "Science", "self-help": "Self-Help",
	"short-stories": "Short Stories", "travel": "Travel", "true-crime": "True Crime",
	"young-adult": "Young Adult", "teen": "Young Adult",
}

// A book gets at most maxGenres genres, and a genre shelf counts only when
// at least 1/minGenreShare as many users chose it as the book's top shelf, so
// that a few "fantasy" shelves do not make The Martian a fantasy novel.
const (
	maxGenres     = 4
	minGenreShare = 20
)

// bookGenres returns the genres named by the ranked shelves, most shelved
// first.
func bookGenres(ranked []string, counts map[string]int) []string {
	var genres []string
	for _, name := range ranked {
		if counts[name]*minGenreShare < counts[ranked[0]] || len(genres) == maxGenres {
			break
		}
		if g, ok := bookGenre[name]; ok && !slices.Contains(genres, g) {
			genres = append(genres, g)
		}
	}
	return genres
}
