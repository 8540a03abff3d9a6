package catalog_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/trace"

	"mediarec"
	"mediarec/internal/catalog"
	"mediarec/internal/natsbus/natstest"
	"mediarec/internal/sqlite"
)

// recorder is a bus that keeps, like the compacted stream, the latest
// message of each subject, and counts every message it stores; a message
// id it has seen is acknowledged and dropped, as JetStream's duplicate
// window does.
type recorder struct {
	mu     sync.Mutex
	ids    map[string]bool
	latest map[string][]byte
	count  map[string]int
	traces map[string]trace.TraceID // subject → trace of its latest message
}

func newRecorder() *recorder {
	return &recorder{ids: map[string]bool{}, latest: map[string][]byte{}, count: map[string]int{}, traces: map[string]trace.TraceID{}}
}

func (r *recorder) Publish(ctx context.Context, subject, msgID string, data []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.ids[msgID] {
		r.ids[msgID] = true
		r.latest[subject] = data
		r.count[subject]++
		r.traces[subject] = trace.SpanContextFromContext(ctx).TraceID()
	}
	return nil
}

// event returns the latest event of an item, if any.
func (r *recorder) event(id int64) (mediarec.CatalogItemEvent, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var ev mediarec.CatalogItemEvent
	data, ok := r.latest[mediarec.ItemSubject(id)]
	if ok {
		if err := json.Unmarshal(data, &ev); err != nil {
			panic(err)
		}
	}
	return ev, ok
}

// mustRunRelay returns a catalog on a SQLite store whose relay publishes to
// a recorder, running until the test ends.
func mustRunRelay(t *testing.T) (*sqlite.CatalogStore, *catalog.Service, *recorder) {
	t.Helper()
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "catalog.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	store, err := sqlite.NewCatalogStore(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	bus := newRecorder()
	relay := catalog.NewRelay(store, bus, liveOnly{}, log)
	svc := catalog.New(store, log, relay.Notify)
	runCtx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- relay.Run(runCtx) }()
	t.Cleanup(func() { stop(); <-done })
	return store, svc, bus
}

type liveOnly struct{}

func (liveOnly) State(context.Context) (mediarec.EmbeddingState, error) {
	return mediarec.EmbeddingState{Live: mediarec.Generation{Model: "m", Collection: "items_m"}}, nil
}

// TestRelayPublishesItemEvents follows the catalog through its item events
// as another service's read model does: an item's latest event is the item
// as it is now, or its deletion; re-embedding entries publish jobs but no
// events. The relay reports each change as the item is when it relays it,
// so a deletion can be announced twice (once by the entry of an update it
// overtook): consumers overwrite, and the last event of each item is what
// counts.
func TestRelayPublishesItemEvents(t *testing.T) {
	ctx := context.Background()
	store, svc, bus := mustRunRelay(t)

	a, b := &mediarec.Item{Type: mediarec.TypeBook, Title: "Dune"}, &mediarec.Item{Type: mediarec.TypeMovie, Title: "Alien"}
	for _, it := range []*mediarec.Item{a, b} {
		if err := svc.CreateItem(ctx, it); err != nil {
			t.Fatal(err)
		}
	}
	title := "Dune Messiah"
	if _, err := svc.UpdateItem(ctx, a.ID, mediarec.ItemUpdate{Title: &title}); err != nil {
		t.Fatal(err)
	}
	if err := svc.DeleteItem(ctx, b.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.EnqueueAll(ctx, "items_m"); err != nil {
		t.Fatal(err)
	}
	natstest.CheckFor(t, 10*time.Second, func() error {
		left, err := store.FindChanges(ctx, 10)
		if err != nil || len(left) != 0 {
			return fmt.Errorf("%d outbox entries left (%v)", len(left), err)
		}
		return nil
	})
	// An embedding result that changes the status is announced too, and
	// asks for no embedding.
	bus.mu.Lock()
	jobs := bus.count[mediarec.SubjectEmbedJobs]
	bus.mu.Unlock()
	if err := svc.RecordEmbeddings(ctx, []mediarec.EmbedResult{{ItemID: a.ID, Version: 2, Status: mediarec.EmbeddingDone, Collection: "items_m"}})[0]; err != nil {
		t.Fatal(err)
	}
	natstest.CheckFor(t, 10*time.Second, func() error {
		if ev, _ := bus.event(a.ID); ev.Item == nil || ev.Item.EmbeddingStatus != mediarec.EmbeddingDone {
			return fmt.Errorf("item %d's latest event %+v, want it embedded", a.ID, ev)
		}
		return nil
	})
	evA, okA := bus.event(a.ID)
	evB, okB := bus.event(b.ID)
	if !okA || evA.Deleted || evA.Item == nil || evA.Item.Title != "Dune Messiah" || evA.Version != 2 || evA.Item.Version != 2 {
		t.Errorf("item %d's latest event %+v (published %v), want Dune Messiah at version 2", a.ID, evA, okA)
	}
	if !okB || !evB.Deleted || evB.Item != nil || evB.ItemID != b.ID {
		t.Errorf("item %d's latest event %+v (published %v), want its deletion", b.ID, evB, okB)
	}
	bus.mu.Lock()
	defer bus.mu.Unlock()
	// One event per change (a: create, update, embedded; b: create,
	// delete), and the re-embedding entries none.
	for id, want := range map[int64]int{a.ID: 3, b.ID: 2} {
		if n := bus.count[mediarec.ItemSubject(id)]; n != want {
			t.Errorf("item %d: %d events, want %d (one per change)", id, n, want)
		}
	}
	if n := bus.count[mediarec.SubjectEmbedJobs]; n != jobs {
		t.Errorf("the embedding result queued %d embed jobs", n-jobs)
	}
}

// TestRelayContinuesTrace: the messages relayed from an item's write carry
// the trace of the request that wrote it, though the relay publishes them
// later, from its own goroutine.
func TestRelayContinuesTrace(t *testing.T) {
	ctx := context.Background()
	_, svc, bus := mustRunRelay(t)

	want := trace.TraceID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	traced := trace.ContextWithSpanContext(ctx, trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: want, SpanID: trace.SpanID{1, 2, 3, 4, 5, 6, 7, 8}, TraceFlags: trace.FlagsSampled,
	}))
	item := &mediarec.Item{Type: mediarec.TypeBook, Title: "Dune"}
	if err := svc.CreateItem(traced, item); err != nil {
		t.Fatal(err)
	}
	natstest.CheckFor(t, 10*time.Second, func() error {
		bus.mu.Lock()
		defer bus.mu.Unlock()
		for _, subject := range []string{mediarec.ItemSubject(item.ID), mediarec.SubjectEmbedJobs} {
			if got, ok := bus.traces[subject]; !ok || got != want {
				return fmt.Errorf("%s: trace %s (published: %v), want %s", subject, got, ok, want)
			}
		}
		return nil
	})
}
