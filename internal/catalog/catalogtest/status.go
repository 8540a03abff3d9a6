package catalogtest

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"mediarec"
)

// mustSetStatuses creates one item per entry, of its type, and records its
// embedding status.
func mustSetStatuses(t *testing.T, s Store, items []struct {
	typ    mediarec.ItemType
	status mediarec.EmbeddingStatus
}) []int64 {
	t.Helper()
	ctx := context.Background()
	ids := make([]int64, len(items))
	for i, it := range items {
		item := sample("", "Item")
		item.Type = it.typ
		ids[i] = mustCreate(t, s, item).ID
		if it.status == mediarec.EmbeddingPending {
			continue
		}
		r := mediarec.EmbedResult{ItemID: ids[i], Version: 1, Status: it.status}
		if it.status == mediarec.EmbeddingFailed {
			r.Error = "embedder said no"
		}
		if err := s.SetEmbeddingStatuses(ctx, []mediarec.EmbedResult{r}); err != nil {
			t.Fatal(err)
		}
	}
	return ids
}

// testFindItemsByEmbeddingStatus: the operator lists the failed items, of
// a type or all, a keyset page at a time, with their errors.
func testFindItemsByEmbeddingStatus(t *testing.T, s Store) {
	ids := mustSetStatuses(t, s, []struct {
		typ    mediarec.ItemType
		status mediarec.EmbeddingStatus
	}{
		{mediarec.TypeMovie, mediarec.EmbeddingFailed},   // 0
		{mediarec.TypeBook, mediarec.EmbeddingDone},      // 1
		{mediarec.TypeBook, mediarec.EmbeddingFailed},    // 2
		{mediarec.TypeMovie, mediarec.EmbeddingPending},  // 3
		{mediarec.TypeMovie, mediarec.EmbeddingFailed},   // 4
		{mediarec.TypePodcast, mediarec.EmbeddingFailed}, // 5
	})
	tests := []struct {
		name   string
		filter mediarec.ItemFilter
		want   []int64
	}{
		{"failed", mediarec.ItemFilter{EmbeddingStatus: mediarec.EmbeddingFailed, Limit: 10}, []int64{ids[0], ids[2], ids[4], ids[5]}},
		{"failed page", mediarec.ItemFilter{EmbeddingStatus: mediarec.EmbeddingFailed, AfterID: ids[0], Limit: 2}, []int64{ids[2], ids[4]}},
		{"failed movies", mediarec.ItemFilter{EmbeddingStatus: mediarec.EmbeddingFailed, Types: []mediarec.ItemType{mediarec.TypeMovie}, Limit: 10}, []int64{ids[0], ids[4]}},
		{"failed movies and books after", mediarec.ItemFilter{EmbeddingStatus: mediarec.EmbeddingFailed,
			Types: []mediarec.ItemType{mediarec.TypeMovie, mediarec.TypeBook}, AfterID: ids[0], Limit: 10}, []int64{ids[2], ids[4]}},
		{"pending", mediarec.ItemFilter{EmbeddingStatus: mediarec.EmbeddingPending, Limit: 10}, []int64{ids[3]}},
		{"done", mediarec.ItemFilter{EmbeddingStatus: mediarec.EmbeddingDone, Limit: 10}, []int64{ids[1]}},
		{"any", mediarec.ItemFilter{Limit: 10}, ids},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			items, err := s.FindItems(context.Background(), tt.filter)
			if err != nil {
				t.Fatal(err)
			}
			got := []int64{}
			for _, it := range items {
				got = append(got, it.ID)
				if tt.filter.EmbeddingStatus == mediarec.EmbeddingFailed && it.EmbeddingError != "embedder said no" {
					t.Errorf("item %d: embedding error %q", it.ID, it.EmbeddingError)
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Fatalf("ids (-want +got):\n%s", diff)
			}
		})
	}
}

// testCountEmbeddingStatusByType: one count per type and status that some
// item has.
func testCountEmbeddingStatusByType(t *testing.T, s Store) {
	ctx := context.Background()
	counts, err := s.CountEmbeddingStatusByType(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(counts) != 0 {
		t.Fatalf("empty catalog counts %v", counts)
	}
	mustSetStatuses(t, s, []struct {
		typ    mediarec.ItemType
		status mediarec.EmbeddingStatus
	}{
		{mediarec.TypeMovie, mediarec.EmbeddingFailed},
		{mediarec.TypeMovie, mediarec.EmbeddingDone},
		{mediarec.TypeMovie, mediarec.EmbeddingDone},
		{mediarec.TypeMovie, mediarec.EmbeddingPending},
		{mediarec.TypeBook, mediarec.EmbeddingDone},
		{mediarec.TypeDocumentary, mediarec.EmbeddingPending},
	})
	counts, err = s.CountEmbeddingStatusByType(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := map[mediarec.ItemType]map[mediarec.EmbeddingStatus]int{
		mediarec.TypeMovie:       {mediarec.EmbeddingFailed: 1, mediarec.EmbeddingDone: 2, mediarec.EmbeddingPending: 1},
		mediarec.TypeBook:        {mediarec.EmbeddingDone: 1},
		mediarec.TypeDocumentary: {mediarec.EmbeddingPending: 1},
	}
	if diff := cmp.Diff(want, counts); diff != "" {
		t.Fatalf("counts (-want +got):\n%s", diff)
	}
}
