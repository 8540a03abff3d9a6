package embed_test

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"mediarec"
	"mediarec/internal/embed"
)

// steps is a Catalog that holds no items and closes third at the
// coordinator's third check.
type steps struct {
	mu    sync.Mutex
	n     int
	third chan struct{}
}

func (*steps) EachItem(context.Context, func(*mediarec.Item) error) error { return nil }
func (*steps) EnqueueAll(context.Context, string) (int, error)            { return 0, nil }

func (s *steps) EmbeddingStats(context.Context) (map[mediarec.EmbeddingStatus]int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.n++; s.n == 3 {
		close(s.third)
	}
	return nil, nil
}

// A replaced collection stays while a search may still read it, and is
// deleted, and forgotten, once the grace has passed.
func TestRetiredCollectionDroppedAfterGrace(t *testing.T) {
	for _, tt := range []struct {
		name    string
		retired time.Duration // how long ago
		dropped bool
	}{
		{"just retired", 0, false},
		{"retired two minutes ago", 2 * time.Minute, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			live := mediarec.Generation{Model: "m", Dimensions: 8, Collection: "items_new"}
			states := &memStates{state: mediarec.EmbeddingState{Live: live, Retired: "items_old", RetiredAt: time.Now().Add(-tt.retired)}, rev: 1}
			reg := embed.NewRegistry(states, nil)
			colls, cat := createdCollections{}, &steps{third: make(chan struct{})}
			// Read only once Run has returned.
			coord := embed.NewCoordinator(reg, colls, cat, 0, slog.New(slog.NewTextHandler(io.Discard, nil)))
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- coord.Run(ctx, time.Millisecond) }()
			select {
			case <-cat.third:
			case <-time.After(10 * time.Second):
				t.Fatal("the coordinator made no three checks within 10s")
			}
			cancel()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			s, err := reg.State(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if got := colls["items_old"] == "deleted"; got != tt.dropped {
				t.Fatalf("deleted %v, want %v", got, tt.dropped)
			}
			if forgotten := s.Retired == ""; forgotten != tt.dropped {
				t.Fatalf("state still names %q as retired: %v, want forgotten %v", s.Retired, !forgotten, tt.dropped)
			}
		})
	}
}
