package catalogtest

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"mediarec"
)

// testFindTopTags: tags counted over the items of some types, the most
// common first, ties by tag, up to a limit.
func testFindTopTags(t *testing.T, s Store) {
	ctx := context.Background()
	if got, err := s.FindTopTags(ctx, nil, 10); err != nil || got == nil || len(got) != 0 {
		t.Fatalf("empty catalog: %v, %v; want an empty list", got, err)
	}
	for _, it := range []struct {
		typ  mediarec.ItemType
		tags []string
	}{
		{mediarec.TypeMovie, []string{"space", "time travel"}},
		{mediarec.TypeMovie, []string{"heist", "space"}},
		{mediarec.TypeBook, []string{"space", "dragons"}},
		{mediarec.TypeBook, []string{"dragons", "heist"}},
		{mediarec.TypePodcast, []string{}},
	} {
		item := sample("", "Tagged")
		item.Type, item.Tags = it.typ, it.tags
		mustCreate(t, s, item)
	}
	tc := func(tag string, n int) mediarec.TagCount { return mediarec.TagCount{Tag: tag, Items: n} }
	tests := []struct {
		name  string
		types []mediarec.ItemType
		limit int
		want  []mediarec.TagCount
	}{
		{"all types", nil, 10, []mediarec.TagCount{tc("space", 3), tc("dragons", 2), tc("heist", 2), tc("time travel", 1)}},
		{"movies", []mediarec.ItemType{mediarec.TypeMovie}, 10, []mediarec.TagCount{tc("space", 2), tc("heist", 1), tc("time travel", 1)}},
		{"movies and books, limited", []mediarec.ItemType{mediarec.TypeMovie, mediarec.TypeBook}, 2, []mediarec.TagCount{tc("space", 3), tc("dragons", 2)}},
		{"untagged type", []mediarec.ItemType{mediarec.TypePodcast}, 10, []mediarec.TagCount{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.FindTopTags(ctx, tt.types, tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			if got == nil {
				t.Fatal("nil list, want an empty one")
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Fatalf("tags (-want +got):\n%s", diff)
			}
		})
	}
}
