package main

import (
	"cmp"
	"encoding/csv"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"mediarec"
)

// movieExtra holds hand-written additions for one movie: topical tags for
// documentaries that MovieLens users never tagged, so that a query such as
// "space documentary" can find them. Facts only, no copied text.
type movieExtra struct {
	MovieID int      `json:"movie_id"`
	Genres  []string `json:"genres"`
	Tags    []string `json:"tags"`
	Year    int      `json:"year"` // used only when the title has no year
}

// maxMovieTags caps the tags of a movie with extras, as ingest caps the
// MovieLens user tags.
const maxMovieTags = 15

// readMovies reads MovieLens with ingest and merges the extras of
// extrasPath onto its items, in movieId order.
func readMovies(dir, extrasPath string) ([]*mediarec.Item, error) {
	extras := map[string]movieExtra{}
	err := decodeLines(extrasPath, func(e movieExtra) error {
		if e.MovieID <= 0 {
			return errors.New("missing movie_id")
		}
		extras["movielens:"+strconv.Itoa(e.MovieID)] = e
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("movie extras: %w", err)
	}
	movies, err := readAll("movielens", dir)
	if err != nil {
		return nil, err
	}
	for _, it := range movies {
		if e, ok := extras[it.ExternalID]; ok {
			addExtra(it, e)
			delete(extras, it.ExternalID)
		}
	}
	if len(extras) > 0 {
		ids := slices.Sorted(maps.Keys(extras))
		return nil, fmt.Errorf("movie extras: no movie %s in %s", strings.Join(ids, ", "), dir)
	}
	return movies, nil
}

// addExtra puts the hand-written tags before the user tags: they are the
// reason the extra exists.
func addExtra(it *mediarec.Item, e movieExtra) {
	it.Genres = appendUnique(it.Genres, e.Genres...)
	it.Tags = appendUnique(slices.Clone(e.Tags), it.Tags...)
	it.Tags = it.Tags[:min(len(it.Tags), maxMovieTags)]
	if it.Year == 0 {
		it.Year = e.Year
	}
	if slices.Contains(it.Genres, "Documentary") {
		it.Type = mediarec.TypeDocumentary
	}
}

// appendUnique appends the entries of add that are not in list yet.
func appendUnique(list []string, add ...string) []string {
	for _, s := range add {
		if !slices.Contains(list, s) {
			list = append(list, s)
		}
	}
	return list
}

// readBooks reads goodbooks-10k with ingest and returns the n books with the
// most ratings, most rated first.
func readBooks(dir string, n int) ([]*mediarec.Item, error) {
	ranks, err := topRated(filepath.Join(dir, "books.csv"), n)
	if err != nil {
		return nil, err
	}
	all, err := readAll("goodbooks", dir)
	if err != nil {
		return nil, err
	}
	books := make([]*mediarec.Item, len(ranks))
	for _, it := range all {
		if i, ok := ranks[it.ExternalID]; ok {
			books[i] = it
		}
	}
	if i := slices.Index(books, nil); i >= 0 {
		return nil, fmt.Errorf("goodbooks: book %d of books.csv by ratings_count is not among the items", i+1)
	}
	return books, nil
}

// topRated returns the external ids of the n books of books.csv with the
// highest ratings_count, mapped to their rank. books.csv is ordered by the
// ratings in the data set itself, which differs from Goodreads'
// ratings_count for about one in twelve of the top books; ties keep the file
// order.
func topRated(path string, n int) (map[string]int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("%s: no header", path)
	}
	idCol, countCol := slices.Index(rows[0], "goodreads_book_id"), slices.Index(rows[0], "ratings_count")
	if idCol < 0 || countCol < 0 {
		return nil, fmt.Errorf("%s: want columns goodreads_book_id and ratings_count", path)
	}
	type book struct {
		id      string
		ratings int
	}
	var books []book
	for i, row := range rows[1:] {
		ratings, err := strconv.Atoi(row[countCol])
		if err != nil {
			return nil, fmt.Errorf("%s:%d: bad ratings_count %q", path, i+2, row[countCol])
		}
		books = append(books, book{"goodreads:" + strings.TrimSpace(row[idCol]), ratings})
	}
	slices.SortStableFunc(books, func(a, b book) int { return cmp.Compare(b.ratings, a.ratings) })
	ranks := make(map[string]int, n)
	for i, b := range books[:min(n, len(books))] {
		ranks[b.id] = i
	}
	return ranks, nil
}

// podcastGenres are the genres a demo podcast may have (Apple Podcasts
// categories).
var podcastGenres = map[string]bool{
	"Science": true, "History": true, "Technology": true, "True Crime": true,
	"Society & Culture": true, "Comedy": true, "News": true, "Business": true,
	"Arts": true, "Education": true, "Health & Fitness": true, "Sports": true,
	"TV & Film": true, "Kids & Family": true, "Nature": true,
}

// readPodcasts reads the hand-written podcasts.jsonl and checks every line.
func readPodcasts(path string) ([]*mediarec.Item, error) {
	var podcasts []*mediarec.Item
	err := decodeLines(path, func(p mediarec.Item) error {
		if err := checkPodcast(&p); err != nil {
			return err
		}
		podcasts = append(podcasts, &p)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("podcasts: %w", err)
	}
	return podcasts, nil
}

// checkPodcast enforces the shape promised in demo/README.md.
func checkPodcast(p *mediarec.Item) error {
	var errs []error
	if !strings.HasPrefix(p.ExternalID, "demo-podcast:") || len(p.ExternalID) == len("demo-podcast:") {
		errs = append(errs, fmt.Errorf("external_id %q must be demo-podcast:<slug>", p.ExternalID))
	}
	if p.Type != mediarec.TypePodcast {
		errs = append(errs, fmt.Errorf("type %q must be podcast", p.Type))
	}
	if p.Title == "" || p.Description == "" || len(p.Creators) == 0 {
		errs = append(errs, errors.New("title, description and creators are required"))
	}
	if p.Language != "en" {
		errs = append(errs, fmt.Errorf("language %q must be en", p.Language))
	}
	if len(p.Genres) < 1 || len(p.Genres) > 3 {
		errs = append(errs, fmt.Errorf("%d genres, want 1 to 3", len(p.Genres)))
	}
	for _, g := range p.Genres {
		if !podcastGenres[g] {
			errs = append(errs, fmt.Errorf("unknown genre %q", g))
		}
	}
	if len(p.Tags) < 3 || len(p.Tags) > 8 {
		errs = append(errs, fmt.Errorf("%d tags, want 3 to 8", len(p.Tags)))
	}
	if p.Year != 0 && (p.Year < 1900 || p.Year > 2030) {
		errs = append(errs, fmt.Errorf("year %d is not plausible", p.Year))
	}
	// The only review counts at hand are Apple's, which may not be
	// redistributed: the demo podcasts claim no popularity at all.
	if p.Popularity != 0 {
		errs = append(errs, fmt.Errorf("popularity %d: the demo podcasts carry no counts", p.Popularity))
	}
	return errors.Join(errs...)
}
