package recs_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"mediarec"
	"mediarec/internal/recs"
)

// editedItems is the demo catalog with items the test deleted or renamed.
type editedItems struct {
	*demoWorld
	mu      sync.Mutex
	gone    map[int64]bool
	renamed map[int64]string
}

func (e *editedItems) FindItemsByIDs(ctx context.Context, ids []int64) ([]*mediarec.Item, error) {
	all, err := e.demoWorld.FindItemsByIDs(ctx, ids)
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []*mediarec.Item
	for _, it := range all {
		if e.gone[it.ID] {
			continue
		}
		if title, ok := e.renamed[it.ID]; ok {
			c := *it
			c.Title = title
			it = &c
		}
		out = append(out, it)
	}
	return out, err
}

// TestRecommendAnswerCache: an answer is given again only while the
// question, the user's tastes, the day's weights, the catalog's items and
// AnswerTTL hold; the items are read afresh each time.
func TestRecommendAnswerCache(t *testing.T) {
	w, err := loadDemo()
	if err != nil {
		t.Fatal(err)
	}
	items := &editedItems{demoWorld: w, gone: map[int64]bool{}, renamed: map[int64]string{}}
	ts := &tastes{user: mediarec.User{ID: 1}}
	lookups, paths := &counts{}, &counts{}
	r := recs.NewRecommender(recs.New(w, w.vectors, items, w.keywords), ts, recs.NewLedger(), nil, nil, nil, recs.Metrics{Answers: paths, AnswerCache: lookups})
	r.CacheAnswers(100)
	clock := time.Now()
	r.SetClock(func() time.Time { return clock })
	interstellar := w.id(t, "movie:Interstellar")
	ts.like(interstellar)
	ctx := context.Background()
	q := recs.RecommendQuery{UserID: 1, Limit: 10, Diversity: 0.3}

	var last []recs.Recommendation
	steps := []struct {
		name    string
		change  func()
		q       recs.RecommendQuery
		hit     bool
		changed bool // the answer differs from the previous one
	}{
		{name: "first answer computed", q: q},
		{name: "the same question again", q: q, hit: true},
		{name: "another variety", q: recs.RecommendQuery{UserID: 1, Limit: 10, Diversity: 0.8}, changed: true},
		{name: "back to the first, still kept", q: q, hit: true, changed: true},
		{name: "another length", q: recs.RecommendQuery{UserID: 1, Limit: 5, Diversity: 0.3}, changed: true},
		{name: "a new like", change: func() { ts.like(w.id(t, "documentary:Planet Earth")) }, q: q, changed: true},
		{name: "kept after the like", q: q, hit: true},
		{name: "new preferred types", change: func() {
			ts.mu.Lock()
			ts.user.Preferences.MediaTypes = []mediarec.ItemType{mediarec.TypeBook}
			ts.mu.Unlock()
		}, q: q, changed: true},
		{name: "a recommended item deleted", change: func() {
			items.mu.Lock()
			items.gone[last[0].Item.ID] = true
			items.mu.Unlock()
		}, q: q, changed: true},
		{name: "the liked item renamed", change: func() {
			items.mu.Lock()
			items.renamed[interstellar] = "Interstellar (director's cut)"
			items.mu.Unlock()
		}, q: q, hit: true},
		{name: "a minute later", change: func() { clock = clock.Add(time.Minute) }, q: q, hit: true},
		{name: "past the time an answer is kept", change: func() { clock = clock.Add(2 * time.Minute) }, q: q},
		{name: "the next day: the weights have aged", change: func() { clock = clock.Add(24 * time.Hour) }, q: q},
	}
	for _, st := range steps {
		if st.change != nil {
			st.change()
		}
		before := lookups.all()
		got, err := r.Recommend(ctx, st.q)
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		after := lookups.all()
		if hit := after["hits"] > before["hits"]; hit != st.hit || after["hits"]+after["misses"] != before["hits"]+before["misses"]+1 {
			t.Errorf("%s: lookups %v then %v, want hit=%v", st.name, before, after, st.hit)
		}
		if changed := last != nil && !slices.Equal(titles(got), titles(last)); changed != st.changed {
			t.Errorf("%s: answer changed=%v, want %v:\n%v\n%v", st.name, changed, st.changed, titles(last), titles(got))
		}
		for _, rec := range got {
			if items.gone[rec.Item.ID] {
				t.Errorf("%s: deleted item %d recommended", st.name, rec.Item.ID)
			}
			if rec.Reason.Kind == recs.ReasonLikedItem && rec.Reason.ItemID == interstellar && items.renamed[interstellar] != "" &&
				rec.Reason.Text != `Because you liked "Interstellar (director's cut)"` {
				t.Errorf("%s: reason %q names the old title", st.name, rec.Reason.Text)
			}
		}
		last = got
	}
	if n := paths.all(); n[recs.PathContent] != len(steps) {
		t.Errorf("answers by path %v, want all %d content, from the cache too", n, len(steps))
	}

	// An answer for another moment (an offline replay) neither reads nor
	// fills the cache.
	before := lookups.all()
	if _, err := r.Recommend(ctx, recs.RecommendQuery{UserID: 1, Limit: 10, Diversity: 0.3, At: clock.Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if after := lookups.all(); after["hits"]+after["misses"] != before["hits"]+before["misses"] {
		t.Errorf("a replayed answer looked the cache up: %v then %v", before, after)
	}
}
