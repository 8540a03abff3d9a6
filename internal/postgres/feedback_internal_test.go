package postgres

import (
	"context"
	"testing"

	"mediarec"
	"mediarec/internal/postgres/pgtest"
)

// TestFeedbackBatch writes batches directly, since which writes share a
// batch under concurrency is up to timing.
func TestFeedbackBatch(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	s, err := NewUserStore(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	u := &mediarec.User{Email: "batch@example.com", DisplayName: "B", Role: mediarec.RoleUser}
	if err := s.CreateUser(ctx, u, "hash"); err != nil {
		t.Fatal(err)
	}
	ev := mediarec.OutboxEvent{Subject: mediarec.SubjectUserFeedback, Payload: []byte(`{}`)}
	write := func(userID, itemID int64, kind mediarec.FeedbackKind) *feedbackWrite {
		return &feedbackWrite{f: mediarec.Feedback{UserID: userID, ItemID: itemID, Kind: kind}, ev: ev}
	}
	tests := []struct {
		name        string
		batch       []*feedbackWrite
		wantChanged []bool
		wantErr     []string // error code per write
	}{
		{"new judgements, one row twice, out of order",
			[]*feedbackWrite{write(u.ID, 3, "like"), write(u.ID, 1, "like"), write(u.ID, 3, "dislike"), write(u.ID, 2, "like")},
			[]bool{true, true, true, true}, []string{"", "", "", ""}},
		{"repeats and changes",
			[]*feedbackWrite{write(u.ID, 1, "like"), write(u.ID, 3, "like"), write(u.ID, 2, "like")},
			[]bool{false, true, false}, []string{"", "", ""}},
		{"an unknown user fails alone",
			[]*feedbackWrite{write(u.ID, 4, "like"), write(999999, 1, "like"), write(u.ID, 1, "dislike")},
			[]bool{true, false, true}, []string{"", mediarec.ENOTFOUND, ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			results := s.feedback.writeBatch(ctx, tt.batch)
			for i, r := range results {
				if mediarec.ErrorCode(r.err) != tt.wantErr[i] || r.changed != tt.wantChanged[i] || (r.err == nil && r.createdAt.IsZero()) {
					t.Errorf("write %d: changed %v, error %v, created_at %v; want changed %v, code %q",
						i, r.changed, r.err, r.createdAt, tt.wantChanged[i], tt.wantErr[i])
				}
			}
		})
	}
	got, err := s.FindFeedback(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[int64]mediarec.FeedbackKind{}
	for _, f := range got {
		kinds[f.ItemID] = f.Kind
	}
	want := map[int64]mediarec.FeedbackKind{1: "dislike", 2: "like", 3: "like", 4: "like"}
	if len(kinds) != len(want) {
		t.Fatalf("stored %v, want %v", kinds, want)
	}
	for id, k := range want {
		if kinds[id] != k {
			t.Fatalf("stored %v, want %v", kinds, want)
		}
	}
	// One event per change: 4, then 1, then 2.
	if evs, err := s.FindEvents(ctx, 100); err != nil || len(evs) != 7 {
		t.Fatalf("%d events (%v), want 7", len(evs), err)
	}
}
