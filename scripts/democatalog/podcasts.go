package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"mediarec"
)

// podcastGenres are the genres a demo podcast may have (Apple Podcasts
// categories).
var podcastGenres = map[string]bool{
	"Science": true, "History": true, "Technology": true, "True Crime": true,
	"Society & Culture": true, "Comedy": true, "News": true, "Business": true,
	"Arts": true, "Education": true, "Health & Fitness": true, "Sports": true,
	"TV & Film": true, "Kids & Family": true, "Nature": true,
}

// readPodcasts reads the hand-written podcasts.jsonl and checks every line.
func readPodcasts(path string) ([]record, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open podcasts: %w", err)
	}
	defer f.Close()
	var podcasts []record
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for line := 1; sc.Scan(); line++ {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.DisallowUnknownFields()
		var p record
		if err := dec.Decode(&p); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, line, err)
		}
		if err := checkPodcast(p); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, line, err)
		}
		podcasts = append(podcasts, p)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read podcasts: %w", err)
	}
	return podcasts, nil
}

// checkPodcast enforces the shape promised in demo/README.md.
func checkPodcast(p record) error {
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
	return errors.Join(errs...)
}
