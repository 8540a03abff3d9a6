package recs

import (
	"context"
	"fmt"
	"sync"

	lru "github.com/hashicorp/golang-lru/v2"

	"mediarec"
)

// ItemCache keeps the recently read items of an ItemStore decoded in
// memory. Every answer reads its items afresh (a renamed item shows at
// once), and a read from the store costs a query and a JSON decode per
// item: at a million items that was nearly all of the time of an answer
// given again from the answer cache. Item events applied through the
// cache drop the items they change, so it never serves an item older than
// the store held when the events were applied; a replica sharing a
// PostgreSQL read model drops them when it applies the same events from
// its own feed. Items it returns are shared: callers must not modify them.
type ItemCache struct {
	ItemStore
	lru   *lru.Cache[int64, *mediarec.Item]
	count interface{ Lookup(hits, misses int) }
	// A read fills the cache only if no event changed an item of its
	// shard while it read the store: otherwise it could put back an item
	// that an event has just replaced.
	shards [itemCacheShards]struct {
		mu  sync.Mutex
		gen uint64
	}
}

const itemCacheShards = 64

// NewItemCache returns store with a cache of up to size items in front of
// its reads, counting each read's hits and misses on count (if not nil);
// size 0 or less returns store itself.
func NewItemCache(store ItemStore, size int, count interface{ Lookup(hits, misses int) }) (ItemStore, error) {
	if size <= 0 {
		return store, nil
	}
	c, err := lru.New[int64, *mediarec.Item](size)
	if err != nil {
		return nil, fmt.Errorf("item cache: %w", err)
	}
	return &ItemCache{ItemStore: store, lru: c, count: count}, nil
}

// ApplyItemEvents applies evs to the store, then drops their items.
func (c *ItemCache) ApplyItemEvents(ctx context.Context, evs []ItemEvent) error {
	err := c.ItemStore.ApplyItemEvents(ctx, evs)
	// Dropped even when the store failed: an error that came after the
	// commit (a lost connection) leaves the store changed.
	for _, ev := range evs {
		id := ev.Event.ItemID
		sh := &c.shards[shardOf(id)]
		sh.mu.Lock()
		sh.gen++
		c.lru.Remove(id)
		sh.mu.Unlock()
	}
	return err
}

// FindItemByID returns the cached item or reads it from the store.
func (c *ItemCache) FindItemByID(ctx context.Context, id int64) (*mediarec.Item, error) {
	if it, ok := c.lru.Get(id); ok {
		c.lookup(1, 0)
		return it, nil
	}
	c.lookup(0, 1)
	gens := c.gens()
	it, err := c.ItemStore.FindItemByID(ctx, id)
	if err != nil {
		return nil, err
	}
	c.fill([]*mediarec.Item{it}, &gens)
	return it, nil
}

// FindItemsByIDs returns the cached items of ids and reads the others from
// the store.
func (c *ItemCache) FindItemsByIDs(ctx context.Context, ids []int64) ([]*mediarec.Item, error) {
	out := make([]*mediarec.Item, 0, len(ids))
	var missing []int64
	for _, id := range ids {
		if it, ok := c.lru.Get(id); ok {
			out = append(out, it)
		} else {
			missing = append(missing, id)
		}
	}
	c.lookup(len(out), len(missing))
	if len(missing) == 0 {
		return out, nil
	}
	gens := c.gens()
	read, err := c.ItemStore.FindItemsByIDs(ctx, missing)
	if err != nil {
		return nil, err
	}
	c.fill(read, &gens)
	return append(out, read...), nil
}

// gens reads the generations of the shards before a read.
func (c *ItemCache) gens() (gens [itemCacheShards]uint64) {
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.Lock()
		gens[i] = sh.gen
		sh.mu.Unlock()
	}
	return gens
}

// fill caches the items whose shard's generation is still the one read
// before they were.
func (c *ItemCache) fill(items []*mediarec.Item, gens *[itemCacheShards]uint64) {
	for _, it := range items {
		s := shardOf(it.ID)
		sh := &c.shards[s]
		sh.mu.Lock()
		if sh.gen == gens[s] {
			c.lru.Add(it.ID, it)
		}
		sh.mu.Unlock()
	}
}

func (c *ItemCache) lookup(hits, misses int) {
	if c.count != nil {
		c.count.Lookup(hits, misses)
	}
}

func shardOf(id int64) int { return int(uint64(id) % itemCacheShards) }
