package vectordb_test

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/qdrant/go-client/qdrant"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/testing/protocmp"

	"mediarec"
	"mediarec/internal/vectordb"
	"mediarec/internal/vectordb/qdranttest"
)

// The tests of this file hold the adapter to what a real cluster needs;
// each names the finding of the review it covers.

// lastRequest is the last request the stand-in got for method.
func lastRequest[T any](t *testing.T, srv *qdranttest.Server, method string) T {
	t.Helper()
	calls := srv.CallsTo(method)
	if len(calls) == 0 {
		t.Fatalf("no call to %s", method)
	}
	req, ok := calls[len(calls)-1].Request.(T)
	if !ok {
		t.Fatalf("%s got a %T", method, calls[len(calls)-1].Request)
	}
	return req
}

// Finding 1 and 8: a new collection carries the cluster's replication and
// the capacity settings; searches carry the beam.
func TestQdrantCollectionSettings(t *testing.T) {
	srv := qdranttest.Start(t)
	q := mustQdrant(t, vectordb.QdrantConfig{
		URL: srv.URL(), ShardNumber: 6, ReplicationFactor: 2, WriteConsistencyFactor: 1,
		HNSWM: 32, HNSWEfConstruct: 256, HNSWEf: 128, OnDisk: true, Quantization: "int8", IndexingThreshold: 20000,
	})
	ctx := context.Background()
	if err := q.CreateCollection(ctx, "items", 4); err != nil {
		t.Fatal(err)
	}
	got := lastRequest[*qdrant.CreateCollection](t, srv, qdrant.Collections_Create_FullMethodName)
	want := &qdrant.CreateCollection{
		CollectionName:         "items",
		VectorsConfig:          qdrant.NewVectorsConfig(&qdrant.VectorParams{Size: 4, Distance: qdrant.Distance_Cosine, OnDisk: qdrant.PtrOf(true)}),
		ShardNumber:            qdrant.PtrOf(uint32(6)),
		ReplicationFactor:      qdrant.PtrOf(uint32(2)),
		WriteConsistencyFactor: qdrant.PtrOf(uint32(1)),
		HnswConfig:             &qdrant.HnswConfigDiff{M: qdrant.PtrOf(uint64(32)), EfConstruct: qdrant.PtrOf(uint64(256))},
		OptimizersConfig:       &qdrant.OptimizersConfigDiff{IndexingThreshold: qdrant.PtrOf(uint64(20000))},
		QuantizationConfig:     qdrant.NewQuantizationScalar(&qdrant.ScalarQuantization{Type: qdrant.QuantizationType_Int8, AlwaysRam: qdrant.PtrOf(true)}),
		OnDiskPayload:          qdrant.PtrOf(true),
		Timeout:                qdrant.PtrOf(uint64(10)),
	}
	if diff := gocmp.Diff(want, got, protocmp.Transform()); diff != "" {
		t.Fatalf("create request (-want +got):\n%s", diff)
	}
	if _, err := q.Search(ctx, "items", []float32{1, 0, 0, 0}, 3, mediarec.VectorFilter{}); err != nil {
		t.Fatal(err)
	}
	query := lastRequest[*qdrant.QueryPoints](t, srv, qdrant.Points_Query_FullMethodName)
	if query.GetParams().GetHnswEf() != 128 {
		t.Fatalf("search params = %v, want hnsw_ef 128", query.GetParams())
	}
	// A scan collection keeps no graph whatever the settings.
	if err := q.CreateScanCollection(ctx, "scan", 4); err != nil {
		t.Fatal(err)
	}
	scan := lastRequest[*qdrant.CreateCollection](t, srv, qdrant.Collections_Create_FullMethodName)
	if scan.GetHnswConfig().GetM() != 0 || scan.GetReplicationFactor() != 2 {
		t.Fatalf("scan collection: hnsw %v, replication %d; want m 0 and replication 2", scan.GetHnswConfig(), scan.GetReplicationFactor())
	}
}

// Finding 2: writes are ordered through each shard's leader.
func TestQdrantWriteOrdering(t *testing.T) {
	tests := []struct {
		setting string
		want    qdrant.WriteOrderingType
	}{
		{"", qdrant.WriteOrderingType_Medium},
		{"strong", qdrant.WriteOrderingType_Strong},
		{"weak", qdrant.WriteOrderingType_Weak},
	}
	for _, tt := range tests {
		t.Run(cmpOr(tt.setting, "default"), func(t *testing.T) {
			srv := qdranttest.Start(t)
			q := mustQdrant(t, vectordb.QdrantConfig{URL: srv.URL(), WriteOrdering: tt.setting})
			ctx := context.Background()
			if err := q.CreateCollection(ctx, "c", 2); err != nil {
				t.Fatal(err)
			}
			if err := q.Upsert(ctx, "c", []mediarec.VectorPoint{vpoint(1, 1, 0)}); err != nil {
				t.Fatal(err)
			}
			if err := q.Delete(ctx, "c", []int64{1}); err != nil {
				t.Fatal(err)
			}
			up := lastRequest[*qdrant.UpsertPoints](t, srv, qdrant.Points_Upsert_FullMethodName)
			del := lastRequest[*qdrant.DeletePoints](t, srv, qdrant.Points_Delete_FullMethodName)
			idx := lastRequest[*qdrant.CreateFieldIndexCollection](t, srv, qdrant.Points_CreateFieldIndex_FullMethodName)
			for name, o := range map[string]*qdrant.WriteOrdering{"upsert": up.GetOrdering(), "delete": del.GetOrdering(), "index": idx.GetOrdering()} {
				if o == nil || o.GetType() != tt.want {
					t.Errorf("%s ordering = %v, want %v", name, o, tt.want)
				}
			}
		})
	}
	if _, err := vectordb.NewQdrant(vectordb.QdrantConfig{WriteOrdering: "eventual"}); err == nil {
		t.Fatal("an unknown ordering was accepted")
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// Finding 3: a create retried after a timeout that the server had applied
// succeeds, indexes the collection and never drops it; a collection made
// elsewhere without its index gets it; one of another shape is refused.
func TestQdrantCreateCollectionIdempotent(t *testing.T) {
	ctx := context.Background()
	t.Run("retry after an applied create", func(t *testing.T) {
		srv := qdranttest.Start(t, qdranttest.WithStrictMode())
		q := mustQdrant(t, vectordb.QdrantConfig{URL: srv.URL()})
		srv.FailAfter(qdrant.Collections_Create_FullMethodName, status.Error(codes.DeadlineExceeded, "Timeout error: operation timed out"))
		srv.Fail(qdrant.Points_CreateFieldIndex_FullMethodName, status.Error(codes.Unavailable, "connection reset"))
		if err := q.CreateCollection(ctx, "items", 2); err != nil {
			t.Fatalf("create after a timed-out attempt: %v", err)
		}
		if n := len(srv.CallsTo(qdrant.Collections_Delete_FullMethodName)); n != 0 {
			t.Fatalf("%d collection drops; want none", n)
		}
		if _, ok := srv.PayloadIndexes("items")["type"]; !ok {
			t.Fatal("the collection has no index on type")
		}
		// Strict mode refuses a filter on a field without an index.
		if _, err := q.Search(ctx, "items", []float32{1, 0}, 3, mediarec.VectorFilter{Types: []mediarec.ItemType{mediarec.TypeMovie}}); err != nil {
			t.Fatalf("filtered search: %v", err)
		}
	})
	t.Run("made elsewhere without its index", func(t *testing.T) {
		srv := qdranttest.Start(t, qdranttest.WithStrictMode())
		raw := rawClient(t, srv)
		if err := raw.CreateCollection(ctx, &qdrant.CreateCollection{CollectionName: "items", VectorsConfig: qdrant.NewVectorsConfig(&qdrant.VectorParams{Size: 2, Distance: qdrant.Distance_Cosine})}); err != nil {
			t.Fatal(err)
		}
		q := mustQdrant(t, vectordb.QdrantConfig{URL: srv.URL()})
		wantCode(t, q.CreateCollection(ctx, "items", 2), mediarec.ECONFLICT)
		if _, ok := srv.PayloadIndexes("items")["type"]; !ok {
			t.Fatal("the collection still has no index on type")
		}
		wantCode(t, q.CreateCollection(ctx, "items", 3), mediarec.EINTERNAL)
	})
}

// rawClient is the go-client itself on the stand-in, for set-ups the
// adapter would not make.
func rawClient(t *testing.T, srv *qdranttest.Server) *qdrant.Client {
	t.Helper()
	host, port := splitHostPort(t, srv.Addr())
	c, err := qdrant.NewClient(&qdrant.Config{Host: host, Port: port, SkipCompatibilityCheck: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func splitHostPort(t *testing.T, addr string) (string, int) {
	t.Helper()
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	port, err := strconv.Atoi(p)
	if err != nil {
		t.Fatal(err)
	}
	return host, port
}

// Finding 4: a switch is one create-alias action, with no listing first.
func TestQdrantSetAliasOneAction(t *testing.T) {
	q, srv := mustFakeQdrant(t)
	ctx := context.Background()
	for _, c := range []string{"items_v1", "items_v2"} {
		if err := q.CreateCollection(ctx, c, 2); err != nil {
			t.Fatal(err)
		}
	}
	if err := q.SetAlias(ctx, "items", "items_v1"); err != nil {
		t.Fatal(err)
	}
	before := len(srv.CallsTo(qdrant.Collections_List_FullMethodName))
	if err := q.SetAlias(ctx, "items", "items_v2"); err != nil {
		t.Fatal(err)
	}
	req := lastRequest[*qdrant.ChangeAliases](t, srv, qdrant.Collections_UpdateAliases_FullMethodName)
	want := &qdrant.ChangeAliases{Actions: []*qdrant.AliasOperations{qdrant.NewAliasCreate("items", "items_v2")}, Timeout: qdrant.PtrOf(uint64(10))}
	if diff := gocmp.Diff(want, req, protocmp.Transform()); diff != "" {
		t.Fatalf("alias switch (-want +got):\n%s", diff)
	}
	if after := len(srv.CallsTo(qdrant.Collections_List_FullMethodName)); after != before {
		t.Fatalf("the switch listed the collections %d times", after-before)
	}
	if target, err := q.ResolveAlias(ctx, "items"); err != nil || target != "items_v2" {
		t.Fatalf("alias = %q, %v", target, err)
	}
}

// Finding 6: transient failures are retried, within bounds; every call has
// a deadline; a write the server did not apply in time is sent again.
func TestQdrantRetries(t *testing.T) {
	ctx := context.Background()
	t.Run("replica failures and a node down", func(t *testing.T) {
		q, srv := mustFakeQdrant(t)
		if err := q.CreateCollection(ctx, "c", 2); err != nil {
			t.Fatal(err)
		}
		srv.Fail(qdrant.Points_Query_FullMethodName, qdranttest.PleaseRetry(), status.Error(codes.Unavailable, "connection refused"))
		if _, err := q.Search(ctx, "c", []float32{1, 0}, 3, mediarec.VectorFilter{}); err != nil {
			t.Fatalf("search after two transient failures: %v", err)
		}
		if n := len(srv.CallsTo(qdrant.Points_Query_FullMethodName)); n != 3 {
			t.Fatalf("%d query attempts, want 3", n)
		}
	})
	t.Run("bounded", func(t *testing.T) {
		srv := qdranttest.Start(t)
		q := mustQdrant(t, vectordb.QdrantConfig{URL: srv.URL(), Retries: 2})
		if err := q.CreateCollection(ctx, "c", 2); err != nil {
			t.Fatal(err)
		}
		unavailable := status.Error(codes.Unavailable, "connection refused")
		srv.Fail(qdrant.Points_Query_FullMethodName, unavailable, unavailable, unavailable, unavailable)
		_, err := q.Search(ctx, "c", []float32{1, 0}, 3, mediarec.VectorFilter{})
		wantCode(t, err, mediarec.EUNAVAILABLE)
		if n := len(srv.CallsTo(qdrant.Points_Query_FullMethodName)); n != 3 {
			t.Fatalf("%d query attempts, want 3 (2 retries)", n)
		}
	})
	t.Run("not the caller's mistakes", func(t *testing.T) {
		q, srv := mustFakeQdrant(t)
		if err := q.CreateCollection(ctx, "c", 2); err != nil {
			t.Fatal(err)
		}
		srv.Fail(qdrant.Points_Query_FullMethodName, status.Error(codes.InvalidArgument, "Wrong input: bad filter"))
		_, err := q.Search(ctx, "c", []float32{1, 0}, 3, mediarec.VectorFilter{})
		wantCode(t, err, mediarec.EINVALID)
		if n := len(srv.CallsTo(qdrant.Points_Query_FullMethodName)); n != 1 {
			t.Fatalf("%d query attempts, want 1", n)
		}
	})
	t.Run("retry-after", func(t *testing.T) {
		q, srv := mustFakeQdrant(t)
		if err := q.CreateCollection(ctx, "c", 2); err != nil {
			t.Fatal(err)
		}
		srv.Fail(qdrant.Points_Upsert_FullMethodName, qdranttest.ResourceExhausted(1))
		start := time.Now()
		if err := q.Upsert(ctx, "c", []mediarec.VectorPoint{vpoint(1, 1, 0)}); err != nil {
			t.Fatalf("upsert after a rate limit: %v", err)
		}
		// The server asked for a second; the backoff alone waits 100 ms.
		if waited := time.Since(start); waited < 900*time.Millisecond {
			t.Fatalf("retried after %v; the server asked for 1s", waited)
		}
	})
	t.Run("a stalled attempt", func(t *testing.T) {
		srv := qdranttest.Start(t)
		q := mustQdrant(t, vectordb.QdrantConfig{URL: srv.URL(), Timeout: 300 * time.Millisecond})
		if err := q.CreateCollection(ctx, "c", 2); err != nil {
			t.Fatal(err)
		}
		srv.Stall(qdrant.Points_Query_FullMethodName, time.Hour)
		if _, err := q.Search(ctx, "c", []float32{1, 0}, 3, mediarec.VectorFilter{}); err != nil {
			t.Fatalf("search after a stalled attempt: %v", err)
		}
		for _, c := range srv.Calls() {
			if c.Deadline <= 0 || c.Deadline > 300*time.Millisecond+3*time.Second {
				t.Errorf("%s arrived with %v to its deadline, want a deadline of the configured timeout", c.Method, c.Deadline)
			}
		}
	})
	t.Run("a write not applied in time", func(t *testing.T) {
		q, srv := mustFakeQdrant(t)
		if err := q.CreateCollection(ctx, "c", 2); err != nil {
			t.Fatal(err)
		}
		srv.UpsertStatus(qdrant.UpdateStatus_WaitTimeout, 1)
		pts := []mediarec.VectorPoint{vpoint(1, 1, 0), vpoint(2, 0, 1), vpoint(3, 1, 1)}
		if err := q.Upsert(ctx, "c", pts); err != nil {
			t.Fatal(err)
		}
		if info, err := q.CollectionInfo(ctx, "c"); err != nil || info.Points != 3 {
			t.Fatalf("after a partly applied batch: %+v, %v; want all 3 points", info, err)
		}
		up := lastRequest[*qdrant.UpsertPoints](t, srv, qdrant.Points_Upsert_FullMethodName)
		if up.GetTimeout() != 10 || !up.GetWait() {
			t.Fatalf("upsert wait %v timeout %d, want wait and the server's timeout of 10 s", up.GetWait(), up.GetTimeout())
		}
	})
}

// Finding 7: several nodes, one connection; a node that goes away is
// routed around.
func TestQdrantSeveralNodes(t *testing.T) {
	ctx := context.Background()
	a, b := qdranttest.Start(t), qdranttest.Start(t)
	// Two stand-ins share no state; each gets the same collection, as the
	// nodes of a cluster would serve it.
	for _, srv := range []*qdranttest.Server{a, b} {
		q := mustQdrant(t, vectordb.QdrantConfig{URL: srv.URL()})
		if err := q.CreateCollection(ctx, "c", 2); err != nil {
			t.Fatal(err)
		}
		if err := q.Upsert(ctx, "c", []mediarec.VectorPoint{vpoint(1, 1, 0)}); err != nil {
			t.Fatal(err)
		}
	}
	q := mustQdrant(t, vectordb.QdrantConfig{URL: a.URL() + "," + b.URL()})
	search := func() error {
		hits, err := q.Search(ctx, "c", []float32{1, 0}, 3, mediarec.VectorFilter{})
		if err == nil && (len(hits) != 1 || hits[0].ID != 1) {
			err = errors.New("wrong hits")
		}
		return err
	}
	const n = 20
	for range n {
		if err := search(); err != nil {
			t.Fatal(err)
		}
	}
	na, nb := len(a.CallsTo(qdrant.Points_Query_FullMethodName)), len(b.CallsTo(qdrant.Points_Query_FullMethodName))
	if na == 0 || nb == 0 {
		t.Fatalf("queries per node: %d and %d; want both used", na, nb)
	}
	a.Close()
	for range n {
		if err := search(); err != nil {
			t.Fatalf("with one node gone: %v", err)
		}
	}
}

// Finding 7: TLS settings and the REST port.
func TestQdrantTransportSettings(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "ca.txt")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		cfg  vectordb.QdrantConfig
		want string // in the error; empty = accepted
	}{
		{"https, TLS 1.2", vectordb.QdrantConfig{URL: "https://q:6334", TLSMinVersion: tls.VersionTLS12}, ""},
		{"TLS 1.1", vectordb.QdrantConfig{URL: "https://q:6334", TLSMinVersion: tls.VersionTLS11}, "1.2 or 1.3"},
		{"CA file missing", vectordb.QdrantConfig{URL: "https://q:6334", CAFile: filepath.Join(dir, "none.pem")}, "CA file"},
		{"CA file without a certificate", vectordb.QdrantConfig{URL: "https://q:6334", CAFile: notPEM}, "no PEM certificate"},
		{"CA file for http", vectordb.QdrantConfig{URL: "http://q:6334", CAFile: notPEM}, "https"},
		{"REST port", vectordb.QdrantConfig{URL: "http://q:6333"}, "REST port"},
		{"write consistency over the replicas", vectordb.QdrantConfig{ReplicationFactor: 2, WriteConsistencyFactor: 3}, "exceeds the replication factor"},
		{"unknown quantization", vectordb.QdrantConfig{Quantization: "binary"}, "int8 or none"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := vectordb.NewQdrant(tt.cfg)
			if err == nil {
				q.Close()
			}
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("error = %v, want one saying %q", err, tt.want)
			}
		})
	}
}

// Finding 7: the versions the adapter supports; older ones fail readiness
// with a message saying so.
func TestQdrantVersions(t *testing.T) {
	tests := []struct {
		version string
		ok      bool
	}{
		{"1.14.1", false},
		{"1.15.0", true},
		{"1.16.3", true},
		{"1.17.1", true},
		{"2.0.0", false},
	}
	for _, tt := range tests {
		t.Run(tt.version, func(t *testing.T) {
			srv := qdranttest.Start(t, qdranttest.WithVersion(tt.version), qdranttest.WithAPIKey("k"))
			q := mustQdrant(t, vectordb.QdrantConfig{URL: srv.URL(), APIKey: "k"})
			err := q.Ping(context.Background())
			if tt.ok && err != nil {
				t.Fatalf("ping: %v", err)
			}
			if !tt.ok && (err == nil || !strings.Contains(err.Error(), "not supported")) {
				t.Fatalf("ping = %v, want it refused as not supported", err)
			}
		})
	}
}

func TestQdrantConfigFromEnv(t *testing.T) {
	env := func(kv ...string) func(string) string {
		m := map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	t.Run("every setting", func(t *testing.T) {
		got, err := vectordb.QdrantConfigFromEnv(env(
			"QDRANT_URL", "https://q1:6334,https://q2:6334", "QDRANT_API_KEY", "k", "QDRANT_TLS_MIN_VERSION", "1.2",
			"QDRANT_SHARDS", "6", "QDRANT_REPLICATION_FACTOR", "2", "QDRANT_WRITE_CONSISTENCY", "2",
			"QDRANT_WRITE_ORDERING", "strong", "QDRANT_TIMEOUT", "5s", "QDRANT_RETRIES", "0",
			"QDRANT_HNSW_M", "24", "QDRANT_HNSW_EF_CONSTRUCT", "200", "QDRANT_HNSW_EF", "96",
			"QDRANT_ON_DISK", "true", "QDRANT_QUANTIZATION", "int8", "QDRANT_INDEXING_THRESHOLD", "1000",
		))
		if err != nil {
			t.Fatal(err)
		}
		want := vectordb.QdrantConfig{
			URL: "https://q1:6334,https://q2:6334", APIKey: "k", TLSMinVersion: tls.VersionTLS12,
			ShardNumber: 6, ReplicationFactor: 2, WriteConsistencyFactor: 2, WriteOrdering: "strong",
			Timeout: 5 * time.Second, Retries: -1, HNSWM: 24, HNSWEfConstruct: 200, HNSWEf: 96,
			OnDisk: true, Quantization: "int8", IndexingThreshold: 1000,
		}
		if diff := gocmp.Diff(want, got); diff != "" {
			t.Fatalf("config (-want +got):\n%s", diff)
		}
	})
	bad := []struct{ key, value string }{
		{"QDRANT_URL", "http://q:6333"},
		{"QDRANT_SHARDS", "0"},
		{"QDRANT_REPLICATION_FACTOR", "two"},
		{"QDRANT_TIMEOUT", "10"},
		{"QDRANT_RETRIES", "-1"},
		{"QDRANT_HNSW_EF", "-5"},
		{"QDRANT_ON_DISK", "maybe"},
		{"QDRANT_TLS_MIN_VERSION", "1.1"},
		{"QDRANT_WRITE_ORDERING", "eventual"},
		{"QDRANT_QUANTIZATION", "pq"},
	}
	for _, tt := range bad {
		t.Run(tt.key, func(t *testing.T) {
			cfg, err := vectordb.QdrantConfigFromEnv(env("QDRANT_URL", "http://q:6334", tt.key, tt.value))
			if err == nil {
				err = cfg.Check()
			}
			if err == nil || !strings.Contains(err.Error(), tt.key) && !strings.Contains(err.Error(), tt.value) {
				t.Fatalf("%s=%s: error %v, want one naming it", tt.key, tt.value, err)
			}
		})
	}
}
