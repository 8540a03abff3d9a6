package catalogtest

import (
	"context"
	"testing"

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
	if err := s.SetEmbeddingStatuses(ctx, []mediarec.EmbedResult{{ItemID: a.ID, Version: 1, Status: mediarec.EmbeddingDone}}); err != nil {
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
	tests := []attributeCase{
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
	runAttributeCases(t, s, a.ID, func(it *mediarec.Item) any { return it.ImageURL }, tests)
}
