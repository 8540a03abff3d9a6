package ingest

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"

	"mediarec"
)

// appleID finds the numeric podcast id in an Apple Podcasts link
// (".../podcast/history-hyenas/id1352800687").
var appleID = regexp.MustCompile(`/id(\d+)`)

// readPodcasts reads the Apple Podcasts podcasts_info.json array, given as
// the file or its directory. The file is a single line, so a record's Line is
// the 1-based position of the object in the array.
//
// Apple lists a podcast under each genre it belongs to, so the same podcast
// id may appear more than once: it becomes one item with all its genres,
// reported at its first position. A repeat can come at any position, so the
// file is read twice: the first pass keeps only each id's genres and review
// count, the second passes the items on as it decodes them, so that the
// descriptions are never all in memory.
func readPodcasts(path string, fn func(Record) error) error {
	path = fileIn(path, "podcasts_info.json")
	merged := make(map[string]*podcastMerge)
	err := eachPodcast(path, func(i int, item *mediarec.Item, err error) error {
		if err != nil {
			return nil // reported in the second pass
		}
		if m, ok := merged[item.ExternalID]; ok {
			m.genres = cleanList(append(m.genres, item.Genres...))
			m.popularity = max(m.popularity, item.Popularity)
			return nil
		}
		merged[item.ExternalID] = &podcastMerge{genres: item.Genres, popularity: item.Popularity}
		return nil
	})
	if err != nil {
		return err
	}
	return eachPodcast(path, func(i int, item *mediarec.Item, err error) error {
		if err != nil {
			return fn(Record{Source: path, Line: i, Err: err})
		}
		m := merged[item.ExternalID]
		if m == nil || m.sent {
			return nil // a repeat, merged into the first
		}
		m.sent = true
		item.Genres, item.Popularity = m.genres, m.popularity
		return fn(Record{Source: path, Line: i, Item: item})
	})
}

// podcastMerge is what the repeats of a podcast id add to its first entry.
type podcastMerge struct {
	genres     []string
	popularity int64
	sent       bool
}

// eachPodcast decodes the array in path one object at a time and calls fn
// with its 1-based position and the item or the reason it is not one. An
// error from fn, or a syntax error (past which the decoder cannot find the
// next object), stops it.
func eachPodcast(path string, fn func(i int, item *mediarec.Item, err error) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	dec := json.NewDecoder(bufio.NewReader(f))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
		return fmt.Errorf("%s: want a JSON array of podcasts", path)
	}
	i := 0
	for dec.More() {
		i++
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return fmt.Errorf("%s: podcast %d: %w", path, i, err)
		}
		item, err := podcastItem(raw)
		if err := fn(i, item, err); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil {
		return fmt.Errorf("%s: after podcast %d: %w", path, i, err)
	}
	return nil
}

func podcastItem(raw json.RawMessage) (*mediarec.Item, error) {
	var p struct {
		Title       string          `json:"title"`
		Producer    string          `json:"producer"`
		Genre       string          `json:"genre"`
		Description string          `json:"description"`
		Link        string          `json:"link"`
		Reviews     json.RawMessage `json:"num_reviews"`
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, errorf("", "not a podcast object: %w", err)
	}
	m := appleID.FindStringSubmatch(p.Link)
	if m == nil {
		return nil, errorf("link", "%q has no Apple podcast id", p.Link)
	}
	// The scraper wrote "NA" into every field it could not read.
	na := func(s string) string {
		if s = strings.TrimSpace(s); s == "NA" {
			return ""
		}
		return s
	}
	title := normSpace(na(p.Title))
	if title == "" {
		return nil, errorf("title", "missing (the scrape recorded %q)", p.Title)
	}
	reviews, err := podcastReviews(p.Reviews)
	if err != nil {
		return nil, err
	}
	return &mediarec.Item{
		ExternalID:  "apple:" + m[1],
		Type:        mediarec.TypePodcast,
		Title:       title,
		Description: na(p.Description),
		Genres:      cleanList([]string{na(p.Genre)}),
		Creators:    cleanList([]string{na(p.Producer)}),
		Popularity:  reviews,
	}, nil
}

// podcastReviews reads num_reviews, the number of Apple Podcasts reviews: a
// whole number, or "NA" (or nothing) where the scrape found none, which
// counts 0.
func podcastReviews(raw json.RawMessage) (int64, error) {
	if len(raw) == 0 || string(raw) == "null" || string(raw) == `"NA"` {
		return 0, nil
	}
	var n int64
	if err := json.Unmarshal(raw, &n); err != nil || n < 0 {
		return 0, errorf("num_reviews", "%s is not a count", raw)
	}
	return n, nil
}
