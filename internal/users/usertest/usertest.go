// Package usertest is the conformance suite every users.Store passes.
package usertest

import (
	"context"
	"encoding/json"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"mediarec"
	"mediarec/internal/users"
)

// Store is everything a users store provides.
type Store interface {
	users.Store
	users.EventStore
}

// NewStore returns an empty store that lives until the test ends.
type NewStore func(t *testing.T) Store

// Run runs the conformance suite against stores made by newStore.
func Run(t *testing.T, newStore NewStore) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s Store)
	}{
		{"CreateAndFind", testCreateAndFind},
		{"EmailConflict", testEmailConflict},
		{"FindUnknown", testFindUnknown},
		{"Credentials", testCredentials},
		{"SQLLookingInput", testSQLLookingInput},
		{"UpdatePreferences", testUpdatePreferences},
		{"FeedbackUpsert", testFeedbackUpsert},
		{"FeedbackUnknownUser", testFeedbackUnknownUser},
		{"FeedbackConcurrentRepeats", testFeedbackConcurrentRepeats},
		{"FeedbackConcurrentWriters", testFeedbackConcurrentWriters},
		{"DeleteFeedback", testDeleteFeedback},
		{"Events", testEvents},
		{"EventSeqsNeverReused", testEventSeqsNeverReused},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, newStore(t)) })
	}
}

const hash = "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHRzYWx0$a2V5a2V5a2V5a2V5a2V5a2V5"

var ignoreStored = cmpopts.IgnoreFields(mediarec.User{}, "ID", "CreatedAt")

func sample(email string) *mediarec.User {
	return &mediarec.User{
		Email: email, DisplayName: "Ada", Role: mediarec.RoleUser,
		Preferences: mediarec.Preferences{Tags: []string{}, MediaTypes: []mediarec.ItemType{}},
	}
}

func mustCreate(t *testing.T, s Store, u *mediarec.User) *mediarec.User {
	t.Helper()
	if err := s.CreateUser(context.Background(), u, hash); err != nil {
		t.Fatalf("create %q: %v", u.Email, err)
	}
	return u
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := mediarec.ErrorCode(err); got != code {
		t.Fatalf("error code = %q (%v), want %q", got, err, code)
	}
}

// event returns an outbox event whose payload tells the writes apart.
func event(subject string, n int) mediarec.OutboxEvent {
	b, _ := json.Marshal(map[string]int{"n": n})
	return mediarec.OutboxEvent{Subject: subject, Payload: b}
}

func mustEvents(t *testing.T, s Store) []mediarec.OutboxEvent {
	t.Helper()
	evs, err := s.FindEvents(context.Background(), 100)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

func wantEvents(t *testing.T, s Store, want ...mediarec.OutboxEvent) {
	t.Helper()
	got := mustEvents(t, s)
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(mediarec.OutboxEvent{}, "Seq"), cmpopts.EquateEmpty(),
		cmp.Comparer(func(a, b []byte) bool { return string(a) == string(b) })); diff != "" {
		t.Fatalf("outbox differs (-want +got):\n%s", diff)
	}
}

func testCreateAndFind(t *testing.T, s Store) {
	in := mustCreate(t, s, sample("ada@example.com"))
	if in.ID == 0 || in.CreatedAt.IsZero() {
		t.Fatalf("create did not assign id and time: %+v", in)
	}
	got, err := s.FindUserByID(context.Background(), in.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(sample("ada@example.com"), got, ignoreStored); diff != "" {
		t.Fatalf("stored user differs (-want +got):\n%s", diff)
	}
	if !got.CreatedAt.Equal(in.CreatedAt) {
		t.Fatalf("created_at = %v, want %v", got.CreatedAt, in.CreatedAt)
	}
	admin := sample("root@example.com")
	admin.Role = mediarec.RoleAdmin
	mustCreate(t, s, admin)
	if got, _ := s.FindUserByID(context.Background(), admin.ID); got.Role != mediarec.RoleAdmin {
		t.Fatalf("role = %q, want admin", got.Role)
	}
}

func testEmailConflict(t *testing.T, s Store) {
	mustCreate(t, s, sample("dup@example.com"))
	err := s.CreateUser(context.Background(), sample("Dup@Example.COM"), hash)
	wantCode(t, err, mediarec.ECONFLICT)
}

func testFindUnknown(t *testing.T, s Store) {
	_, err := s.FindUserByID(context.Background(), 999999)
	wantCode(t, err, mediarec.ENOTFOUND)
	_, _, err = s.FindCredentials(context.Background(), "nobody@example.com")
	wantCode(t, err, mediarec.ENOTFOUND)
}

func testCredentials(t *testing.T, s Store) {
	u := mustCreate(t, s, sample("cred@example.com"))
	mustCreate(t, s, sample("other@example.com"))
	id, h, err := s.FindCredentials(context.Background(), "CRED@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if id != u.ID || h != hash {
		t.Fatalf("credentials = %d %q, want %d %q", id, h, u.ID, hash)
	}
}

func testSQLLookingInput(t *testing.T, s Store) {
	ctx := context.Background()
	evil := "'; DROP TABLE users; --"
	u := sample("o'brien+x@example.com")
	u.DisplayName = evil
	mustCreate(t, s, u)
	prefs := mediarec.Preferences{Tags: []string{evil, `"); DELETE FROM feedback; --`}, MediaTypes: []mediarec.ItemType{mediarec.TypeBook}}
	if _, err := s.UpdatePreferences(ctx, u.ID, prefs, event(mediarec.SubjectUserPreferences, 1)); err != nil {
		t.Fatal(err)
	}
	got, err := s.FindUserByID(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := sample("o'brien+x@example.com")
	want.DisplayName, want.Preferences = evil, prefs
	if diff := cmp.Diff(want, got, ignoreStored); diff != "" {
		t.Fatalf("stored user differs (-want +got):\n%s", diff)
	}
	if _, _, err := s.FindCredentials(ctx, evil); mediarec.ErrorCode(err) != mediarec.ENOTFOUND {
		t.Fatalf("credentials for SQL-looking email: %v, want ENOTFOUND", err)
	}
}

func testUpdatePreferences(t *testing.T, s Store) {
	ctx := context.Background()
	u := mustCreate(t, s, sample("prefs@example.com"))
	prefs := mediarec.Preferences{Tags: []string{"noir", "space"}, MediaTypes: []mediarec.ItemType{mediarec.TypeMovie, mediarec.TypePodcast}}
	got, err := s.UpdatePreferences(ctx, u.ID, prefs, event(mediarec.SubjectUserPreferences, 1))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(prefs, got.Preferences); diff != "" {
		t.Fatalf("returned preferences differ (-want +got):\n%s", diff)
	}
	found, err := s.FindUserByID(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(prefs, found.Preferences); diff != "" {
		t.Fatalf("stored preferences differ (-want +got):\n%s", diff)
	}
	_, err = s.UpdatePreferences(ctx, 999999, prefs, event(mediarec.SubjectUserPreferences, 2))
	wantCode(t, err, mediarec.ENOTFOUND)
	// The failed update left no event behind.
	wantEvents(t, s, event(mediarec.SubjectUserPreferences, 1))
}

func testFeedbackUpsert(t *testing.T, s Store) {
	ctx := context.Background()
	u := mustCreate(t, s, sample("fb@example.com"))
	other := mustCreate(t, s, sample("fb2@example.com"))
	set := func(userID, itemID int64, kind mediarec.FeedbackKind, rating float64, n int, wantChanged bool) {
		t.Helper()
		f := &mediarec.Feedback{UserID: userID, ItemID: itemID, Kind: kind, Rating: rating}
		changed, err := s.SetFeedback(ctx, f, event(mediarec.SubjectUserFeedback, n))
		if err != nil {
			t.Fatal(err)
		}
		if changed != wantChanged || f.CreatedAt.IsZero() {
			t.Fatalf("set %s on %d: changed = %v, want %v; created_at %v", kind, itemID, changed, wantChanged, f.CreatedAt)
		}
	}
	set(u.ID, 7, mediarec.FeedbackLike, 0, 1, true)
	set(u.ID, 7, mediarec.FeedbackLike, 0, 2, false) // liking twice stores one like
	// A repeat reports when the standing judgement was made.
	again := []*mediarec.Feedback{{UserID: u.ID, ItemID: 7, Kind: mediarec.FeedbackLike}, {UserID: u.ID, ItemID: 7, Kind: mediarec.FeedbackLike}}
	for _, f := range again {
		if changed, err := s.SetFeedback(ctx, f, event(mediarec.SubjectUserFeedback, 2)); err != nil || changed {
			t.Fatalf("repeated like: changed = %v, %v", changed, err)
		}
	}
	if !again[0].CreatedAt.Equal(again[1].CreatedAt) {
		t.Fatalf("repeats report %v and %v", again[0].CreatedAt, again[1].CreatedAt)
	}
	set(u.ID, 7, mediarec.FeedbackDislike, 0, 3, true)
	set(u.ID, 8, mediarec.FeedbackRating, 4.5, 4, true)
	set(u.ID, 8, mediarec.FeedbackRating, 3, 5, true)
	set(other.ID, 7, mediarec.FeedbackLike, 0, 6, true)

	got, err := s.FindFeedback(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := []*mediarec.Feedback{
		{UserID: u.ID, ItemID: 7, Kind: mediarec.FeedbackDislike},
		{UserID: u.ID, ItemID: 8, Kind: mediarec.FeedbackRating, Rating: 3},
	}
	byItem := cmpopts.SortSlices(func(a, b *mediarec.Feedback) bool { return a.ItemID < b.ItemID })
	if diff := cmp.Diff(want, got, byItem, cmpopts.IgnoreFields(mediarec.Feedback{}, "CreatedAt")); diff != "" {
		t.Fatalf("feedback differs (-want +got):\n%s", diff)
	}
	if got[0].ItemID != 8 {
		t.Fatalf("feedback not most recent first: %+v", got)
	}
	none, err := s.FindFeedback(ctx, 999999)
	if err != nil || len(none) != 0 {
		t.Fatalf("feedback of unknown user = %v, %v; want empty", none, err)
	}
	wantEvents(t, s,
		event(mediarec.SubjectUserFeedback, 1), event(mediarec.SubjectUserFeedback, 3),
		event(mediarec.SubjectUserFeedback, 4), event(mediarec.SubjectUserFeedback, 5),
		event(mediarec.SubjectUserFeedback, 6))
}

// testFeedbackConcurrentRepeats sends one judgement from many clients at
// once: exactly one of them changes anything and writes an event, and every
// one learns when the standing judgement was made.
func testFeedbackConcurrentRepeats(t *testing.T, s Store) {
	ctx := context.Background()
	u := mustCreate(t, s, sample("race@example.com"))
	var changes atomic.Int32
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			f := &mediarec.Feedback{UserID: u.ID, ItemID: 9, Kind: mediarec.FeedbackLike}
			changed, err := s.SetFeedback(ctx, f, event(mediarec.SubjectUserFeedback, 1))
			if err != nil || f.CreatedAt.IsZero() {
				t.Errorf("client %d: %v, created_at %v", i, err, f.CreatedAt)
			}
			if changed {
				changes.Add(1)
			}
		})
	}
	wg.Wait()
	if n := changes.Load(); n != 1 {
		t.Fatalf("%d clients changed the judgement, want 1", n)
	}
	wantEvents(t, s, event(mediarec.SubjectUserFeedback, 1))
}

// testFeedbackConcurrentWriters has many clients write at once, over the
// same items in different orders, some as an account that does not exist:
// each write gets its own answer, whatever else it was stored with.
func testFeedbackConcurrentWriters(t *testing.T, s Store) {
	ctx := context.Background()
	known := []int64{mustCreate(t, s, sample("w1@example.com")).ID, mustCreate(t, s, sample("w2@example.com")).ID}
	const clients, items = 48, 20
	var changes [2]atomic.Int32
	var wg sync.WaitGroup
	for c := range clients {
		wg.Go(func() {
			for n := range items {
				item := int64(1 + (n+c)%items)
				if c%3 == 2 {
					f := &mediarec.Feedback{UserID: 999999, ItemID: item, Kind: mediarec.FeedbackLike}
					if _, err := s.SetFeedback(ctx, f, event(mediarec.SubjectUserFeedback, 1)); mediarec.ErrorCode(err) != mediarec.ENOTFOUND {
						t.Errorf("unknown user: %v, want ENOTFOUND", err)
					}
					continue
				}
				f := &mediarec.Feedback{UserID: known[c%3], ItemID: item, Kind: mediarec.FeedbackLike}
				changed, err := s.SetFeedback(ctx, f, event(mediarec.SubjectUserFeedback, 1))
				if err != nil || f.CreatedAt.IsZero() {
					t.Errorf("user %d, item %d: %v, created_at %v", f.UserID, item, err, f.CreatedAt)
				}
				if changed {
					changes[c%3].Add(1)
				}
			}
		})
	}
	wg.Wait()
	for i, id := range known {
		if n := changes[i].Load(); n != items {
			t.Errorf("user %d: %d writes changed something, want %d (one per item)", id, n, items)
		}
		got, err := s.FindFeedback(ctx, id)
		if err != nil || len(got) != items {
			t.Errorf("user %d has %d judgements (%v), want %d", id, len(got), err, items)
		}
	}
	evs, err := s.FindEvents(ctx, 1000)
	if err != nil || len(evs) != 2*items {
		t.Fatalf("%d events (%v), want %d", len(evs), err, 2*items)
	}
}

func testFeedbackUnknownUser(t *testing.T, s Store) {
	f := &mediarec.Feedback{UserID: 999999, ItemID: 1, Kind: mediarec.FeedbackLike}
	_, err := s.SetFeedback(context.Background(), f, event(mediarec.SubjectUserFeedback, 1))
	wantCode(t, err, mediarec.ENOTFOUND)
	wantEvents(t, s)
}

func testDeleteFeedback(t *testing.T, s Store) {
	ctx := context.Background()
	u := mustCreate(t, s, sample("del@example.com"))
	f := &mediarec.Feedback{UserID: u.ID, ItemID: 3, Kind: mediarec.FeedbackLike}
	if _, err := s.SetFeedback(ctx, f, event(mediarec.SubjectUserFeedback, 1)); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteFeedback(ctx, u.ID, 3, event(mediarec.SubjectUserFeedback, 2)); err != nil {
		t.Fatal(err)
	}
	if got, err := s.FindFeedback(ctx, u.ID); err != nil || len(got) != 0 {
		t.Fatalf("feedback after delete = %v, %v; want none", got, err)
	}
	wantCode(t, s.DeleteFeedback(ctx, u.ID, 3, event(mediarec.SubjectUserFeedback, 3)), mediarec.ENOTFOUND)
	wantEvents(t, s, event(mediarec.SubjectUserFeedback, 1), event(mediarec.SubjectUserFeedback, 2))
}

// testEventSeqsNeverReused: the relay names messages by sequence number and
// the bus drops a name it saw minutes ago, so a number must not come back
// once the outbox has been emptied.
func testEventSeqsNeverReused(t *testing.T, s Store) {
	ctx := context.Background()
	u := mustCreate(t, s, sample("seq@example.com"))
	var seqs []int64
	for i := range 2 {
		f := &mediarec.Feedback{UserID: u.ID, ItemID: int64(i + 1), Kind: mediarec.FeedbackLike}
		if _, err := s.SetFeedback(ctx, f, event(mediarec.SubjectUserFeedback, i)); err != nil {
			t.Fatal(err)
		}
		evs, err := s.FindEvents(ctx, 10)
		if err != nil || len(evs) != 1 {
			t.Fatalf("events: %+v, %v", evs, err)
		}
		seqs = append(seqs, evs[0].Seq)
		if err := s.DeleteEvents(ctx, []int64{evs[0].Seq}); err != nil {
			t.Fatal(err)
		}
	}
	if seqs[1] <= seqs[0] {
		t.Fatalf("sequence %d came back after the outbox emptied (the next event got %d)", seqs[0], seqs[1])
	}
}

func testEvents(t *testing.T, s Store) {
	ctx := context.Background()
	u := mustCreate(t, s, sample("ev@example.com"))
	for i := range 5 {
		f := &mediarec.Feedback{UserID: u.ID, ItemID: int64(i + 1), Kind: mediarec.FeedbackLike}
		if _, err := s.SetFeedback(ctx, f, event(mediarec.SubjectUserFeedback, i)); err != nil {
			t.Fatal(err)
		}
	}
	first, err := s.FindEvents(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(first) != 2 || first[0].Seq >= first[1].Seq {
		t.Fatalf("first page = %+v, want two events in order", first)
	}
	if err := s.DeleteEvents(ctx, []int64{first[0].Seq, first[1].Seq}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteEvents(ctx, nil); err != nil {
		t.Fatal(err)
	}
	wantEvents(t, s, event(mediarec.SubjectUserFeedback, 2), event(mediarec.SubjectUserFeedback, 3), event(mediarec.SubjectUserFeedback, 4))
	// The relay reports the outbox's depth.
	if n, err := s.CountEvents(ctx); err != nil || n != 3 {
		t.Fatalf("CountEvents = %d, %v; want 3", n, err)
	}
}
