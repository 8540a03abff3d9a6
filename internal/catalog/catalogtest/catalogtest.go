// Package catalogtest is the conformance suite every catalog.Store passes.
package catalogtest

import (
	"context"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"go.opentelemetry.io/otel/trace"

	"mediarec"
	"mediarec/internal/catalog"
)

// Store is everything a catalog store provides.
type Store interface {
	catalog.Store
	catalog.ChangeStore
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
		{"CreateConflict", testCreateConflict},
		{"FindUnknown", testFindUnknown},
		{"Update", testUpdate},
		{"UpdateUnknown", testUpdateUnknown},
		{"Delete", testDelete},
		{"FindItemsFilters", testFindItemsFilters},
		{"FindItemsKeyset", testFindItemsKeyset},
		{"FindItemsByTitle", testFindItemsByTitle},
		{"FindItemsByTitleFollowsChanges", testFindItemsByTitleFollowsChanges},
		{"Upsert", testUpsert},
		{"UpsertMany", testUpsertMany},
		{"Changes", testChanges},
		{"ChangeSeqsNeverReused", testChangeSeqsNeverReused},
		{"EmbeddingStatus", testEmbeddingStatus},
		{"StatusChangesAnnounced", testStatusChangesAnnounced},
		{"Popularity", testPopularity},
		{"ImageURL", testImageURL},
		{"FindItemsByEmbeddingStatus", testFindItemsByEmbeddingStatus},
		{"CountEmbeddingStatusByType", testCountEmbeddingStatusByType},
		{"FindTopTags", testFindTopTags},
		{"EnqueueAll", testEnqueueAll},
		{"ChangesKeepTraceParent", testChangesKeepTraceParent},
		{"CountChanges", testCountChanges},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, newStore(t)) })
	}
}

// ignoreStored ignores what the store assigns rather than what it is given.
var ignoreStored = cmpopts.IgnoreFields(mediarec.Item{}, "ID", "CreatedAt", "UpdatedAt", "EmbeddingStatus", "EmbeddingError", "Version")

func sample(ext, title string) *mediarec.Item {
	return &mediarec.Item{
		ExternalID: ext, Type: mediarec.TypeMovie, Title: title,
		Description: "A crew travels through a wormhole.",
		Genres:      []string{"Sci-Fi", "Drama"}, Tags: []string{"space", "time travel"},
		Creators: []string{"Christopher Nolan"}, Year: 2014, Language: "en", Popularity: 2_000_000_000_000,
		ImageURL: "https://images.example.com/interstellar.jpg?w=300&h=450",
	}
}

func mustCreate(t *testing.T, s Store, item *mediarec.Item) *mediarec.Item {
	t.Helper()
	if err := s.CreateItem(context.Background(), item); err != nil {
		t.Fatalf("create %q: %v", item.Title, err)
	}
	return item
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := mediarec.ErrorCode(err); got != code {
		t.Fatalf("error code = %q (%v), want %q", got, err, code)
	}
}

func testCreateAndFind(t *testing.T, s Store) {
	ctx := context.Background()
	in := mustCreate(t, s, sample("ml:1", "Interstellar"))
	if in.ID == 0 || in.CreatedAt.IsZero() || in.EmbeddingStatus != mediarec.EmbeddingPending {
		t.Fatalf("create did not assign id, time and status: %+v", in)
	}
	got, err := s.FindItemByID(ctx, in.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(sample("ml:1", "Interstellar"), got, ignoreStored); diff != "" {
		t.Fatalf("stored item differs (-want +got):\n%s", diff)
	}
	if got.EmbeddingStatus != mediarec.EmbeddingPending {
		t.Fatalf("status = %q, want pending", got.EmbeddingStatus)
	}

	// Empty lists and an unknown year round-trip as empty, not as null.
	bare := mustCreate(t, s, &mediarec.Item{Type: mediarec.TypePodcast, Title: "Bare", Genres: []string{}, Tags: []string{}, Creators: []string{}})
	got, err = s.FindItemByID(ctx, bare.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Genres == nil || got.Tags == nil || got.Creators == nil || got.Year != 0 || got.ExternalID != "" {
		t.Fatalf("bare item = %+v", got)
	}
}

func testCreateConflict(t *testing.T, s Store) {
	mustCreate(t, s, sample("dup", "One"))
	err := s.CreateItem(context.Background(), sample("dup", "Two"))
	wantCode(t, err, mediarec.ECONFLICT)
	// Items without an external id never conflict with each other.
	mustCreate(t, s, sample("", "Three"))
	mustCreate(t, s, sample("", "Four"))
}

func testFindUnknown(t *testing.T, s Store) {
	_, err := s.FindItemByID(context.Background(), 999999)
	wantCode(t, err, mediarec.ENOTFOUND)
}

func testUpdate(t *testing.T, s Store) {
	ctx := context.Background()
	item := mustCreate(t, s, sample("u1", "Old"))
	other := mustCreate(t, s, sample("u2", "Other"))
	title, tags := "New", []string{"wormhole"}
	got, err := s.UpdateItem(ctx, item.ID, mediarec.ItemUpdate{Title: &title, Tags: &tags})
	if err != nil {
		t.Fatal(err)
	}
	want := sample("u1", "New")
	want.Tags = tags
	if diff := cmp.Diff(want, got, ignoreStored); diff != "" {
		t.Fatalf("updated item differs (-want +got):\n%s", diff)
	}
	if got.ID != item.ID || got.UpdatedAt.Before(item.UpdatedAt) {
		t.Fatalf("update changed id or moved updated_at back: %+v", got)
	}
	taken := other.ExternalID
	_, err = s.UpdateItem(ctx, item.ID, mediarec.ItemUpdate{ExternalID: &taken})
	wantCode(t, err, mediarec.ECONFLICT)
}

func testUpdateUnknown(t *testing.T, s Store) {
	title := "x"
	_, err := s.UpdateItem(context.Background(), 424242, mediarec.ItemUpdate{Title: &title})
	wantCode(t, err, mediarec.ENOTFOUND)
}

func testDelete(t *testing.T, s Store) {
	ctx := context.Background()
	item := mustCreate(t, s, sample("d1", "Gone"))
	if err := s.DeleteItem(ctx, item.ID); err != nil {
		t.Fatal(err)
	}
	_, err := s.FindItemByID(ctx, item.ID)
	wantCode(t, err, mediarec.ENOTFOUND)
	wantCode(t, s.DeleteItem(ctx, item.ID), mediarec.ENOTFOUND)
	// The external id is free again.
	mustCreate(t, s, sample("d1", "Back"))
}

func testFindItemsFilters(t *testing.T, s Store) {
	mk := func(ext, title string, typ mediarec.ItemType, genres ...string) {
		mustCreate(t, s, &mediarec.Item{ExternalID: ext, Type: typ, Title: title, Genres: genres, Tags: []string{}, Creators: []string{}})
	}
	mk("a", "Cosmos: A Spacetime Odyssey", mediarec.TypeDocumentary, "Documentary", "Science")
	mk("b", "The Martian", mediarec.TypeMovie, "Sci-Fi", "Drama")
	mk("c", "The Martian", mediarec.TypeBook, "science-fiction")
	mk("d", "Radiolab", mediarec.TypePodcast, "Science")
	mk("e", "100% Wolf_Pack", mediarec.TypeMovie, "Animation")

	tests := []struct {
		name   string
		filter mediarec.ItemFilter
		want   []string
	}{
		{"all", mediarec.ItemFilter{}, []string{"a", "b", "c", "d", "e"}},
		{"one type", mediarec.ItemFilter{Types: []mediarec.ItemType{mediarec.TypeMovie}}, []string{"b", "e"}},
		{"two types", mediarec.ItemFilter{Types: []mediarec.ItemType{mediarec.TypeBook, mediarec.TypePodcast}}, []string{"c", "d"}},
		{"genre any case", mediarec.ItemFilter{Genre: "science"}, []string{"a", "d"}},
		{"genre is whole", mediarec.ItemFilter{Genre: "Sci"}, nil},
		{"title substring any case", mediarec.ItemFilter{Query: "martian"}, []string{"b", "c"}},
		{"title percent is literal", mediarec.ItemFilter{Query: "100%"}, []string{"e"}},
		{"title underscore is literal", mediarec.ItemFilter{Query: "f_p"}, []string{"e"}},
		{"wildcards match nothing else", mediarec.ItemFilter{Query: "%"}, []string{"e"}},
		{"combined", mediarec.ItemFilter{Types: []mediarec.ItemType{mediarec.TypeBook}, Query: "mart", Genre: "SCIENCE-FICTION"}, []string{"c"}},
		{"none", mediarec.ItemFilter{Query: "zzz"}, nil},
		{"one letter any case", mediarec.ItemFilter{Query: "K"}, []string{"e"}},
		{"two letters across a word break", mediarec.ItemFilter{Query: "e m"}, []string{"b", "c"}},
		{"two letters with an underscore", mediarec.ItemFilter{Query: "F_"}, []string{"e"}},
		{"two letters none", mediarec.ItemFilter{Query: "qz"}, nil},
		{"two letters of another case form", mediarec.ItemFilter{Query: "Ad"}, []string{"d"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.filter.Limit = 100
			if diff := cmp.Diff(tt.want, findExternalIDs(t, s, tt.filter)); diff != "" {
				t.Fatalf("external ids (-want +got):\n%s", diff)
			}
		})
	}
}

func testFindItemsKeyset(t *testing.T, s Store) {
	ctx := context.Background()
	var want []int64
	for i := range 7 {
		want = append(want, mustCreate(t, s, sample(fmt.Sprintf("k%d", i), fmt.Sprintf("Item %d", i))).ID)
	}
	var got []int64
	after := int64(0)
	for {
		items, err := s.FindItems(ctx, mediarec.ItemFilter{AfterID: after, Limit: 3})
		if err != nil {
			t.Fatal(err)
		}
		if len(items) > 3 {
			t.Fatalf("page of %d items, limit 3", len(items))
		}
		for _, it := range items {
			got = append(got, it.ID)
		}
		if len(items) < 3 {
			break
		}
		after = items[len(items)-1].ID
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("paged ids (-want +got):\n%s", diff)
	}
}

func testUpsert(t *testing.T, s Store) {
	ctx := context.Background()
	upsert := func(item *mediarec.Item) mediarec.UpsertOutcome {
		t.Helper()
		out, err := s.UpsertItems(ctx, []*mediarec.Item{item})
		if err != nil {
			t.Fatal(err)
		}
		if len(out) != 1 {
			t.Fatalf("%d outcomes for 1 item", len(out))
		}
		return out[0]
	}
	first := sample("up", "Interstellar")
	if got := upsert(first); got != mediarec.Created {
		t.Fatalf("first upsert = %v, want Created", got)
	}
	if first.ID == 0 {
		t.Fatal("upsert did not set the id")
	}
	again := sample("up", "Interstellar")
	if got := upsert(again); got != mediarec.Unchanged {
		t.Fatalf("same content = %v, want Unchanged", got)
	}
	if again.ID != first.ID {
		t.Fatalf("unchanged upsert id = %d, want %d", again.ID, first.ID)
	}
	changed := sample("up", "Interstellar")
	changed.Year = 0
	changed.Tags = []string{"space"}
	if got := upsert(changed); got != mediarec.Updated {
		t.Fatalf("changed content = %v, want Updated", got)
	}
	stored, err := s.FindItemByID(ctx, first.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(changed, stored, ignoreStored); diff != "" {
		t.Fatalf("stored after update (-want +got):\n%s", diff)
	}
}

func testUpsertMany(t *testing.T, s Store) {
	ctx := context.Background()
	batch := func(n int, title string) []*mediarec.Item {
		items := make([]*mediarec.Item, n)
		for i := range items {
			items[i] = sample(fmt.Sprintf("m%04d", i), fmt.Sprintf("%s %d", title, i))
		}
		return items
	}
	count := func(outs []mediarec.UpsertOutcome) map[mediarec.UpsertOutcome]int {
		m := map[mediarec.UpsertOutcome]int{}
		for _, o := range outs {
			m[o]++
		}
		return m
	}
	outs, err := s.UpsertItems(ctx, batch(1500, "A"))
	if err != nil {
		t.Fatal(err)
	}
	if c := count(outs); c[mediarec.Created] != 1500 {
		t.Fatalf("first batch outcomes = %v", c)
	}
	again := batch(1500, "A")
	again[7].Title = "changed"
	outs, err = s.UpsertItems(ctx, again)
	if err != nil {
		t.Fatal(err)
	}
	if c := count(outs); c[mediarec.Unchanged] != 1499 || c[mediarec.Updated] != 1 || outs[7] != mediarec.Updated {
		t.Fatalf("second batch outcomes = %v", c)
	}
	items, err := s.FindItems(ctx, mediarec.ItemFilter{Limit: 2000})
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 1500 {
		t.Fatalf("%d items stored, want 1500", len(items))
	}
}

// testChanges checks the outbox: every content change, and only those,
// leaves an entry with the item's new version, in order.
func testChanges(t *testing.T, s Store) {
	ctx := context.Background()
	a := mustCreate(t, s, sample("c1", "A"))
	title := "A2"
	if _, err := s.UpdateItem(ctx, a.ID, mediarec.ItemUpdate{Title: &title}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateItem(ctx, a.ID, mediarec.ItemUpdate{Title: &title}); err != nil { // no change
		t.Fatal(err)
	}
	batch := []*mediarec.Item{sample("c2", "B"), sample("c1", "A2")}
	if _, err := s.UpsertItems(ctx, batch); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteItem(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	changes, err := s.FindChanges(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	b := batch[0]
	want := []mediarec.ItemChange{
		{ItemID: a.ID, Version: 1}, {ItemID: a.ID, Version: 2},
		{ItemID: b.ID, Version: 1}, {ItemID: a.ID, Version: 2, Deleted: true},
	}
	if diff := cmp.Diff(want, changes, cmpopts.IgnoreFields(mediarec.ItemChange{}, "Seq")); diff != "" {
		t.Fatalf("changes (-want +got):\n%s", diff)
	}
	for i := 1; i < len(changes); i++ {
		if changes[i].Seq <= changes[i-1].Seq {
			t.Fatalf("changes out of order: %+v", changes)
		}
	}
	first, err := s.FindChanges(ctx, 2)
	if err != nil || len(first) != 2 {
		t.Fatalf("limit 2: %v, %v", first, err)
	}
	if err := s.DeleteChanges(ctx, []int64{first[0].Seq, first[1].Seq}); err != nil {
		t.Fatal(err)
	}
	rest, err := s.FindChanges(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(changes[2:], rest); diff != "" {
		t.Fatalf("after delete (-want +got):\n%s", diff)
	}
}

// testChangeSeqsNeverReused: the bus drops a message whose id it saw
// minutes ago, and the relay names messages by sequence number, so a number
// must not come back once the outbox has been emptied.
func testChangeSeqsNeverReused(t *testing.T, s Store) {
	ctx := context.Background()
	mustCreate(t, s, sample("s1", "A"))
	first, err := s.FindChanges(ctx, 10)
	if err != nil || len(first) != 1 {
		t.Fatalf("changes: %v, %v", first, err)
	}
	if err := s.DeleteChanges(ctx, []int64{first[0].Seq}); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, s, sample("s2", "B"))
	next, err := s.FindChanges(ctx, 10)
	if err != nil || len(next) != 1 {
		t.Fatalf("changes: %v, %v", next, err)
	}
	if next[0].Seq <= first[0].Seq {
		t.Fatalf("sequence %d came back after the outbox emptied (the new change got %d)", first[0].Seq, next[0].Seq)
	}
}

func testEmbeddingStatus(t *testing.T, s Store) {
	ctx := context.Background()
	a := mustCreate(t, s, sample("e1", "A"))
	b := mustCreate(t, s, sample("e2", "B"))
	title := "A2"
	if _, err := s.UpdateItem(ctx, a.ID, mediarec.ItemUpdate{Title: &title}); err != nil {
		t.Fatal(err)
	}
	results := []mediarec.EmbedResult{
		{ItemID: a.ID, Version: 1, Status: mediarec.EmbeddingDone}, // stale: a is at version 2
		{ItemID: b.ID, Version: 1, Status: mediarec.EmbeddingDone},
		{ItemID: b.ID, Version: 1, Status: mediarec.EmbeddingFailed, Error: "embedder said no"}, // the later holds
		{ItemID: 424242, Version: 1, Status: mediarec.EmbeddingDone},                            // deleted meanwhile
	}
	if err := s.SetEmbeddingStatuses(ctx, results); err != nil {
		t.Fatal(err)
	}
	items, err := s.FindItemsByIDs(ctx, []int64{b.ID, a.ID, 424242})
	if err != nil {
		t.Fatal(err)
	}
	got := map[int64]*mediarec.Item{}
	for _, it := range items {
		got[it.ID] = it
	}
	if len(got) != 2 || got[a.ID].EmbeddingStatus != mediarec.EmbeddingPending || got[a.ID].Version != 2 {
		t.Fatalf("a stale result changed a: %+v", got[a.ID])
	}
	if got[b.ID].EmbeddingStatus != mediarec.EmbeddingFailed || got[b.ID].EmbeddingError != "embedder said no" {
		t.Fatalf("failure not recorded: %+v", got[b.ID])
	}
	if err := s.SetEmbeddingStatuses(ctx, []mediarec.EmbedResult{{ItemID: a.ID, Version: 2, Status: mediarec.EmbeddingDone}}); err != nil {
		t.Fatal(err)
	}
	counts, err := s.CountEmbeddingStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := map[mediarec.EmbeddingStatus]int{mediarec.EmbeddingDone: 1, mediarec.EmbeddingFailed: 1}
	if diff := cmp.Diff(want, counts); diff != "" {
		t.Fatalf("counts (-want +got):\n%s", diff)
	}
}

// drainChanges reads and deletes the outbox, as the relay does.
func drainChanges(t *testing.T, s Store) []mediarec.ItemChange {
	t.Helper()
	ctx := context.Background()
	changes, err := s.FindChanges(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	seqs := make([]int64, len(changes))
	for i, c := range changes {
		seqs[i] = c.Seq
	}
	if err := s.DeleteChanges(ctx, seqs); err != nil {
		t.Fatal(err)
	}
	return changes
}

// testStatusChangesAnnounced: a result that changes an item's status
// leaves one event-only change of the item's version, so that other
// services' copies follow; a repeated or stale result leaves none.
func testStatusChangesAnnounced(t *testing.T, s Store) {
	ctx := context.Background()
	a := mustCreate(t, s, sample("e1", "A"))
	drain := func() []mediarec.ItemChange { return drainChanges(t, s) }
	if got := drain(); len(got) != 1 || got[0].EventOnly {
		t.Fatalf("a create left %+v, want one change that asks for an embedding", got)
	}
	tests := []struct {
		name   string
		result mediarec.EmbedResult
		want   []mediarec.ItemChange
	}{
		{"done", mediarec.EmbedResult{ItemID: a.ID, Version: 1, Status: mediarec.EmbeddingDone}, []mediarec.ItemChange{{ItemID: a.ID, Version: 1, EventOnly: true}}},
		{"done again", mediarec.EmbedResult{ItemID: a.ID, Version: 1, Status: mediarec.EmbeddingDone}, nil},
		{"stale", mediarec.EmbedResult{ItemID: a.ID, Version: 0, Status: mediarec.EmbeddingFailed, Error: "old"}, nil},
		{"failed", mediarec.EmbedResult{ItemID: a.ID, Version: 1, Status: mediarec.EmbeddingFailed, Error: "no"}, []mediarec.ItemChange{{ItemID: a.ID, Version: 1, EventOnly: true}}},
		{"another error", mediarec.EmbedResult{ItemID: a.ID, Version: 1, Status: mediarec.EmbeddingFailed, Error: "still no"}, []mediarec.ItemChange{{ItemID: a.ID, Version: 1, EventOnly: true}}},
	}
	for _, tt := range tests {
		if err := s.SetEmbeddingStatuses(ctx, []mediarec.EmbedResult{tt.result}); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if diff := cmp.Diff(tt.want, drain(), cmpopts.IgnoreFields(mediarec.ItemChange{}, "Seq"), cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("%s: changes (-want +got):\n%s", tt.name, diff)
		}
	}
}

// attributeCase is a change of an item's attributes that are not content
// (popularity, the image URL), by update or else by upsert, and what it
// must leave.
type attributeCase struct {
	name        string
	update      *mediarec.ItemUpdate
	upsert      *mediarec.Item
	wantOutcome mediarec.UpsertOutcome
	want        mediarec.Item // the attribute, version, status
	wantChanges []mediarec.ItemChange
}

// runAttributeCases applies each case to item id in turn and checks the
// attribute under test (attr), the version and the status of the item
// returned and stored, and the outbox changes it left.
func runAttributeCases(t *testing.T, s Store, id int64, attr func(*mediarec.Item) any, tests []attributeCase) {
	t.Helper()
	ctx := context.Background()
	for _, tt := range tests {
		if tt.update != nil {
			got, err := s.UpdateItem(ctx, id, *tt.update)
			if err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			if attr(got) != attr(&tt.want) || got.Version != tt.want.Version {
				t.Errorf("%s: update returned %v version %d, want %v %d", tt.name, attr(got), got.Version, attr(&tt.want), tt.want.Version)
			}
		} else {
			out, err := s.UpsertItems(ctx, []*mediarec.Item{tt.upsert})
			if err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			if out[0] != tt.wantOutcome || tt.upsert.ID != id {
				t.Errorf("%s: outcome %v id %d, want %v %d", tt.name, out[0], tt.upsert.ID, tt.wantOutcome, id)
			}
		}
		got, err := s.FindItemByID(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if attr(got) != attr(&tt.want) || got.Version != tt.want.Version || got.EmbeddingStatus != tt.want.EmbeddingStatus {
			t.Errorf("%s: stored %v version %d status %s, want %v %d %s", tt.name,
				attr(got), got.Version, got.EmbeddingStatus, attr(&tt.want), tt.want.Version, tt.want.EmbeddingStatus)
		}
		if diff := cmp.Diff(tt.wantChanges, drainChanges(t, s), cmpopts.IgnoreFields(mediarec.ItemChange{}, "Seq", "TraceParent"), cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("%s: changes (-want +got):\n%s", tt.name, diff)
		}
	}
}

// testPopularity: popularity is stored, but a change of it alone keeps the
// version and embedding and leaves an event-only change, by update and by
// upsert alike; with a content change it rides along with the new version.
func testPopularity(t *testing.T, s Store) {
	ctx := context.Background()
	a := mustCreate(t, s, sample("p1", "A"))
	drain := func() []mediarec.ItemChange { return drainChanges(t, s) }
	drain()
	if err := s.SetEmbeddingStatuses(ctx, []mediarec.EmbedResult{{ItemID: a.ID, Version: 1, Status: mediarec.EmbeddingDone}}); err != nil {
		t.Fatal(err)
	}
	drain()
	withPopularity := func(n int64, title string) *mediarec.Item {
		it := sample("p1", title)
		it.Popularity = n
		return it
	}
	n := func(v int64) *int64 { return &v }
	title := "B"
	tests := []attributeCase{
		{"update alone", &mediarec.ItemUpdate{Popularity: n(7)}, nil, 0,
			mediarec.Item{Popularity: 7, Version: 1, EmbeddingStatus: mediarec.EmbeddingDone},
			[]mediarec.ItemChange{{ItemID: a.ID, Version: 1, EventOnly: true}}},
		{"update to the same", &mediarec.ItemUpdate{Popularity: n(7)}, nil, 0,
			mediarec.Item{Popularity: 7, Version: 1, EmbeddingStatus: mediarec.EmbeddingDone}, nil},
		{"upsert alone", nil, withPopularity(0, "A"), mediarec.Updated,
			mediarec.Item{Popularity: 0, Version: 1, EmbeddingStatus: mediarec.EmbeddingDone},
			[]mediarec.ItemChange{{ItemID: a.ID, Version: 1, EventOnly: true}}},
		{"upsert the same", nil, withPopularity(0, "A"), mediarec.Unchanged,
			mediarec.Item{Popularity: 0, Version: 1, EmbeddingStatus: mediarec.EmbeddingDone}, nil},
		{"upsert with content", nil, withPopularity(40, "A2"), mediarec.Updated,
			mediarec.Item{Popularity: 40, Version: 2, EmbeddingStatus: mediarec.EmbeddingPending},
			[]mediarec.ItemChange{{ItemID: a.ID, Version: 2}}},
		{"update with content", &mediarec.ItemUpdate{Title: &title, Popularity: n(41)}, nil, 0,
			mediarec.Item{Popularity: 41, Version: 3, EmbeddingStatus: mediarec.EmbeddingPending},
			[]mediarec.ItemChange{{ItemID: a.ID, Version: 3}}},
	}
	runAttributeCases(t, s, a.ID, func(it *mediarec.Item) any { return it.Popularity }, tests)

	// In a batch, each item's change is told apart from the others'.
	b := sample("p2", "B")
	if _, err := s.UpsertItems(ctx, []*mediarec.Item{b}); err != nil {
		t.Fatal(err)
	}
	drain()
	batch := []*mediarec.Item{withPopularity(41, "A3"), sample("p2", "B"), sample("p3", "C")}
	batch[1].Popularity = 9
	out, err := s.UpsertItems(ctx, batch)
	if err != nil {
		t.Fatal(err)
	}
	if want := []mediarec.UpsertOutcome{mediarec.Updated, mediarec.Updated, mediarec.Created}; !cmp.Equal(out, want) {
		t.Fatalf("batch outcomes %v, want %v", out, want)
	}
	changes := drain()
	kinds := map[int64]bool{}
	for _, c := range changes {
		kinds[c.ItemID] = c.EventOnly
	}
	if want := map[int64]bool{a.ID: false, b.ID: true, batch[2].ID: false}; len(changes) != 3 || !cmp.Equal(kinds, want) {
		t.Fatalf("batch changes %+v, want event-only for %d alone", changes, b.ID)
	}
}

func testEnqueueAll(t *testing.T, s Store) {
	ctx := context.Background()
	a := mustCreate(t, s, sample("q1", "A"))
	b := mustCreate(t, s, sample("q2", "B"))
	seen, err := s.FindChanges(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	n, err := s.EnqueueAll(ctx, "items_next")
	if err != nil || n != 2 {
		t.Fatalf("enqueue all = %d, %v; want 2", n, err)
	}
	changes, err := s.FindChanges(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	want := []mediarec.ItemChange{{ItemID: a.ID, Version: 1, Collection: "items_next"}, {ItemID: b.ID, Version: 1, Collection: "items_next"}}
	if diff := cmp.Diff(want, changes[len(seen):], cmpopts.IgnoreFields(mediarec.ItemChange{}, "Seq")); diff != "" {
		t.Fatalf("changes (-want +got):\n%s", diff)
	}
}

// testChangesKeepTraceParent: every write leaves its entries with the W3C
// traceparent of the span in its context, so that the relay continues the
// writer's trace; a write outside any span leaves none.
func testChangesKeepTraceParent(t *testing.T, s Store) {
	sc := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID:    trace.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36},
		SpanID:     trace.SpanID{0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7},
		TraceFlags: trace.FlagsSampled,
	})
	const want = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	traced := trace.ContextWithSpanContext(context.Background(), sc)
	a := sample("t1", "A")
	if err := s.CreateItem(traced, a); err != nil {
		t.Fatal(err)
	}
	title := "A2"
	if _, err := s.UpdateItem(traced, a.ID, mediarec.ItemUpdate{Title: &title}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpsertItems(traced, []*mediarec.Item{sample("t2", "B")}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetEmbeddingStatuses(traced, []mediarec.EmbedResult{{ItemID: a.ID, Version: 2, Status: mediarec.EmbeddingDone}}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteItem(traced, a.ID); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, s, sample("t3", "C")) // no span
	changes, err := s.FindChanges(context.Background(), 100)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range changes {
		got = append(got, c.TraceParent)
	}
	if diff := cmp.Diff([]string{want, want, want, want, want, ""}, got); diff != "" {
		t.Fatalf("trace parents of create, update, upsert, status, delete, untraced create (-want +got):\n%s", diff)
	}
}

// testCountChanges: the relay reports the outbox's depth.
func testCountChanges(t *testing.T, s Store) {
	ctx := context.Background()
	count := func() int {
		t.Helper()
		n, err := s.CountChanges(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count(); n != 0 {
		t.Fatalf("empty outbox counts %d", n)
	}
	mustCreate(t, s, sample("n1", "A"))
	mustCreate(t, s, sample("n2", "B"))
	if n := count(); n != 2 {
		t.Fatalf("count = %d after two writes, want 2", n)
	}
	changes, err := s.FindChanges(ctx, 1)
	if err != nil || len(changes) != 1 {
		t.Fatalf("changes: %v, %v", changes, err)
	}
	if err := s.DeleteChanges(ctx, []int64{changes[0].Seq}); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 1 {
		t.Fatalf("count = %d after relaying one, want 1", n)
	}
}
