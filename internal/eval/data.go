package eval

import (
	"bufio"
	"cmp"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"mediarec"
	"mediarec/ingest"
)

// Dataset is a catalog and the ratings its users gave.
type Dataset struct {
	// Items are ordered by ID, the item id of the source (movieId); a
	// rating refers to its item by index into Items.
	Items   []*mediarec.Item
	Ratings []Rating
}

// Rating is one user's rating of one item.
type Rating struct {
	User  int64
	Item  int // index into Dataset.Items
	Value float64
	Time  int64 // Unix seconds
}

// At returns the rating's time.
func (r Rating) At() time.Time { return time.Unix(r.Time, 0) }

// LoadOptions says what to join to the ratings directory.
type LoadOptions struct {
	// TMDB is the path of tmdb_5000_movies.csv (or its directory): its
	// overviews become the descriptions of the movies links.csv maps to it.
	TMDB string
}

// Load reads a ratings directory in the MovieLens ml-latest layout
// (ratings.csv, movies.csv, optional tags.csv and links.csv) or the older
// ml-100k layout (u.data and u.item).
func Load(dir string, opts LoadOptions) (*Dataset, error) {
	switch {
	case exists(filepath.Join(dir, "ratings.csv")):
		return loadLatest(dir, opts)
	case exists(filepath.Join(dir, "u.data")):
		if opts.TMDB != "" {
			return nil, fmt.Errorf("%s: the ml-100k layout has no links.csv to join TMDB through", dir)
		}
		return load100k(dir)
	}
	return nil, fmt.Errorf("%s: no ratings.csv (MovieLens ml-latest) or u.data (ml-100k)", dir)
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// loadLatest reads the ml-latest layout. Items come from the catalog reader
// of the ingest package, so that they carry the titles, genres and tags the
// service would store.
func loadLatest(dir string, opts LoadOptions) (*Dataset, error) {
	byID := make(map[int64]*mediarec.Item)
	err := ingest.Read("movielens", []string{dir}, func(rec ingest.Record) error {
		if rec.Err != nil {
			return nil // a bad row: the item is added bare if it is rated
		}
		id, err := movieLensID(rec.Item.ExternalID, "movielens:")
		if err != nil {
			return err
		}
		rec.Item.ID = id
		byID[id] = rec.Item
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read movies: %w", err)
	}
	if opts.TMDB != "" {
		if err := joinTMDB(dir, opts.TMDB, byID); err != nil {
			return nil, err
		}
	}
	var raw []rawRating
	err = eachCSV(filepath.Join(dir, "ratings.csv"), []string{"userid", "movieid", "rating", "timestamp"}, func(cell func(string) string, line int) error {
		r, err := parseRating(cell("userid"), cell("movieid"), cell("rating"), cell("timestamp"))
		if err != nil {
			return fmt.Errorf("ratings.csv line %d: %w", line, err)
		}
		raw = append(raw, r)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return newDataset(byID, raw), nil
}

func movieLensID(externalID, prefix string) (int64, error) {
	s, ok := strings.CutPrefix(externalID, prefix)
	id, err := strconv.ParseInt(s, 10, 64)
	if !ok || err != nil {
		return 0, fmt.Errorf("unexpected external id %q", externalID)
	}
	return id, nil
}

// joinTMDB sets the description of every movie that links.csv maps to a
// TMDB movie to that movie's overview.
func joinTMDB(dir, path string, byID map[int64]*mediarec.Item) error {
	tmdbToMovie := make(map[int64]int64)
	err := eachCSV(filepath.Join(dir, "links.csv"), []string{"movieid", "tmdbid"}, func(cell func(string) string, line int) error {
		movie, err1 := strconv.ParseInt(cell("movieid"), 10, 64)
		tmdb, err2 := strconv.ParseInt(cell("tmdbid"), 10, 64)
		if err1 == nil && err2 == nil { // some movies have no TMDB id
			tmdbToMovie[tmdb] = movie
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("join TMDB: %w", err)
	}
	err = ingest.Read("tmdb", []string{path}, func(rec ingest.Record) error {
		if rec.Err != nil {
			return nil
		}
		id, err := movieLensID(rec.Item.ExternalID, "tmdb:")
		if err != nil {
			return err
		}
		if it := byID[tmdbToMovie[id]]; it != nil {
			it.Description = rec.Item.Description
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("join TMDB: %w", err)
	}
	return nil
}

// eachCSV calls fn for every row of a CSV file with a header naming at
// least the required columns (case-insensitive); cell returns the trimmed
// cell of a column.
func eachCSV(path string, required []string, fn func(cell func(string) string, line int) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	r := csv.NewReader(bufio.NewReader(f))
	r.ReuseRecord = true
	r.FieldsPerRecord = -1
	header, err := r.Read()
	if err != nil {
		return fmt.Errorf("%s: read header: %w", path, err)
	}
	cols := make(map[string]int)
	for i, name := range header {
		cols[strings.ToLower(strings.TrimSpace(strings.TrimPrefix(name, "\ufeff")))] = i
	}
	for _, name := range required {
		if _, ok := cols[name]; !ok {
			return fmt.Errorf("%s: missing column %q", path, name)
		}
	}
	var row []string
	cell := func(name string) string {
		if i := cols[name]; i < len(row) {
			return strings.TrimSpace(row[i])
		}
		return ""
	}
	for {
		row, err = r.Read()
		if errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		line, _ := r.FieldPos(0)
		if err := fn(cell, line); err != nil {
			return err
		}
	}
}

type rawRating struct {
	user, item int64
	value      float64
	time       int64
}

func parseRating(user, item, value, ts string) (rawRating, error) {
	var r rawRating
	var errs [4]error
	r.user, errs[0] = strconv.ParseInt(user, 10, 64)
	r.item, errs[1] = strconv.ParseInt(item, 10, 64)
	r.value, errs[2] = strconv.ParseFloat(value, 64)
	r.time, errs[3] = strconv.ParseInt(ts, 10, 64)
	if err := errors.Join(errs[:]...); err != nil {
		return r, fmt.Errorf("bad rating: %w", err)
	}
	return r, nil
}

// newDataset orders the items by id, adds a bare movie for every rated id
// the catalog lacks, and points the ratings at the items.
func newDataset(byID map[int64]*mediarec.Item, raw []rawRating) *Dataset {
	for _, r := range raw {
		if byID[r.item] == nil {
			byID[r.item] = &mediarec.Item{ID: r.item, Type: mediarec.TypeMovie, Title: "movie " + strconv.FormatInt(r.item, 10)}
		}
	}
	ds := &Dataset{Items: make([]*mediarec.Item, 0, len(byID))}
	for _, it := range byID {
		ds.Items = append(ds.Items, it)
	}
	slices.SortFunc(ds.Items, func(a, b *mediarec.Item) int { return cmp.Compare(a.ID, b.ID) })
	index := make(map[int64]int, len(ds.Items))
	for i, it := range ds.Items {
		index[it.ID] = i
	}
	ds.Ratings = make([]Rating, len(raw))
	for i, r := range raw {
		ds.Ratings[i] = Rating{User: r.user, Item: index[r.item], Value: r.value, Time: r.time}
	}
	return ds
}

// genres100k are the genre flags of u.item, in column order.
var genres100k = []string{"unknown", "Action", "Adventure", "Animation", "Children's", "Comedy",
	"Crime", "Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery",
	"Romance", "Sci-Fi", "Thriller", "War", "Western"}

// yearSuffix matches the release year at the end of a MovieLens title.
var yearSuffix = regexp.MustCompile(`\s*\((\d{4})\)\s*$`)

// load100k reads the ml-100k layout: u.data holds "user item rating
// timestamp" separated by tabs, u.item "id|title|release date|video
// release|IMDb URL|19 genre flags" in Latin-1.
func load100k(dir string) (*Dataset, error) {
	byID := make(map[int64]*mediarec.Item)
	err := eachLine(filepath.Join(dir, "u.item"), func(line string, n int) error {
		f := strings.Split(latin1(line), "|")
		if len(f) < 5+len(genres100k) {
			return fmt.Errorf("u.item line %d: %d fields, want %d", n, len(f), 5+len(genres100k))
		}
		id, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return fmt.Errorf("u.item line %d: bad id: %w", n, err)
		}
		it := &mediarec.Item{ID: id, ExternalID: "movielens:" + f[0], Type: mediarec.TypeMovie, Title: strings.TrimSpace(f[1])}
		if m := yearSuffix.FindStringSubmatchIndex(it.Title); m != nil && m[0] > 0 {
			it.Year, _ = strconv.Atoi(it.Title[m[2]:m[3]])
			it.Title = it.Title[:m[0]]
		}
		for g, flag := range f[5 : 5+len(genres100k)] {
			if strings.TrimSpace(flag) != "1" || g == 0 {
				continue
			}
			it.Genres = append(it.Genres, genres100k[g])
			if genres100k[g] == "Documentary" {
				it.Type = mediarec.TypeDocumentary
			}
		}
		byID[id] = it
		return nil
	})
	if err != nil {
		return nil, err
	}
	var raw []rawRating
	err = eachLine(filepath.Join(dir, "u.data"), func(line string, n int) error {
		f := strings.Fields(line)
		if len(f) != 4 {
			return fmt.Errorf("u.data line %d: %d fields, want 4", n, len(f))
		}
		r, err := parseRating(f[0], f[1], f[2], f[3])
		if err != nil {
			return fmt.Errorf("u.data line %d: %w", n, err)
		}
		raw = append(raw, r)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return newDataset(byID, raw), nil
}

// eachLine calls fn for every non-blank line of a file.
func eachLine(path string, fn func(line string, n int) error) error {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s: %w", path, err)
	} else if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		if err := fn(sc.Text(), n); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// latin1 decodes ISO 8859-1, whose bytes are the first 256 code points.
func latin1(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		b.WriteRune(rune(s[i]))
	}
	return b.String()
}
