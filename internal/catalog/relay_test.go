package catalog_test

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"mediarec"
	"mediarec/internal/catalog"
	"mediarec/internal/natsbus/natstest"
	"mediarec/internal/sqlite"
)

type nopPublisher struct{}

func (nopPublisher) Publish(context.Context, string, string, []byte) error { return nil }

type liveOnly struct{}

func (liveOnly) State(context.Context) (mediarec.EmbeddingState, error) {
	return mediarec.EmbeddingState{Live: mediarec.Generation{Model: "m", Collection: "items_m"}}, nil
}

// TestRelayReportsChanges follows the catalog through OnChange as the
// search's keyword index does: created and updated items arrive as they
// are now, deleted ones by id, re-embedding entries not at all.
func TestRelayReportsChanges(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "catalog.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	store, err := sqlite.NewCatalogStore(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	relay := catalog.NewRelay(store, nopPublisher{}, liveOnly{}, log)
	var (
		mu      sync.Mutex
		titles  = map[int64]string{}
		removed []int64
	)
	relay.OnChange(func(items []*mediarec.Item, deleted []int64) {
		mu.Lock()
		defer mu.Unlock()
		for _, it := range items {
			titles[it.ID] = it.Title
		}
		removed = append(removed, deleted...)
	})
	svc := catalog.New(store, log, relay.Notify)
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- relay.Run(runCtx) }()
	t.Cleanup(func() { stop(); <-done })

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
		mu.Lock()
		defer mu.Unlock()
		if titles[a.ID] != "Dune Messiah" || !slices.Contains(removed, b.ID) {
			return fmt.Errorf("titles %v, removed %v", titles, removed)
		}
		return nil
	})
	// The re-embedding entries are relayed without being reported.
	natstest.CheckFor(t, 10*time.Second, func() error {
		left, err := store.FindChanges(ctx, 10)
		if err != nil || len(left) != 0 {
			return fmt.Errorf("%d outbox entries left (%v)", len(left), err)
		}
		return nil
	})
	mu.Lock()
	defer mu.Unlock()
	if len(removed) != 1 {
		t.Fatalf("removed %v, want only item %d", removed, b.ID)
	}
}
