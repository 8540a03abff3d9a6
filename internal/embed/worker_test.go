package embed_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.opentelemetry.io/otel/trace"

	"mediarec"
	"mediarec/internal/embed"
	"mediarec/internal/tracing"
)

// fakeEmbedder refuses texts containing "too long" as invalid and fails
// every call while down is set.
type fakeEmbedder struct{ down error }

func (f *fakeEmbedder) Embed(_ context.Context, texts []string) ([][]float32, error) {
	if f.down != nil {
		return nil, f.down
	}
	out := make([][]float32, len(texts))
	for i, t := range texts {
		if strings.Contains(t, "too long") {
			return nil, mediarec.Errorf(mediarec.EINVALID, "input too long")
		}
		out[i] = []float32{1, 0}
	}
	return out, nil
}
func (f *fakeEmbedder) Model() string   { return "fake" }
func (f *fakeEmbedder) Dimensions() int { return 2 }

type fakeVectors struct {
	mu       sync.Mutex
	upserted map[string][]int64
	deleted  []int64
}

func (f *fakeVectors) Upsert(_ context.Context, coll string, pts []mediarec.VectorPoint) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, p := range pts {
		f.upserted[coll] = append(f.upserted[coll], p.ID)
	}
	return nil
}

func (f *fakeVectors) Delete(_ context.Context, _ string, ids []int64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.deleted = append(f.deleted, ids...)
	return nil
}

type fakeBus struct {
	mu      sync.Mutex
	results map[int64]mediarec.EmbedResult
}

func (f *fakeBus) Publish(_ context.Context, subject, _ string, data []byte) error {
	var r mediarec.EmbedResult
	if err := json.Unmarshal(data, &r); err != nil || subject != mediarec.SubjectEmbedResults {
		return errors.New("unexpected publish")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.results[r.ItemID] = r
	return nil
}

func job(id int64, title string) mediarec.EmbedJob {
	return mediarec.EmbedJob{ItemID: id, Version: 3, Collection: "items", Model: "fake", Item: &mediarec.Item{ID: id, Type: mediarec.TypeMovie, Title: title}}
}

// fakeModels knows one model.
type fakeModels struct{ e *fakeEmbedder }

func (f fakeModels) EmbedderFor(_ context.Context, model, _ string) (embed.Embedder, error) {
	if model != "fake" {
		return nil, mediarec.Errorf(mediarec.EUNAVAILABLE, "no model %q", model)
	}
	return f.e, nil
}

func TestWorker(t *testing.T) {
	unavailable := mediarec.Errorf(mediarec.EUNAVAILABLE, "embedder away")
	tests := []struct {
		name        string
		down        error
		jobs        []mediarec.EmbedJob
		delivered   int
		wantErrs    []string // error codes per job, "" for settled
		wantStatus  map[int64]mediarec.EmbeddingStatus
		wantVectors map[string][]int64
		wantDeleted []int64
		wantCounted map[string]int // settled jobs by result
	}{
		{
			name:        "embeds and reports done",
			jobs:        []mediarec.EmbedJob{job(1, "Alien"), job(2, "Aliens"), {ItemID: 3, Version: 2, Deleted: true, Collection: "items"}, {ItemID: 4, Version: 1, Item: &mediarec.Item{ID: 4, Type: mediarec.TypeBook, Title: "Dune"}, Collection: "items_next", Model: "fake"}},
			delivered:   1,
			wantErrs:    []string{"", "", "", ""},
			wantStatus:  map[int64]mediarec.EmbeddingStatus{1: mediarec.EmbeddingDone, 2: mediarec.EmbeddingDone, 4: mediarec.EmbeddingDone},
			wantVectors: map[string][]int64{"items": {1, 2}, "items_next": {4}},
			wantDeleted: []int64{3},
			wantCounted: map[string]int{embed.JobDone: 4},
		},
		{
			name:        "transient failure is retried",
			down:        unavailable,
			jobs:        []mediarec.EmbedJob{job(1, "Alien")},
			delivered:   1,
			wantErrs:    []string{mediarec.EUNAVAILABLE},
			wantCounted: map[string]int{embed.JobRetried: 1},
		},
		{
			name:        "last attempt reports failed",
			down:        unavailable,
			jobs:        []mediarec.EmbedJob{job(1, "Alien")},
			delivered:   5,
			wantErrs:    []string{""},
			wantStatus:  map[int64]mediarec.EmbeddingStatus{1: mediarec.EmbeddingFailed},
			wantCounted: map[string]int{embed.JobFailed: 1},
		},
		{
			name:        "one invalid text fails alone",
			jobs:        []mediarec.EmbedJob{job(1, "Alien"), job(2, "too long"), job(3, "Heat")},
			delivered:   1,
			wantErrs:    []string{"", "", ""},
			wantStatus:  map[int64]mediarec.EmbeddingStatus{1: mediarec.EmbeddingDone, 2: mediarec.EmbeddingFailed, 3: mediarec.EmbeddingDone},
			wantVectors: map[string][]int64{"items": {1, 3}},
			wantCounted: map[string]int{embed.JobDone: 2, embed.JobFailed: 1},
		},
		{
			name:        "job without an item",
			jobs:        []mediarec.EmbedJob{{ItemID: 9, Version: 1, Collection: "items", Model: "fake"}, {Version: 1}},
			delivered:   1,
			wantErrs:    []string{"", mediarec.EINVALID},
			wantStatus:  map[int64]mediarec.EmbeddingStatus{9: mediarec.EmbeddingFailed},
			wantCounted: map[string]int{embed.JobFailed: 2},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vectors := &fakeVectors{upserted: map[string][]int64{}}
			bus := &fakeBus{results: map[int64]mediarec.EmbedResult{}}
			counted := jobCounter{}
			w := embed.NewWorker(fakeModels{&fakeEmbedder{down: tt.down}}, vectors, bus, 5, counted, slog.New(slog.DiscardHandler))
			delivered := make([]int, len(tt.jobs))
			for i := range delivered {
				delivered[i] = tt.delivered
			}
			errs := w.Handle(context.Background(), tt.jobs, delivered, nil)
			var codes []string
			for _, err := range errs {
				codes = append(codes, mediarec.ErrorCode(err))
			}
			if diff := cmp.Diff(tt.wantErrs, codes); diff != "" {
				t.Fatalf("errors (-want +got):\n%s", diff)
			}
			versions := map[int64]int{}
			for _, j := range tt.jobs {
				versions[j.ItemID] = j.Version
			}
			status := map[int64]mediarec.EmbeddingStatus{}
			for id, r := range bus.results {
				status[id] = r.Status
				if r.Version != versions[id] {
					t.Fatalf("result %+v lost the job's version %d", r, versions[id])
				}
				if r.Status == mediarec.EmbeddingFailed && r.Error == "" {
					t.Fatalf("failed result without a reason: %+v", r)
				}
			}
			if diff := cmp.Diff(tt.wantStatus, status, cmpEmpty); diff != "" {
				t.Fatalf("results (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantVectors, vectors.upserted, cmpEmpty); diff != "" {
				t.Fatalf("vectors (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantDeleted, vectors.deleted); diff != "" {
				t.Fatalf("deleted (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantCounted, map[string]int(counted)); diff != "" {
				t.Fatalf("counted (-want +got):\n%s", diff)
			}
		})
	}
}

// jobCounter counts settled jobs by result.
type jobCounter map[string]int

func (c jobCounter) Settled(result string) { c[result]++ }

// TestWorkerLogsEachTrace: the worker logs its jobs in the trace of the
// request that queued them, one line per collection and trace, so that the
// trace of a POST /v1/items leads to the worker's line about the item.
func TestWorkerLogsEachTrace(t *testing.T) {
	traceOf := func(b byte) context.Context {
		return trace.ContextWithSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{
			TraceID: trace.TraceID{b, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}, SpanID: trace.SpanID{b, 1, 2, 3, 4, 5, 6, 7},
		}))
	}
	jobs := []mediarec.EmbedJob{job(1, "Alien"), job(2, "Aliens"), job(3, "Heat")}
	ctxs := []context.Context{traceOf(0xa), traceOf(0xb), traceOf(0xa)}
	var logs bytes.Buffer
	log := slog.New(tracing.NewLogHandler(slog.NewJSONHandler(&logs, nil)))
	w := embed.NewWorker(fakeModels{&fakeEmbedder{}}, &fakeVectors{upserted: map[string][]int64{}}, &fakeBus{results: map[int64]mediarec.EmbedResult{}}, 5, nil, log)
	if errs := w.Handle(context.Background(), jobs, []int{1, 1, 1}, ctxs); errs[0] != nil || errs[1] != nil || errs[2] != nil {
		t.Fatalf("errors: %v", errs)
	}
	type line struct {
		Msg     string  `json:"msg"`
		TraceID string  `json:"trace_id"`
		ItemIDs []int64 `json:"item_ids"`
		Done    int     `json:"done"`
	}
	var got []line
	dec := json.NewDecoder(&logs)
	for dec.More() {
		var l line
		if err := dec.Decode(&l); err != nil {
			t.Fatal(err)
		}
		got = append(got, l)
	}
	want := []line{
		{Msg: "embed jobs settled", TraceID: trace.SpanContextFromContext(ctxs[0]).TraceID().String(), ItemIDs: []int64{1, 3}, Done: 2},
		{Msg: "embed jobs settled", TraceID: trace.SpanContextFromContext(ctxs[1]).TraceID().String(), ItemIDs: []int64{2}, Done: 1},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("log lines (-want +got):\n%s", diff)
	}
}

var cmpEmpty = cmp.FilterValues(func(a, b any) bool { return isEmpty(a) && isEmpty(b) }, cmp.Ignore())

func isEmpty(v any) bool {
	switch m := v.(type) {
	case map[int64]mediarec.EmbeddingStatus:
		return len(m) == 0
	case map[string][]int64:
		return len(m) == 0
	}
	return false
}

// flakyEmbedder fails its first down calls as an endpoint failure (every
// call, when down is negative), then embeds, refusing texts containing
// "too long" as invalid.
type flakyEmbedder struct {
	mu    sync.Mutex
	down  int
	calls int
}

func (f *flakyEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	f.mu.Lock()
	f.calls++
	down := f.down < 0 || f.calls <= f.down
	f.mu.Unlock()
	if down {
		return nil, &embed.EndpointError{Err: mediarec.Errorf(mediarec.EUNAVAILABLE, "The embedding endpoint refused the API key (401).")}
	}
	return (&fakeEmbedder{}).Embed(ctx, texts)
}
func (f *flakyEmbedder) Model() string   { return "fake" }
func (f *flakyEmbedder) Dimensions() int { return 2 }

type flakyModels struct{ e *flakyEmbedder }

func (f flakyModels) EmbedderFor(context.Context, string, string) (embed.Embedder, error) {
	return f.e, nil
}

// TestWorkerPausesWhileEndpointDown: an endpoint failure fails no item,
// whatever the delivery: the worker holds the batch, probes the endpoint
// until it answers, then embeds the batch, whose items succeed or fail
// each on its own. A shutdown during the pause hands the jobs back.
func TestWorkerPausesWhileEndpointDown(t *testing.T) {
	const attempts = 5
	tests := []struct {
		name        string
		down        int // failing calls, -1: all
		cancelAt    int // probe attempt at which the shutdown comes; 0: none
		jobs        []mediarec.EmbedJob
		wantErrs    []string
		wantStatus  map[int64]mediarec.EmbeddingStatus
		wantVectors map[string][]int64
		wantCounted map[string]int
		wantCalls   int // embedding calls, probes included
	}{
		{
			name:        "every item refused on its last delivery, then the endpoint recovers",
			down:        3, // the batch, then two probes
			jobs:        []mediarec.EmbedJob{job(1, "Alien"), job(2, "Aliens"), job(3, "Heat")},
			wantErrs:    []string{"", "", ""},
			wantStatus:  map[int64]mediarec.EmbeddingStatus{1: mediarec.EmbeddingDone, 2: mediarec.EmbeddingDone, 3: mediarec.EmbeddingDone},
			wantVectors: map[string][]int64{"items": {1, 2, 3}},
			wantCounted: map[string]int{embed.JobDone: 3},
			wantCalls:   5, // the batch, three probes, the batch again
		},
		{
			name:        "after the pause, an invalid item fails alone",
			down:        1,
			jobs:        []mediarec.EmbedJob{job(1, "Alien"), job(2, "too long"), job(3, "Heat")},
			wantErrs:    []string{"", "", ""},
			wantStatus:  map[int64]mediarec.EmbeddingStatus{1: mediarec.EmbeddingDone, 2: mediarec.EmbeddingFailed, 3: mediarec.EmbeddingDone},
			wantVectors: map[string][]int64{"items": {1, 3}},
			wantCounted: map[string]int{embed.JobDone: 2, embed.JobFailed: 1},
			wantCalls:   6, // the batch, a probe, the batch, each of three
		},
		{
			name:        "shutdown during the pause hands the jobs back",
			down:        -1,
			cancelAt:    3,
			jobs:        []mediarec.EmbedJob{job(1, "Alien"), job(2, "Aliens")},
			wantErrs:    []string{mediarec.EUNAVAILABLE, mediarec.EUNAVAILABLE},
			wantCounted: map[string]int{embed.JobRetried: 2},
			wantCalls:   4, // the batch, probes 0 to 2
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vectors := &fakeVectors{upserted: map[string][]int64{}}
			bus := &fakeBus{results: map[int64]mediarec.EmbedResult{}}
			counted := jobCounter{}
			var logs bytes.Buffer
			e := &flakyEmbedder{down: tt.down}
			w := embed.NewWorker(flakyModels{e}, vectors, bus, attempts, counted, slog.New(slog.NewJSONHandler(&logs, nil)))
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var pausedSeen []string
			w.ProbeBackoff = func(attempt int) time.Duration {
				if paused, reason := w.Paused(); paused {
					pausedSeen = append(pausedSeen, reason)
				}
				if attempt == tt.cancelAt && tt.cancelAt > 0 {
					cancel()
				}
				return 0
			}
			delivered := make([]int, len(tt.jobs))
			for i := range delivered {
				delivered[i] = attempts // the last: it must still not fail
			}
			errs := w.Handle(ctx, tt.jobs, delivered, nil)
			var codes []string
			for _, err := range errs {
				codes = append(codes, mediarec.ErrorCode(err))
			}
			if diff := cmp.Diff(tt.wantErrs, codes); diff != "" {
				t.Fatalf("errors (-want +got):\n%s", diff)
			}
			status := map[int64]mediarec.EmbeddingStatus{}
			for id, r := range bus.results {
				status[id] = r.Status
			}
			if diff := cmp.Diff(tt.wantStatus, status, cmpEmpty); diff != "" {
				t.Fatalf("results (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantVectors, vectors.upserted, cmpEmpty); diff != "" {
				t.Fatalf("vectors (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantCounted, map[string]int(counted)); diff != "" {
				t.Fatalf("counted (-want +got):\n%s", diff)
			}
			if e.calls != tt.wantCalls {
				t.Fatalf("%d embedding calls, want %d", e.calls, tt.wantCalls)
			}
			if len(pausedSeen) == 0 || pausedSeen[0] != "The embedding endpoint refused the API key (401)." {
				t.Fatalf("paused while probing: %q, want the endpoint's reason", pausedSeen)
			}
			if paused, _ := w.Paused(); paused {
				t.Fatal("still paused after Handle returned")
			}
			if n := strings.Count(logs.String(), `"msg":"embedding endpoint down`); n != 1 {
				t.Fatalf("the pause was logged %d times, want once:\n%s", n, logs.String())
			}
		})
	}
}
