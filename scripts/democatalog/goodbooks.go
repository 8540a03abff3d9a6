package main

import (
	"fmt"
	"math"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"mediarec"
)

// maxBookTags caps the shelves kept per book.
const maxBookTags = 12

// shelfNoise lists Goodreads shelves that describe the reader, not the book.
// Mixed-genre shelves such as "sci-fi-fantasy" are dropped too: the book
// keeps the single-genre shelves, which say the same more precisely.
var shelfNoise = map[string]bool{
	"abandoned": true, "adult": true, "book": true, "books": true, "default": true,
	"did-not-finish": true, "dnf": true, "english": true, "for-school": true,
	"general": true, "maybe": true, "novel": true, "novels": true,
	"required-reading": true, "school-books": true, "series": true,
	"stand-alone": true, "standalone": true, "sword-and-laser": true,
	"to-buy": true, "wish-list": true, "wishlist": true, "cover-love": true,
	"first-in-series": true, "gilmore-girls": true, "netgalley": true,
	"other": true, "recommended": true, "reviewed": true,
	"fantasy-sci-fi": true, "fantasy-scifi": true, "sci-fi-and-fantasy": true,
	"sci-fi-fantasy": true, "science-fiction-fantasy": true, "scifi-fantasy": true,
	"sf-fantasy": true, "sff": true,
}

// shelfSynonyms merge spellings of the same shelf, so that one idea does not
// take several of the book's few tags.
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
	"ww2": "wwii", "world-war-ii": "wwii", "pulitzer-prize": "pulitzer",
	"american-lit": "american-literature", "russian-lit": "russian-literature",
	"lgbtq": "lgbt", "legal-thrillers": "legal-thriller",
	"the-wheel-of-time": "wheel-of-time", "wot": "wheel-of-time",
	"the-dresden-files": "dresden-files", "dresden": "dresden-files",
	"stephanie-plum-series": "stephanie-plum",
}

// shelfNoiseWords mark a shelf as noise when they appear as one of its
// hyphen-separated words: "books-i-own", "read-in-2015", "all-time-favorites".
var shelfNoiseWords = map[string]bool{
	"audible": true, "audio": true, "audiobook": true, "audiobooks": true,
	"borrowed": true, "buy": true, "currently": true, "ebook": true, "ebooks": true,
	"fav": true, "faves": true, "favs": true, "favorite": true, "favorites": true,
	"favourite": true, "favourites": true, "finish": true, "finished": true,
	"giveaway": true, "giveaways": true, "goodreads": true, "hardcover": true,
	"have": true, "hold": true, "kindle": true, "library": true, "listened": true, "nook": true,
	"own": true, "owned": true, "paperback": true, "read": true, "reading": true,
	"reads": true, "reread": true, "shelf": true, "shelfari": true, "tbr": true,
	"unfinished": true, "unread": true,
}

// shelfNoisePattern catches the remaining reader-centred shelves: personal
// collections, reading clubs and challenges, any shelf holding a number such
// as a year or a rating ("2015-reads", "5-stars", "1001-books"), and shelves
// outside a-z, 0-9 and "-", mostly non-English duplicates such as "clàssics".
var shelfNoisePattern = regexp.MustCompile(
	`^(my-|e-book|re-read|rory-gilmore|oprah)|book-?club|book-group|(^|-)[0-9]+(-|$)|[^a-z0-9-]`)

// bookGenres maps shelves (after shelfSynonyms) to the genre names used by
// the catalog, which follow MovieLens where the two overlap ("Sci-Fi",
// "Children", "Comedy").
var bookGenres = map[string]string{
	"fantasy": "Fantasy", "science-fiction": "Sci-Fi", "mystery": "Mystery",
	"thriller": "Thriller", "romance": "Romance", "horror": "Horror",
	"historical-fiction": "Historical Fiction", "non-fiction": "Nonfiction",
	"biography": "Biography", "autobiography": "Biography", "memoir": "Memoir",
	"history": "History", "classics": "Classics", "young-adult": "Young Adult",
	"poetry": "Poetry", "philosophy": "Philosophy", "science": "Science",
	"self-help": "Self-Help", "graphic-novels": "Graphic Novels",
	"comics": "Graphic Novels", "humor": "Comedy", "comedy": "Comedy",
	"crime": "Crime", "true-crime": "True Crime", "children": "Children",
	"middle-grade": "Middle Grade", "dystopian": "Dystopian",
	"psychology": "Psychology", "business": "Business", "economics": "Economics",
	"politics": "Politics", "religion": "Religion", "travel": "Travel",
	"short-stories": "Short Stories", "paranormal": "Paranormal",
	"literary-fiction": "Literary Fiction", "war": "War", "adventure": "Adventure",
	"western": "Western", "chick-lit": "Chick Lit", "plays": "Drama",
}

// maxBookGenres caps the genres per book; a genre shelf counts only when at
// least 1/minGenreShare as many readers chose it as the book's top shelf, so
// that a few "fantasy" shelves do not make The Martian a fantasy novel.
const (
	maxBookGenres = 4
	minGenreShare = 20
)

// languageCodes turns the ISO 639-2 codes of goodbooks-10k into the shorter
// BCP 47 tags used elsewhere in the catalog ("en" for podcasts).
var languageCodes = map[string]string{
	"eng": "en", "spa": "es", "fre": "fr", "ger": "de", "ara": "ar", "ita": "it",
	"por": "pt", "jpn": "ja", "swe": "sv", "dan": "da", "rus": "ru", "per": "fa",
	"ind": "id", "pol": "pl", "tur": "tr", "vie": "vi", "fil": "fil",
}

// book is one row of books.csv.
type book struct {
	id, goodreadsID int
	ratings         int
	rec             record
}

// readGoodbooks returns the limit most-rated books of goodbooks-10k, most
// rated first, with their shelves as tags.
func readGoodbooks(dir string, limit int) ([]record, error) {
	rows, err := readCSV(filepath.Join(dir, "books.csv"), "book_id", "goodreads_book_id",
		"authors", "original_publication_year", "title", "language_code", "ratings_count")
	if err != nil {
		return nil, err
	}
	books := make([]book, 0, len(rows))
	for _, row := range rows {
		b, err := parseBook(row)
		if err != nil {
			return nil, fmt.Errorf("books.csv: %w", err)
		}
		books = append(books, b)
	}
	sort.Slice(books, func(i, j int) bool {
		if books[i].ratings != books[j].ratings {
			return books[i].ratings > books[j].ratings
		}
		return books[i].id < books[j].id
	})
	if len(books) > limit {
		books = books[:limit]
	}

	wanted := make(map[int]bool, len(books))
	for _, b := range books {
		wanted[b.goodreadsID] = true
	}
	shelves, err := readShelves(dir, wanted)
	if err != nil {
		return nil, err
	}
	records := make([]record, len(books))
	for i, b := range books {
		ranked, counts := rankShelves(shelves[b.goodreadsID], b.rec.Creators)
		b.rec.Tags = ranked[:min(len(ranked), maxBookTags)]
		b.rec.Genres = shelfGenres(ranked, counts)
		records[i] = b.rec
	}
	return records, nil
}

// parseBook reads the columns asked for by readGoodbooks.
func parseBook(row []string) (book, error) {
	id, err := strconv.Atoi(row[0])
	if err != nil {
		return book{}, fmt.Errorf("bad book_id %q", row[0])
	}
	goodreadsID, err := strconv.Atoi(row[1])
	if err != nil {
		return book{}, fmt.Errorf("book %d: bad goodreads_book_id %q", id, row[1])
	}
	ratings, err := strconv.Atoi(row[6])
	if err != nil {
		return book{}, fmt.Errorf("book %d: bad ratings_count %q", id, row[6])
	}
	year := 0
	if row[3] != "" {
		y, err := strconv.ParseFloat(row[3], 64) // "2008.0", "-720.0"
		if err != nil {
			return book{}, fmt.Errorf("book %d: bad original_publication_year %q", id, row[3])
		}
		year = int(math.Round(y))
	}
	var creators []string
	for _, a := range strings.Split(row[2], ",") {
		if a = cleanSpace(a); a != "" {
			creators = appendUnique(creators, a)
		}
	}
	lang := row[5]
	if code, ok := languageCodes[lang]; ok {
		lang = code
	}
	return book{id: id, goodreadsID: goodreadsID, ratings: ratings, rec: record{
		ExternalID: "goodreads:" + row[1],
		Type:       mediarec.TypeBook,
		Title:      cleanSpace(row[4]),
		Creators:   creators,
		Year:       year,
		Language:   lang,
	}}, nil
}

// readShelves returns, for each wanted Goodreads book id, the shelf names
// and how many readers put the book on each. book_tags.csv repeats a few
// (book, tag) pairs with almost equal counts, so the larger count wins; it
// also has a few negative counts, which are dropped.
func readShelves(dir string, wanted map[int]bool) (map[int]map[string]int, error) {
	tagRows, err := readCSV(filepath.Join(dir, "tags.csv"), "tag_id", "tag_name")
	if err != nil {
		return nil, err
	}
	names := make(map[string]string, len(tagRows))
	for _, row := range tagRows {
		names[row[0]] = row[1]
	}
	rows, err := readCSV(filepath.Join(dir, "book_tags.csv"), "goodreads_book_id", "tag_id", "count")
	if err != nil {
		return nil, err
	}
	shelves := map[int]map[string]int{}
	for _, row := range rows {
		id, err := strconv.Atoi(row[0])
		if err != nil {
			return nil, fmt.Errorf("book_tags.csv: bad goodreads_book_id %q", row[0])
		}
		if !wanted[id] {
			continue
		}
		n, err := strconv.Atoi(row[2])
		if err != nil {
			return nil, fmt.Errorf("book_tags.csv: bad count %q", row[2])
		}
		name, ok := names[row[1]]
		if !ok {
			return nil, fmt.Errorf("book_tags.csv: unknown tag_id %q", row[1])
		}
		if n <= 0 {
			continue
		}
		if shelves[id] == nil {
			shelves[id] = map[string]int{}
		}
		shelves[id][name] = max(shelves[id][name], n)
	}
	return shelves, nil
}

// rankShelves merges synonyms, drops reader bookkeeping and shelves named
// after the book's authors ("stephen-king", "king"), and returns the rest,
// most used first, with their merged counts.
func rankShelves(shelves map[string]int, creators []string) ([]string, map[string]int) {
	merged := map[string]int{}
	for name, n := range shelves {
		name = strings.ToLower(strings.TrimSpace(name))
		if s, ok := shelfSynonyms[name]; ok {
			name = s
		}
		if !isShelfNoise(name) && !namesCreator(name, creators) {
			merged[name] += n
		}
	}
	return rankByCount(merged, len(merged)), merged
}

// shelfGenres returns the genres of the ranked shelves that enough readers
// chose.
func shelfGenres(ranked []string, counts map[string]int) []string {
	var genres []string
	for _, name := range ranked {
		g, ok := bookGenres[name]
		if !ok || counts[name]*minGenreShare < counts[ranked[0]] {
			continue
		}
		if genres = appendUnique(genres, g); len(genres) == maxBookGenres {
			break
		}
	}
	return genres
}

// isShelfNoise reports whether a shelf name is about the reader rather than
// the book.
func isShelfNoise(name string) bool {
	if name == "" || shelfNoise[name] || shelfNoisePattern.MatchString(name) {
		return true
	}
	for _, w := range strings.Split(name, "-") {
		if shelfNoiseWords[w] {
			return true
		}
	}
	return false
}

// namesCreator reports whether a shelf name contains the surname of one of
// the creators.
func namesCreator(name string, creators []string) bool {
	words := strings.Split(name, "-")
	for _, c := range creators {
		parts := strings.Fields(strings.ToLower(c))
		if len(parts) == 0 {
			continue
		}
		surname := strings.Trim(parts[len(parts)-1], ".,'")
		if len(surname) >= 3 && slices.Contains(words, surname) {
			return true
		}
	}
	return false
}
