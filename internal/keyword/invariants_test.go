package keyword

import (
	"fmt"
	"testing"

	"mediarec"
)

// checkInvariants verifies the bookkeeping that searches rely on: document
// frequencies, summed field lengths and posting counts agree with the
// postings, the ID map and the title map agree with the documents.
func checkInvariants(t *testing.T, x *Index) {
	t.Helper()
	checkLists(t, x)
	x.mu.RLock()
	defer x.mu.RUnlock()
	live, total, dead := 0, 0, 0
	var lens [numFields]int64
	var has [numFields]int
	for d, st := range x.docs {
		if !st.alive {
			continue
		}
		live++
		for f, n := range st.lens {
			lens[f] += int64(n)
			if n > 0 {
				has[f]++
			}
		}
		if got, ok := x.byID[x.meta[d].id]; !ok || got != uint32(d) {
			t.Errorf("byID[%d] = %d, %v; want %d", x.meta[d].id, got, ok, d)
		}
	}
	if live != x.live || live != len(x.byID) {
		t.Errorf("live = %d, byID %d, counted %d", x.live, len(x.byID), live)
	}
	if lens != x.total || has != x.has {
		t.Errorf("field lengths %v in %v items, counted %v in %v", x.total, x.has, lens, has)
	}
	for tm, list := range x.postings {
		df := 0
		for _, p := range list {
			total++
			if x.docs[uint32(p)].alive {
				df++
			} else {
				dead++
			}
		}
		if int32(df) != x.df[tm] {
			t.Errorf("df[%q] = %d, counted %d", x.termText[tm], x.df[tm], df)
		}
		if list != nil && x.dict[x.termText[tm]] != uint32(tm) {
			t.Errorf("dict[%q] does not point back to %d", x.termText[tm], tm)
		}
	}
	if total != x.totalPostings || dead != x.deadPostings {
		t.Errorf("postings %d (dead %d), counted %d (dead %d)", x.totalPostings, x.deadPostings, total, dead)
	}
	if 4*dead > total && dead > 0 {
		t.Errorf("%d of %d postings dead: not compacted", dead, total)
	}
	refs := 0
	for key, rs := range x.titles {
		for _, r := range rs {
			refs++
			if _, ok := x.byID[r.id]; !ok {
				t.Errorf("title %q names removed item %d", key, r.id)
			}
		}
	}
	want := 0
	for d, st := range x.docs {
		if st.alive {
			want += len(x.meta[d].titles)
		}
	}
	if refs != want {
		t.Errorf("%d title refs, want %d", refs, want)
	}
}

func TestInvariants(t *testing.T) {
	x := New()
	item := func(id int64, v int) *mediarec.Item {
		return &mediarec.Item{ID: id, Type: mediarec.ItemTypes[id%4], Title: fmt.Sprintf("Title %d (v%d)", id%50, v),
			Year: 1990 + int(id+int64(v))%7, Genres: []string{fmt.Sprintf("g%d", id%3), fmt.Sprintf("g%d", (id+int64(v))%5)},
			Description: fmt.Sprintf("word%d word%d common", id%13, (id+int64(v))%29), Tags: []string{fmt.Sprintf("tag%d", v)}}
	}
	var batch []*mediarec.Item
	for id := int64(0); id < 500; id++ {
		batch = append(batch, item(id, 0))
	}
	x.Put(batch...)
	checkInvariants(t, x)
	for round := 1; round < 8; round++ {
		var gone []int64
		for id := int64(round); id < 500; id += 4 {
			gone = append(gone, id)
		}
		x.Remove(gone...)
		checkInvariants(t, x)
		for id := int64(round); id < 500; id += 6 {
			x.Put(item(id, round))
		}
		checkInvariants(t, x)
	}
	var all []int64
	for id := int64(0); id < 500; id++ {
		all = append(all, id)
	}
	x.Remove(all...)
	checkInvariants(t, x)
	if len(x.docs) != 0 || len(x.dict) != 0 || len(x.titles) != 0 {
		t.Errorf("empty index keeps %d docs, %d terms, %d titles", len(x.docs), len(x.dict), len(x.titles))
	}
}

// checkLists verifies what Select relies on: the per-type, per-year and
// per-genre lists and counts.
func checkLists(t *testing.T, x *Index) {
	t.Helper()
	x.mu.RLock()
	defer x.mu.RUnlock()
	var typeLive [numTypeBits]int
	listed := map[[2]int]int{} // document, genre (-1: year bucket) → entries
	for typ, bs := range x.years {
		for i, b := range bs {
			if i > 0 && bs[i-1].year >= b.year {
				t.Fatalf("year buckets of type %d out of order", typ)
			}
			live := 0
			for _, d := range b.docs {
				if st := x.docs[d]; st.alive {
					live++
					listed[[2]int{int(d), -1}]++
					if int(st.typ) != typ || st.year != b.year {
						t.Errorf("document %d in bucket %d/%d", d, typ, b.year)
					}
				}
			}
			if live != int(b.live) {
				t.Errorf("bucket %d/%d counts %d, holds %d", typ, b.year, b.live, live)
			}
			typeLive[typ] += live
		}
	}
	if typeLive != x.typeLive {
		t.Errorf("typeLive = %v, counted %v", x.typeLive, typeLive)
	}
	for g, byType := range x.genreDocs {
		for typ, docs := range byType {
			live := 0
			for _, d := range docs {
				if x.docs[d].alive {
					live++
					listed[[2]int{int(d), g}]++
				}
			}
			if live != int(x.perType[g][typ]) {
				t.Errorf("genre %d type %d counts %d, lists %d", g, typ, x.perType[g][typ], live)
			}
		}
	}
	for d, st := range x.docs {
		if !st.alive {
			continue
		}
		if listed[[2]int{d, -1}] != 1 {
			t.Errorf("document %d in %d year buckets", d, listed[[2]int{d, -1}])
		}
		for _, g := range x.meta[d].genres {
			if listed[[2]int{d, int(g)}] != 1 {
				t.Errorf("document %d in %d lists of genre %d", d, listed[[2]int{d, int(g)}], g)
			}
		}
	}
}
