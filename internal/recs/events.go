package recs

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"time"

	"mediarec"
)

// Message is one event read from the bus: its subject, data, sequence
// number in its stream, and how many messages the stream holds after it
// for this reader (0: the reader is at the end, for now).
type Message struct {
	Subject string
	Data    []byte
	Seq     uint64
	Pending uint64
}

// Follower reads a stream from its oldest message on: it hands every
// message to fn, calls caughtUp once every message the stream held at the
// start was handed over, and returns when ctx ends.
type Follower func(ctx context.Context, fn func(Message), caughtUp func()) error

// KeywordIndex is the keyword index of search, which the catalog's events
// keep current.
type KeywordIndex interface {
	Keywords
	Put(items ...*mediarec.Item)
	Remove(ids ...int64)
}

// Feeds keep what the recs service knows of the other services current,
// from their events: the ledger of the users' feedback and preferences, the
// stored profiles they touch, the read model of the catalog and the
// keyword index of search. Nothing on a request path asks another service.
type Feeds struct {
	ledger   *Ledger
	profiles *Profiles // may be nil
	items    ItemStore
	keywords KeywordIndex
	log      *slog.Logger

	mu      sync.Mutex
	pending []ItemEvent // read, not yet applied
	caught  map[string]bool
}

// NewFeeds returns feeds into the ledger, the profiles (nil when not
// stored), the item store and the keyword index.
func NewFeeds(ledger *Ledger, profiles *Profiles, items ItemStore, keywords KeywordIndex, log *slog.Logger) *Feeds {
	return &Feeds{ledger: ledger, profiles: profiles, items: items, keywords: keywords, log: log, caught: map[string]bool{"users": false, "catalog": false}}
}

// FollowUsers applies the users' events until ctx ends.
func (f *Feeds) FollowUsers(ctx context.Context, follow Follower) error {
	return follow(ctx, f.userEvent, func() { f.caughtUp("users") })
}

func (f *Feeds) userEvent(m Message) {
	switch {
	case strings.HasPrefix(m.Subject, mediarec.SubjectUserFeedback+"."):
		var ev mediarec.UserFeedbackEvent
		if err := json.Unmarshal(m.Data, &ev); err != nil {
			f.log.Warn("undecodable feedback event", "subject", m.Subject, "error", err)
			return
		}
		f.ledger.Observe(ev)
		f.touch(ev.UserID)
	case strings.HasPrefix(m.Subject, mediarec.SubjectUserPreferences+"."):
		var ev mediarec.UserPreferencesEvent
		if err := json.Unmarshal(m.Data, &ev); err != nil {
			f.log.Warn("undecodable preferences event", "subject", m.Subject, "error", err)
			return
		}
		f.ledger.ObservePreferences(ev)
		f.touch(ev.UserID)
	}
}

func (f *Feeds) touch(userID int64) {
	if f.profiles != nil {
		f.profiles.Touch(userID)
	}
}

// itemBatch bounds the item events applied in one transaction.
const itemBatch = 512

// FollowCatalog applies the catalog's item events to the item store and
// the keyword index until ctx ends. Events are applied in batches, at the
// latest when the reader reaches the end of the stream; a batch the store
// refuses is tried again until it takes it, so none is lost.
func (f *Feeds) FollowCatalog(ctx context.Context, follow Follower) error {
	return follow(ctx, func(m Message) {
		var ev mediarec.CatalogItemEvent
		if err := json.Unmarshal(m.Data, &ev); err != nil || ev.ItemID == 0 || !ev.Deleted && ev.Item == nil {
			f.log.Warn("undecodable item event", "subject", m.Subject, "error", err)
		} else {
			f.pending = append(f.pending, ItemEvent{Seq: m.Seq, Event: ev})
		}
		if len(f.pending) >= itemBatch || m.Pending == 0 {
			f.apply(ctx)
		}
	}, func() { f.caughtUp("catalog") })
}

// apply stores the pending item events, retrying while the store fails.
func (f *Feeds) apply(ctx context.Context) {
	if len(f.pending) == 0 {
		return
	}
	for wait := 100 * time.Millisecond; ; wait = min(2*wait, 10*time.Second) {
		err := f.items.ApplyItemEvents(ctx, f.pending)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return
		}
		if mediarec.ErrorCode(err) == mediarec.EINVALID {
			// Retrying cannot help; the batch was checked when read, so
			// this is a bug to see in the log, not a reason to stop.
			f.log.Error("item events: store refused a batch as invalid; skipped", "events", len(f.pending), "error", err)
			f.pending = f.pending[:0]
			return
		}
		f.log.Warn("item events: store refused a batch; will retry", "events", len(f.pending), "error", err, "retry_in", wait)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
	// A batch may hold several events of one item: the last one counts.
	last := make(map[int64]mediarec.CatalogItemEvent, len(f.pending))
	for _, e := range f.pending {
		last[e.Event.ItemID] = e.Event
	}
	var put []*mediarec.Item
	var removed []int64
	for id, ev := range last {
		if ev.Deleted {
			removed = append(removed, id)
		} else {
			put = append(put, ev.Item)
		}
	}
	f.keywords.Remove(removed...)
	f.keywords.Put(put...)
	f.pending = f.pending[:0]
}

func (f *Feeds) caughtUp(feed string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.caught[feed] = true
}

// Ready reports whether both feeds have caught up with their streams: a
// replica started from nothing answers only once it knows what the others
// know.
func (f *Feeds) Ready(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for feed, ok := range f.caught {
		if !ok {
			return mediarec.Errorf(mediarec.EUNAVAILABLE, "Still reading the %s events.", feed)
		}
	}
	return nil
}
