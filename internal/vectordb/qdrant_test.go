package vectordb_test

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/qdrant/go-client/qdrant"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"mediarec"
	"mediarec/internal/vectordb"
	"mediarec/internal/vectordb/qdranttest"
	"mediarec/internal/vectordb/vectordbtest"
)

var _ vectordbtest.Store = (*vectordb.Qdrant)(nil)

// mustQdrant opens an adapter that is closed when the test ends.
func mustQdrant(tb testing.TB, cfg vectordb.QdrantConfig) *vectordb.Qdrant {
	tb.Helper()
	q, err := vectordb.NewQdrant(cfg)
	if err != nil {
		tb.Fatalf("new qdrant: %v", err)
	}
	tb.Cleanup(func() { q.Close() })
	return q
}

// mustFakeQdrant starts a fake Qdrant and an adapter talking to it through
// the real client.
func mustFakeQdrant(tb testing.TB, opts ...qdranttest.Option) (*vectordb.Qdrant, *qdranttest.Server) {
	tb.Helper()
	srv := qdranttest.Start(tb, opts...)
	return mustQdrant(tb, vectordb.QdrantConfig{URL: srv.URL()}), srv
}

func wantCode(tb testing.TB, err error, code string) {
	tb.Helper()
	if got := mediarec.ErrorCode(err); got != code {
		tb.Fatalf("error code = %q (%v), want %q", got, err, code)
	}
}

func vpoint(id int64, v ...float32) mediarec.VectorPoint {
	return mediarec.VectorPoint{ID: id, Vector: v, Payload: mediarec.VectorPayload{Type: mediarec.TypeMovie}}
}

// TestQdrantConformance runs the suite against the stand-in as strict as
// Qdrant Cloud (a filter on a field without an index is refused), as each
// supported server version answers.
func TestQdrantConformance(t *testing.T) {
	for _, version := range []string{"1.15.0", "1.17.1"} {
		t.Run(version, func(t *testing.T) {
			vectordbtest.Run(t, func(t *testing.T) vectordbtest.Store {
				q, _ := mustFakeQdrant(t, qdranttest.WithStrictMode(), qdranttest.WithVersion(version))
				return q
			})
		})
	}
}

// TestQdrantReal runs the conformance suite against a real Qdrant. Every
// store gets its own collection prefix, and its collections are dropped when
// its test ends, so a shared server is left as it was found.
func TestQdrantReal(t *testing.T) {
	url := cmp.Or(os.Getenv("TEST_QDRANT_URL"), os.Getenv("QDRANT_URL"))
	if url == "" {
		t.Skip("set TEST_QDRANT_URL (or QDRANT_URL) to a Qdrant gRPC endpoint, e.g. http://127.0.0.1:6334, to run")
	}
	apiKey := cmp.Or(os.Getenv("TEST_QDRANT_API_KEY"), os.Getenv("QDRANT_API_KEY"))
	runID := make([]byte, 4)
	rand.Read(runID)
	var n atomic.Int64
	vectordbtest.Run(t, func(t *testing.T) vectordbtest.Store {
		prefix := fmt.Sprintf("mediarec_test_%s_%d_", hex.EncodeToString(runID), n.Add(1))
		q := mustQdrant(t, vectordb.QdrantConfig{URL: url, APIKey: apiKey, CollectionPrefix: prefix})
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := q.Ping(ctx); err != nil {
			t.Fatalf("Qdrant at %s: %v", url, err)
		}
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			names, err := q.ListCollections(ctx)
			if err != nil {
				t.Errorf("list test collections: %v", err)
			}
			for _, name := range names {
				if err := q.DeleteCollection(ctx, name); err != nil {
					t.Errorf("drop test collection %s%s: %v", prefix, name, err)
				}
			}
		})
		return q
	})
}

func TestQdrantErrorTranslation(t *testing.T) {
	srv := qdranttest.Start(t)
	// One attempt each: the retries are TestQdrantRetries'.
	q := mustQdrant(t, vectordb.QdrantConfig{URL: srv.URL(), Retries: -1})
	ctx := context.Background()
	if err := q.CreateCollection(ctx, "c", 2); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"not found", status.Error(codes.NotFound, "Not found: Collection `c` doesn't exist!"), mediarec.ENOTFOUND},
		{"already exists", status.Error(codes.AlreadyExists, "Wrong input: Collection `c` already exists!"), mediarec.ECONFLICT},
		{"taken name before Qdrant 1.8", status.Error(codes.InvalidArgument, "Wrong input: Collection `c` already exists!"), mediarec.ECONFLICT},
		{"invalid", status.Error(codes.InvalidArgument, "Wrong input: Vector dimension error: expected dim: 2, got 3"), mediarec.EINVALID},
		{"unavailable", status.Error(codes.Unavailable, "connection refused"), mediarec.EUNAVAILABLE},
		{"deadline", status.Error(codes.DeadlineExceeded, "timeout"), mediarec.EUNAVAILABLE},
		{"rate limited", status.Error(codes.ResourceExhausted, "too many requests"), mediarec.EUNAVAILABLE},
		{"internal", status.Error(codes.Internal, "disk full"), mediarec.EINTERNAL},
		{"wrong api key", status.Error(codes.Unauthenticated, "Invalid API key or JWT"), mediarec.EINTERNAL},
		// Qdrant's own say: a replica set that could not apply an operation.
		{"replicas failed, please retry", qdranttest.PleaseRetry(), mediarec.EUNAVAILABLE},
		{"shard unavailable", status.Error(codes.Unavailable, "Service unavailable: shard 2 is not active"), mediarec.EUNAVAILABLE},
		// Strict mode and limits are the server's configuration, not the
		// caller's mistake.
		{"strict mode: unindexed filter", status.Error(codes.InvalidArgument, `Bad request: Index required but not found for "type" of one of the following types: [keyword]. Help: Create an index for this key or use a different filter.`), mediarec.EINTERNAL},
		{"strict mode: limit", status.Error(codes.InvalidArgument, `Bad request: Limit exceeded 1000 > 100 for "limit"`), mediarec.EINTERNAL},
		{"forbidden", status.Error(codes.PermissionDenied, "Forbidden: Write access is forbidden"), mediarec.EINTERNAL},
		{"locked", status.Error(codes.FailedPrecondition, "Write operations are forbidden: maintenance"), mediarec.EUNAVAILABLE},
		{"cancelled", status.Error(codes.Canceled, "operation was canceled"), mediarec.EUNAVAILABLE},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv.FailNext(tt.err)
			_, err := q.Search(ctx, "c", []float32{1, 0}, 3, mediarec.VectorFilter{})
			wantCode(t, err, tt.want)
			// The cause stays in the chain for the logs.
			if msg := status.Convert(tt.err).Message(); !strings.Contains(err.Error(), msg) {
				t.Fatalf("error %q lost the server's message %q", err, msg)
			}
		})
	}
	t.Run("rate limited with retry-after", func(t *testing.T) {
		srv.FailNext(status.Error(codes.ResourceExhausted, "too many requests"))
		_, err := q.Search(ctx, "c", []float32{1, 0}, 3, mediarec.VectorFilter{})
		var exhausted *qdrant.QdrantResourceExhaustedError
		if !errors.As(err, &exhausted) || exhausted.RetryAfterS != 1 {
			t.Fatalf("err = %v, want the client's QdrantResourceExhaustedError in the chain", err)
		}
	})
	t.Run("server gone", func(t *testing.T) {
		srv.Close()
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		wantCode(t, q.Ping(ctx), mediarec.EUNAVAILABLE)
	})
}

func TestQdrantClientSideValidation(t *testing.T) {
	q, _ := mustFakeQdrant(t)
	ctx := context.Background()
	if err := q.CreateCollection(ctx, "c", 2); err != nil {
		t.Fatal(err)
	}
	badTag := vpoint(1, 1, 0)
	badTag.Payload.Tags = []string{"caf\xe9"}
	tests := []struct {
		name string
		call func() error
	}{
		{"empty collection name", func() error { return q.CreateCollection(ctx, "", 2) }},
		{"name with a slash", func() error { return q.CreateCollection(ctx, "a/b", 2) }},
		{"zero dimension", func() error { return q.CreateCollection(ctx, "d", 0) }},
		{"negative id", func() error { return q.Upsert(ctx, "c", []mediarec.VectorPoint{vpoint(-1, 1, 0)}) }},
		{"mixed lengths", func() error { return q.Upsert(ctx, "c", []mediarec.VectorPoint{vpoint(1, 1, 0), vpoint(2, 1, 0, 0)}) }},
		{"invalid UTF-8", func() error { return q.Upsert(ctx, "c", []mediarec.VectorPoint{badTag}) }},
		{"empty query vector", func() error {
			_, err := q.Search(ctx, "c", nil, 3, mediarec.VectorFilter{})
			return err
		}},
		{"bad alias name", func() error { return q.SetAlias(ctx, "", "c") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { wantCode(t, tt.call(), mediarec.EINVALID) })
	}
}

func TestQdrantURL(t *testing.T) {
	tests := []struct {
		name, url string
		ok        bool
	}{
		{"default", "", true},
		{"http", "http://qdrant:6334", true},
		{"https", "https://qdrant.example.com", true},
		{"host and port", "qdrant:6334", true},
		{"ipv6", "http://[::1]:6334", true},
		{"other scheme", "grpc://qdrant:6334", false},
		{"path", "http://qdrant:6334/collections", false},
		{"bad port", "http://qdrant:70000", false},
		{"no host", "http://:6334", false},
		{"several nodes", "http://q1:6334, http://q2:6334,q3:6334", true},
		{"the REST port", "http://qdrant:6333", false},
		{"the REST port among nodes", "http://q1:6334,http://q2:6333", false},
		{"https and http mixed", "https://q1:6334,http://q2:6334", false},
		{"an empty entry", "http://q1:6334,,http://q2:6334", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := vectordb.NewQdrant(vectordb.QdrantConfig{URL: tt.url})
			if err == nil {
				q.Close()
			}
			if (err == nil) != tt.ok {
				t.Fatalf("NewQdrant(%q) error = %v, want ok=%v", tt.url, err, tt.ok)
			}
		})
	}
}

// TestQdrantDialOptions shows that extra dial options win over the client's
// own: the adapter reaches the server through a custom dialer although the
// URL names another port.
func TestQdrantDialOptions(t *testing.T) {
	srv := qdranttest.Start(t)
	dial := func(ctx context.Context, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "tcp", srv.Addr())
	}
	q := mustQdrant(t, vectordb.QdrantConfig{URL: "127.0.0.1:1", DialOptions: []grpc.DialOption{grpc.WithContextDialer(dial)}})
	if err := q.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestQdrantAPIKey(t *testing.T) {
	srv := qdranttest.Start(t, qdranttest.WithAPIKey("s3cret"))
	ctx := context.Background()
	wrong := mustQdrant(t, vectordb.QdrantConfig{URL: srv.URL(), APIKey: "guess"})
	if err := wrong.Ping(ctx); err == nil || status.Code(err) != codes.Unauthenticated {
		t.Fatalf("ping with a wrong key = %v, want Unauthenticated", err)
	}
	right := mustQdrant(t, vectordb.QdrantConfig{URL: srv.URL(), APIKey: "s3cret"})
	if err := right.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	if err := right.CreateCollection(ctx, "c", 2); err != nil {
		t.Fatal(err)
	}
}

func TestQdrantPayloadIndex(t *testing.T) {
	srv := qdranttest.Start(t)
	q := mustQdrant(t, vectordb.QdrantConfig{URL: srv.URL(), CollectionPrefix: "p_"})
	if err := q.CreateCollection(context.Background(), "items", 4); err != nil {
		t.Fatal(err)
	}
	want := map[string]qdrant.FieldType{"type": qdrant.FieldType_FieldTypeKeyword}
	if diff := gocmp.Diff(want, srv.PayloadIndexes("p_items")); diff != "" {
		t.Fatalf("payload indexes (-want +got):\n%s", diff)
	}
}

// TestQdrantCollectionPrefix shows two deployments sharing one Qdrant
// without seeing each other's collections or aliases.
func TestQdrantCollectionPrefix(t *testing.T) {
	srv := qdranttest.Start(t)
	ctx := context.Background()
	a := mustQdrant(t, vectordb.QdrantConfig{URL: srv.URL(), CollectionPrefix: "a_"})
	b := mustQdrant(t, vectordb.QdrantConfig{URL: srv.URL(), CollectionPrefix: "b_"})
	for _, q := range []*vectordb.Qdrant{a, b} {
		if err := q.CreateCollection(ctx, "items_v1", 2); err != nil {
			t.Fatal(err)
		}
		if err := q.SetAlias(ctx, "items", "items_v1"); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Upsert(ctx, "items", []mediarec.VectorPoint{vpoint(1, 1, 0)}); err != nil {
		t.Fatal(err)
	}
	names, err := b.ListCollections(ctx)
	if err != nil || !slices.Equal(names, []string{"items_v1"}) {
		t.Fatalf("b's collections = %v, %v", names, err)
	}
	if target, err := b.ResolveAlias(ctx, "items"); err != nil || target != "items_v1" {
		t.Fatalf("b's alias = %q, %v", target, err)
	}
	if info, err := b.CollectionInfo(ctx, "items"); err != nil || info.Points != 0 {
		t.Fatalf("b's collection = %+v, %v; want it empty", info, err)
	}
	// Dropping a collection drops the aliases that point at it, as in Qdrant.
	if err := a.DeleteCollection(ctx, "items_v1"); err != nil {
		t.Fatal(err)
	}
	_, err = a.ResolveAlias(ctx, "items")
	wantCode(t, err, mediarec.ENOTFOUND)
}

// TestQdrantFailedSwitchKeepsAlias: Qdrant keeps the alias actions done
// before a failing one, so the adapter must not send a switch to a missing
// collection at all.
func TestQdrantFailedSwitchKeepsAlias(t *testing.T) {
	q, _ := mustFakeQdrant(t)
	ctx := context.Background()
	if err := q.CreateCollection(ctx, "items_v1", 2); err != nil {
		t.Fatal(err)
	}
	if err := q.SetAlias(ctx, "items", "items_v1"); err != nil {
		t.Fatal(err)
	}
	wantCode(t, q.SetAlias(ctx, "items", "items_v2"), mediarec.ENOTFOUND)
	wantCode(t, q.SetAlias(ctx, "items_v1", "items_v1"), mediarec.ECONFLICT)
	if target, err := q.ResolveAlias(ctx, "items"); err != nil || target != "items_v1" {
		t.Fatalf("alias after failed switches = %q, %v; want items_v1", target, err)
	}
	wantCode(t, q.CreateCollection(ctx, "items", 2), mediarec.ECONFLICT)
	wantCode(t, q.DeleteCollection(ctx, "items"), mediarec.ENOTFOUND) // an alias is not a collection
}

// TestQdrantAliasSwitchedElsewhere: another process (the re-embedding job)
// switches an alias to a collection of another dimension; the dimension this
// adapter cached for the alias must not refuse the new vectors.
func TestQdrantAliasSwitchedElsewhere(t *testing.T) {
	srv := qdranttest.Start(t)
	ctx := context.Background()
	recs := mustQdrant(t, vectordb.QdrantConfig{URL: srv.URL()})
	job := mustQdrant(t, vectordb.QdrantConfig{URL: srv.URL()})
	if err := job.CreateCollection(ctx, "items_v1", 2); err != nil {
		t.Fatal(err)
	}
	if err := job.SetAlias(ctx, "items", "items_v1"); err != nil {
		t.Fatal(err)
	}
	if _, err := recs.Search(ctx, "items", []float32{1, 0}, 3, mediarec.VectorFilter{}); err != nil {
		t.Fatal(err)
	}
	if err := job.CreateCollection(ctx, "items_v2", 3); err != nil {
		t.Fatal(err)
	}
	if err := job.Upsert(ctx, "items_v2", []mediarec.VectorPoint{vpoint(5, 0, 0, 1)}); err != nil {
		t.Fatal(err)
	}
	if err := job.SetAlias(ctx, "items", "items_v2"); err != nil {
		t.Fatal(err)
	}
	hits, err := recs.Search(ctx, "items", []float32{0, 0, 1}, 3, mediarec.VectorFilter{})
	if err != nil || len(hits) != 1 || hits[0].ID != 5 {
		t.Fatalf("search after the switch = %+v, %v", hits, err)
	}
	_, err = recs.Search(ctx, "items", []float32{1, 0}, 3, mediarec.VectorFilter{})
	wantCode(t, err, mediarec.EINVALID)
}

// TestQdrantLargeBatches sends more than one request's worth of vectors
// each way.
func TestQdrantLargeBatches(t *testing.T) {
	q, _ := mustFakeQdrant(t)
	ctx := context.Background()
	const n, dim = 3000, 768
	if err := q.CreateCollection(ctx, "c", dim); err != nil {
		t.Fatal(err)
	}
	pts := make([]mediarec.VectorPoint, n)
	ids := make([]int64, n)
	for i := range pts {
		v := make([]float32, dim)
		v[i%dim] = 1
		pts[i] = vpoint(int64(n-i), v...)
		ids[i] = int64(n - i)
	}
	if err := q.Upsert(ctx, "c", pts); err != nil {
		t.Fatal(err)
	}
	got, err := q.Get(ctx, "c", append(ids, ids[0], 1<<50))
	if err != nil {
		t.Fatal(err)
	}
	gotIDs := make([]int64, len(got))
	for i, p := range got {
		gotIDs[i] = p.ID
	}
	if diff := gocmp.Diff(ids, gotIDs); diff != "" {
		t.Fatalf("Get keeps the order asked, each id once, unknown ones skipped (-want +got):\n%s", diff)
	}
	info, err := q.CollectionInfo(ctx, "c")
	if err != nil || info.Points != n {
		t.Fatalf("info = %+v, %v", info, err)
	}
}
