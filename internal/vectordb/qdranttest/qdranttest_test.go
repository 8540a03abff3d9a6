package qdranttest_test

import (
	"context"
	"errors"
	"net"
	"strconv"
	"testing"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/qdrant/go-client/qdrant"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/testing/protocmp"

	"mediarec/internal/vectordb/qdranttest"
)

// mustClient connects the real Go client to srv; apiKey may be empty.
func mustClient(tb testing.TB, srv *qdranttest.Server, apiKey string) *qdrant.Client {
	tb.Helper()
	host, portStr, err := net.SplitHostPort(srv.Addr())
	if err != nil {
		tb.Fatal(err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		tb.Fatal(err)
	}
	client, err := qdrant.NewClient(&qdrant.Config{Host: host, Port: port, APIKey: apiKey, SkipCompatibilityCheck: true, PoolSize: 1})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { client.Close() })
	return client
}

// mustCollection creates a cosine collection of dim 2 holding points 1
// (type movie) and 2 (type show).
func mustCollection(tb testing.TB, client *qdrant.Client, name string) {
	tb.Helper()
	ctx := context.Background()
	err := client.CreateCollection(ctx, &qdrant.CreateCollection{
		CollectionName: name,
		VectorsConfig:  qdrant.NewVectorsConfig(&qdrant.VectorParams{Size: 2, Distance: qdrant.Distance_Cosine}),
	})
	if err != nil {
		tb.Fatal(err)
	}
	_, err = client.Upsert(ctx, &qdrant.UpsertPoints{CollectionName: name, Wait: qdrant.PtrOf(true), Points: []*qdrant.PointStruct{
		{Id: qdrant.NewIDNum(1), Vectors: qdrant.NewVectors(1, 0), Payload: qdrant.NewValueMap(map[string]any{"type": "movie"})},
		{Id: qdrant.NewIDNum(2), Vectors: qdrant.NewVectors(0, 1), Payload: qdrant.NewValueMap(map[string]any{"type": "show"})},
	}})
	if err != nil {
		tb.Fatal(err)
	}
}

func wantCode(tb testing.TB, err error, want codes.Code) {
	tb.Helper()
	if got := status.Code(err); got != want {
		tb.Fatalf("err = %v, want code %v", err, want)
	}
}

// serverMessage is the message of the status the server sent; the client
// wraps it with its own words.
func serverMessage(err error) string {
	var st interface{ GRPCStatus() *status.Status }
	if !errors.As(err, &st) {
		return ""
	}
	return st.GRPCStatus().Message()
}

func TestStrictMode(t *testing.T) {
	ctx := context.Background()
	const refusal = `Bad request: Index required but not found for "type" of one of the following types: [keyword]. Help: Create an index for this key or use a different filter.`
	tests := []struct {
		name      string
		strict    bool
		index     qdrant.FieldType // indexed before the query when index >= 0
		filter    *qdrant.Filter
		wantCount uint64 // when accepted
		wantErr   string // the refusal, if refused
	}{
		{"no filter", true, -1, nil, 2, ""},
		{"has_id needs no index", true, -1, &qdrant.Filter{Must: []*qdrant.Condition{qdrant.NewHasID(qdrant.NewIDNum(2))}}, 1, ""},
		{"keyword without index", true, -1, &qdrant.Filter{Must: []*qdrant.Condition{qdrant.NewMatchKeyword("type", "movie")}}, 0, refusal},
		{"nested keyword without index", true, -1, &qdrant.Filter{MustNot: []*qdrant.Condition{
			qdrant.NewFilterAsCondition(&qdrant.Filter{Should: []*qdrant.Condition{qdrant.NewMatchKeywords("type", "movie")}}),
		}}, 0, refusal},
		{"index of another type", true, qdrant.FieldType_FieldTypeInteger, &qdrant.Filter{Must: []*qdrant.Condition{qdrant.NewMatchKeyword("type", "movie")}}, 0, refusal},
		{"keyword index", true, qdrant.FieldType_FieldTypeKeyword, &qdrant.Filter{Must: []*qdrant.Condition{qdrant.NewMatchKeyword("type", "movie")}}, 1, ""},
		{"not strict", false, -1, &qdrant.Filter{Must: []*qdrant.Condition{qdrant.NewMatchKeyword("type", "movie")}}, 1, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var opts []qdranttest.Option
			if tt.strict {
				opts = append(opts, qdranttest.WithStrictMode())
			}
			client := mustClient(t, qdranttest.Start(t, opts...), "")
			mustCollection(t, client, "c")
			if tt.index >= 0 {
				_, err := client.CreateFieldIndex(ctx, &qdrant.CreateFieldIndexCollection{CollectionName: "c", FieldName: "type", FieldType: tt.index.Enum()})
				if err != nil {
					t.Fatal(err)
				}
			}
			n, countErr := client.Count(ctx, &qdrant.CountPoints{CollectionName: "c", Filter: tt.filter, Exact: qdrant.PtrOf(true)})
			hits, queryErr := client.Query(ctx, &qdrant.QueryPoints{CollectionName: "c", Query: qdrant.NewQuery(1, 1), Filter: tt.filter})
			if tt.wantErr != "" {
				for _, err := range []error{countErr, queryErr} {
					wantCode(t, err, codes.InvalidArgument)
					if msg := serverMessage(err); msg != tt.wantErr {
						t.Fatalf("message = %q, want %q", msg, tt.wantErr)
					}
				}
				return
			}
			if countErr != nil || queryErr != nil {
				t.Fatalf("count: %v, query: %v", countErr, queryErr)
			}
			if n != tt.wantCount || uint64(len(hits)) != tt.wantCount {
				t.Fatalf("count %d, %d hits, want %d", n, len(hits), tt.wantCount)
			}
		})
	}
}

func TestVersions(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name            string
		opts            []qdranttest.Option
		wantVersion     string
		wantHealthCode  codes.Code // for a client without the key
		wantLegacyShape bool       // vectors in VectorOutput.Data
	}{
		{"default", nil, "1.17.1", codes.OK, false},
		{"1.16", []qdranttest.Option{qdranttest.WithVersion("1.16.0")}, "1.16.0", codes.OK, false},
		{"1.15", []qdranttest.Option{qdranttest.WithVersion("1.15.5")}, "1.15.5", codes.Unauthenticated, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := qdranttest.Start(t, append(tt.opts, qdranttest.WithAPIKey("k"))...)
			_, err := mustClient(t, srv, "").HealthCheck(ctx)
			wantCode(t, err, tt.wantHealthCode)

			client := mustClient(t, srv, "k")
			reply, err := client.HealthCheck(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if reply.GetVersion() != tt.wantVersion {
				t.Fatalf("version %q, want %q", reply.GetVersion(), tt.wantVersion)
			}
			mustCollection(t, client, "c")
			got, err := client.Get(ctx, &qdrant.GetPoints{CollectionName: "c", Ids: []*qdrant.PointId{qdrant.NewIDNum(1)}, WithVectors: qdrant.NewWithVectors(true)})
			if err != nil {
				t.Fatal(err)
			}
			hits, err := client.Query(ctx, &qdrant.QueryPoints{CollectionName: "c", Query: qdrant.NewQuery(1, 0), Limit: qdrant.PtrOf(uint64(1)), WithVectors: qdrant.NewWithVectors(true)})
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range []*qdrant.VectorOutput{got[0].GetVectors().GetVector(), hits[0].GetVectors().GetVector()} {
				//lint:ignore SA1019 the deprecated field is what 1.15 filled
				data, dense := v.GetData(), v.GetDense().GetData()
				if tt.wantLegacyShape {
					data, dense = dense, data
				}
				if len(data) != 0 || !gocmp.Equal(dense, []float32{1, 0}) {
					t.Fatalf("vector output %v, want [1 0] in the legacy field: %v", v, tt.wantLegacyShape)
				}
			}
		})
	}
}

func TestCollectionConfig(t *testing.T) {
	ctx := context.Background()
	params := &qdrant.VectorParams{Size: 4, Distance: qdrant.Distance_Dot, OnDisk: qdrant.PtrOf(true)}
	scalar := qdrant.NewQuantizationScalar(&qdrant.ScalarQuantization{Type: qdrant.QuantizationType_Int8, AlwaysRam: qdrant.PtrOf(true)})
	tests := []struct {
		name string
		req  *qdrant.CreateCollection
		want *qdrant.CollectionConfig
	}{
		{
			name: "defaults",
			req:  &qdrant.CreateCollection{VectorsConfig: qdrant.NewVectorsConfig(&qdrant.VectorParams{Size: 2, Distance: qdrant.Distance_Cosine})},
			want: &qdrant.CollectionConfig{
				Params: &qdrant.CollectionParams{
					ShardNumber: 1, OnDiskPayload: true,
					VectorsConfig:     qdrant.NewVectorsConfig(&qdrant.VectorParams{Size: 2, Distance: qdrant.Distance_Cosine}),
					ReplicationFactor: qdrant.PtrOf(uint32(1)), WriteConsistencyFactor: qdrant.PtrOf(uint32(1)),
				},
				HnswConfig: &qdrant.HnswConfigDiff{
					M: qdrant.PtrOf(uint64(16)), EfConstruct: qdrant.PtrOf(uint64(100)), FullScanThreshold: qdrant.PtrOf(uint64(10000)),
					MaxIndexingThreads: qdrant.PtrOf(uint64(0)), OnDisk: qdrant.PtrOf(false),
				},
				OptimizerConfig: &qdrant.OptimizersConfigDiff{
					DeletedThreshold: qdrant.PtrOf(0.2), VacuumMinVectorNumber: qdrant.PtrOf(uint64(1000)), DefaultSegmentNumber: qdrant.PtrOf(uint64(0)),
					IndexingThreshold: qdrant.PtrOf(uint64(10000)), FlushIntervalSec: qdrant.PtrOf(uint64(5)),
				},
				WalConfig: &qdrant.WalConfigDiff{WalCapacityMb: qdrant.PtrOf(uint64(32)), WalSegmentsAhead: qdrant.PtrOf(uint64(0))},
			},
		},
		{
			name: "replicated, on disk, quantized dot",
			req: &qdrant.CreateCollection{
				VectorsConfig: qdrant.NewVectorsConfig(params),
				ShardNumber:   qdrant.PtrOf(uint32(2)), ReplicationFactor: qdrant.PtrOf(uint32(3)), WriteConsistencyFactor: qdrant.PtrOf(uint32(2)),
				OnDiskPayload:      qdrant.PtrOf(false),
				HnswConfig:         &qdrant.HnswConfigDiff{M: qdrant.PtrOf(uint64(0)), OnDisk: qdrant.PtrOf(true)},
				OptimizersConfig:   &qdrant.OptimizersConfigDiff{IndexingThreshold: qdrant.PtrOf(uint64(0))},
				QuantizationConfig: scalar,
			},
			want: &qdrant.CollectionConfig{
				Params: &qdrant.CollectionParams{
					ShardNumber: 2, OnDiskPayload: false, VectorsConfig: qdrant.NewVectorsConfig(params),
					ReplicationFactor: qdrant.PtrOf(uint32(3)), WriteConsistencyFactor: qdrant.PtrOf(uint32(2)),
				},
				HnswConfig: &qdrant.HnswConfigDiff{
					M: qdrant.PtrOf(uint64(0)), EfConstruct: qdrant.PtrOf(uint64(100)), FullScanThreshold: qdrant.PtrOf(uint64(10000)),
					MaxIndexingThreads: qdrant.PtrOf(uint64(0)), OnDisk: qdrant.PtrOf(true),
				},
				OptimizerConfig: &qdrant.OptimizersConfigDiff{
					DeletedThreshold: qdrant.PtrOf(0.2), VacuumMinVectorNumber: qdrant.PtrOf(uint64(1000)), DefaultSegmentNumber: qdrant.PtrOf(uint64(0)),
					IndexingThreshold: qdrant.PtrOf(uint64(0)), FlushIntervalSec: qdrant.PtrOf(uint64(5)),
				},
				WalConfig:          &qdrant.WalConfigDiff{WalCapacityMb: qdrant.PtrOf(uint64(32)), WalSegmentsAhead: qdrant.PtrOf(uint64(0))},
				QuantizationConfig: scalar,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := mustClient(t, qdranttest.Start(t), "")
			tt.req.CollectionName = "c"
			if err := client.CreateCollection(ctx, tt.req); err != nil {
				t.Fatal(err)
			}
			info, err := client.GetCollectionInfo(ctx, "c")
			if err != nil {
				t.Fatal(err)
			}
			if diff := gocmp.Diff(tt.want, info.GetConfig(), protocmp.Transform()); diff != "" {
				t.Fatalf("config (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("strict mode reported", func(t *testing.T) {
		client := mustClient(t, qdranttest.Start(t, qdranttest.WithStrictMode()), "")
		mustCollection(t, client, "c")
		info, err := client.GetCollectionInfo(ctx, "c")
		if err != nil {
			t.Fatal(err)
		}
		if sm := info.GetConfig().GetStrictModeConfig(); !sm.GetEnabled() || sm.UnindexedFilteringRetrieve == nil || sm.GetUnindexedFilteringRetrieve() {
			t.Fatalf("strict mode config %v, want enabled without unindexed filtering", sm)
		}
	})
}

func TestDistance(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name       string
		distance   qdrant.Distance
		wantScores []float32 // for the query (1, 1) against (2, 0) and (0, 1)
	}{
		// Qdrant normalises cosine vectors, so (2, 0) and (0, 1) score alike.
		{"cosine", qdrant.Distance_Cosine, []float32{0.70710677, 0.70710677}},
		{"dot", qdrant.Distance_Dot, []float32{2, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := mustClient(t, qdranttest.Start(t), "")
			err := client.CreateCollection(ctx, &qdrant.CreateCollection{
				CollectionName: "c",
				VectorsConfig:  qdrant.NewVectorsConfig(&qdrant.VectorParams{Size: 2, Distance: tt.distance}),
			})
			if err != nil {
				t.Fatal(err)
			}
			_, err = client.Upsert(ctx, &qdrant.UpsertPoints{CollectionName: "c", Points: []*qdrant.PointStruct{
				{Id: qdrant.NewIDNum(1), Vectors: qdrant.NewVectors(2, 0)},
				{Id: qdrant.NewIDNum(2), Vectors: qdrant.NewVectors(0, 1)},
			}})
			if err != nil {
				t.Fatal(err)
			}
			hits, err := client.Query(ctx, &qdrant.QueryPoints{CollectionName: "c", Query: qdrant.NewQuery(1, 1)})
			if err != nil {
				t.Fatal(err)
			}
			var scores []float32
			for _, h := range hits {
				scores = append(scores, h.GetScore())
			}
			if !gocmp.Equal(scores, tt.wantScores) {
				t.Fatalf("scores %v, want %v", scores, tt.wantScores)
			}
		})
	}
	t.Run("euclid refused", func(t *testing.T) {
		client := mustClient(t, qdranttest.Start(t), "")
		err := client.CreateCollection(ctx, &qdrant.CreateCollection{
			CollectionName: "c",
			VectorsConfig:  qdrant.NewVectorsConfig(&qdrant.VectorParams{Size: 2, Distance: qdrant.Distance_Euclid}),
		})
		wantCode(t, err, codes.Unimplemented)
	})
}

// TestCreateAlias checks Qdrant's create_alias: it repoints a taken alias
// in one step, and refuses a missing target leaving the alias as it was.
func TestCreateAlias(t *testing.T) {
	ctx := context.Background()
	client := mustClient(t, qdranttest.Start(t), "")
	mustCollection(t, client, "old")
	mustCollection(t, client, "new")
	tests := []struct {
		name       string
		target     string
		wantCode   codes.Code
		wantTarget string
	}{
		{"create", "old", codes.OK, "old"},
		{"repoint", "new", codes.OK, "new"},
		{"missing target", "gone", codes.NotFound, "new"},
		{"back", "old", codes.OK, "old"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantCode(t, client.CreateAlias(ctx, "live", tt.target), tt.wantCode)
			aliases, err := client.ListAliases(ctx)
			if err != nil {
				t.Fatal(err)
			}
			want := []*qdrant.AliasDescription{{AliasName: "live", CollectionName: tt.wantTarget}}
			if diff := gocmp.Diff(want, aliases, protocmp.Transform()); diff != "" {
				t.Fatalf("aliases (-want +got):\n%s", diff)
			}
			if _, err := client.Count(ctx, &qdrant.CountPoints{CollectionName: "live"}); err != nil {
				t.Fatalf("count by alias: %v", err)
			}
		})
	}
}

// TestSearchParams checks that Query takes params and a timeout it cannot
// honour, and records them.
func TestSearchParams(t *testing.T) {
	ctx := context.Background()
	srv := qdranttest.Start(t)
	client := mustClient(t, srv, "")
	mustCollection(t, client, "c")
	req := &qdrant.QueryPoints{
		CollectionName: "c",
		Query:          qdrant.NewQuery(1, 0),
		Params:         &qdrant.SearchParams{HnswEf: qdrant.PtrOf(uint64(128)), Exact: qdrant.PtrOf(true)},
		Timeout:        qdrant.PtrOf(uint64(3)),
	}
	hits, err := client.Query(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if len(hits) != 2 || hits[0].GetId().GetNum() != 1 {
		t.Fatalf("hits %v, want both points, 1 first", hits)
	}
	calls := srv.CallsTo(qdrant.Points_Query_FullMethodName)
	if len(calls) != 1 {
		t.Fatalf("%d query calls recorded, want 1", len(calls))
	}
	if diff := gocmp.Diff(req, calls[0].Request, protocmp.Transform()); diff != "" {
		t.Fatalf("recorded request (-sent +recorded):\n%s", diff)
	}
}
