package qdranttest_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/qdrant/go-client/qdrant"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"

	"mediarec/internal/vectordb/qdranttest"
)

const (
	count  = qdrant.Points_Count_FullMethodName
	query  = qdrant.Points_Query_FullMethodName
	upsert = qdrant.Points_Upsert_FullMethodName
)

// call makes one request of the given method against collection c.
func call(ctx context.Context, client *qdrant.Client, method string) error {
	var err error
	switch method {
	case count:
		_, err = client.Count(ctx, &qdrant.CountPoints{CollectionName: "c"})
	case query:
		_, err = client.Query(ctx, &qdrant.QueryPoints{CollectionName: "c", Query: qdrant.NewQuery(1, 0)})
	case upsert:
		_, err = client.Upsert(ctx, &qdrant.UpsertPoints{CollectionName: "c", Points: []*qdrant.PointStruct{
			{Id: qdrant.NewIDNum(9), Vectors: qdrant.NewVectors(1, 1)},
		}})
	default:
		panic(method)
	}
	return err
}

func TestCalls(t *testing.T) {
	srv := qdranttest.Start(t, qdranttest.WithAPIKey("k"))
	client := mustClient(t, srv, "k")
	mustCollection(t, client, "c")
	before := len(srv.Calls())

	deadlined, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	req := &qdrant.CountPoints{CollectionName: "c", Filter: &qdrant.Filter{Must: []*qdrant.Condition{qdrant.NewMatchKeyword("type", "movie")}}}
	if _, err := client.Count(deadlined, req); err != nil {
		t.Fatal(err)
	}
	sent := proto.CloneOf(req)
	req.CollectionName = "changed after the call"
	srv.Fail(query, qdranttest.PleaseRetry())
	wantCode(t, call(context.Background(), client, query), codes.Internal)
	wantCode(t, call(context.Background(), mustClient(t, srv, "wrong"), upsert), codes.Unauthenticated)

	calls := srv.Calls()[before:]
	tests := []struct {
		method      string
		wantRequest *qdrant.CountPoints // checked when set
		deadline    bool
	}{
		{method: count, wantRequest: sent, deadline: true},
		{method: query},
		{method: upsert},
	}
	if len(calls) != len(tests) {
		t.Fatalf("%d calls recorded, want %d: %v", len(calls), len(tests), calls)
	}
	for i, tt := range tests {
		t.Run(tt.method, func(t *testing.T) {
			got := calls[i]
			if got.Method != tt.method {
				t.Fatalf("method %q, want %q", got.Method, tt.method)
			}
			if tt.wantRequest != nil {
				if diff := gocmp.Diff(tt.wantRequest, got.Request, protocmp.Transform()); diff != "" {
					t.Fatalf("request (-want +got):\n%s", diff)
				}
			}
			if tt.deadline != (got.Deadline > 0) || got.Deadline > time.Minute {
				t.Fatalf("deadline %v, want one in (0, 1m]: %v", got.Deadline, tt.deadline)
			}
		})
	}
	if n := len(srv.CallsTo(upsert)); n != 2 {
		t.Fatalf("%d upsert calls, want 2 (setup and the refused one)", n)
	}
}

func TestFail(t *testing.T) {
	errA := status.Error(codes.Unavailable, "a")
	errB := status.Error(codes.Internal, "b")
	errAny := status.Error(codes.Aborted, "any")
	type step struct {
		method string
		want   codes.Code
	}
	tests := []struct {
		name  string
		setup func(*qdranttest.Server)
		steps []step
	}{
		{
			name:  "per method, in order, nil passes",
			setup: func(s *qdranttest.Server) { s.Fail(count, errA, nil, errB) },
			steps: []step{{query, codes.OK}, {count, codes.Unavailable}, {count, codes.OK}, {query, codes.OK}, {count, codes.Internal}, {count, codes.OK}},
		},
		{
			name:  "method before any",
			setup: func(s *qdranttest.Server) { s.Fail("", errAny); s.Fail(count, errA) },
			steps: []step{{count, codes.Unavailable}, {count, codes.Aborted}, {count, codes.OK}},
		},
		{
			name:  "any method",
			setup: func(s *qdranttest.Server) { s.FailNext(errA); s.FailNext(errB) },
			steps: []step{{query, codes.Unavailable}, {upsert, codes.Internal}, {count, codes.OK}},
		},
		{
			name:  "please retry",
			setup: func(s *qdranttest.Server) { s.Fail(upsert, qdranttest.PleaseRetry()) },
			steps: []step{{upsert, codes.Internal}, {upsert, codes.OK}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := qdranttest.Start(t)
			client := mustClient(t, srv, "")
			mustCollection(t, client, "c")
			tt.setup(srv)
			for i, s := range tt.steps {
				if got := status.Code(call(context.Background(), client, s.method)); got != s.want {
					t.Fatalf("step %d (%s): code %v, want %v", i, s.method, got, s.want)
				}
			}
		})
	}
}

func TestResourceExhausted(t *testing.T) {
	tests := []struct {
		name           string
		method         string
		err            error
		wantRetryAfter int
		wantReason     string
	}{
		{"read", query, qdranttest.ResourceExhausted(7), 7, "Rate limiting exceeded: Read rate limit exceeded: "},
		{"write", upsert, qdranttest.ResourceExhausted(30), 30, "Rate limiting exceeded: Write rate limit exceeded: "},
		{"plain status", count, status.Error(codes.ResourceExhausted, "too many requests"), 1, "too many requests"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := qdranttest.Start(t)
			client := mustClient(t, srv, "")
			mustCollection(t, client, "c")
			srv.Fail(tt.method, tt.err)
			err := call(context.Background(), client, tt.method)
			var exhausted *qdrant.QdrantResourceExhaustedError
			if !errors.As(err, &exhausted) {
				t.Fatalf("err = %v, want a QdrantResourceExhaustedError", err)
			}
			if exhausted.RetryAfterS != tt.wantRetryAfter || !strings.HasPrefix(exhausted.Reason, tt.wantReason) {
				t.Fatalf("retry after %d, reason %q; want %d, %q...", exhausted.RetryAfterS, exhausted.Reason, tt.wantRetryAfter, tt.wantReason)
			}
		})
	}
	if got := status.Code(qdranttest.ResourceExhausted(1)); got != codes.ResourceExhausted {
		t.Fatalf("code of ResourceExhausted() = %v", got)
	}
}

// TestFailAfter checks that FailAfter applies the write it fails and Fail
// does not.
func TestFailAfter(t *testing.T) {
	tests := []struct {
		name      string
		fail      func(s *qdranttest.Server, method string, errs ...error)
		wantCount uint64
	}{
		{"before", (*qdranttest.Server).Fail, 2},
		{"after", (*qdranttest.Server).FailAfter, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := qdranttest.Start(t)
			client := mustClient(t, srv, "")
			mustCollection(t, client, "c")
			tt.fail(srv, upsert, status.Error(codes.DeadlineExceeded, "Deadline Exceeded"))
			wantCode(t, call(context.Background(), client, upsert), codes.DeadlineExceeded)
			n, err := client.Count(context.Background(), &qdrant.CountPoints{CollectionName: "c"})
			if err != nil {
				t.Fatal(err)
			}
			if n != tt.wantCount {
				t.Fatalf("%d points, want %d", n, tt.wantCount)
			}
		})
	}
}

func TestStall(t *testing.T) {
	tests := []struct {
		name     string
		stall    time.Duration
		deadline time.Duration
		want     codes.Code
	}{
		{"past the deadline", time.Hour, 50 * time.Millisecond, codes.DeadlineExceeded},
		{"within the deadline", time.Millisecond, time.Minute, codes.OK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := qdranttest.Start(t)
			client := mustClient(t, srv, "")
			mustCollection(t, client, "c")
			srv.Stall(count, tt.stall)
			ctx, cancel := context.WithTimeout(context.Background(), tt.deadline)
			defer cancel()
			wantCode(t, call(ctx, client, count), tt.want)
			// The stall was for one call only.
			ctx, cancel = context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			wantCode(t, call(ctx, client, count), codes.OK)
		})
	}
}

func TestUpsertStatus(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name       string
		version    string
		status     qdrant.UpdateStatus
		apply      int
		wantStatus qdrant.UpdateStatus
		wantPoints uint64 // of the 3 upserted
	}{
		{"wait timeout, part applied", "1.17.1", qdrant.UpdateStatus_WaitTimeout, 1, qdrant.UpdateStatus_WaitTimeout, 1},
		{"wait timeout, none applied", "1.17.1", qdrant.UpdateStatus_WaitTimeout, 0, qdrant.UpdateStatus_WaitTimeout, 0},
		{"acknowledged, all applied", "1.17.1", qdrant.UpdateStatus_Acknowledged, -1, qdrant.UpdateStatus_Acknowledged, 3},
		{"apply beyond the batch", "1.17.1", qdrant.UpdateStatus_Completed, 10, qdrant.UpdateStatus_Completed, 3},
		{"1.15 has no wait timeout", "1.15.5", qdrant.UpdateStatus_WaitTimeout, 1, qdrant.UpdateStatus_Completed, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := qdranttest.Start(t, qdranttest.WithVersion(tt.version))
			client := mustClient(t, srv, "")
			err := client.CreateCollection(ctx, &qdrant.CreateCollection{
				CollectionName: "c",
				VectorsConfig:  qdrant.NewVectorsConfig(&qdrant.VectorParams{Size: 2, Distance: qdrant.Distance_Cosine}),
			})
			if err != nil {
				t.Fatal(err)
			}
			srv.UpsertStatus(tt.status, tt.apply)
			batch := func(ids ...uint64) *qdrant.UpsertPoints {
				req := &qdrant.UpsertPoints{CollectionName: "c", Wait: qdrant.PtrOf(true), Timeout: qdrant.PtrOf(uint64(1))}
				for _, id := range ids {
					req.Points = append(req.Points, &qdrant.PointStruct{Id: qdrant.NewIDNum(id), Vectors: qdrant.NewVectors(1, float32(id))})
				}
				return req
			}
			// A refused batch leaves the plan for the next one.
			_, err = client.Upsert(ctx, &qdrant.UpsertPoints{CollectionName: "c", Points: []*qdrant.PointStruct{{Id: qdrant.NewIDNum(1), Vectors: qdrant.NewVectors(1)}}})
			wantCode(t, err, codes.InvalidArgument)
			res, err := client.Upsert(ctx, batch(1, 2, 3))
			if err != nil {
				t.Fatal(err)
			}
			if res.GetStatus() != tt.wantStatus {
				t.Fatalf("status %v, want %v", res.GetStatus(), tt.wantStatus)
			}
			n, err := client.Count(ctx, &qdrant.CountPoints{CollectionName: "c"})
			if err != nil {
				t.Fatal(err)
			}
			if n != tt.wantPoints {
				t.Fatalf("%d points applied, want %d", n, tt.wantPoints)
			}
			// The plan was for one Upsert only.
			res, err = client.Upsert(ctx, batch(4))
			if err != nil || res.GetStatus() != qdrant.UpdateStatus_Completed {
				t.Fatalf("next upsert: %v, %v; want Completed", res, err)
			}
		})
	}
}
