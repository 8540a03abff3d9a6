package catalog_test

import (
	"context"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"mediarec"
	"mediarec/internal/catalog"
)

// countStore answers the tag and status counts and records the tag asks.
type countStore struct {
	catalog.Store
	asks   []string
	byType map[mediarec.ItemType]map[mediarec.EmbeddingStatus]int
}

func (s *countStore) FindTopTags(_ context.Context, types []mediarec.ItemType, limit int) ([]mediarec.TagCount, error) {
	s.asks = append(s.asks, fmtAsk(types, limit))
	return []mediarec.TagCount{{Tag: "space", Items: len(s.asks)}}, nil
}

func (s *countStore) CountEmbeddingStatusByType(context.Context) (map[mediarec.ItemType]map[mediarec.EmbeddingStatus]int, error) {
	return s.byType, nil
}

func fmtAsk(types []mediarec.ItemType, limit int) string {
	s := ""
	for _, t := range types {
		s += string(t) + ","
	}
	return s + strconv.Itoa(limit)
}

func TestFindTopTagsCache(t *testing.T) {
	store := &countStore{}
	svc := catalog.New(store, slog.New(slog.DiscardHandler), nil)
	now := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	catalog.SetClock(svc, func() time.Time { return now })
	movieBook := []mediarec.ItemType{mediarec.TypeMovie, mediarec.TypeBook}
	bookMovie := []mediarec.ItemType{mediarec.TypeBook, mediarec.TypeMovie, mediarec.TypeBook}
	tests := []struct {
		name      string
		advance   time.Duration
		types     []mediarec.ItemType
		limit     int
		wantItems int // which store answer: the n-th ask
		wantAsks  []string
	}{
		{"first ask counts", 0, movieBook, 5, 1, []string{"book,movie,5"}},
		{"same set of types, cached", time.Minute, bookMovie, 5, 1, []string{"book,movie,5"}},
		{"another limit counts", 0, movieBook, 0, 2, []string{"book,movie,5", "book,movie,24"}},
		{"every type is no type", 0, mediarec.ItemTypes, 5, 3, []string{"book,movie,5", "book,movie,24", "5"}},
		{"no type, cached", 0, nil, 5, 3, []string{"book,movie,5", "book,movie,24", "5"}},
		{"expired, counts again", 5 * time.Minute, movieBook, 5, 4, []string{"book,movie,5", "book,movie,24", "5", "book,movie,5"}},
	}
	for _, tt := range tests {
		now = now.Add(tt.advance)
		got, err := svc.FindTopTags(context.Background(), tt.types, tt.limit)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if len(got) != 1 || got[0].Items != tt.wantItems {
			t.Errorf("%s: answer %+v, want the answer of ask %d", tt.name, got, tt.wantItems)
		}
		if diff := cmp.Diff(tt.wantAsks, store.asks); diff != "" {
			t.Errorf("%s: store asks (-want +got):\n%s", tt.name, diff)
		}
	}
}

func TestFindTopTagsInvalid(t *testing.T) {
	svc := catalog.New(&countStore{}, slog.New(slog.DiscardHandler), nil)
	tests := []struct {
		name  string
		types []mediarec.ItemType
		limit int
		field string
	}{
		{"unknown type", []mediarec.ItemType{"vinyl"}, 5, "types"},
		{"limit too large", nil, catalog.MaxTagLimit + 1, "limit"},
		{"negative limit", nil, -1, "limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := svc.FindTopTags(context.Background(), tt.types, tt.limit)
			fields := mediarec.ErrorFields(err)
			if mediarec.ErrorCode(err) != mediarec.EINVALID || len(fields) != 1 || fields[0].Field != tt.field {
				t.Fatalf("err = %v (%+v), want EINVALID naming %q", err, fields, tt.field)
			}
		})
	}
}

func TestEmbeddingCounts(t *testing.T) {
	store := &countStore{byType: map[mediarec.ItemType]map[mediarec.EmbeddingStatus]int{
		mediarec.TypeMovie: {mediarec.EmbeddingDone: 9301, mediarec.EmbeddingFailed: 2},
		mediarec.TypeBook:  {mediarec.EmbeddingPending: 5},
	}}
	got, err := catalog.New(store, slog.New(slog.DiscardHandler), nil).EmbeddingCounts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	zero := map[mediarec.EmbeddingStatus]int{mediarec.EmbeddingPending: 0, mediarec.EmbeddingDone: 0, mediarec.EmbeddingFailed: 0}
	want := &catalog.EmbeddingCounts{
		Total: map[mediarec.EmbeddingStatus]int{mediarec.EmbeddingPending: 5, mediarec.EmbeddingDone: 9301, mediarec.EmbeddingFailed: 2},
		ByType: map[mediarec.ItemType]map[mediarec.EmbeddingStatus]int{
			mediarec.TypeMovie:       {mediarec.EmbeddingPending: 0, mediarec.EmbeddingDone: 9301, mediarec.EmbeddingFailed: 2},
			mediarec.TypeBook:        {mediarec.EmbeddingPending: 5, mediarec.EmbeddingDone: 0, mediarec.EmbeddingFailed: 0},
			mediarec.TypeDocumentary: zero,
			mediarec.TypePodcast:     zero,
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("counts (-want +got):\n%s", diff)
	}
}
