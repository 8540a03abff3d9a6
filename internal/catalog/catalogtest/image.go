package catalogtest

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"mediarec"
)

// testImageURL: the image URL is stored, but like popularity it is not
// content: a change of it alone keeps the version and embedding and leaves
// an event-only change, by update and by upsert alike; with a content
// change it rides along with the new version.
func testImageURL(t *testing.T, s Store) {
	ctx := context.Background()
	a := mustCreate(t, s, sample("i1", "A"))
	drainChanges(t, s)
	if err := s.SetEmbeddingStatus(ctx, mediarec.EmbedResult{ItemID: a.ID, Version: 1, Status: mediarec.EmbeddingDone}); err != nil {
		t.Fatal(err)
	}
	drainChanges(t, s)
	withImage := func(url, title string) *mediarec.Item {
		it := sample("i1", title)
		it.ImageURL = url
		return it
	}
	str := func(v string) *string { return &v }
	const (
		cover  = "https://images.example.com/a.jpg"
		cover2 = "http://images.example.com/a2.png"
	)
	eventOnly := []mediarec.ItemChange{{ItemID: a.ID, Version: 1, EventOnly: true}}
	tests := []struct {
		name        string
		update      *mediarec.ItemUpdate // or else upsert
		upsert      *mediarec.Item
		wantOutcome mediarec.UpsertOutcome
		want        mediarec.Item // image URL, version, status
		wantChanges []mediarec.ItemChange
	}{
		{"update alone", &mediarec.ItemUpdate{ImageURL: str(cover)}, nil, 0,
			mediarec.Item{ImageURL: cover, Version: 1, EmbeddingStatus: mediarec.EmbeddingDone}, eventOnly},
		{"update to the same", &mediarec.ItemUpdate{ImageURL: str(cover)}, nil, 0,
			mediarec.Item{ImageURL: cover, Version: 1, EmbeddingStatus: mediarec.EmbeddingDone}, nil},
		{"update to none", &mediarec.ItemUpdate{ImageURL: str("")}, nil, 0,
			mediarec.Item{ImageURL: "", Version: 1, EmbeddingStatus: mediarec.EmbeddingDone}, eventOnly},
		{"upsert alone", nil, withImage(cover2, "A"), mediarec.Updated,
			mediarec.Item{ImageURL: cover2, Version: 1, EmbeddingStatus: mediarec.EmbeddingDone}, eventOnly},
		{"upsert the same", nil, withImage(cover2, "A"), mediarec.Unchanged,
			mediarec.Item{ImageURL: cover2, Version: 1, EmbeddingStatus: mediarec.EmbeddingDone}, nil},
		{"upsert with content", nil, withImage(cover, "A2"), mediarec.Updated,
			mediarec.Item{ImageURL: cover, Version: 2, EmbeddingStatus: mediarec.EmbeddingPending},
			[]mediarec.ItemChange{{ItemID: a.ID, Version: 2}}},
		{"update with content", &mediarec.ItemUpdate{Title: str("A3"), ImageURL: str(cover2)}, nil, 0,
			mediarec.Item{ImageURL: cover2, Version: 3, EmbeddingStatus: mediarec.EmbeddingPending},
			[]mediarec.ItemChange{{ItemID: a.ID, Version: 3}}},
	}
	for _, tt := range tests {
		if tt.update != nil {
			got, err := s.UpdateItem(ctx, a.ID, *tt.update)
			if err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			if got.ImageURL != tt.want.ImageURL || got.Version != tt.want.Version {
				t.Errorf("%s: update returned image %q version %d, want %q %d", tt.name, got.ImageURL, got.Version, tt.want.ImageURL, tt.want.Version)
			}
		} else {
			out, err := s.UpsertItems(ctx, []*mediarec.Item{tt.upsert})
			if err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			if out[0] != tt.wantOutcome || tt.upsert.ID != a.ID {
				t.Errorf("%s: outcome %v id %d, want %v %d", tt.name, out[0], tt.upsert.ID, tt.wantOutcome, a.ID)
			}
		}
		got, err := s.FindItemByID(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.ImageURL != tt.want.ImageURL || got.Version != tt.want.Version || got.EmbeddingStatus != tt.want.EmbeddingStatus {
			t.Errorf("%s: stored image %q version %d status %s, want %q %d %s", tt.name,
				got.ImageURL, got.Version, got.EmbeddingStatus, tt.want.ImageURL, tt.want.Version, tt.want.EmbeddingStatus)
		}
		if diff := cmp.Diff(tt.wantChanges, drainChanges(t, s), cmpopts.IgnoreFields(mediarec.ItemChange{}, "Seq", "TraceParent"), cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("%s: changes (-want +got):\n%s", tt.name, diff)
		}
	}
}
