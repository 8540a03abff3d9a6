package recs

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"log/slog"
	"math"
	"sync"
	"time"

	"mediarec"
	"mediarec/internal/embed"
)

// ProfileCollection names the collection of the profiles built on the
// content collection coll: a profile lives in the space of the items it was
// built from, so each generation has its own.
func ProfileCollection(coll string) string { return "profiles_" + coll }

// Profiles keeps every user's profile vector in the vector store, beside
// the items, so that any replica reads the same profile. The users' events
// say whose profile to refresh (Touch); KeepProfiles refreshes them. Each
// stored profile carries the version of what it was computed from
// (profileVersion), and a recommendation uses it only when that is still
// the user's current feedback and tags: until the event of a new like has
// been followed, the request computes the profile itself, so a like
// changes the very next answer.
type Profiles struct {
	store VectorStore // the items' store
	log   *slog.Logger

	mu      sync.Mutex
	pending map[int64]bool // touched since the last refresh
	known   map[int64]bool // every user an event named: a new generation or day refreshes them all
	wake    chan struct{}
}

// NewProfiles returns profiles kept in store.
func NewProfiles(store VectorStore, log *slog.Logger) *Profiles {
	return &Profiles{store: store, log: log, pending: map[int64]bool{}, known: map[int64]bool{}, wake: make(chan struct{}, 1)}
}

// Touch asks for the refresh of a user whose feedback or preferences
// changed. It never blocks: the event follower calls it.
func (ps *Profiles) Touch(userID int64) {
	ps.mu.Lock()
	ps.pending[userID], ps.known[userID] = true, true
	ps.mu.Unlock()
	select {
	case ps.wake <- struct{}{}:
	default:
	}
}

// later queues a user whose refresh failed for the next wake, without
// waking: a store that is down is not retried in a tight loop.
func (ps *Profiles) later(userID int64) {
	ps.mu.Lock()
	ps.pending[userID] = true
	ps.mu.Unlock()
}

// take returns the users to refresh: the touched ones, or all the known
// ones.
func (ps *Profiles) take(all bool) []int64 {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	from := ps.pending
	if all {
		from = ps.known
	}
	out := make([]int64, 0, len(from))
	for id := range from {
		out = append(out, id)
	}
	clear(ps.pending)
	return out
}

// stored returns the user's stored profile if it was computed from version
// in coll, or nil.
func (ps *Profiles) stored(ctx context.Context, coll string, userID int64, version string) []float32 {
	if ps == nil {
		return nil
	}
	pts, err := ps.store.Get(ctx, ProfileCollection(coll), []int64{userID})
	if err != nil || len(pts) == 0 || pts[0].Payload.Version != version {
		// A generation whose profile collection does not exist yet reads as
		// not found: the request computes the profile.
		return nil
	}
	return pts[0].Vector
}

// profileCheck is how often KeepProfiles looks for a new generation or a
// new day when no event wakes it.
const profileCheck = 5 * time.Second

// KeepProfiles refreshes the stored profiles of touched users until ctx
// ends. When the live content generation changes, it builds the new
// generation's collection for every known user and drops the previous one;
// when the day changes, it refreshes every known user, whose judgements
// have aged (see profileVersion).
func (r *Recommender) KeepProfiles(ctx context.Context) error {
	ps := r.profiles
	tick := time.NewTicker(profileCheck)
	defer tick.Stop()
	var coll, day string // the generation and the day every known user is current in
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-ps.wake:
		case <-tick.C:
		}
		e, live, err := r.live.Live(ctx)
		if err != nil {
			ps.log.Warn("profiles: live generation", "error", err)
			continue
		}
		today := r.now().UTC().Format(time.DateOnly)
		if live != coll {
			err := ps.store.CreateCollection(ctx, ProfileCollection(live), e.Dimensions())
			if err != nil && mediarec.ErrorCode(err) != mediarec.ECONFLICT {
				ps.log.Error("profiles: create collection", "collection", ProfileCollection(live), "error", err)
				continue
			}
		}
		all := live != coll || today != day
		failed := 0
		for _, id := range ps.take(all) {
			if err := r.refreshProfile(ctx, e, live, id); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				failed++
				ps.later(id)
				ps.log.Warn("profiles: refresh", "user", id, "error", err)
			}
		}
		if !all || failed > 0 {
			continue // failed users are tried again at the next wake, a failed full pass too
		}
		if coll != "" && coll != live {
			if err := ps.store.DeleteCollection(ctx, ProfileCollection(coll)); err != nil && mediarec.ErrorCode(err) != mediarec.ENOTFOUND {
				ps.log.Warn("profiles: drop the previous collection", "collection", ProfileCollection(coll), "error", err)
			}
		}
		coll, day = live, today
	}
}

// refreshProfile stores the user's profile in the content collection coll,
// unless the stored one is current. A deleted account's profile is deleted
// too, and so is the profile of a user left with nothing to build one from
// (no feedback, no tags), whose recommendations start cold.
func (r *Recommender) refreshProfile(ctx context.Context, e embed.Embedder, coll string, userID int64) error {
	forget := func() error { return r.profiles.store.Delete(ctx, ProfileCollection(coll), []int64{userID}) }
	user, err := r.tastes.FindUserByID(ctx, userID)
	if mediarec.ErrorCode(err) == mediarec.ENOTFOUND {
		return forget()
	} else if err != nil {
		return err
	}
	feedback, err := r.tastes.ListFeedback(ctx, userID)
	if err != nil {
		return fmt.Errorf("feedback of user %d: %w", userID, err)
	}
	now := r.now()
	version := profileVersion(coll, feedback, user.Preferences.Tags, now)
	if r.profiles.stored(ctx, coll, userID, version) != nil {
		return nil
	}
	p, err := r.profile(ctx, e, coll, userID, feedback, user.Preferences.Tags, "", now)
	if err != nil {
		return err
	}
	if p.vector == nil {
		return forget()
	}
	pt := mediarec.VectorPoint{ID: userID, Vector: p.vector, Payload: mediarec.VectorPayload{Version: version}}
	if err := r.profiles.store.Upsert(ctx, ProfileCollection(coll), []mediarec.VectorPoint{pt}); err != nil {
		return err
	}
	r.profiles.log.Debug("profile stored", "user", userID, "version", version)
	return nil
}

// profileVersion identifies what a profile is computed from: the content
// collection, the feedback, the tags, and the day, since the weights decay
// with the judgements' age (by 0.2% a day).
func profileVersion(coll string, feedback []*mediarec.Feedback, tags []string, now time.Time) string {
	h := fnv.New64a()
	var b []byte
	str := func(s string) { b = append(binary.AppendUvarint(b, uint64(len(s))), s...) }
	str(coll)
	str(now.UTC().Format(time.DateOnly))
	b = binary.AppendUvarint(b, uint64(len(tags)))
	for _, t := range tags {
		str(t)
	}
	for _, f := range feedback {
		b = binary.AppendVarint(b, f.ItemID)
		str(string(f.Kind))
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(f.Rating))
		b = binary.AppendVarint(b, f.CreatedAt.UnixMicro())
	}
	h.Write(b)
	return fmt.Sprintf("%016x", h.Sum64())
}
