package keyword

import (
	"slices"
	"strings"

	"mediarec"
)

// Filter narrows the items a search considers.
type Filter struct {
	// Types are the media types allowed; none means all.
	Types []mediarec.ItemType
	// YearFrom and YearTo bound the item's year, both inclusive; zero
	// leaves a side open. An item without a year fails a bounded filter.
	YearFrom, YearTo int
	// Genres must all be among the item's, compared without case. A
	// genre restricts only the types that use it (see MinGenreItems):
	// "comedy" asks documentaries for the comic ones, but "history" leaves
	// documentaries alone, none of which has the genre, rather than
	// excluding them all.
	Genres []string
}

// MinGenreItems is how many items of a type must have a genre for a
// filter by that genre to restrict the type.
const MinGenreItems = 5

// onlyTypes reports whether f restricts nothing beyond the types.
func (f Filter) onlyTypes() bool {
	return f.YearFrom == 0 && f.YearTo == 0 && len(f.Genres) == 0
}

// genreKeys returns the distinct genres of an item, lowercase.
func genreKeys(genres []string) []string {
	var out []string
	for _, g := range genres {
		if g = strings.ToLower(strings.TrimSpace(g)); g != "" && !slices.Contains(out, g) {
			out = append(out, g)
		}
	}
	return out
}

// genreIDs numbers genres, counting them for typ. The caller holds the
// write lock.
func (x *Index) genreIDs(genres []string, typ uint8) []uint16 {
	if len(genres) == 0 {
		return nil
	}
	ids := make([]uint16, 0, len(genres))
	for _, g := range genres {
		id, ok := x.genres[g]
		if !ok {
			if len(x.perType) > 1<<16-1 {
				continue // more distinct genres than any catalog has: not filterable
			}
			id = uint16(len(x.perType))
			x.genres[strings.Clone(g)] = id
			x.perType = append(x.perType, [numTypeBits]int32{})
			x.genreDocs = append(x.genreDocs, [numTypeBits][]uint32{})
		}
		x.perType[id][typ]++
		ids = append(ids, id)
	}
	return ids
}

// compiledFilter is a Filter resolved against the index: the type mask and,
// per asked genre, its number and the types it restricts.
type compiledFilter struct {
	mask     uint8
	from, to int
	genres   []genreRule
}

type genreRule struct {
	id       uint16
	restrict uint8 // type mask
}

// compile resolves f; ok is false when no item can pass. The caller holds
// a read lock.
func (x *Index) compile(f Filter) (c compiledFilter, ok bool) {
	c.mask = 0xFF
	if len(f.Types) > 0 {
		c.mask = 0
		for _, t := range f.Types {
			if i := typeIndex(t); i != otherType {
				c.mask |= 1 << i
			}
		}
		if c.mask == 0 {
			return c, false
		}
	}
	c.from, c.to = f.YearFrom, f.YearTo
	for _, g := range genreKeys(f.Genres) {
		id, known := x.genres[g]
		if !known {
			continue
		}
		var r uint8
		for t, n := range x.perType[id] {
			if n >= MinGenreItems {
				r |= 1 << t
			}
		}
		if r != 0 {
			c.genres = append(c.genres, genreRule{id: id, restrict: r})
		}
	}
	return c, true
}

// passes reports whether live document d passes c, the type aside.
func (x *Index) passes(d uint32, c *compiledFilter) bool {
	st := &x.docs[d]
	if c.from != 0 || c.to != 0 {
		y := int(st.year)
		if y == 0 || c.from != 0 && y < c.from || c.to != 0 && y > c.to {
			return false
		}
	}
	for _, g := range c.genres {
		if g.restrict>>st.typ&1 != 0 && !slices.Contains(x.meta[d].genres, g.id) {
			return false
		}
	}
	return true
}

// Keep returns the IDs of ids, in order, whose items pass f; unknown IDs
// do not.
func (x *Index) Keep(ids []int64, f Filter) []int64 {
	x.mu.RLock()
	defer x.mu.RUnlock()
	c, ok := x.compile(f)
	if !ok {
		return nil
	}
	var out []int64
	for _, id := range ids {
		d, ok := x.byID[id]
		if ok && c.mask>>x.docs[d].typ&1 != 0 && x.passes(d, &c) {
			out = append(out, id)
		}
	}
	return out
}
