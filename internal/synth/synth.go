// Package synth builds large catalogs from the real ones: the items of the
// shared data sets (MovieLens ml-latest-small with TMDB overviews, the TMDB
// films MovieLens lacks, goodbooks-10k, Apple podcasts 2019) followed by as
// many distinct mixes of them as asked for. A mix takes a real item's type,
// year, genres and creators, a new title made from the words of real titles,
// a share of the tags of three related items and one sentence of two
// related descriptions, so that a benchmark at a million items reads texts
// that look like a catalog's and never repeat (a repeated text is a
// duplicate vector, which real catalogs rarely hold, and flatters an index).
//
// Generation is deterministic for a seed and streams: only the real catalog
// and one 64-bit hash per text and per title stay in memory.
package synth

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"

	"mediarec"
	"mediarec/ingest"
	"mediarec/internal/embed"
	"mediarec/internal/eval"
)

// The folders of the shared data directory (see its README.md).
const (
	movieLensDir = "movielens-ml-latest-small"
	tmdbDir      = "tmdb-5000-movies"
	goodbooksDir = "goodbooks-10k"
	podcastsDir  = "apple-podcasts-2019"
)

// Source is the real catalog that mixes are made from. It is read-only
// after Load, so any number of Mixers may share it.
type Source struct {
	// Items is the real catalog in reading order: MovieLens (the order of
	// MovieLens.Items), the TMDB films MovieLens lacks, goodbooks, podcasts.
	// Callers must not modify them.
	Items []*mediarec.Item
	// MovieLens is ml-latest-small with its ratings; its Items are the first
	// len(MovieLens.Items) of Items, and its ratings refer to them by index.
	MovieLens *eval.Dataset

	byTypeGenre map[string][]int
	byType      map[mediarec.ItemType][]int
	sentences   [][]string // of each item's description
	words       [][]string // of each item's title, without its parentheses
	textHashes  []uint64   // of each item's embed.ItemText
	titleHashes []uint64   // of each item's title, case folded
}

// Load reads the real catalog from dir, the shared data directory holding
// the four data sets in their folders (../shared/data seen from the module
// root).
func Load(dir string) (*Source, error) {
	ml := filepath.Join(dir, movieLensDir)
	tmdb := filepath.Join(dir, tmdbDir, "tmdb_5000_movies.csv")
	ds, err := eval.Load(ml, eval.LoadOptions{TMDB: tmdb})
	if err != nil {
		return nil, fmt.Errorf("synth: %w", err)
	}
	s := &Source{MovieLens: ds}
	s.Items = append(s.Items, ds.Items...)
	titles := map[string]bool{}
	for _, it := range ds.Items {
		titles[TitleKey(it.Title)] = true
	}
	read := func(format, path string, keep func(*mediarec.Item) bool) error {
		err := ingest.Read(format, []string{path}, func(r ingest.Record) error {
			if r.Err == nil && keep(r.Item) {
				s.Items = append(s.Items, r.Item)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("synth: read %s: %w", path, err)
		}
		return nil
	}
	all := func(*mediarec.Item) bool { return true }
	// TMDB films MovieLens has are already there, with the overview.
	if err := read("tmdb", tmdb, func(it *mediarec.Item) bool { return !titles[TitleKey(it.Title)] }); err != nil {
		return nil, err
	}
	if err := read("goodbooks", filepath.Join(dir, goodbooksDir), all); err != nil {
		return nil, err
	}
	if err := read("podcasts", filepath.Join(dir, podcastsDir), all); err != nil {
		return nil, err
	}
	s.index()
	return s, nil
}

func (s *Source) index() {
	s.byTypeGenre = map[string][]int{}
	s.byType = map[mediarec.ItemType][]int{}
	n := len(s.Items)
	s.sentences = make([][]string, n)
	s.words = make([][]string, n)
	s.textHashes = make([]uint64, n)
	s.titleHashes = make([]uint64, n)
	for i, it := range s.Items {
		s.byType[it.Type] = append(s.byType[it.Type], i)
		for _, g := range it.Genres {
			k := string(it.Type) + "/" + g
			s.byTypeGenre[k] = append(s.byTypeGenre[k], i)
		}
		s.sentences[i] = Sentences(it.Description)
		s.words[i] = strings.Fields(bareTitle(it.Title))
		s.textHashes[i] = hashString(embed.ItemText(it))
		s.titleHashes[i] = titleHash(it.Title)
	}
}

// TypeShares returns the share of each type among the real items.
func (s *Source) TypeShares() map[mediarec.ItemType]float64 {
	out := map[mediarec.ItemType]float64{}
	for t, idx := range s.byType {
		out[t] = float64(len(idx)) / float64(len(s.Items))
	}
	return out
}

// Related returns n items (with repeats) of the same type as item i that
// share one of its genres, or any items of its type when it has no genre
// or is alone in it.
func (s *Source) Related(rng *rand.Rand, i, n int) []int {
	it := s.Items[i]
	var pool []int
	if len(it.Genres) > 0 {
		pool = s.byTypeGenre[string(it.Type)+"/"+it.Genres[rng.IntN(len(it.Genres))]]
	}
	if len(pool) <= 1 {
		pool = s.byType[it.Type]
	}
	out := make([]int, 0, n)
	for range n {
		out = append(out, pool[rng.IntN(len(pool))])
	}
	return out
}

// Sentences splits a description into its sentences of more than 20
// characters, each ending with its stop, so that sentences of different
// descriptions join into a readable one.
func Sentences(d string) []string {
	var out []string
	for s := range strings.SplitSeq(d, ". ") {
		if s = strings.TrimSpace(s); len(s) > 20 {
			if !strings.ContainsAny(s[len(s)-1:], ".!?\"'") {
				s += "."
			}
			out = append(out, s)
		}
	}
	return out
}

// TitleKey is a title without case and punctuation and without a year in
// parentheses at its end: the key that matches a TMDB film to its
// MovieLens entry.
func TitleKey(t string) string {
	if i := strings.LastIndex(t, " ("); i > 0 {
		t = t[:i]
	}
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		if r >= 'A' && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return -1
	}, t)
}

// bareTitle drops the parentheses that end a title: the alternate titles
// of MovieLens ("Shanghai Triad (Yao a yao yao dao waipo qiao)") and the
// series of goodbooks ("The Hunger Games (The Hunger Games, #1)").
func bareTitle(t string) string {
	t = strings.TrimSpace(t)
	for strings.HasSuffix(t, ")") {
		i := strings.LastIndex(t, " (")
		if i <= 0 {
			break
		}
		t = strings.TrimSpace(t[:i])
	}
	return t
}

// hashString is FNV-1a, 64 bits, without the copy hash/fnv's Write needs.
func hashString(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

func titleHash(t string) uint64 { return hashString(strings.ToLower(strings.TrimSpace(t))) }
