package recs

import (
	"cmp"
	"slices"
	"sync"

	"mediarec"
	"mediarec/internal/collab"
)

// Ledger holds every user's current judgement of every item, as the users
// service's feedback events tell them: the collaborative model is fitted on
// it, and cold starts rank by its likes. Each event carries the (user,
// item) pair's whole state, so replaying or repeating one changes nothing.
type Ledger struct {
	mu      sync.RWMutex
	judged  map[[2]int64]mediarec.UserFeedbackEvent
	likes   map[int64]int // users whose judgement of the item is positive
	ranked  []int64       // items by likes, best first; nil when stale
	version uint64        // counts the changes
}

// NewLedger returns an empty ledger.
func NewLedger() *Ledger {
	return &Ledger{judged: map[[2]int64]mediarec.UserFeedbackEvent{}, likes: map[int64]int{}}
}

// positive tells a like, or a rating of 4 or more.
func positive(ev mediarec.UserFeedbackEvent) bool {
	return !ev.Deleted && (ev.Kind == mediarec.FeedbackLike || ev.Kind == mediarec.FeedbackRating && ev.Rating >= 4)
}

// Observe applies one feedback event.
func (l *Ledger) Observe(ev mediarec.UserFeedbackEvent) {
	pair := [2]int64{ev.UserID, ev.ItemID}
	l.mu.Lock()
	defer l.mu.Unlock()
	old, had := l.judged[pair]
	if had && old.Deleted == ev.Deleted && old.Kind == ev.Kind && old.Rating == ev.Rating {
		return
	}
	if ev.Deleted {
		delete(l.judged, pair)
	} else {
		l.judged[pair] = ev
	}
	if was, is := had && positive(old), positive(ev); was != is {
		if is {
			l.likes[ev.ItemID]++
		} else if l.likes[ev.ItemID]--; l.likes[ev.ItemID] <= 0 {
			delete(l.likes, ev.ItemID)
		}
		l.ranked = nil
	}
	l.version++
}

// Version counts the changes so far: a fit remembers the version it saw.
func (l *Ledger) Version() uint64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.version
}

// Interactions returns every judgement weighed for the collaborative fit,
// and the version they are as of.
func (l *Ledger) Interactions() ([]collab.Interaction, uint64) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	out := make([]collab.Interaction, 0, len(l.judged))
	for pair, ev := range l.judged {
		out = append(out, collab.Interaction{User: pair[0], Item: pair[1], Weight: collab.InteractionWeight(ev.Kind, ev.Rating)})
	}
	return out, l.version
}

// Ranked returns the liked items, most liked first (ties by id).
func (l *Ledger) Ranked() []int64 {
	l.mu.RLock()
	ranked := l.ranked
	l.mu.RUnlock()
	if ranked != nil {
		return ranked
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ranked == nil {
		l.ranked = make([]int64, 0, len(l.likes))
		for id := range l.likes {
			l.ranked = append(l.ranked, id)
		}
		slices.SortFunc(l.ranked, func(a, b int64) int {
			return cmp.Or(cmp.Compare(l.likes[b], l.likes[a]), cmp.Compare(a, b))
		})
	}
	return l.ranked
}
