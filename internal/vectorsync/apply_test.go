package vectorsync

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"mediarec"
	"mediarec/internal/natsbus"
	"mediarec/internal/vectordb"
)

// These tests drive the follower by hand, without a bus, to reach the
// orders of messages a live stream produces only by chance.

var bg = context.Background()

func mustStore(t *testing.T) (*Store, *vectordb.Local) {
	t.Helper()
	local, err := vectordb.OpenLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { local.Close() })
	return New(nil, local, Full, slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))), local
}

// feed hands the follower messages with consecutive sequences, the last
// pending ones still to come after them.
type feed struct {
	t   *testing.T
	s   *Store
	seq uint64
}

func (f *feed) send(subject string, data []byte, pending uint64) {
	f.seq++
	f.s.apply(bg, natsbus.Followed{Subject: natsbus.SubjectVectors + "." + subject, Data: data, Seq: f.seq, Pending: pending})
}

func (f *feed) point(coll string, id int64, pending uint64, v ...float32) {
	f.t.Helper()
	data, err := encodePoint(mediarec.VectorPoint{ID: id, Vector: v, Payload: mediarec.VectorPayload{Type: mediarec.TypeMovie}})
	if err != nil {
		f.t.Fatal(err)
	}
	f.send(fmt.Sprintf("%s.p.%d", coll, id), data, pending)
}

func wantInfo(t *testing.T, l *vectordb.Local, name string, want mediarec.Collection) {
	t.Helper()
	got, err := l.CollectionInfo(bg, name)
	if err != nil || got != want {
		t.Fatalf("%s = %+v, %v; want %+v", name, got, err, want)
	}
}

func TestPointsBeforeTheirMeta(t *testing.T) {
	s, local := mustStore(t)
	f := &feed{t: t, s: s}
	f.point("c", 1, 2, 1, 0)
	f.point("c", 2, 1, 0, 1)
	f.send("c.meta", []byte(`{"dimensions":2}`), 0)
	wantInfo(t, local, "c", mediarec.Collection{Name: "c", Dimensions: 2, Points: 2})

	// A create of other dimensions: the follower missed a delete.
	f.send("c.meta", []byte(`{"dimensions":3}`), 0)
	wantInfo(t, local, "c", mediarec.Collection{Name: "c", Dimensions: 3})
}

func TestPointsAfterADelete(t *testing.T) {
	s, local := mustStore(t)
	f := &feed{t: t, s: s}
	f.send("c.meta", []byte(`{"dimensions":2}`), 3)
	f.send("c.meta", []byte(`{"deleted":true}`), 2)
	f.point("c", 1, 0, 1, 0) // a writer that raced the delete
	if _, err := local.CollectionInfo(bg, "c"); mediarec.ErrorCode(err) != mediarec.ENOTFOUND {
		t.Fatalf("a late point brought the deleted collection back: %v", err)
	}
	f.send("c.meta", []byte(`{"dimensions":2}`), 1)
	f.point("c", 1, 0, 1, 0)
	wantInfo(t, local, "c", mediarec.Collection{Name: "c", Dimensions: 2, Points: 1})
}

func TestAliasBeforeItsCollection(t *testing.T) {
	s, local := mustStore(t)
	f := &feed{t: t, s: s}
	f.send("_alias.live", []byte("c"), 1)
	f.send("c.meta", []byte(`{"dimensions":2}`), 0)
	if got, err := local.ResolveAlias(bg, "live"); err != nil || got != "c" {
		t.Fatalf("live = %q, %v", got, err)
	}
}

func TestBatches(t *testing.T) {
	s, local := mustStore(t)
	f := &feed{t: t, s: s}
	f.send("c.meta", []byte(`{"dimensions":2}`), 1000)
	for i := range 1000 {
		f.point("c", int64(i+1), uint64(999-i), 1, float32(i))
		switch i + 1 {
		case applyBatch - 1:
			wantInfo(t, local, "c", mediarec.Collection{Name: "c", Dimensions: 2})
		case applyBatch:
			wantInfo(t, local, "c", mediarec.Collection{Name: "c", Dimensions: 2, Points: applyBatch})
		}
	}
	wantInfo(t, local, "c", mediarec.Collection{Name: "c", Dimensions: 2, Points: 1000})

	// A bad point in a batch costs only itself; a deletion in the same
	// batch as an upsert of the id keeps the later.
	f.point("c", 1001, 4, 1, 1)
	f.point("c", 1002, 3, 1, 1, 1) // wrong dimension
	f.send("c.p.1", nil, 2)
	f.point("c", 1, 1, 0, 1)
	f.send("c.p.2", nil, 0)
	wantInfo(t, local, "c", mediarec.Collection{Name: "c", Dimensions: 2, Points: 1000})
	got, err := local.Get(bg, "c", []int64{1, 2, 1001, 1002})
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, p := range got {
		ids = append(ids, p.ID)
	}
	if diff := cmp.Diff([]int64{1, 1001}, ids); diff != "" {
		t.Fatalf("points after the batch (-want +got):\n%s", diff)
	}
}

// TestWaitFlushes: a writer whose point the follower holds in a batch (the
// stream said more would come) applies the batch itself.
func TestWaitFlushes(t *testing.T) {
	s, local := mustStore(t)
	f := &feed{t: t, s: s}
	f.send("c.meta", []byte(`{"dimensions":2}`), 0)
	f.point("c", 1, 5, 1, 0) // five more that a purge took
	wantInfo(t, local, "c", mediarec.Collection{Name: "c", Dimensions: 2})
	ctx, cancel := context.WithTimeout(bg, 5*time.Second)
	defer cancel()
	if err := s.waitApplied(ctx, f.seq); err != nil {
		t.Fatal(err)
	}
	wantInfo(t, local, "c", mediarec.Collection{Name: "c", Dimensions: 2, Points: 1})

	// A sequence not yet seen is awaited until the context ends.
	ctx, cancel = context.WithTimeout(bg, 20*time.Millisecond)
	defer cancel()
	if err := s.waitApplied(ctx, f.seq+1); mediarec.ErrorCode(err) != mediarec.EUNAVAILABLE {
		t.Fatalf("wait for a future sequence: %v", err)
	}
}

func TestPointEncoding(t *testing.T) {
	tests := []struct {
		name string
		p    mediarec.VectorPoint
	}{
		{"full payload", mediarec.VectorPoint{ID: 1 << 40, Vector: []float32{0.25, -1, 3e-9}, Payload: mediarec.VectorPayload{
			Type: mediarec.TypeDocumentary, Genres: []string{"History"}, Tags: []string{"space"}, Year: 1989, Version: "v7"}}},
		{"negative id, empty lists", mediarec.VectorPoint{ID: -3, Vector: []float32{1}, Payload: mediarec.VectorPayload{Genres: []string{}, Tags: []string{}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := encodePoint(tt.p)
			if err != nil {
				t.Fatal(err)
			}
			subj, err := parseSubject("vectors.v1", pointSubject("vectors.v1", "c", tt.p.ID))
			if err != nil {
				t.Fatal(err)
			}
			got, err := decodePoint(subj.id, data)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.p, got, cmpopts.EquateEmpty()); diff != "" {
				t.Fatalf("round trip (-want +got):\n%s", diff)
			}
			for _, n := range []int{0, 1, 5} { // truncated
				if _, err := decodePoint(1, data[:n]); err == nil {
					t.Fatalf("%d bytes decoded", n)
				}
			}
		})
	}
}

func TestParseSubject(t *testing.T) {
	tests := []struct {
		name    string
		subject string
		want    logSubject
		wantErr bool
	}{
		{"meta", "vectors.v1.items_a.meta", logSubject{kind: kindMeta, name: "items_a"}, false},
		{"point", "vectors.v1.items_a.p.42", logSubject{kind: kindPoint, name: "items_a", id: 42}, false},
		{"alias", "vectors.v1._alias.items", logSubject{kind: kindAlias, name: "items"}, false},
		{"alias named meta", "vectors.v1._alias.meta", logSubject{kind: kindAlias, name: "meta"}, false},
		{"other prefix", "vectors.v2.c.meta", logSubject{}, true},
		{"bad id", "vectors.v1.c.p.1x", logSubject{}, true},
		{"too short", "vectors.v1.c", logSubject{}, true},
		{"unknown kind", "vectors.v1.c.q.1", logSubject{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseSubject("vectors.v1", tt.subject)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Fatalf("parse %q = %+v, %v", tt.subject, got, err)
			}
		})
	}
}
