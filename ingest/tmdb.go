package ingest

import (
	"encoding/json"
	"strconv"
	"time"

	"mediarec"
)

// readTMDB reads the Kaggle "TMDB 5000" tmdb_5000_movies.csv, given as the
// file or its directory. production_companies is not read: studios are not
// the creators of a film, and the credits file with directors is not part of
// the data set.
func readTMDB(path string, fn func(Record) error) error {
	c, err := openCSV(fileIn(path, "tmdb_5000_movies.csv"), "id", "title")
	if err != nil {
		return err
	}
	defer c.Close()
	return c.each(func(row []string, line int, err error) error {
		rec := Record{Source: c.path, Line: line, Err: err}
		if err == nil {
			rec.Item, rec.Err = tmdbItem(c, row)
		}
		return fn(rec)
	})
}

func tmdbItem(c *csvFile, row []string) (*mediarec.Item, error) {
	id, err := strconv.Atoi(c.get(row, "id"))
	if err != nil || id <= 0 {
		return nil, errorf("id", "%q is not a TMDB id", c.get(row, "id"))
	}
	title := normSpace(c.get(row, "title"))
	if title == "" {
		return nil, errorf("title", "empty")
	}
	genres, err := tmdbNames(c, row, "genres")
	if err != nil {
		return nil, err
	}
	keywords, err := tmdbNames(c, row, "keywords")
	if err != nil {
		return nil, err
	}
	item := &mediarec.Item{
		ExternalID:  "tmdb:" + strconv.Itoa(id),
		Type:        mediarec.TypeMovie,
		Title:       title,
		Description: c.get(row, "overview"),
		Genres:      genres,
		Tags:        keywords,
		Language:    c.get(row, "original_language"),
	}
	for _, g := range genres {
		if g == "Documentary" {
			item.Type = mediarec.TypeDocumentary
		}
	}
	if d := c.get(row, "release_date"); d != "" {
		t, err := time.Parse(time.DateOnly, d)
		if err != nil {
			return nil, errorf("release_date", "%q is not a date (YYYY-MM-DD)", d)
		}
		item.Year = t.Year()
	}
	return item, nil
}

// tmdbNames decodes a cell holding a JSON array of {"id", "name"} objects,
// the way TMDB exports genres and keywords, into the names.
func tmdbNames(c *csvFile, row []string, col string) ([]string, error) {
	cell := c.get(row, col)
	if cell == "" {
		return nil, nil
	}
	var objs []struct {
		Name string `json:"name"`
	}
	if err := json.Unmarshal([]byte(cell), &objs); err != nil {
		return nil, errorf(col, "not a JSON array of {id, name}: %w", err)
	}
	names := make([]string, 0, len(objs))
	for _, o := range objs {
		names = append(names, o.Name)
	}
	return cleanList(names), nil
}
