package users

import (
	"context"
	"sync"
	"time"
)

// Bounds of the item existence cache. Items are rarely deleted, so a
// positive answer stays good for a while: feedback on an item deleted in the
// last itemCacheTTL may still be taken, which costs nothing (recommendations
// only ever show items the catalog still has). A negative answer is never
// kept, because the item may be created the next moment.
const (
	itemCacheTTL  = time.Minute
	itemCacheSize = 100_000 // about 3 MB at most
)

// itemCache remembers the items that exist, so that feedback on a known item
// does not ask the catalog every time.
type itemCache struct {
	items ItemChecker
	ttl   time.Duration
	size  int
	now   func() time.Time
	count CacheCounter

	mu    sync.RWMutex
	until map[int64]time.Time // item id → when its answer must be asked again
}

func newItemCache(items ItemChecker, ttl time.Duration, size int) *itemCache {
	return &itemCache{items: items, ttl: ttl, size: size, now: time.Now, count: uncounted{}, until: make(map[int64]time.Time)}
}

// uncounted counts nothing.
type uncounted struct{}

func (uncounted) Lookup(int, int) {}

// ItemExists answers from the cache when it can, else asks the catalog.
func (c *itemCache) ItemExists(ctx context.Context, id int64) (bool, error) {
	now := c.now()
	c.mu.RLock()
	until, ok := c.until[id]
	c.mu.RUnlock()
	if ok && now.Before(until) {
		c.count.Lookup(1, 0)
		return true, nil
	}
	c.count.Lookup(0, 1)
	exists, err := c.items.ItemExists(ctx, id)
	if err != nil || !exists {
		if ok {
			c.mu.Lock()
			delete(c.until, id)
			c.mu.Unlock()
		}
		return exists, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.until) >= c.size {
		c.evict(now)
	}
	c.until[id] = now.Add(c.ttl)
	return true, nil
}

// evict drops expired entries and, if the cache is still full, arbitrary
// ones (map order is unspecified) down to three quarters of its size: a lost
// entry only costs one more question to the catalog.
func (c *itemCache) evict(now time.Time) {
	for id, until := range c.until {
		if !now.Before(until) {
			delete(c.until, id)
		}
	}
	for id := range c.until {
		if len(c.until) < c.size*3/4 {
			return
		}
		delete(c.until, id)
	}
}
