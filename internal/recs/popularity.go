package recs

import (
	"cmp"
	"slices"
	"sync"

	"mediarec"
)

// Popularity counts, per item, the users whose current feedback on it is
// positive (a like, or a rating of 4 or more). It is fed by the users
// service's feedback events, which carry each (user, item) pair's whole
// state, so replaying or repeating an event changes nothing.
type Popularity struct {
	mu       sync.RWMutex
	positive map[[2]int64]bool // (user, item) pairs judged positively
	counts   map[int64]int
	ranked   []int64 // items by count, best first; nil when stale
}

// NewPopularity returns an empty tracker.
func NewPopularity() *Popularity {
	return &Popularity{positive: map[[2]int64]bool{}, counts: map[int64]int{}}
}

// Observe applies one feedback event.
func (p *Popularity) Observe(ev mediarec.UserFeedbackEvent) {
	pair := [2]int64{ev.UserID, ev.ItemID}
	now := !ev.Deleted && (ev.Kind == mediarec.FeedbackLike || ev.Kind == mediarec.FeedbackRating && ev.Rating >= 4)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.positive[pair] == now {
		return
	}
	if now {
		p.positive[pair] = true
		p.counts[ev.ItemID]++
	} else {
		delete(p.positive, pair)
		if p.counts[ev.ItemID]--; p.counts[ev.ItemID] <= 0 {
			delete(p.counts, ev.ItemID)
		}
	}
	p.ranked = nil
}

// Ranked returns the liked items, most liked first (ties by id).
func (p *Popularity) Ranked() []int64 {
	p.mu.RLock()
	ranked := p.ranked
	p.mu.RUnlock()
	if ranked != nil {
		return ranked
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ranked == nil {
		p.ranked = make([]int64, 0, len(p.counts))
		for id := range p.counts {
			p.ranked = append(p.ranked, id)
		}
		slices.SortFunc(p.ranked, func(a, b int64) int {
			return cmp.Or(cmp.Compare(p.counts[b], p.counts[a]), cmp.Compare(a, b))
		})
	}
	return p.ranked
}
