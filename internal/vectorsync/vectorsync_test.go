package vectorsync_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"mediarec"
	"mediarec/internal/natsbus"
	"mediarec/internal/natsbus/natstest"
	"mediarec/internal/vectordb"
	"mediarec/internal/vectordb/vectordbtest"
	"mediarec/internal/vectorsync"
)

var (
	_ vectordbtest.Store = (*vectorsync.Store)(nil)
	_ vectorsync.Log     = (*natsbus.Bus)(nil)
	_ vectorsync.Local   = (*vectordb.Local)(nil)
)

var bg = context.Background()

const wait = 10 * time.Second

// MustNew returns a store on log with an index of its own, not yet
// following; both are closed when the test ends.
func MustNew(tb testing.TB, log vectorsync.Log, mode vectorsync.Mode) *vectorsync.Store {
	tb.Helper()
	local, err := vectordb.OpenLocal(tb.TempDir())
	if err != nil {
		tb.Fatalf("open local index: %v", err)
	}
	tb.Cleanup(func() {
		if err := local.Close(); err != nil {
			tb.Errorf("close local index: %v", err)
		}
	})
	logger := slog.New(slog.NewTextHandler(tb.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	return vectorsync.New(log, local, mode, logger)
}

// MustRun runs s until the test ends.
func MustRun(tb testing.TB, s *vectorsync.Store) {
	tb.Helper()
	ctx, cancel := context.WithCancel(bg)
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	tb.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			tb.Errorf("run: %v", err)
		}
	})
}

// MustFollow returns a running store on log.
func MustFollow(tb testing.TB, log vectorsync.Log, mode vectorsync.Mode) *vectorsync.Store {
	tb.Helper()
	s := MustNew(tb, log, mode)
	MustRun(tb, s)
	return s
}

// MustReady waits until s has caught up with the log.
func MustReady(tb testing.TB, s *vectorsync.Store) {
	tb.Helper()
	natstest.CheckFor(tb, wait, func() error { return s.Ready(bg) })
}

func TestConformance(t *testing.T) {
	for name, open := range map[string]func(testing.TB) *natsbus.Bus{"embedded": natstest.Embedded, "external": natstest.External} {
		t.Run(name, func(t *testing.T) {
			vectordbtest.Run(t, func(t *testing.T) vectordbtest.Store { return MustFollow(t, open(t), vectorsync.Full) })
		})
	}
}

func mustCreate(tb testing.TB, s *vectorsync.Store, name string, dim int) {
	tb.Helper()
	if err := s.CreateCollection(bg, name, dim); err != nil {
		tb.Fatalf("create %s: %v", name, err)
	}
}

func mustUpsert(tb testing.TB, s *vectorsync.Store, coll string, pts []mediarec.VectorPoint) {
	tb.Helper()
	for lo := 0; lo < len(pts); lo += 500 {
		if err := s.Upsert(bg, coll, pts[lo:min(lo+500, len(pts))]); err != nil {
			tb.Fatalf("upsert into %s: %v", coll, err)
		}
	}
}

func mustPut(tb testing.TB, b *natsbus.Bus, entries ...natsbus.LogEntry) {
	tb.Helper()
	if _, err := b.PutLog(bg, entries); err != nil {
		tb.Fatalf("put on the log: %v", err)
	}
}

func wantCode(tb testing.TB, err error, code string) {
	tb.Helper()
	if got := mediarec.ErrorCode(err); got != code {
		tb.Fatalf("error code = %q (%v), want %q", got, err, code)
	}
}

func points(seed uint64, n, dim int) []mediarec.VectorPoint {
	return vectordbtest.ClusteredPoints(rand.New(rand.NewPCG(seed, seed+1)), n, dim, 8)
}

// view is what a store answers about a collection or alias.
type view struct {
	Info   mediarec.Collection
	Target string
	Hits   [][]mediarec.VectorHit
	Points []mediarec.VectorPoint
}

// look asks s about name: its info, its target if an alias, searches for
// queries and the points of ids. An error is part of the answer.
func look(s *vectorsync.Store, name string, queries [][]float32, ids []int64) (view, error) {
	var v view
	var err error
	if v.Info, err = s.CollectionInfo(bg, name); err != nil {
		return v, fmt.Errorf("info %s: %w", name, err)
	}
	if v.Target, err = s.ResolveAlias(bg, name); err != nil && mediarec.ErrorCode(err) != mediarec.ENOTFOUND {
		return v, err
	}
	for _, q := range queries {
		hits, err := s.Search(bg, name, q, 10, mediarec.VectorFilter{})
		if err != nil {
			return v, fmt.Errorf("search %s: %w", name, err)
		}
		v.Hits = append(v.Hits, hits)
	}
	if v.Points, err = s.Get(bg, name, ids); err != nil {
		return v, fmt.Errorf("get from %s: %w", name, err)
	}
	return v, nil
}

// same returns nil when a and b answer alike about every name.
func same(a, b *vectorsync.Store, queries map[string][][]float32, ids []int64) error {
	for name, qs := range queries {
		va, err := look(a, name, qs, ids)
		if err != nil {
			return err
		}
		vb, err := look(b, name, qs, ids)
		if err != nil {
			return err
		}
		if diff := cmp.Diff(va, vb, cmpopts.EquateEmpty(), cmpopts.EquateApprox(0, 1e-6)); diff != "" {
			return fmt.Errorf("%s differs (-first +second):\n%s", name, diff)
		}
	}
	return nil
}

func queriesOf(pts []mediarec.VectorPoint, n int) [][]float32 {
	var qs [][]float32
	for i := 0; i < len(pts) && len(qs) < n; i += len(pts)/n + 1 {
		qs = append(qs, pts[i].Vector)
	}
	return qs
}

func TestReplicaConverges(t *testing.T) {
	b := natstest.Embedded(t)
	w := MustFollow(t, b, vectorsync.Full)
	a, c := points(1, 1500, 16), points(2, 40, 8)
	mustCreate(t, w, "items_a", 16)
	mustUpsert(t, w, "items_a", a)
	if err := w.Delete(bg, "items_a", []int64{1, 2, 3, 99999}); err != nil {
		t.Fatal(err)
	}
	moved := a[10:15]
	for i := range moved {
		moved[i].Vector = a[100+i].Vector
		moved[i].Payload.Type = mediarec.TypeBook
	}
	mustUpsert(t, w, "items_a", moved)
	mustCreate(t, w, "items_c", 8)
	mustUpsert(t, w, "items_c", c)
	if err := w.SetAlias(bg, "items", "items_a"); err != nil {
		t.Fatal(err)
	}

	r := MustFollow(t, b, vectorsync.Full)
	MustReady(t, r)
	queries := map[string][][]float32{"items": queriesOf(a, 20), "items_a": queriesOf(a, 5), "items_c": queriesOf(c, 5)}
	ids := []int64{1, 4, 11, 12, 500, 1500}
	if err := same(w, r, queries, ids); err != nil {
		t.Fatal(err)
	}
	info, err := r.CollectionInfo(bg, "items")
	if err != nil || info != (mediarec.Collection{Name: "items_a", Dimensions: 16, Points: 1497}) {
		t.Fatalf("replica's info = %+v, %v", info, err)
	}

	// What the writer does later reaches the running replica too.
	mustUpsert(t, w, "items_c", points(3, 30, 8))
	if err := w.Delete(bg, "items", []int64{4, 5}); err != nil {
		t.Fatal(err)
	}
	if err := w.SetAlias(bg, "items", "items_c"); err != nil {
		t.Fatal(err)
	}
	queries["items"] = queriesOf(c, 5)
	natstest.CheckFor(t, wait, func() error { return same(w, r, queries, ids) })
}

func TestReplicaAfterRepublishedMeta(t *testing.T) {
	b := natstest.Embedded(t)
	w := MustFollow(t, b, vectorsync.Full)
	a := points(4, 300, 4)
	mustCreate(t, w, "items_a", 4)
	mustUpsert(t, w, "items_a", a)
	mustCreate(t, w, "empty", 4)
	if err := w.SetAlias(bg, "live", "empty"); err != nil {
		t.Fatal(err)
	}
	// A process publishes the metas again: the stream keeps the latest
	// message of a subject, so they move behind the points and the alias.
	pre := natsbus.SubjectVectors
	mustPut(t, b,
		natsbus.LogEntry{Subject: pre + ".items_a.meta", Data: []byte(`{"dimensions":4}`)},
		natsbus.LogEntry{Subject: pre + ".empty.meta", Data: []byte(`{"dimensions":4}`)})
	// The writer's own follower takes them as the no-ops they are.
	mustUpsert(t, w, "empty", points(5, 1, 4))

	r := MustFollow(t, b, vectorsync.Full)
	MustReady(t, r)
	queries := map[string][][]float32{"items_a": queriesOf(a, 10), "live": {a[0].Vector}}
	if err := same(w, r, queries, []int64{1, 2, 300}); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]mediarec.Collection{"items_a": {Name: "items_a", Dimensions: 4, Points: 300}, "live": {Name: "empty", Dimensions: 4, Points: 1}} {
		info, err := r.CollectionInfo(bg, name)
		if err != nil || info != want {
			t.Fatalf("replica's %s = %+v, %v; want %+v", name, info, err, want)
		}
	}
}

func TestDeleteAndRecreateOnReplica(t *testing.T) {
	b := natstest.Embedded(t)
	w := MustFollow(t, b, vectorsync.Full)
	r := MustFollow(t, b, vectorsync.Full)
	MustReady(t, r)
	mustCreate(t, w, "c", 3)
	mustUpsert(t, w, "c", points(6, 10, 3))
	if err := w.SetAlias(bg, "live", "c"); err != nil {
		t.Fatal(err)
	}
	natstest.CheckFor(t, wait, func() error {
		info, err := r.CollectionInfo(bg, "live")
		if err != nil || info.Points != 10 {
			return fmt.Errorf("replica's live = %+v, %v", info, err)
		}
		return nil
	})

	if err := w.DeleteCollection(bg, "c"); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, w, "c", 5)
	fresh := points(7, 4, 5)
	mustUpsert(t, w, "c", fresh)

	check := func(s *vectorsync.Store) error {
		if info, err := s.CollectionInfo(bg, "c"); err != nil || info != (mediarec.Collection{Name: "c", Dimensions: 5, Points: 4}) {
			return fmt.Errorf("c = %+v, %v", info, err)
		}
		if _, err := s.ResolveAlias(bg, "live"); mediarec.ErrorCode(err) != mediarec.ENOTFOUND {
			return fmt.Errorf("the alias of the deleted collection resolves: %v", err)
		}
		return same(w, s, map[string][][]float32{"c": queriesOf(fresh, 4)}, []int64{1, 2, 3, 4})
	}
	if err := check(w); err != nil {
		t.Fatalf("writer: %v", err)
	}
	natstest.CheckFor(t, wait, func() error { return check(r) })
	late := MustFollow(t, b, vectorsync.Full)
	MustReady(t, late)
	if err := check(late); err != nil {
		t.Fatalf("late replica: %v", err)
	}
}

func TestMetaOnly(t *testing.T) {
	b := natstest.Embedded(t)
	coord := MustFollow(t, b, vectorsync.Full)
	mustCreate(t, coord, "items_a", 3)
	if err := coord.SetAlias(bg, "items", "items_a"); err != nil {
		t.Fatal(err)
	}
	worker := MustFollow(t, b, vectorsync.MetaOnly)
	MustReady(t, worker)

	pt := func(id int64, v ...float32) []mediarec.VectorPoint {
		return []mediarec.VectorPoint{{ID: id, Vector: v, Payload: mediarec.VectorPayload{Type: mediarec.TypeMovie}}}
	}
	nan := float32(math.NaN())
	tests := []struct {
		name string
		coll string
		pts  []mediarec.VectorPoint
		code string
	}{
		{"wrong dimension", "items", pt(1, 1, 0), mediarec.EINVALID},
		{"zero vector", "items", pt(1, 0, 0, 0), mediarec.EINVALID},
		{"not finite", "items_a", pt(1, 1, nan, 0), mediarec.EINVALID},
		{"unknown collection", "nope", pt(1, 1, 0, 0), mediarec.ENOTFOUND},
		{"through the alias", "items", pt(1, 1, 0, 0), ""},
		{"to the collection", "items_a", pt(2, 0, 1, 0), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantCode(t, worker.Upsert(bg, tt.coll, tt.pts), tt.code)
		})
	}
	// The worker keeps no points; the coordinator gets them.
	if info, err := worker.CollectionInfo(bg, "items"); err != nil || info != (mediarec.Collection{Name: "items_a", Dimensions: 3}) {
		t.Fatalf("worker's info = %+v, %v", info, err)
	}
	if got, err := worker.Get(bg, "items", []int64{1, 2}); err != nil || len(got) != 0 {
		t.Fatalf("worker's points = %v, %v", got, err)
	}
	countIs := func(s *vectorsync.Store, coll string, n int) func() error {
		return func() error {
			if info, err := s.CollectionInfo(bg, coll); err != nil || info.Points != n {
				return fmt.Errorf("%s = %+v, %v; want %d points", coll, info, err, n)
			}
			return nil
		}
	}
	natstest.CheckFor(t, wait, countIs(coord, "items", 2))
	if err := worker.Delete(bg, "items", []int64{1}); err != nil {
		t.Fatal(err)
	}
	natstest.CheckFor(t, wait, countIs(coord, "items", 1))

	// Its collection writes wait for its follower: read-your-writes.
	if err := worker.CreateCollection(bg, "items_b", 2); err != nil {
		t.Fatal(err)
	}
	if err := worker.SetAlias(bg, "items", "items_b"); err != nil {
		t.Fatal(err)
	}
	if info, err := worker.CollectionInfo(bg, "items"); err != nil || info != (mediarec.Collection{Name: "items_b", Dimensions: 2}) {
		t.Fatalf("worker's items after the switch = %+v, %v", info, err)
	}
	wantCode(t, worker.Upsert(bg, "items", pt(3, 1, 0, 0)), mediarec.EINVALID)
	natstest.CheckFor(t, wait, countIs(coord, "items_b", 0))
}

func TestSkipsBadMessages(t *testing.T) {
	b := natstest.Embedded(t)
	w := MustFollow(t, b, vectorsync.Full)
	mustCreate(t, w, "c", 2)
	pre := natsbus.SubjectVectors
	mustPut(t, b,
		natsbus.LogEntry{Subject: pre + ".c.p.x", Data: []byte("not an id")},
		natsbus.LogEntry{Subject: pre + ".c.p.7", Data: []byte{0xff}},
		natsbus.LogEntry{Subject: pre + ".d.meta", Data: []byte("not JSON")},
		natsbus.LogEntry{Subject: pre + ".e.meta", Data: []byte(`{"dimensions":0}`)},
		natsbus.LogEntry{Subject: pre + ".strange", Data: []byte("x")},
		natsbus.LogEntry{Subject: pre + "._alias.a", Data: []byte("nope")},
	)
	// The follower went on: a write after them is applied.
	good := points(8, 5, 2)
	mustUpsert(t, w, "c", good)
	late := MustFollow(t, b, vectorsync.Full)
	MustReady(t, late)
	for _, s := range []*vectorsync.Store{w, late} {
		if info, err := s.CollectionInfo(bg, "c"); err != nil || info.Points != 5 {
			t.Fatalf("c = %+v, %v", info, err)
		}
		for _, name := range []string{"d", "e", "a"} {
			_, err := s.CollectionInfo(bg, name)
			wantCode(t, err, mediarec.ENOTFOUND)
		}
	}
}

func TestReady(t *testing.T) {
	b := natstest.Embedded(t)
	s := MustNew(t, b, vectorsync.Full)
	wantCode(t, s.Ready(bg), mediarec.EUNAVAILABLE)
	_, err := s.Search(bg, "c", []float32{1}, 1, mediarec.VectorFilter{})
	wantCode(t, err, mediarec.EUNAVAILABLE)
	// A write waits for the log to be followed, as long as its context lets it.
	ctx, cancel := context.WithTimeout(bg, 50*time.Millisecond)
	defer cancel()
	wantCode(t, s.CreateCollection(ctx, "c", 1), mediarec.EUNAVAILABLE)
	if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Fatal("the write returned before its deadline")
	}

	MustRun(t, s)
	mustCreate(t, s, "c", 1)
	MustReady(t, s)
	wantCode(t, s.CreateCollection(bg, "c", 1), mediarec.ECONFLICT)
	wantCode(t, s.CreateCollection(bg, "has.dot", 1), mediarec.EINVALID)
	wantCode(t, s.CreateCollection(bg, "_alias", 1), mediarec.EINVALID)
	wantCode(t, s.SetAlias(bg, "a>", "c"), mediarec.EINVALID)
}
