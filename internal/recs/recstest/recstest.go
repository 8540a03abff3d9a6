// Package recstest is the conformance suite every recs.ItemStore passes.
package recstest

import (
	stdcmp "cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"mediarec"
	"mediarec/internal/recs"
)

// RunItemStore runs the conformance suite against stores made by newStore,
// each empty and living until its test ends.
func RunItemStore(t *testing.T, newStore func(t *testing.T) recs.ItemStore) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s recs.ItemStore)
	}{
		{"ApplyAndFind", testApplyAndFind},
		{"UpdateReplaces", testUpdateReplaces},
		{"DeleteHides", testDeleteHides},
		{"OlderEventsIgnored", testOlderEventsIgnored},
		{"Replay", testReplay},
		{"SeveralEventsOfOneItem", testSeveralEventsOfOneItem},
		{"FindPopularItems", testFindPopularItems},
		{"FindItemsByIDs", testFindItemsByIDs},
		{"ListInIDOrder", testListInIDOrder},
		{"EmptyBatch", testEmptyBatch},
		{"InvalidEventAppliesNothing", testInvalidEventAppliesNothing},
		{"LargeBatches", testLargeBatches},
		{"ConcurrentReplicas", testConcurrentReplicas},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, newStore(t)) })
	}
}

// sample returns a full item, so that every field has to round-trip.
func sample(id int64, typ mediarec.ItemType, title string) *mediarec.Item {
	at := time.Date(2024, 5, 17, 9, 30, 0, 123456000, time.UTC)
	return &mediarec.Item{
		ID: id, ExternalID: fmt.Sprintf("ml:%d", id), Type: typ, Title: title,
		Description: "A crew travels through a wormhole.",
		Genres:      []string{"Sci-Fi", "Drama"}, Tags: []string{"space", "time travel"},
		Creators: []string{"Christopher Nolan"}, Year: 2014, Language: "en", Popularity: 2_000_000_000_000,
		ImageURL:        "https://images.example.com/interstellar.jpg?w=300&h=450",
		EmbeddingStatus: mediarec.EmbeddingDone, Version: 3, CreatedAt: at, UpdatedAt: at.Add(time.Hour),
	}
}

// upsert is the event at seq saying that item is now as given.
func upsert(seq uint64, item *mediarec.Item) recs.ItemEvent {
	return recs.ItemEvent{Seq: seq, Event: mediarec.CatalogItemEvent{
		SchemaVersion: mediarec.CatalogEventSchemaVersion, ItemID: item.ID, Version: item.Version,
		Item: item, OccurredAt: item.UpdatedAt,
	}}
}

// del is the event at seq saying that item id was deleted.
func del(seq uint64, id int64) recs.ItemEvent {
	return recs.ItemEvent{Seq: seq, Event: mediarec.CatalogItemEvent{
		SchemaVersion: mediarec.CatalogEventSchemaVersion, ItemID: id, Deleted: true,
		OccurredAt: time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC),
	}}
}

func mustApply(t *testing.T, s recs.ItemStore, evs ...recs.ItemEvent) {
	t.Helper()
	if err := s.ApplyItemEvents(context.Background(), evs); err != nil {
		t.Fatalf("apply %d events: %v", len(evs), err)
	}
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := mediarec.ErrorCode(err); got != code {
		t.Fatalf("error code = %q (%v), want %q", got, err, code)
	}
}

// wantItem checks that id is found as want, or ENOTFOUND when want is nil.
func wantItem(t *testing.T, s recs.ItemStore, id int64, want *mediarec.Item) {
	t.Helper()
	got, err := s.FindItemByID(context.Background(), id)
	if want == nil {
		wantCode(t, err, mediarec.ENOTFOUND)
		return
	}
	if err != nil {
		t.Fatalf("find item %d: %v", id, err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("item %d differs (-want +got):\n%s", id, diff)
	}
}

// all returns every item, of any type, in id order.
func all(t *testing.T, s recs.ItemStore) []*mediarec.Item {
	t.Helper()
	items, err := s.FindPopularItems(context.Background(), nil, 1<<20)
	if err != nil {
		t.Fatalf("find every item: %v", err)
	}
	slices.SortFunc(items, func(a, b *mediarec.Item) int { return stdcmp.Compare(a.ID, b.ID) })
	return items
}

func ids(items []*mediarec.Item) []int64 {
	out := make([]int64, len(items))
	for i, it := range items {
		out[i] = it.ID
	}
	return out
}

func sortedIDs(items []*mediarec.Item) []int64 {
	out := ids(items)
	slices.Sort(out)
	return out
}

func testApplyAndFind(t *testing.T, s recs.ItemStore) {
	movie, book := sample(7, mediarec.TypeMovie, "Interstellar"), sample(3, mediarec.TypeBook, "Dune")
	// Empty lists and zero fields round-trip as given.
	bare := &mediarec.Item{ID: 9, Type: mediarec.TypePodcast, Title: "Bare", Genres: []string{}, Tags: []string{}, Creators: []string{}}
	mustApply(t, s, upsert(1, movie), upsert(2, book), upsert(3, bare))
	wantItem(t, s, 7, movie)
	wantItem(t, s, 3, book)
	wantItem(t, s, 9, bare)
	wantItem(t, s, 8, nil)

	// The event's ItemID names the item, whatever its payload's ID says.
	odd := sample(0, mediarec.TypeBook, "No ID")
	ev := upsert(4, odd)
	ev.Event.ItemID = 11
	mustApply(t, s, ev)
	want := *odd
	want.ID = 11
	wantItem(t, s, 11, &want)
	if odd.ID != 0 {
		t.Fatalf("apply changed the caller's item: ID = %d", odd.ID)
	}
}

func testUpdateReplaces(t *testing.T, s recs.ItemStore) {
	ctx := context.Background()
	mustApply(t, s, upsert(1, sample(1, mediarec.TypeBook, "Old")))
	updated := sample(1, mediarec.TypeMovie, "New")
	updated.Tags, updated.Version = []string{"wormhole"}, 4
	mustApply(t, s, upsert(2, updated))
	wantItem(t, s, 1, updated)

	// The type column follows the item: it moved from books to movies.
	books, err := s.FindPopularItems(ctx, []mediarec.ItemType{mediarec.TypeBook}, 10)
	if err != nil {
		t.Fatal(err)
	}
	movies, err := s.FindPopularItems(ctx, []mediarec.ItemType{mediarec.TypeMovie}, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(books) != 0 || !slices.Equal(ids(movies), []int64{1}) {
		t.Fatalf("books %v, movies %v; want none and [1]", ids(books), ids(movies))
	}
}

func testDeleteHides(t *testing.T, s recs.ItemStore) {
	ctx := context.Background()
	kept := sample(2, mediarec.TypeBook, "Kept")
	mustApply(t, s, upsert(1, sample(1, mediarec.TypeBook, "Gone")), upsert(2, kept))
	mustApply(t, s, del(3, 1))

	wantItem(t, s, 1, nil)
	byIDs, err := s.FindItemsByIDs(ctx, []int64{1, 2})
	if err != nil {
		t.Fatal(err)
	}
	byType, err := s.FindPopularItems(ctx, []mediarec.ItemType{mediarec.TypeBook}, 10)
	if err != nil {
		t.Fatal(err)
	}
	anyType, err := s.FindPopularItems(ctx, nil, 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name  string
		items []*mediarec.Item
	}{
		{"FindItemsByIDs", byIDs},
		{"FindPopularItems", byType},
		{"FindPopularItems without types", anyType},
	} {
		if diff := cmp.Diff([]*mediarec.Item{kept}, tt.items); diff != "" {
			t.Errorf("%s after delete (-want +got):\n%s", tt.name, diff)
		}
	}

	// Deleting an item never seen leaves nothing to find either.
	mustApply(t, s, del(4, 5))
	wantItem(t, s, 5, nil)
}

func testOlderEventsIgnored(t *testing.T, s recs.ItemStore) {
	const book, movie = mediarec.TypeBook, mediarec.TypeMovie
	// Each case has its own item, on the one store.
	tests := []struct {
		name          string
		first, second []recs.ItemEvent
		id            int64
		want          *mediarec.Item // nil: ENOTFOUND
	}{
		{
			name:   "older upsert after newer upsert",
			first:  []recs.ItemEvent{upsert(5, sample(1, book, "New"))},
			second: []recs.ItemEvent{upsert(4, sample(1, movie, "Old"))},
			id:     1, want: sample(1, book, "New"),
		},
		{
			name:   "older upsert after delete",
			first:  []recs.ItemEvent{upsert(1, sample(2, book, "First")), del(3, 2)},
			second: []recs.ItemEvent{upsert(2, sample(2, book, "Second"))},
			id:     2, want: nil,
		},
		{
			name:   "older upsert after delete of an item never seen",
			first:  []recs.ItemEvent{del(9, 3)},
			second: []recs.ItemEvent{upsert(8, sample(3, book, "Late"))},
			id:     3, want: nil,
		},
		{
			name:   "older delete after newer upsert",
			first:  []recs.ItemEvent{upsert(7, sample(4, book, "Alive"))},
			second: []recs.ItemEvent{del(6, 4)},
			id:     4, want: sample(4, book, "Alive"),
		},
		{
			name:   "same sequence again",
			first:  []recs.ItemEvent{upsert(5, sample(5, book, "First"))},
			second: []recs.ItemEvent{upsert(5, sample(5, book, "Other"))},
			id:     5, want: sample(5, book, "First"),
		},
		{
			// A tombstone guards only against older events.
			name:   "newer upsert after delete",
			first:  []recs.ItemEvent{upsert(1, sample(6, book, "Before")), del(2, 6)},
			second: []recs.ItemEvent{upsert(3, sample(6, book, "After"))},
			id:     6, want: sample(6, book, "After"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mustApply(t, s, tt.first...)
			mustApply(t, s, tt.second...)
			wantItem(t, s, tt.id, tt.want)
		})
	}
}

func testReplay(t *testing.T, s recs.ItemStore) {
	first := []recs.ItemEvent{
		upsert(1, sample(1, mediarec.TypeBook, "A1")),
		upsert(2, sample(2, mediarec.TypeMovie, "B1")),
		upsert(3, sample(3, mediarec.TypePodcast, "C1")),
	}
	second := []recs.ItemEvent{
		upsert(4, sample(1, mediarec.TypeBook, "A2")),
		del(5, 2),
	}
	mustApply(t, s, first...)
	mustApply(t, s, second...)
	want := all(t, s)
	if !slices.Equal(ids(want), []int64{1, 3}) || want[0].Title != "A2" {
		t.Fatalf("state before replay: ids %v, item 1 %q; want [1 3] and A2", ids(want), want[0].Title)
	}

	for _, tt := range []struct {
		name string
		evs  []recs.ItemEvent
	}{
		{"same batch again", second},
		{"earlier batch", first},
		{"whole stream", append(slices.Clone(first), second...)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			mustApply(t, s, tt.evs...)
			if diff := cmp.Diff(want, all(t, s)); diff != "" {
				t.Fatalf("replay changed the store (-want +got):\n%s", diff)
			}
		})
	}
}

func testSeveralEventsOfOneItem(t *testing.T, s recs.ItemStore) {
	const book, movie = mediarec.TypeBook, mediarec.TypeMovie
	// Each case has its own item, on the one store.
	tests := []struct {
		name string
		evs  []recs.ItemEvent
		id   int64
		want *mediarec.Item // nil: ENOTFOUND
	}{
		{
			name: "updates",
			evs:  []recs.ItemEvent{upsert(1, sample(1, book, "One")), upsert(2, sample(1, movie, "Two")), upsert(3, sample(1, book, "Three"))},
			id:   1, want: sample(1, book, "Three"),
		},
		{
			name: "create then delete",
			evs:  []recs.ItemEvent{upsert(1, sample(2, book, "Brief")), del(2, 2)},
			id:   2, want: nil,
		},
		{
			name: "delete then create again",
			evs:  []recs.ItemEvent{upsert(1, sample(3, book, "Old")), del(2, 3), upsert(3, sample(3, book, "Back"))},
			id:   3, want: sample(3, book, "Back"),
		},
		{
			// The newest event wins even when it is not last in the batch.
			name: "out of order",
			evs:  []recs.ItemEvent{upsert(3, sample(4, book, "Newest")), upsert(2, sample(4, book, "Older")), del(1, 4)},
			id:   4, want: sample(4, book, "Newest"),
		},
		{
			// Of two events with one sequence the first applies: the second
			// is not above it.
			name: "repeated sequence",
			evs:  []recs.ItemEvent{upsert(4, sample(5, book, "First")), upsert(4, sample(5, book, "Second"))},
			id:   5, want: sample(5, book, "First"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Another item in the batch must not be disturbed.
			other := sample(tt.id+1000, movie, "Bystander")
			mustApply(t, s, append(slices.Clone(tt.evs), upsert(1, other))...)
			wantItem(t, s, tt.id, tt.want)
			wantItem(t, s, other.ID, other)
		})
	}
}

// popular is sample with a popularity.
func popular(id int64, typ mediarec.ItemType, n int64) *mediarec.Item {
	it := sample(id, typ, fmt.Sprintf("%s %d", typ, id))
	it.Popularity = n
	return it
}

func testFindPopularItems(t *testing.T, s recs.ItemStore) {
	mustApply(t, s,
		upsert(1, popular(1, mediarec.TypeBook, 10)),
		upsert(2, popular(2, mediarec.TypeMovie, 500)),
		upsert(3, popular(3, mediarec.TypeBook, 4_000_000)),
		upsert(4, popular(4, mediarec.TypeBook, 0)),
		upsert(5, popular(5, mediarec.TypeMovie, 7)),
		upsert(6, popular(6, mediarec.TypeBook, 10)), // ties with 1: id order
		upsert(7, popular(7, mediarec.TypeBook, 9_000_000)),
		upsert(8, popular(8, mediarec.TypePodcast, 0)),
		del(9, 7), // the most popular, gone
		upsert(10, popular(5, mediarec.TypeMovie, 800)), // a new count moves it up
		upsert(11, popular(4, mediarec.TypeBook, 20)),
		upsert(12, popular(9, mediarec.TypePodcast, 0)),
	)
	tests := []struct {
		name  string
		types []mediarec.ItemType
		limit int
		want  []int64
	}{
		{"one type", []mediarec.ItemType{mediarec.TypeBook}, 10, []int64{3, 4, 1, 6}},
		{"one type limited", []mediarec.ItemType{mediarec.TypeBook}, 2, []int64{3, 4}},
		{"counts changed", []mediarec.ItemType{mediarec.TypeMovie}, 10, []int64{5, 2}},
		{"no counts: id order", []mediarec.ItemType{mediarec.TypePodcast}, 10, []int64{8, 9}},
		{"two types", []mediarec.ItemType{mediarec.TypeMovie, mediarec.TypeBook}, 3, []int64{3, 5, 2}},
		{"every type", nil, 10, []int64{3, 5, 2, 4, 1, 6, 8, 9}},
		{"type without items", []mediarec.ItemType{mediarec.TypeDocumentary}, 10, []int64{}},
		{"zero limit", nil, 0, []int64{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.FindPopularItems(context.Background(), tt.types, tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(ids(got), tt.want) {
				t.Fatalf("ids = %v, want %v", ids(got), tt.want)
			}
		})
	}
	// The item read back carries its popularity, not only the order.
	got, err := s.FindPopularItems(context.Background(), []mediarec.ItemType{mediarec.TypeMovie}, 1)
	if err != nil || len(got) != 1 || got[0].Popularity != 800 {
		t.Fatalf("most popular movie %+v, %v; want item 5 with popularity 800", got, err)
	}
}

func testFindItemsByIDs(t *testing.T, s recs.ItemStore) {
	mustApply(t, s,
		upsert(1, sample(1, mediarec.TypeBook, "One")),
		upsert(2, sample(2, mediarec.TypeMovie, "Two")),
		upsert(3, sample(3, mediarec.TypeBook, "Three")),
		del(4, 3),
	)
	tests := []struct {
		name string
		ids  []int64
		want []int64
	}{
		{"all known", []int64{2, 1}, []int64{1, 2}},
		{"unknown skipped", []int64{1, 99}, []int64{1}},
		{"deleted skipped", []int64{3, 2}, []int64{2}},
		{"none found", []int64{3, 98}, []int64{}},
		{"no ids", nil, []int64{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.FindItemsByIDs(context.Background(), tt.ids)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(sortedIDs(got), tt.want) {
				t.Fatalf("ids = %v, want %v", sortedIDs(got), tt.want)
			}
			for _, it := range got {
				if it.Title == "" || it.ExternalID != fmt.Sprintf("ml:%d", it.ID) {
					t.Fatalf("item %d came back incomplete: %+v", it.ID, it)
				}
			}
		})
	}
}

func testListInIDOrder(t *testing.T, s recs.ItemStore) {
	if got := all(t, s); len(got) != 0 {
		t.Fatalf("empty store yields %v", ids(got))
	}
	want := []*mediarec.Item{
		sample(1, mediarec.TypeBook, "One"),
		sample(4, mediarec.TypePodcast, "Four"),
		sample(10, mediarec.TypeMovie, "Ten"),
	}
	mustApply(t, s, upsert(1, want[2]), upsert(2, sample(7, mediarec.TypeBook, "Seven")), upsert(3, want[0]), upsert(4, want[1]), del(5, 7))
	if diff := cmp.Diff(want, all(t, s)); diff != "" {
		t.Fatalf("every item (-want +got):\n%s", diff)
	}
}

func testEmptyBatch(t *testing.T, s recs.ItemStore) {
	for _, evs := range [][]recs.ItemEvent{nil, {}} {
		if err := s.ApplyItemEvents(context.Background(), evs); err != nil {
			t.Fatalf("apply %#v: %v", evs, err)
		}
	}
	if got := all(t, s); len(got) != 0 {
		t.Fatalf("empty batches left %v", ids(got))
	}
}

func testInvalidEventAppliesNothing(t *testing.T, s recs.ItemStore) {
	bad := upsert(2, sample(2, mediarec.TypeBook, "Bad"))
	bad.Event.Item = nil // neither an item nor a deletion
	err := s.ApplyItemEvents(context.Background(), []recs.ItemEvent{upsert(1, sample(1, mediarec.TypeBook, "Good")), bad})
	wantCode(t, err, mediarec.EINVALID)
	// All or none: the valid event went with the batch.
	wantItem(t, s, 1, nil)
}

func testLargeBatches(t *testing.T, s recs.ItemStore) {
	// Batches of the size a consumer pulls.
	const total, batch = 2500, 500
	start := time.Now()
	for from := 0; from < total; from += batch {
		evs := make([]recs.ItemEvent, 0, batch)
		for i := from; i < from+batch; i++ {
			id := int64(total - i) // newest ids first
			evs = append(evs, upsert(uint64(i+1), sample(id, mediarec.ItemTypes[i%len(mediarec.ItemTypes)], fmt.Sprintf("Item %d", id))))
		}
		mustApply(t, s, evs...)
	}
	t.Logf("applied %d events in batches of %d in %v", total, batch, time.Since(start))

	got := all(t, s)
	if len(got) != total {
		t.Fatalf("found %d items, want %d", len(got), total)
	}
	for i, it := range got {
		if it.ID != int64(i+1) || it.Title != fmt.Sprintf("Item %d", it.ID) {
			t.Fatalf("item %d of all is %d %q", i, it.ID, it.Title)
		}
	}
}

func testConcurrentReplicas(t *testing.T, s recs.ItemStore) {
	// Replicas sharing the store apply the same stream at their own pace,
	// one forwards and one backwards through items and batches: they must
	// neither fail (a deadlock between them is a failure) nor leave anything
	// but the newest event of each item.
	const items, rounds = 50, 3
	var stream []recs.ItemEvent
	seq := uint64(0)
	for round := range rounds {
		for id := int64(1); id <= items; id++ {
			seq++
			if round == rounds-1 && id%5 == 0 {
				stream = append(stream, del(seq, id))
				continue
			}
			stream = append(stream, upsert(seq, sample(id, mediarec.TypeBook, fmt.Sprintf("Round %d", round))))
		}
	}
	backwards := slices.Clone(stream)
	slices.Reverse(backwards)

	const batch = 20
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for _, evs := range [][]recs.ItemEvent{stream, backwards, stream, backwards} {
		wg.Go(func() {
			for from := 0; from < len(evs); from += batch {
				if err := s.ApplyItemEvents(context.Background(), evs[from:min(from+batch, len(evs))]); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent apply: %v", err)
	}

	for id := int64(1); id <= items; id++ {
		want := sample(id, mediarec.TypeBook, fmt.Sprintf("Round %d", rounds-1))
		if id%5 == 0 {
			want = nil
		}
		wantItem(t, s, id, want)
	}
}
