package recs

import (
	"cmp"
	"context"
	"slices"
	"sync"

	"mediarec"
	"mediarec/internal/collab"
)

// Ledger holds what every user told the users service, as its events tell
// it: each user's current judgement of every item and preferences. The
// collaborative model is fitted on it, cold starts rank by its likes, and
// it is the Tastes recommendations read, so that no request asks the users
// service. Each event carries the (user, item) pair's or the user's whole
// state, so replaying or repeating one changes nothing.
type Ledger struct {
	mu      sync.RWMutex
	judged  map[int64]map[int64]mediarec.UserFeedbackEvent // by user, then item
	prefs   map[int64]mediarec.Preferences
	likes   map[int64]int // users whose judgement of the item is positive
	ranked  []int64       // items by likes, best first; nil when stale
	version uint64        // counts the feedback changes
}

// NewLedger returns an empty ledger.
func NewLedger() *Ledger {
	return &Ledger{judged: map[int64]map[int64]mediarec.UserFeedbackEvent{}, prefs: map[int64]mediarec.Preferences{}, likes: map[int64]int{}}
}

// positive tells a like, or a rating of 4 or more.
func positive(ev mediarec.UserFeedbackEvent) bool {
	return !ev.Deleted && (ev.Kind == mediarec.FeedbackLike || ev.Kind == mediarec.FeedbackRating && ev.Rating >= 4)
}

// Observe applies one feedback event.
func (l *Ledger) Observe(ev mediarec.UserFeedbackEvent) {
	l.mu.Lock()
	defer l.mu.Unlock()
	user := l.judged[ev.UserID]
	old, had := user[ev.ItemID]
	if had && old.Deleted == ev.Deleted && old.Kind == ev.Kind && old.Rating == ev.Rating || !had && ev.Deleted {
		return
	}
	switch {
	case ev.Deleted:
		if delete(user, ev.ItemID); len(user) == 0 {
			delete(l.judged, ev.UserID)
		}
	case user == nil:
		l.judged[ev.UserID] = map[int64]mediarec.UserFeedbackEvent{ev.ItemID: ev}
	default:
		user[ev.ItemID] = ev
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

// ObservePreferences applies one preferences event.
func (l *Ledger) ObservePreferences(ev mediarec.UserPreferencesEvent) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(ev.Preferences.Tags) == 0 && len(ev.Preferences.MediaTypes) == 0 {
		delete(l.prefs, ev.UserID)
		return
	}
	l.prefs[ev.UserID] = ev.Preferences
}

// FindUserByID returns the user as the events describe them: the id and
// preferences. A user no event named yet has told nothing, which is not an
// error: their recommendations start cold.
func (l *Ledger) FindUserByID(_ context.Context, id int64) (*mediarec.User, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return &mediarec.User{ID: id, Preferences: l.prefs[id]}, nil
}

// ListFeedback returns the user's current judgements, most recent first
// (ties by item id, so that every replica lists them alike).
func (l *Ledger) ListFeedback(_ context.Context, userID int64) ([]*mediarec.Feedback, error) {
	l.mu.RLock()
	out := make([]*mediarec.Feedback, 0, len(l.judged[userID]))
	for _, ev := range l.judged[userID] {
		out = append(out, &mediarec.Feedback{UserID: ev.UserID, ItemID: ev.ItemID, Kind: ev.Kind, Rating: ev.Rating, CreatedAt: ev.OccurredAt})
	}
	l.mu.RUnlock()
	slices.SortFunc(out, func(a, b *mediarec.Feedback) int {
		return cmp.Or(b.CreatedAt.Compare(a.CreatedAt), cmp.Compare(a.ItemID, b.ItemID))
	})
	return out, nil
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
	var out []collab.Interaction
	for userID, items := range l.judged {
		for itemID, ev := range items {
			out = append(out, collab.Interaction{User: userID, Item: itemID, Weight: collab.InteractionWeight(ev.Kind, ev.Rating)})
		}
	}
	return out, l.version
}

// Ranked returns the liked items, most liked first (ties by id): the
// project's own popularity, which a cold start adds to the sources' counts
// (see Recommender.coldStart) so that it weighs more as likes accrue.
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

// Likes returns how many users' current judgement of the item is positive.
func (l *Ledger) Likes(itemID int64) int {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.likes[itemID]
}
