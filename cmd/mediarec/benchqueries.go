package main

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"mediarec"
)

// benchQueryCount is how many distinct search queries a bench sends: enough
// that no cache of a few hundred answers or query vectors holds them all.
const benchQueryCount = 1000

// benchQuery makes one query from an item, or "" when the item lacks what
// the phrasing needs.
type benchQuery func(r *rand.Rand, it *mediarec.Item) string

// benchPhrasings are the ways users ask, each filled from a real item's
// title, tags, genres, creators or year: what a search box receives, with
// the type words the parser turns into filters.
var benchPhrasings = []benchQuery{
	func(_ *rand.Rand, it *mediarec.Item) string {
		return "something like " + plainTitle(it.Title)
	},
	func(r *rand.Rand, it *mediarec.Item) string {
		if len(it.Tags) == 0 {
			return ""
		}
		return pick(r, it.Tags) + " " + typeWord(r, it.Type)
	},
	func(r *rand.Rand, it *mediarec.Item) string {
		if it.Type != mediarec.TypeMovie || len(it.Genres) == 0 || it.Year < 1900 {
			return ""
		}
		return fmt.Sprintf("%s movies from the %s", strings.ToLower(pick(r, it.Genres)), decade(it.Year))
	},
	func(r *rand.Rand, it *mediarec.Item) string {
		topics := append(append([]string{}, it.Tags...), it.Genres...)
		if (it.Type != mediarec.TypePodcast && it.Type != mediarec.TypeDocumentary) || len(topics) == 0 {
			return ""
		}
		return fmt.Sprintf("a %s about %s", it.Type, strings.ToLower(pick(r, topics)))
	},
	func(r *rand.Rand, it *mediarec.Item) string {
		if it.Type != mediarec.TypeBook || len(it.Creators) == 0 {
			return ""
		}
		return "books by " + pick(r, it.Creators)
	},
	func(r *rand.Rand, it *mediarec.Item) string {
		if len(it.Genres) == 0 || len(it.Tags) == 0 {
			return ""
		}
		return fmt.Sprintf("%s %s with %s", strings.ToLower(pick(r, it.Genres)), typeWord(r, it.Type), pick(r, it.Tags))
	},
	func(r *rand.Rand, it *mediarec.Item) string {
		if len(it.Tags) < 2 {
			return ""
		}
		a, b := r.IntN(len(it.Tags)), r.IntN(len(it.Tags)-1)
		if b >= a {
			b++
		}
		return it.Tags[a] + " and " + it.Tags[b]
	},
}

// benchQueries returns up to n distinct queries (case-insensitive) made
// from the real items, the same for a seed. Fewer only when the items
// cannot phrase more.
func benchQueries(items []*mediarec.Item, n int, seed uint64) []string {
	if len(items) == 0 {
		return nil
	}
	r := rand.New(rand.NewPCG(seed, 0x9e7))
	seen := map[string]bool{}
	var out []string
	for attempt := 0; len(out) < n && attempt < 100*n; attempt++ {
		it := items[r.IntN(len(items))]
		q := strings.Join(strings.Fields(benchPhrasings[r.IntN(len(benchPhrasings))](r, it)), " ")
		key := strings.ToLower(q)
		if q == "" || seen[key] {
			continue
		}
		seen[key] = true
		out = append(out, q)
	}
	return out
}

func pick(r *rand.Rand, s []string) string { return s[r.IntN(len(s))] }

// typeWord names a type as users do, in a word the query parser reads as
// its filter.
func typeWord(r *rand.Rand, t mediarec.ItemType) string {
	switch t {
	case mediarec.TypeMovie:
		return pick(r, []string{"movie", "film"})
	case mediarec.TypeBook:
		return pick(r, []string{"book", "novel"})
	}
	return string(t)
}

// decade names the decade of a year as people say it: "90s", "2000s".
func decade(year int) string {
	d := year / 10 * 10
	if d < 2000 {
		return fmt.Sprintf("%02ds", d%100)
	}
	return fmt.Sprintf("%ds", d)
}

// plainTitle drops the parenthesised alternate title or series that ends
// many real titles ("The Hunger Games (The Hunger Games, #1)"): no one
// types it.
func plainTitle(t string) string {
	t = strings.TrimSpace(t)
	if i := strings.LastIndex(t, " ("); i > 0 && strings.HasSuffix(t, ")") {
		return t[:i]
	}
	return t
}
