package users

import (
	"context"
	"errors"
	"testing"
	"time"
)

// countingItems is a catalog whose items are those in exists; it counts the
// questions it answers.
type countingItems struct {
	exists map[int64]bool
	err    error
	asked  int
}

func (c *countingItems) ItemExists(_ context.Context, id int64) (bool, error) {
	c.asked++
	return c.exists[id], c.err
}

// lookups counts a cache's hits and misses.
type lookups struct{ hits, misses int }

func (l *lookups) Lookup(hits, misses int) { l.hits += hits; l.misses += misses }

func TestItemCache(t *testing.T) {
	ctx := context.Background()
	catalog := &countingItems{exists: map[int64]bool{1: true, 2: true}}
	now := time.Now()
	c := newItemCache(catalog, time.Minute, 100)
	c.now = func() time.Time { return now }
	counted := &lookups{}
	c.count = counted

	steps := []struct {
		name      string
		id        int64
		advance   time.Duration
		create    int64 // an item the catalog gets before the step
		delete    int64 // an item the catalog loses before the step
		want      bool
		wantAsked int
	}{
		{name: "first question asks", id: 1, want: true, wantAsked: 1},
		{name: "known item is remembered", id: 1, want: true, wantAsked: 1},
		{name: "unknown item asks", id: 3, want: false, wantAsked: 2},
		{name: "unknown item is not remembered", id: 3, create: 3, want: true, wantAsked: 3},
		{name: "deleted item is remembered until the ttl", id: 1, delete: 1, advance: 59 * time.Second, want: true, wantAsked: 3},
		{name: "after the ttl it asks again", id: 1, advance: time.Second, want: false, wantAsked: 4},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			now = now.Add(s.advance)
			if s.create != 0 {
				catalog.exists[s.create] = true
			}
			if s.delete != 0 {
				delete(catalog.exists, s.delete)
			}
			got, err := c.ItemExists(ctx, s.id)
			if err != nil || got != s.want || catalog.asked != s.wantAsked {
				t.Fatalf("ItemExists(%d) = %v, %v after %d questions; want %v after %d", s.id, got, err, catalog.asked, s.want, s.wantAsked)
			}
		})
	}

	// Every question to the catalog was a miss, every other lookup a hit.
	if counted.hits != len(steps)-catalog.asked || counted.misses != catalog.asked {
		t.Fatalf("counted %d hits and %d misses, want %d and %d", counted.hits, counted.misses, len(steps)-catalog.asked, catalog.asked)
	}

	catalog.err = errors.New("catalog away")
	if _, err := c.ItemExists(ctx, 2); err == nil {
		t.Fatal("a catalog error was not returned")
	}
}

func TestItemCacheBounded(t *testing.T) {
	catalog := &countingItems{exists: map[int64]bool{}}
	for id := range int64(1000) {
		catalog.exists[id] = true
	}
	c := newItemCache(catalog, time.Minute, 100)
	for id := range int64(1000) {
		if ok, err := c.ItemExists(context.Background(), id); !ok || err != nil {
			t.Fatalf("item %d: %v, %v", id, ok, err)
		}
		if len(c.until) > 100 {
			t.Fatalf("cache holds %d items, bound is 100", len(c.until))
		}
	}
}
