package embed_test

import (
	"context"
	"io"
	"log/slog"
	"slices"
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
			states := &embed.MemStates{State: mediarec.EmbeddingState{Live: live, Retired: "items_old", RetiredAt: time.Now().Add(-tt.retired)}, Rev: 1}
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

// lockedStates is MemStates behind a lock, for a coordinator running in
// the background while the test reads the state.
type lockedStates struct {
	mu sync.Mutex
	m  embed.MemStates
}

func (l *lockedStates) LoadState(ctx context.Context) (mediarec.EmbeddingState, uint64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.m.LoadState(ctx)
}

func (l *lockedStates) SaveState(ctx context.Context, s mediarec.EmbeddingState, rev uint64) (uint64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.m.SaveState(ctx, s, rev)
}

func (l *lockedStates) PutModel(ctx context.Context, name string, data []byte) error {
	return l.m.PutModel(ctx, name, data)
}

func (l *lockedStates) GetModel(ctx context.Context, name string) ([]byte, error) {
	return l.m.GetModel(ctx, name)
}

func (l *lockedStates) state() mediarec.EmbeddingState {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.m.State
}

// pointStore is a CollectionStore whose collections hold given numbers of
// points; it records the alias, and what was created and deleted.
type pointStore struct {
	mu      sync.Mutex
	points  map[string]int
	alias   string
	created []string
	deleted []string
}

func (p *pointStore) CreateCollection(_ context.Context, name string, _ int) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.created = append(p.created, name)
	return nil
}

func (p *pointStore) CreateScanCollection(ctx context.Context, name string, dim int) error {
	return p.CreateCollection(ctx, name, dim)
}

func (p *pointStore) SetAlias(_ context.Context, _, coll string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.alias = coll
	return nil
}

func (p *pointStore) CollectionInfo(_ context.Context, name string) (mediarec.Collection, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return mediarec.Collection{Name: name, Points: p.points[name]}, nil
}

func (p *pointStore) DeleteCollection(_ context.Context, name string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.deleted = append(p.deleted, name)
	return nil
}

func (p *pointStore) wasDeleted(name string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Contains(p.deleted, name)
}

// sizedCatalog holds items, all embedded, and closes second when the
// coordinator's second check begins: its first is then complete.
type sizedCatalog struct {
	items  int
	mu     sync.Mutex
	checks int
	second chan struct{}
}

func (*sizedCatalog) EachItem(context.Context, func(*mediarec.Item) error) error { return nil }
func (c *sizedCatalog) EnqueueAll(context.Context, string) (int, error)          { return c.items, nil }

func (c *sizedCatalog) EmbeddingStats(context.Context) (map[mediarec.EmbeddingStatus]int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.checks++; c.checks == 2 {
		close(c.second)
	}
	return map[mediarec.EmbeddingStatus]int{mediarec.EmbeddingDone: c.items}, nil
}

// runCoordinator runs coord until cat saw its second check, and returns
// a function that stops it and waits for it.
func runCoordinator(t *testing.T, coord *embed.Coordinator, cat *sizedCatalog) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- coord.Run(ctx, time.Millisecond) }()
	select {
	case <-cat.second:
	case <-time.After(10 * time.Second):
		cancel()
		t.Fatal("the coordinator made no two checks within 10s")
	}
	return func() {
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}

var (
	liveGen   = mediarec.Generation{Model: "old-model", Dimensions: 8, Collection: "items_old"}
	targetGen = mediarec.Generation{Model: "text-embedding-3-small", Dimensions: 8, Collection: "items_next"}
)

// A complete re-embedding is switched to only while few enough of its
// items failed, and never when none was embedded; otherwise the state
// and the progress say why it waits.
func TestCoordinatorSwitchGuard(t *testing.T) {
	tests := []struct {
		name        string
		share       float64 // MaxFailedShare; 0 keeps the default
		items       int
		points      int    // vectors in the target
		failed      int    // items 1..failed reported failed there
		doneAgain   int    // items 1..doneAgain then reported done there
		wantBlocked string // "" when it switches
	}{
		{
			name: "every item failed", items: 100, failed: 100,
			wantBlocked: "100 of 100 items (100.0%) failed to embed in text-embedding-3-small; the switch waits until at most 1% fail: " +
				"fix the cause (see the items' embedding errors), then start a new re-embedding (POST /v1/admin/reembed), which replaces this one.",
		},
		{
			name: "every item failed, whatever the share", share: 1, items: 100, failed: 100,
			wantBlocked: "100 of 100 items (100.0%) failed to embed in text-embedding-3-small; the switch waits until at most 100% fail: " +
				"fix the cause (see the items' embedding errors), then start a new re-embedding (POST /v1/admin/reembed), which replaces this one.",
		},
		{
			name: "more failed than the share", items: 10_000, points: 9_588, failed: 412,
			wantBlocked: "412 of 10,000 items (4.1%) failed to embed in text-embedding-3-small; the switch waits until at most 1% fail: " +
				"fix the cause (see the items' embedding errors), then start a new re-embedding (POST /v1/admin/reembed), which replaces this one.",
		},
		{name: "as many failed as the share", items: 10_000, points: 9_900, failed: 100},
		{name: "a larger share configured", share: 0.05, items: 10_000, points: 9_588, failed: 412},
		{name: "failed items embedded after all", items: 1_000, points: 1_000, failed: 50, doneAgain: 50},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			target := targetGen
			states := &lockedStates{m: embed.MemStates{State: mediarec.EmbeddingState{Live: liveGen, Target: &target, JobID: "j1", Total: tt.items}, Rev: 1}}
			store := &pointStore{points: map[string]int{target.Collection: tt.points}}
			cat := &sizedCatalog{items: tt.items, second: make(chan struct{})}
			coord := embed.NewCoordinator(embed.NewRegistry(states, nil), store, cat, 0, slog.New(slog.DiscardHandler))
			if tt.share != 0 {
				coord.MaxFailedShare = tt.share
			}
			for id := 1; id <= tt.failed; id++ {
				coord.Observe(mediarec.EmbedResult{ItemID: int64(id), Collection: target.Collection, Status: mediarec.EmbeddingFailed})
			}
			// A result delivered again counts once; a failure elsewhere
			// not at all.
			coord.Observe(mediarec.EmbedResult{ItemID: 1, Collection: target.Collection, Status: mediarec.EmbeddingFailed})
			coord.Observe(mediarec.EmbedResult{ItemID: 1, Collection: liveGen.Collection, Status: mediarec.EmbeddingFailed})
			for id := 1; id <= tt.doneAgain; id++ {
				coord.Observe(mediarec.EmbedResult{ItemID: int64(id), Collection: target.Collection, Status: mediarec.EmbeddingDone})
			}
			runCoordinator(t, coord, cat)()

			s := states.state()
			if s.Blocked != tt.wantBlocked {
				t.Fatalf("blocked %q, want %q", s.Blocked, tt.wantBlocked)
			}
			if tt.wantBlocked == "" {
				if s.Live.Collection != target.Collection || s.Target != nil || store.alias != target.Collection {
					t.Fatalf("not switched: live %+v, target %+v, alias %q", s.Live, s.Target, store.alias)
				}
				return
			}
			if s.Live.Collection != liveGen.Collection || s.Target == nil || s.Target.Collection != target.Collection || store.alias != "" {
				t.Fatalf("switched: live %+v, target %+v, alias %q", s.Live, s.Target, store.alias)
			}
			p, err := coord.Progress(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if p.Blocked != tt.wantBlocked || p.Failed != tt.failed-tt.doneAgain || p.Done != tt.points {
				t.Fatalf("progress %+v, want blocked, %d failed and %d done", p, tt.failed-tt.doneAgain, tt.points)
			}
		})
	}
}

// A blocked re-embedding does not stand in the way of the next, which
// replaces it and deletes its collection; one still running does.
func TestStartReplacesBlockedReembedding(t *testing.T) {
	tests := []struct {
		name     string
		blocked  string
		wantCode string
	}{
		{"running", "", mediarec.ECONFLICT},
		{"blocked", "100 of 100 items (100.0%) failed to embed", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			target := targetGen
			const items = 100
			states := &lockedStates{m: embed.MemStates{State: mediarec.EmbeddingState{Live: liveGen, Target: &target, JobID: "j1", Total: items, Blocked: tt.blocked}, Rev: 1}}
			store := &pointStore{points: map[string]int{}}
			cat := &sizedCatalog{items: items, second: make(chan struct{})}
			remote := embed.NewHashing(8) // any embedder stands for a remote one
			coord := embed.NewCoordinator(embed.NewRegistry(states, remote), store, cat, 0, slog.New(slog.DiscardHandler))
			stop := runCoordinator(t, coord, cat)
			defer stop()
			_, n, err := coord.Start(context.Background())
			if code := mediarec.ErrorCode(err); code != tt.wantCode {
				t.Fatalf("start: %v, want code %q", err, tt.wantCode)
			}
			if tt.wantCode != "" {
				return
			}
			if n != items {
				t.Fatalf("start queues %d items, want %d", n, items)
			}
			deadline := time.Now().Add(10 * time.Second)
			for {
				s := states.state()
				if s.Target != nil && s.Target.Collection != target.Collection && s.Total == items && s.Blocked == "" && store.wasDeleted(target.Collection) {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("after 10s: state %+v, deleted %v", s, store.deleted)
				}
				time.Sleep(5 * time.Millisecond)
			}
		})
	}
}
