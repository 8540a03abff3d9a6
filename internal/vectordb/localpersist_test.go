package vectordb

import (
	"context"
	"encoding/binary"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"mediarec"
	"mediarec/internal/vectordb/vectordbtest"
)

func localTestOpen(t *testing.T, dir string) *Local {
	t.Helper()
	l, err := OpenLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func localTestAll(t *testing.T, l *Local, coll string, n int) []mediarec.VectorPoint {
	t.Helper()
	ids := make([]int64, n)
	for i := range ids {
		ids[i] = int64(i + 1)
	}
	pts, err := l.Get(context.Background(), coll, ids)
	if err != nil {
		t.Fatal(err)
	}
	return pts
}

// TestLocalCompaction lowers the log limits so that writes keep compacting,
// then checks that one log generation is left and that nothing was lost.
func TestLocalCompaction(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	l := localTestOpen(t, dir)
	if err := l.CreateCollection(ctx, "c", 8); err != nil {
		t.Fatal(err)
	}
	c := l.colls["c"]
	c.walMin, c.walMax = 1, 4096
	pts := vectordbtest.ClusteredPoints(rand.New(rand.NewPCG(1, 1)), 600, 8, 6)
	for lo := 0; lo < len(pts); lo += 20 {
		if err := l.Upsert(ctx, "c", pts[lo:lo+20]); err != nil {
			t.Fatal(err)
		}
		if err := l.Delete(ctx, "c", []int64{int64(lo + 1)}); err != nil {
			t.Fatal(err)
		}
	}
	if c.wal.gen < 5 {
		t.Fatalf("log generation %d after 60 writes over the limit, want ≥ 5", c.wal.gen)
	}
	logs, _ := filepath.Glob(filepath.Join(dir, "collections", "c", "wal-*.log"))
	if len(logs) != 1 || logs[0] != localWALPath(c.dir, c.wal.gen) {
		t.Fatalf("logs %v, want only generation %d", logs, c.wal.gen)
	}
	want := localTestAll(t, l, "c", len(pts))

	// Crash (no Close): the latest snapshot plus its log.
	l2 := localTestOpen(t, dir)
	defer l2.Close()
	if diff := cmp.Diff(want, localTestAll(t, l2, "c", len(pts)), cmpopts.EquateEmpty()); diff != "" {
		t.Fatalf("points after reopening (-before +after):\n%s", diff)
	}
	if len(want) != len(pts)-len(pts)/20 {
		t.Fatalf("%d points, want %d", len(want), len(pts)-len(pts)/20)
	}
}

// TestLocalTombstonesAndFreeSlots checks that a snapshot keeps tombstones and
// free slots, and that the reopened graph reuses the slots.
func TestLocalTombstonesAndFreeSlots(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	pts := vectordbtest.ClusteredPoints(rand.New(rand.NewPCG(2, 2)), 2000, 16, 20)
	l := localTestOpen(t, dir)
	if err := l.CreateCollection(ctx, "c", 16); err != nil {
		t.Fatal(err)
	}
	if err := l.Upsert(ctx, "c", pts); err != nil {
		t.Fatal(err)
	}
	del := func(l *Local, lo, hi int) {
		var ids []int64
		for i := lo; i < hi; i++ {
			ids = append(ids, pts[i].ID)
		}
		if err := l.Delete(ctx, "c", ids); err != nil {
			t.Fatal(err)
		}
	}
	del(l, 0, 100) // 5%: tombstones, below the repair threshold
	q := pts[500].Vector
	want, _ := l.Search(ctx, "c", q, 20, mediarec.VectorFilter{})
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}

	l = localTestOpen(t, dir)
	g := l.colls["c"].g
	if g.tombstones != 100 {
		t.Fatalf("%d tombstones after reopening, want 100", g.tombstones)
	}
	if got, _ := l.Search(ctx, "c", q, 20, mediarec.VectorFilter{}); !cmp.Equal(want, got, cmpopts.EquateEmpty()) {
		t.Fatalf("search after reopening:\n%v\nwant\n%v", got, want)
	}
	del(l, 100, 200) // 10%: repaired, slots freed
	if g.tombstones != 0 || len(g.free) != 200 {
		t.Fatalf("after repair: %d tombstones, %d free slots; want 0, 200", g.tombstones, len(g.free))
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}

	l = localTestOpen(t, dir)
	defer l.Close()
	g = l.colls["c"].g
	if len(g.free) != 200 || g.live() != 1800 {
		t.Fatalf("after reopening: %d free, %d live; want 200, 1800", len(g.free), g.live())
	}
	if err := l.Upsert(ctx, "c", pts[:200]); err != nil {
		t.Fatal(err)
	}
	if g.len() != 2000 || len(g.free) != 0 {
		t.Fatalf("re-upserting filled %d slots with %d free, want 2000 and 0", g.len(), len(g.free))
	}
	hits, _ := l.Search(ctx, "c", pts[7].Vector, 1, mediarec.VectorFilter{})
	if len(hits) != 1 || hits[0].ID != pts[7].ID {
		t.Fatalf("nearest to point %d = %v", pts[7].ID, hits)
	}
}

// TestLocalCorruptSnapshot expects a damaged snapshot to stop OpenLocal
// rather than come back as an empty or partial collection.
func TestLocalCorruptSnapshot(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	l := localTestOpen(t, dir)
	if err := l.CreateCollection(ctx, "c", 4); err != nil {
		t.Fatal(err)
	}
	pts := vectordbtest.ClusteredPoints(rand.New(rand.NewPCG(3, 3)), 50, 4, 3)
	if err := l.Upsert(ctx, "c", pts); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "collections", "c", "snapshot")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 0x40
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if l, err := OpenLocal(dir); err == nil {
		l.Close()
		t.Fatal("opened a corrupt snapshot")
	}
}

func TestLocalRecordRoundTrip(t *testing.T) {
	pts := []mediarec.VectorPoint{
		{ID: -5, Vector: []float32{0.6, 0.8}, Payload: mediarec.VectorPayload{Type: mediarec.TypeBook, Genres: []string{"a", ""}, Tags: []string{"t"}, Year: -300, Version: "p1"}},
		{ID: 1 << 60, Vector: []float32{1, 0}},
	}
	op, got, _, err := localDecodeRecord(localEncodeUpsert(pts), 2)
	if err != nil || op != localOpUpsert {
		t.Fatalf("decode upsert: %d, %v", op, err)
	}
	if diff := cmp.Diff(pts, got, cmpopts.EquateEmpty()); diff != "" {
		t.Fatalf("upsert round trip (-want +got):\n%s", diff)
	}
	op, _, ids, err := localDecodeRecord(localEncodeDelete([]int64{3, -1}), 2)
	if err != nil || op != localOpDelete || !slices.Equal(ids, []int64{3, -1}) {
		t.Fatalf("delete round trip: %d %v %v", op, ids, err)
	}
	// An upsert of the first format: the payload ends at the year.
	v1 := binary.AppendVarint([]byte{localOpUpsertV1, 1}, 7)
	v1 = localAppendString(v1, "book")
	v1 = binary.AppendUvarint(v1, 0)                         // no genres
	v1 = localAppendString(binary.AppendUvarint(v1, 1), "t") // one tag
	v1 = localAppendFloats(binary.AppendVarint(v1, 1990), []float32{1, 0})
	op, got, _, err = localDecodeRecord(v1, 2)
	want := []mediarec.VectorPoint{{ID: 7, Vector: []float32{1, 0}, Payload: mediarec.VectorPayload{Type: mediarec.TypeBook, Tags: []string{"t"}, Year: 1990}}}
	if err != nil || op != localOpUpsertV1 {
		t.Fatalf("decode a first-format upsert: %d, %v", op, err)
	}
	if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
		t.Fatalf("first-format upsert (-want +got):\n%s", diff)
	}
	body := localEncodeUpsert(pts)
	for cut := range len(body) {
		if _, _, _, err := localDecodeRecord(body[:cut], 2); err == nil {
			t.Fatalf("a record cut at %d of %d bytes decoded", cut, len(body))
		}
	}
}

// TestLocalScanCollectionReopens checks that a scan collection links no
// node, and stays a scan collection after a reopen from its snapshot alone
// (after Close) or from the snapshot and its log (a crash).
func TestLocalScanCollectionReopens(t *testing.T) {
	ctx := context.Background()
	pts := vectordbtest.ClusteredPoints(rand.New(rand.NewPCG(5, 5)), 3000, 8, 6)
	links := func(l *Local) int {
		c := l.colls["s"]
		if !c.scan {
			t.Fatal("the collection has a graph")
		}
		n := 0
		for node := range c.g.len() {
			n += len(c.g.links(uint32(node), 0))
		}
		return n
	}
	for _, closeFirst := range []bool{true, false} {
		dir := t.TempDir()
		l := localTestOpen(t, dir)
		if err := l.CreateScanCollection(ctx, "s", 8); err != nil {
			t.Fatal(err)
		}
		if err := l.Upsert(ctx, "s", pts[:2000]); err != nil {
			t.Fatal(err)
		}
		if closeFirst {
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
		}
		l2 := localTestOpen(t, dir)
		if err := l2.Upsert(ctx, "s", pts[2000:]); err != nil {
			t.Fatal(err)
		}
		if n := links(l2); n != 0 {
			t.Fatalf("closed first %v: %d links in a scan collection", closeFirst, n)
		}
		if got := len(localTestAll(t, l2, "s", len(pts))); got != len(pts) {
			t.Fatalf("closed first %v: %d points after reopening, want %d", closeFirst, got, len(pts))
		}
		l2.Close()
	}
}
