package embed

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"mediarec"
)

func TestOpenAIBatching(t *testing.T) {
	f, url := mustFakeEndpoint(t, answerOK(8))
	o, _ := mustOpenAI(t, url, OpenAIConfig{Dimensions: 8, BatchSize: 100})
	texts := make([]string, 250)
	for i := range texts {
		texts[i] = strings.Repeat("x", i+1)
	}
	vecs := mustEmbed(t, o, texts)
	for i, v := range vecs {
		want := vectorFor(texts[i], 8)
		normalize(want)
		if diff := cmp.Diff(want, v); diff != "" {
			t.Fatalf("vector %d (-want +got):\n%s", i, diff)
		}
	}
	var sizes []int
	for _, req := range f.seen() {
		sizes = append(sizes, len(req.Input))
		if req.Model != "test-model" || req.Dimensions == nil || *req.Dimensions != 8 || req.EncodingFormat != "float" {
			t.Errorf("request model %q, dimensions %v, encoding %q; want test-model, 8, float", req.Model, req.Dimensions, req.EncodingFormat)
		}
	}
	if diff := cmp.Diff([]int{100, 100, 50}, sizes); diff != "" {
		t.Errorf("batch sizes (-want +got):\n%s", diff)
	}
	if o.Model() != "test-model" || o.Dimensions() != 8 {
		t.Errorf("Model, Dimensions = %q, %d", o.Model(), o.Dimensions())
	}
}

// Concurrent calls share the client and its limits.
func TestOpenAIConcurrent(t *testing.T) {
	f, url := mustFakeEndpoint(t, answerOK(4))
	o, _ := mustOpenAI(t, url, OpenAIConfig{BatchSize: 3, RequestsPerMinute: 6000, TokensPerMinute: 1e6})
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			texts := []string{strings.Repeat("g", g+1), "a", "bb", "ccc", "dddd"}
			vecs, err := o.Embed(context.Background(), texts)
			if err != nil {
				t.Errorf("goroutine %d: %v", g, err)
				return
			}
			for i, v := range vecs {
				want := vectorFor(texts[i], 4)
				normalize(want)
				if diff := cmp.Diff(want, v); diff != "" {
					t.Errorf("goroutine %d, vector %d (-want +got):\n%s", g, i, diff)
				}
			}
		})
	}
	wg.Wait()
	if n := len(f.seen()); n != 8 {
		t.Errorf("%d requests, want 8", n)
	}
}

func TestOpenAIProbesDimension(t *testing.T) {
	f, url := mustFakeEndpoint(t, answerOK(5))
	o, err := NewOpenAI(OpenAIConfig{BaseURL: url + "/v1/", APIKey: "test-key", Model: "nomic-embed-text"})
	if err != nil {
		t.Fatalf("NewOpenAI: %v", err)
	}
	if o.Dimensions() != 5 {
		t.Errorf("Dimensions() = %d, want 5 from the probe", o.Dimensions())
	}
	mustEmbed(t, o, []string{"a", "b"})
	for _, req := range f.seen() {
		if req.Dimensions != nil {
			t.Errorf("dimensions %d sent though none is configured", *req.Dimensions)
		}
	}
}

func TestOpenAIRetries(t *testing.T) {
	tests := []struct {
		name         string
		cfg          OpenAIConfig
		answer       func(n int, req embeddingRequest, w http.ResponseWriter)
		wantRequests int
		wantCode     string // "" for success
		wantSleeps   []time.Duration
		wantDown     bool // an EndpointError: no item is at fault
		realClock    bool // sleep for real, with the tiny backoff
	}{
		{
			name: "two 429s then success",
			answer: func(n int, req embeddingRequest, w http.ResponseWriter) {
				if n <= 2 {
					answerStatus(http.StatusTooManyRequests)(n, req, w)
					return
				}
				answerOK(4)(n, req, w)
			},
			wantRequests: 3,
			realClock:    true,
		},
		{
			name: "Retry-After is honoured",
			answer: func(n int, req embeddingRequest, w http.ResponseWriter) {
				if n == 1 {
					answerStatus(http.StatusTooManyRequests, "Retry-After", "2")(n, req, w)
					return
				}
				answerOK(4)(n, req, w)
			},
			wantRequests: 2,
			wantSleeps:   []time.Duration{2 * time.Second},
		},
		{
			// The server knows its limits: a wait it asks for is kept
			// however long, not given up on.
			name: "Retry-After beyond BackoffMax is kept",
			cfg:  OpenAIConfig{BackoffMax: time.Second},
			answer: func(n int, req embeddingRequest, w http.ResponseWriter) {
				if n == 1 {
					answerStatus(http.StatusTooManyRequests, "Retry-After", "120")(n, req, w)
					return
				}
				answerOK(4)(n, req, w)
			},
			wantRequests: 2,
			wantSleeps:   []time.Duration{2 * time.Minute},
		},
		{
			name:         "insufficient quota is not retried",
			answer:       answerError(http.StatusTooManyRequests, `{"error":{"message":"You exceeded your current quota, please check your plan and billing details.","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}`),
			wantRequests: 1,
			wantCode:     mediarec.EUNAVAILABLE,
			wantDown:     true,
		},
		{
			// go-openai reads {"error": "text"} as an empty error of
			// status 0; the status is still the server's.
			name: "a string error body keeps its status",
			answer: func(n int, req embeddingRequest, w http.ResponseWriter) {
				if n == 1 {
					answerError(http.StatusServiceUnavailable, `{"error":"model is loading"}`)(n, req, w)
					return
				}
				answerOK(4)(n, req, w)
			},
			wantRequests: 2,
		},
		{
			name:         "500 forever",
			cfg:          OpenAIConfig{MaxAttempts: 4},
			answer:       answerStatus(http.StatusInternalServerError),
			wantRequests: 4,
			wantCode:     mediarec.EUNAVAILABLE,
			wantDown:     true, // an outage that outlasts the attempts
		},
		{
			name: "503 without a JSON body",
			cfg:  OpenAIConfig{MaxAttempts: 2},
			answer: func(_ int, _ embeddingRequest, w http.ResponseWriter) {
				http.Error(w, "<html>busy</html>", http.StatusServiceUnavailable)
			},
			wantRequests: 2,
			wantCode:     mediarec.EUNAVAILABLE,
			wantDown:     true, // an outage that outlasts the attempts
		},
		{
			name:         "connection dropped",
			cfg:          OpenAIConfig{MaxAttempts: 3},
			answer:       func(int, embeddingRequest, http.ResponseWriter) { panic(http.ErrAbortHandler) },
			wantRequests: 3,
			wantCode:     mediarec.EUNAVAILABLE,
			wantDown:     true, // an outage that outlasts the attempts
		},
		{
			name:         "request timeout",
			cfg:          OpenAIConfig{MaxAttempts: 2, Timeout: 20 * time.Millisecond},
			answer:       func(_ int, req embeddingRequest, _ http.ResponseWriter) { <-req.ctx.Done() },
			wantRequests: 2,
			wantCode:     mediarec.EUNAVAILABLE,
			wantDown:     true, // an outage that outlasts the attempts
		},
		{
			// A 400 the probe text gets too is a setting's (a dimensions
			// the model does not take, an unknown model at LiteLLM, a
			// crashed Ollama runner): no item is at fault.
			name:         "400 on every text is the endpoint's",
			answer:       answerStatus(http.StatusBadRequest),
			wantRequests: 2,
			wantCode:     mediarec.EUNAVAILABLE,
			wantDown:     true,
		},
		{
			name: "400 on one text is that text's",
			answer: func(n int, req embeddingRequest, w http.ResponseWriter) {
				if slices.Contains(req.Input, "b") {
					answerStatus(http.StatusBadRequest)(n, req, w)
					return
				}
				answerOK(4)(n, req, w)
			},
			// [a b] refused, the probe answered, [a] answered, [b] refused.
			wantRequests: 4,
			wantCode:     mediarec.EINVALID,
		},
		{
			name:         "401 is not retried",
			answer:       answerStatus(http.StatusUnauthorized),
			wantRequests: 1,
			wantCode:     mediarec.EUNAVAILABLE,
			wantDown:     true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, url := mustFakeEndpoint(t, tt.answer)
			tt.cfg.BackoffBase = time.Millisecond
			o, clk := mustOpenAI(t, url, tt.cfg)
			if tt.realClock {
				o.sleep = sleepCtx
			}
			_, err := o.Embed(context.Background(), []string{"a", "b"})
			if code := mediarec.ErrorCode(err); code != tt.wantCode {
				t.Errorf("Embed error %v, code %q; want %q", err, code, tt.wantCode)
			}
			if got := len(f.seen()); got != tt.wantRequests {
				t.Errorf("%d requests, want %d", got, tt.wantRequests)
			}
			if IsEndpointDown(err) != tt.wantDown {
				t.Errorf("IsEndpointDown(%v) = %v, want %v", err, !tt.wantDown, tt.wantDown)
			}
			if tt.wantSleeps != nil {
				if diff := cmp.Diff(tt.wantSleeps, clk.slept); diff != "" {
					t.Errorf("waits (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func TestOpenAIBackoffGrows(t *testing.T) {
	_, url := mustFakeEndpoint(t, answerStatus(http.StatusBadGateway))
	o, clk := mustOpenAI(t, url, OpenAIConfig{MaxAttempts: 5, BackoffBase: 100 * time.Millisecond, BackoffMax: 350 * time.Millisecond})
	o.jitter = func(d time.Duration) time.Duration { return d } // the top of each range
	if _, err := o.Embed(context.Background(), []string{"a"}); mediarec.ErrorCode(err) != mediarec.EUNAVAILABLE {
		t.Fatalf("Embed error %v, want EUNAVAILABLE", err)
	}
	want := []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 350 * time.Millisecond, 350 * time.Millisecond}
	if diff := cmp.Diff(want, clk.slept); diff != "" {
		t.Errorf("waits (-want +got):\n%s", diff)
	}
}

func TestOpenAIMalformedAnswers(t *testing.T) {
	idx := func(i int) *int { return &i }
	vectors := func(data ...embeddingJSON) func(int, embeddingRequest, http.ResponseWriter) {
		return func(_ int, _ embeddingRequest, w http.ResponseWriter) { writeVectors(w, data, 0) }
	}
	v4 := []float32{1, 2, 3, 4}
	tests := []struct {
		name    string
		answer  func(int, embeddingRequest, http.ResponseWriter)
		wantErr string
	}{
		{name: "too few vectors", answer: vectors(embeddingJSON{Index: idx(0), Embedding: v4}), wantErr: "1 vectors for 2 texts"},
		{name: "too many vectors", answer: vectors(embeddingJSON{Index: idx(0), Embedding: v4}, embeddingJSON{Index: idx(1), Embedding: v4}, embeddingJSON{Index: idx(2), Embedding: v4}), wantErr: "3 vectors for 2 texts"},
		{name: "missing index", answer: vectors(embeddingJSON{Index: idx(0), Embedding: v4}, embeddingJSON{Embedding: v4}), wantErr: "index 0 given twice"},
		{name: "index out of range", answer: vectors(embeddingJSON{Index: idx(0), Embedding: v4}, embeddingJSON{Index: idx(7), Embedding: v4}), wantErr: "index 7 out of range"},
		{name: "ragged lengths", answer: vectors(embeddingJSON{Index: idx(0), Embedding: v4}, embeddingJSON{Index: idx(1), Embedding: v4[:3]}), wantErr: "vector 1 has 3 dimensions, want 4"},
		{name: "other dimension than configured", answer: vectors(embeddingJSON{Index: idx(0), Embedding: v4[:2]}, embeddingJSON{Index: idx(1), Embedding: v4[:2]}), wantErr: "vector 0 has 2 dimensions, want 4"},
		{name: "empty vector", answer: vectors(embeddingJSON{Index: idx(0), Embedding: v4}, embeddingJSON{Index: idx(1)}), wantErr: "vector 1 is empty"},
		{name: "zero vector", answer: vectors(embeddingJSON{Index: idx(0), Embedding: v4}, embeddingJSON{Index: idx(1), Embedding: make([]float32, 4)}), wantErr: "vector 1 is all zeros"},
		{name: "not JSON", answer: func(_ int, _ embeddingRequest, w http.ResponseWriter) { fmt.Fprint(w, "<html>hello</html>") }, wantErr: "invalid character"},
		{name: "number out of range", answer: func(_ int, _ embeddingRequest, w http.ResponseWriter) {
			fmt.Fprint(w, `{"data":[{"index":0,"embedding":[1e99,1,1,1]},{"index":1,"embedding":[1,1,1,1]}]}`)
		}, wantErr: "1e99"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, url := mustFakeEndpoint(t, tt.answer)
			o, _ := mustOpenAI(t, url, OpenAIConfig{})
			_, err := o.Embed(context.Background(), []string{"a", "b"})
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Embed error %v, want one mentioning %q", err, tt.wantErr)
			}
			if code := mediarec.ErrorCode(err); code != mediarec.EINTERNAL {
				t.Errorf("error code %q, want %q: the input was fine", code, mediarec.EINTERNAL)
			}
			if n := len(f.seen()); n != 1 {
				t.Errorf("%d requests, want 1: a malformed answer is not retried", n)
			}
		})
	}
}

// TestOpenAIRateLimits counts the time the limiter makes Embed wait on a
// fake clock, so the check is exact and cannot flake.
func TestOpenAIRateLimits(t *testing.T) {
	tests := []struct {
		name     string
		cfg      OpenAIConfig
		texts    int
		textLen  int
		wantWait time.Duration
	}{
		// Bulk work takes 9/10 of each budget, the rest is the queries':
		// of 3 requests a minute, 2; the third waits for the first two to
		// be a minute old, the fifth for the next two.
		{name: "requests per minute", cfg: OpenAIConfig{RequestsPerMinute: 3, BatchSize: 1}, texts: 5, textLen: 4, wantWait: 2 * time.Minute},
		// 100 tokens a request against 540 of 600 a minute: five requests
		// in the first minute, never a sixth (the old token bucket let a
		// second minute's budget through at once).
		{name: "tokens per minute", cfg: OpenAIConfig{TokensPerMinute: 600, BatchSize: 1}, texts: 10, textLen: 400, wantWait: time.Minute},
		// A request above a minute's budget goes alone in its minute.
		{name: "oversized request", cfg: OpenAIConfig{TokensPerMinute: 60, BatchSize: 1}, texts: 3, textLen: 4000, wantWait: 2 * time.Minute},
		{name: "no limits", cfg: OpenAIConfig{BatchSize: 1}, texts: 5, textLen: 400, wantWait: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, url := mustFakeEndpoint(t, answerOK(4))
			o, clk := mustOpenAI(t, url, tt.cfg)
			texts := make([]string, tt.texts)
			for i := range texts {
				texts[i] = strings.Repeat("a", tt.textLen)
			}
			mustEmbed(t, o, texts)
			if got := clk.total(); (got - tt.wantWait).Abs() > time.Millisecond {
				t.Errorf("waited %v, want %v", got, tt.wantWait)
			}
			if n := len(f.seen()); n != tt.texts {
				t.Errorf("%d requests, want %d", n, tt.texts)
			}
		})
	}
}

func TestOpenAICancelled(t *testing.T) {
	f, url := mustFakeEndpoint(t, answerStatus(http.StatusServiceUnavailable))
	o, _ := mustOpenAI(t, url, OpenAIConfig{})
	ctx, cancel := context.WithCancel(context.Background())
	o.sleep = func(_ context.Context, d time.Duration) error {
		if d > 0 { // cancelled during the backoff
			cancel()
		}
		return ctx.Err()
	}
	_, err := o.Embed(ctx, []string{"a"})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Embed error %v, want context.Canceled", err)
	}
	if n := len(f.seen()); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
}

func TestOpenAIUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	dead := srv.URL
	srv.Close()
	_, err := NewOpenAI(OpenAIConfig{BaseURL: dead, Model: "m", MaxAttempts: 2, BackoffBase: time.Millisecond})
	if code := mediarec.ErrorCode(err); code != mediarec.EUNAVAILABLE {
		t.Errorf("probing an unreachable endpoint: error %v, code %q; want %q", err, code, mediarec.EUNAVAILABLE)
	}
}

func TestNewOpenAIErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  OpenAIConfig
	}{
		{name: "no model", cfg: OpenAIConfig{Dimensions: 4}},
		{name: "not a URL", cfg: OpenAIConfig{BaseURL: "::", Model: "m", Dimensions: 4}},
		{name: "not http", cfg: OpenAIConfig{BaseURL: "ftp://example.com/v1", Model: "m", Dimensions: 4}},
		{name: "negative batch", cfg: OpenAIConfig{Model: "m", Dimensions: 4, BatchSize: -1}},
		{name: "negative dimensions", cfg: OpenAIConfig{Model: "m", Dimensions: -4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewOpenAI(tt.cfg)
			if code := mediarec.ErrorCode(err); code != mediarec.EINVALID {
				t.Errorf("NewOpenAI error %v, code %q; want %q", err, code, mediarec.EINVALID)
			}
		})
	}
}

func TestServerWait(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		header http.Header
		want   time.Duration
	}{
		{name: "none", header: http.Header{}, want: 0},
		{name: "seconds", header: http.Header{"Retry-After": {"3"}}, want: 3 * time.Second},
		{name: "milliseconds first", header: http.Header{"Retry-After": {"3"}, "Retry-After-Ms": {"250"}}, want: 250 * time.Millisecond},
		{name: "HTTP date", header: http.Header{"Retry-After": {now.Add(90 * time.Second).Format(http.TimeFormat)}}, want: 90 * time.Second},
		{name: "date in the past", header: http.Header{"Retry-After": {now.Add(-time.Hour).Format(http.TimeFormat)}}, want: 0},
		{name: "garbage", header: http.Header{"Retry-After": {"soon"}}, want: 0},
		{name: "infinite", header: http.Header{"Retry-After": {"+Inf"}}, want: 24 * time.Hour},
		{name: "NaN", header: http.Header{"Retry-After-Ms": {"NaN"}}, want: 0},
		// OpenAI's budgets: the reset of the spent one.
		{name: "tokens spent", header: http.Header{"X-Ratelimit-Remaining-Tokens": {"0"}, "X-Ratelimit-Reset-Tokens": {"6m0s"}, "X-Ratelimit-Remaining-Requests": {"10"}, "X-Ratelimit-Reset-Requests": {"1s"}}, want: 6 * time.Minute},
		{name: "requests spent", header: http.Header{"X-Ratelimit-Remaining-Requests": {"0"}, "X-Ratelimit-Reset-Requests": {"20ms"}}, want: 20 * time.Millisecond},
		{name: "budget left", header: http.Header{"X-Ratelimit-Remaining-Tokens": {"100"}, "X-Ratelimit-Reset-Tokens": {"6m0s"}}, want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := serverWait(tt.header, now); got != tt.want {
				t.Errorf("serverWait = %v, want %v", got, tt.want)
			}
		})
	}
}
