package recs_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"mediarec"
	"mediarec/internal/embed"
	"mediarec/internal/keyword"
	"mediarec/internal/recs"
)

type fakeLive struct{}

func (fakeLive) Live(context.Context) (embed.Embedder, string, error) {
	return embed.NewHashing(8), "items_v1", nil
}

// fakeVectors answers every search with ids 1, 2, 3 and knows the vector
// of item 1 only.
type fakeVectors struct{ lastFilter mediarec.VectorFilter }

func (f *fakeVectors) Search(_ context.Context, coll string, _ []float32, k int, flt mediarec.VectorFilter) ([]mediarec.VectorHit, error) {
	f.lastFilter = flt
	if coll != "items_v1" {
		return nil, mediarec.Errorf(mediarec.ENOTFOUND, "no collection %s", coll)
	}
	return []mediarec.VectorHit{{ID: 1, Score: 0.9}, {ID: 2, Score: 0.8}, {ID: 3, Score: 0.7}}[:min(k, 3)], nil
}

func (f *fakeVectors) Get(_ context.Context, _ string, ids []int64) ([]mediarec.VectorPoint, error) {
	if ids[0] == 1 {
		return []mediarec.VectorPoint{{ID: 1, Vector: make([]float32, 8)}}, nil
	}
	return nil, nil
}

// fakeItems holds items 1 and 3 (2 was deleted after it was embedded) and 4.
type fakeItems struct{}

func (fakeItems) FindItemsByIDs(_ context.Context, ids []int64) ([]*mediarec.Item, error) {
	var out []*mediarec.Item
	for _, id := range ids {
		if id != 2 {
			out = append(out, &mediarec.Item{ID: id})
		}
	}
	return out, nil
}

func (fakeItems) FindItemByID(_ context.Context, id int64) (*mediarec.Item, error) {
	if id > 4 {
		return nil, mediarec.Errorf(mediarec.ENOTFOUND, "Item %d not found.", id)
	}
	return &mediarec.Item{ID: id}, nil
}

func TestSearch(t *testing.T) {
	vectors := &fakeVectors{}
	svc := recs.New(fakeLive{}, vectors, fakeItems{}, keyword.New())
	res, err := svc.Search(context.Background(), recs.SearchQuery{Text: " space ", Types: []mediarec.ItemType{mediarec.TypeDocumentary}})
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, it := range res.Items {
		ids = append(ids, it.Item.ID)
	}
	if diff := cmp.Diff([]int64{1, 3}, ids); diff != "" {
		t.Fatalf("ids (-want +got):\n%s", diff)
	}
	if res.Parsed.Text != "space" || len(res.Parsed.Types) != 1 || len(vectors.lastFilter.Types) != 1 {
		t.Fatalf("parsed %+v, filter %+v", res.Parsed, vectors.lastFilter)
	}
}

func TestBadQueries(t *testing.T) {
	svc := recs.New(fakeLive{}, &fakeVectors{}, fakeItems{}, keyword.New())
	ctx := context.Background()
	tests := []struct {
		name string
		err  error
		code string
	}{
		{"empty query", second(svc.Search(ctx, recs.SearchQuery{Text: "  "})), mediarec.EINVALID},
		{"unknown type", second(svc.Search(ctx, recs.SearchQuery{Text: "x", Types: []mediarec.ItemType{"vinyl"}})), mediarec.EINVALID},
		{"limit too large", second(svc.Search(ctx, recs.SearchQuery{Text: "x", Limit: 1000})), mediarec.EINVALID},
		{"similar to unknown item", second(svc.Similar(ctx, 99, nil, 0)), mediarec.ENOTFOUND},
		{"similar to item without vector", second(svc.Similar(ctx, 4, nil, 0)), mediarec.ECONFLICT},
		{"similar ok", second(svc.Similar(ctx, 1, nil, 0)), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := mediarec.ErrorCode(tt.err); got != tt.code {
				t.Fatalf("code %q (%v), want %q", got, tt.err, tt.code)
			}
		})
	}
}

func second[T any](_ T, err error) error { return err }
