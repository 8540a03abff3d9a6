package recs_test

import (
	"context"
	"log/slog"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"mediarec"
	"mediarec/internal/recs"
)

// TestStoredProfiles follows a profile through the vector store: a touched
// user's profile is stored (retried when the users service fails) with the
// version of what it was built from,
// recommendations read it while that version is current, and ignore it as
// soon as the user's feedback moves on or a day passes, until the next
// refresh, which also removes a profile left with nothing to build it from.
func TestStoredProfiles(t *testing.T) {
	plain, w, ts := newRecommender(t)
	profiles := recs.NewProfiles(w.vectors, slog.New(slog.DiscardHandler))
	r := recs.NewRecommender(plain.Service, ts, recs.NewLedger(), nil, profiles, nil, recs.Metrics{})
	var days atomic.Int64
	clock := func() time.Time { return time.Now().AddDate(0, 0, int(days.Load())) }
	r.SetClock(clock)
	plain.SetClock(clock)
	ctx, cancel := context.WithCancel(context.Background())
	kept := make(chan error, 1)
	go func() { kept <- r.KeepProfiles(ctx) }()
	coll := recs.ProfileCollection(demoCollection)
	t.Cleanup(func() {
		cancel()
		if err := <-kept; err != nil {
			t.Error(err)
		}
		if err := w.vectors.DeleteCollection(context.Background(), coll); err != nil {
			t.Error(err)
		}
	})

	storedVersion := func() string {
		pts, err := w.vectors.Get(ctx, coll, []int64{1})
		if err != nil || len(pts) == 0 {
			return ""
		}
		return pts[0].Payload.Version
	}
	waitVersion := func(not string) string {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
			if v := storedVersion(); v != "" && v != not {
				return v
			}
		}
		t.Fatalf("no profile stored for the user (other than version %q)", not)
		return ""
	}
	q := recs.RecommendQuery{UserID: 1, Limit: 10, Diversity: 0.3}
	recommend := func(r *recs.Recommender) []string {
		t.Helper()
		got, err := r.Recommend(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		return titles(got)
	}

	ts.like(w.id(t, "movie:Interstellar"), w.id(t, "movie:2001: A Space Odyssey"), w.id(t, "movie:Apollo 13"))
	profiles.Touch(1)
	v1 := waitVersion("")
	if got, want := recommend(r), recommend(plain); !slices.Equal(got, want) {
		t.Fatalf("from the stored profile %v, computed %v", got, want)
	}

	// The stored vector is what ranks: under the current version, a
	// romance's vector in its place turns the answer around.
	romance, err := w.vectors.Get(ctx, demoCollection, []int64{w.id(t, "movie:Notting Hill")})
	if err != nil || len(romance) != 1 {
		t.Fatalf("romance vector: %v %v", romance, err)
	}
	planted := mediarec.VectorPoint{ID: 1, Vector: romance[0].Vector, Payload: mediarec.VectorPayload{Version: v1}}
	if err := w.vectors.Upsert(ctx, coll, []mediarec.VectorPoint{planted}); err != nil {
		t.Fatal(err)
	}
	spaceFan := recommend(plain)
	if got := recommend(r); slices.Equal(got, spaceFan) {
		t.Fatalf("the planted profile changed nothing: %v", got)
	}

	// A new like makes the stored profile stale before any event says so:
	// the request computes the profile, then the refresh stores it.
	ts.like(w.id(t, "movie:Gravity"))
	if got, want := recommend(r), recommend(plain); !slices.Equal(got, want) {
		t.Fatalf("after a new like, %v from a stale profile; computed %v", got, want)
	}
	// That refresh fails, as if the users service were down; the next
	// wake tries the user again without another event.
	ts.down.Store(true)
	profiles.Touch(1)
	for deadline := time.Now().Add(10 * time.Second); ts.refused.Load() == 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no refresh was tried")
		}
	}
	ts.down.Store(false)
	waitVersion(v1)
	if got, want := recommend(r), recommend(plain); !slices.Equal(got, want) {
		t.Fatalf("from the refreshed profile %v, computed %v", got, want)
	}

	// A new day ages every judgement: every stored profile is refreshed,
	// whoever's event wakes the loop.
	v2 := storedVersion()
	days.Add(1)
	if got, want := recommend(r), recommend(plain); !slices.Equal(got, want) {
		t.Fatalf("on the next day %v, computed %v", got, want)
	}
	profiles.Touch(2)
	waitVersion(v2)

	// Nothing left to build a profile from: the stored one goes.
	ts.mu.Lock()
	ts.feedback = nil
	ts.mu.Unlock()
	profiles.Touch(1)
	for deadline := time.Now().Add(10 * time.Second); storedVersion() != ""; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the profile of a user without feedback is still stored")
		}
	}
}
