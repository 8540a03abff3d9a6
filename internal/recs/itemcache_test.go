package recs_test

import (
	"context"
	"sync"
	"testing"

	"mediarec"
	"mediarec/internal/recs"
)

// mapStore is an item store in a map that counts its reads and can apply
// an event in the middle of one, after it has taken the items it returns.
type mapStore struct {
	mu     sync.Mutex
	items  map[int64]mediarec.Item
	reads  int
	during func()
}

func (s *mapStore) ApplyItemEvents(_ context.Context, evs []recs.ItemEvent) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ev := range evs {
		if ev.Event.Deleted {
			delete(s.items, ev.Event.ItemID)
		} else {
			s.items[ev.Event.ItemID] = *ev.Event.Item
		}
	}
	return nil
}

func (s *mapStore) FindItemByID(ctx context.Context, id int64) (*mediarec.Item, error) {
	found, err := s.FindItemsByIDs(ctx, []int64{id})
	if err != nil || len(found) == 0 {
		return nil, mediarec.Errorf(mediarec.ENOTFOUND, "Item %d not found.", id)
	}
	return found[0], nil
}

func (s *mapStore) FindItemsByIDs(_ context.Context, ids []int64) ([]*mediarec.Item, error) {
	s.mu.Lock()
	s.reads++
	var out []*mediarec.Item
	for _, id := range ids {
		if it, ok := s.items[id]; ok {
			out = append(out, &it)
		}
	}
	during := s.during
	s.during = nil
	s.mu.Unlock()
	if during != nil {
		during()
	}
	return out, nil
}

func (s *mapStore) FindPopularItems(context.Context, []mediarec.ItemType, int) ([]*mediarec.Item, error) {
	return nil, nil
}

// TestItemCache: a second read of an item is served from memory; an event
// applied through the cache drops the item, also when it lands while a
// read of the old item is under way (the old item must not be kept); a
// deleted item is not found.
func TestItemCache(t *testing.T) {
	ctx := context.Background()
	store := &mapStore{items: map[int64]mediarec.Item{
		1: {ID: 1, Type: mediarec.TypeMovie, Title: "Old"},
		2: {ID: 2, Type: mediarec.TypeBook, Title: "Two"},
	}}
	cache, err := recs.NewItemCache(store, 10, nil)
	if err != nil {
		t.Fatal(err)
	}
	rename := func(id int64, title string) {
		t.Helper()
		ev := recs.ItemEvent{Seq: 1, Event: mediarec.CatalogItemEvent{ItemID: id, Item: &mediarec.Item{ID: id, Type: mediarec.TypeMovie, Title: title}}}
		if err := cache.ApplyItemEvents(ctx, []recs.ItemEvent{ev}); err != nil {
			t.Fatal(err)
		}
	}
	title := func(id int64) string {
		t.Helper()
		it, err := cache.FindItemByID(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return it.Title
	}
	titles := func(ids ...int64) map[int64]string {
		t.Helper()
		found, err := cache.FindItemsByIDs(ctx, ids)
		if err != nil {
			t.Fatal(err)
		}
		out := map[int64]string{}
		for _, it := range found {
			out[it.ID] = it.Title
		}
		return out
	}
	reads := func() int {
		store.mu.Lock()
		defer store.mu.Unlock()
		return store.reads
	}

	store.during = func() { rename(1, "New") } // lands after the read took "Old"
	if got := title(1); got != "Old" {
		t.Fatalf("read under way: %q, want the item as read, %q", got, "Old")
	}
	if got := title(1); got != "New" {
		t.Fatalf("after the event: %q, want %q (the old item was kept)", got, "New")
	}
	before := reads()
	if got := titles(1, 2, 3); got[1] != "New" || got[2] != "Two" || len(got) != 2 {
		t.Fatalf("FindItemsByIDs(1, 2, 3) = %v", got)
	}
	if got := titles(1, 2); got[1] != "New" || got[2] != "Two" || reads() != before+1 {
		t.Fatalf("FindItemsByIDs(1, 2) = %v after %d store reads, want both from the cache (1 read)", got, reads()-before)
	}

	rename(2, "Renamed")
	if got := titles(2); got[2] != "Renamed" {
		t.Fatalf("after its event, item 2 = %q, want %q", got[2], "Renamed")
	}

	del := recs.ItemEvent{Seq: 2, Event: mediarec.CatalogItemEvent{ItemID: 1, Deleted: true}}
	if err := cache.ApplyItemEvents(ctx, []recs.ItemEvent{del}); err != nil {
		t.Fatal(err)
	}
	if _, err := cache.FindItemByID(ctx, 1); mediarec.ErrorCode(err) != mediarec.ENOTFOUND {
		t.Fatalf("deleted item: %v, want not found", err)
	}
	if got := titles(1, 2); len(got) != 1 {
		t.Fatalf("FindItemsByIDs after a delete = %v", got)
	}
}
