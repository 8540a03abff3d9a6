package catalog_test

import (
	"context"
	"log/slog"
	"testing"

	"github.com/google/go-cmp/cmp"

	"mediarec"
	"mediarec/internal/catalog"
)

// fakeStore records what the service hands to the store.
type fakeStore struct {
	catalog.Store
	upsertItems func(ctx context.Context, items []*mediarec.Item) ([]mediarec.UpsertOutcome, error)
	findItems   func(ctx context.Context, f mediarec.ItemFilter) ([]*mediarec.Item, error)
	setStatuses func(ctx context.Context, rs []mediarec.EmbedResult) error
}

func (f *fakeStore) SetEmbeddingStatuses(ctx context.Context, rs []mediarec.EmbedResult) error {
	return f.setStatuses(ctx, rs)
}

func (f *fakeStore) UpsertItems(ctx context.Context, items []*mediarec.Item) ([]mediarec.UpsertOutcome, error) {
	return f.upsertItems(ctx, items)
}

func (f *fakeStore) FindItems(ctx context.Context, filter mediarec.ItemFilter) ([]*mediarec.Item, error) {
	return f.findItems(ctx, filter)
}

func TestIngestBatch(t *testing.T) {
	var stored []*mediarec.Item
	store := &fakeStore{upsertItems: func(_ context.Context, items []*mediarec.Item) ([]mediarec.UpsertOutcome, error) {
		stored = items
		out := make([]mediarec.UpsertOutcome, len(items))
		for i := range out {
			out[i] = mediarec.Created
		}
		return out, nil
	}}
	svc := catalog.New(store, slog.New(slog.DiscardHandler), nil)
	item := func(ext, title string) *mediarec.Item {
		return &mediarec.Item{ExternalID: ext, Type: mediarec.TypeMovie, Title: title}
	}
	res, err := svc.IngestBatch(context.Background(), []catalog.BatchLine{
		{Line: 1, Item: item("a", "  Alien ")},
		{Line: 2, Err: mediarec.Errorf(mediarec.EINVALID, "Malformed JSON.")},
		{Line: 3, Item: item("", "Untitled Derived")},
		{Line: 4, Item: item("a", "Alien twice")},
		{Line: 5, Item: item("b", "")},
		{Line: 6, Item: &mediarec.Item{ExternalID: "c", Type: mediarec.TypeBook, Title: "Dune", Genres: []string{" SF", "sf", ""}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := &mediarec.BatchResult{Created: 3, Failed: []mediarec.BatchFailure{
		{Line: 2, Errors: []mediarec.FieldError{{Message: "Malformed JSON."}}},
		{Line: 4, Errors: []mediarec.FieldError{{Field: "external_id", Message: "duplicates line 1 of this batch"}}},
		{Line: 5, Errors: []mediarec.FieldError{{Field: "title", Message: "is required"}}},
	}}
	if diff := cmp.Diff(want, res); diff != "" {
		t.Fatalf("result (-want +got):\n%s", diff)
	}
	if stored[0].Title != "Alien" || stored[2].Genres[0] != "SF" || len(stored[2].Genres) != 1 {
		t.Fatalf("items not normalised: %+v %+v", stored[0], stored[2])
	}
	derived := stored[1].ExternalID
	if derived == "" {
		t.Fatal("no external id derived for a line without one")
	}
	// The same content derives the same id, so re-sending is idempotent.
	if _, err := svc.IngestBatch(context.Background(), []catalog.BatchLine{{Line: 1, Item: item("", "untitled derived")}}); err != nil {
		t.Fatal(err)
	}
	if stored[0].ExternalID != derived {
		t.Fatalf("derived ids differ: %q then %q", derived, stored[0].ExternalID)
	}
}

func TestFindItemsPages(t *testing.T) {
	store := &fakeStore{findItems: func(_ context.Context, f mediarec.ItemFilter) ([]*mediarec.Item, error) {
		var out []*mediarec.Item
		for id := f.AfterID + 1; id <= 5 && len(out) < f.Limit; id++ {
			out = append(out, &mediarec.Item{ID: id})
		}
		return out, nil
	}}
	svc := catalog.New(store, slog.New(slog.DiscardHandler), nil)
	var ids []int64
	cursor := ""
	for {
		page, err := svc.FindItems(context.Background(), catalog.ListQuery{Limit: 2, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range page.Items {
			ids = append(ids, it.ID)
		}
		if page.NextCursor == "" {
			break
		}
		cursor = page.NextCursor
	}
	if diff := cmp.Diff([]int64{1, 2, 3, 4, 5}, ids); diff != "" {
		t.Fatalf("ids (-want +got):\n%s", diff)
	}
}

func FuzzDecodeCursor(f *testing.F) {
	f.Add(catalog.EncodeCursor(42))
	f.Add("")
	f.Add("aTk5OTk5OTk5OTk5OTk5OTk5OTk5")
	f.Add("!!!")
	f.Fuzz(func(t *testing.T, cursor string) {
		id, err := catalog.DecodeCursor(cursor)
		if err != nil {
			if mediarec.ErrorCode(err) != mediarec.EINVALID {
				t.Fatalf("code %q for %q", mediarec.ErrorCode(err), cursor)
			}
			return
		}
		if id < 0 {
			t.Fatalf("negative id %d from %q", id, cursor)
		}
		if back, err := catalog.DecodeCursor(catalog.EncodeCursor(id)); err != nil || back != id {
			t.Fatalf("round trip of %d gave %d, %v", id, back, err)
		}
	})
}

// TestRecordEmbeddings: a batch of results is one write; a malformed
// result is refused alone, and a failed write fails every result it held.
func TestRecordEmbeddings(t *testing.T) {
	done := mediarec.EmbedResult{ItemID: 1, Version: 1, Status: mediarec.EmbeddingDone}
	failed := mediarec.EmbedResult{ItemID: 2, Version: 3, Status: mediarec.EmbeddingFailed, Error: "too long"}
	malformed := mediarec.EmbedResult{ItemID: 3, Version: 1, Status: mediarec.EmbeddingPending}
	tests := []struct {
		name      string
		results   []mediarec.EmbedResult
		storeErr  error
		wantStore []mediarec.EmbedResult
		wantCodes []string
	}{
		{"all written at once", []mediarec.EmbedResult{done, failed}, nil, []mediarec.EmbedResult{done, failed}, []string{"", ""}},
		{"a malformed one alone refused", []mediarec.EmbedResult{done, malformed, failed}, nil, []mediarec.EmbedResult{done, failed}, []string{"", mediarec.EINVALID, ""}},
		{"a failed write fails them all", []mediarec.EmbedResult{done, failed}, mediarec.Errorf(mediarec.EUNAVAILABLE, "down"), []mediarec.EmbedResult{done, failed}, []string{mediarec.EUNAVAILABLE, mediarec.EUNAVAILABLE}},
		{"nothing to write", []mediarec.EmbedResult{malformed}, nil, nil, []string{mediarec.EINVALID}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stored []mediarec.EmbedResult
			store := &fakeStore{setStatuses: func(_ context.Context, rs []mediarec.EmbedResult) error {
				stored = rs
				return tt.storeErr
			}}
			errs := catalog.New(store, slog.New(slog.DiscardHandler), nil).RecordEmbeddings(context.Background(), tt.results)
			if diff := cmp.Diff(tt.wantStore, stored); diff != "" {
				t.Errorf("stored (-want +got):\n%s", diff)
			}
			codes := make([]string, len(errs))
			for i, err := range errs {
				codes[i] = mediarec.ErrorCode(err)
			}
			if diff := cmp.Diff(tt.wantCodes, codes); diff != "" {
				t.Errorf("error codes (-want +got):\n%s", diff)
			}
		})
	}
}
