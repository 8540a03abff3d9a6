package embed

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// embeddingRequest is the body of POST /v1/embeddings as the fake endpoint
// sees it; Dimensions is a pointer to tell "absent" from 0.
type embeddingRequest struct {
	Input          []string `json:"input"`
	Model          string   `json:"model"`
	Dimensions     *int     `json:"dimensions"`
	EncodingFormat string   `json:"encoding_format"`

	ctx context.Context // of the HTTP request, done when the client gives up
}

// fakeEndpoint is an OpenAI-compatible embeddings server whose answer to
// the n-th request (1-based) is up to the test.
type fakeEndpoint struct {
	mu       sync.Mutex
	requests []embeddingRequest
	answer   func(n int, req embeddingRequest, w http.ResponseWriter)
}

func mustFakeEndpoint(t *testing.T, answer func(n int, req embeddingRequest, w http.ResponseWriter)) (*fakeEndpoint, string) {
	t.Helper()
	f := &fakeEndpoint{answer: answer}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/v1/embeddings" {
			http.Error(w, "no such route", http.StatusNotFound)
			return
		}
		if r.Header.Get("Authorization") != "Bearer test-key" {
			http.Error(w, "bad key", http.StatusUnauthorized)
			return
		}
		req := embeddingRequest{ctx: r.Context()}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		f.mu.Lock()
		f.requests = append(f.requests, req)
		n := len(f.requests)
		f.mu.Unlock()
		f.answer(n, req, w)
	}))
	t.Cleanup(srv.Close)
	return f, srv.URL
}

func (f *fakeEndpoint) seen() []embeddingRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]embeddingRequest(nil), f.requests...)
}

// vectorFor is what the fake endpoint answers for a text: its length and
// first byte, then ones, so a test can tell which vector went where.
func vectorFor(text string, dim int) []float32 {
	v := make([]float32, dim)
	for i := range v {
		v[i] = 1
	}
	v[0] = float32(len(text) + 1)
	if text != "" && dim > 1 {
		v[1] = float32(text[0])
	}
	return v
}

type embeddingJSON struct {
	Object    string    `json:"object"`
	Index     *int      `json:"index,omitempty"`
	Embedding []float32 `json:"embedding"`
}

// writeVectors answers data, with the tokens the server counted (OpenAI's
// usage); 0 leaves usage out, as some servers do.
func writeVectors(w http.ResponseWriter, data []embeddingJSON, tokens int) {
	w.Header().Set("Content-Type", "application/json")
	answer := map[string]any{"object": "list", "data": data, "model": "test-model"}
	if tokens > 0 {
		answer["usage"] = map[string]int{"prompt_tokens": tokens, "total_tokens": tokens}
	}
	json.NewEncoder(w).Encode(answer)
}

// answerOK answers every text with vectorFor, in reverse order to check
// that Embed orders by index.
func answerOK(dim int) func(int, embeddingRequest, http.ResponseWriter) {
	return func(_ int, req embeddingRequest, w http.ResponseWriter) {
		data := make([]embeddingJSON, len(req.Input))
		tokens := 0
		for i, text := range req.Input {
			data[len(data)-1-i] = embeddingJSON{Object: "embedding", Index: &i, Embedding: vectorFor(text, dim)}
			tokens += (len(text) + 3) / 4
		}
		writeVectors(w, data, tokens)
	}
}

func answerStatus(status int, header ...string) func(int, embeddingRequest, http.ResponseWriter) {
	return func(_ int, _ embeddingRequest, w http.ResponseWriter) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"error":{"message":"status %d","type":"test"}}`, status)
	}
}

// answerError answers with status and a body as given.
func answerError(status int, body string) func(int, embeddingRequest, http.ResponseWriter) {
	return func(_ int, _ embeddingRequest, w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		fmt.Fprint(w, body)
	}
}

// fakeClock stands in for the wall clock: sleeping moves it on at once.
type fakeClock struct {
	mu    sync.Mutex
	t     time.Time
	slept []time.Duration
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if d > 0 {
		c.t = c.t.Add(d)
		c.slept = append(c.slept, d)
	}
	return nil
}

func (c *fakeClock) total() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	var sum time.Duration
	for _, d := range c.slept {
		sum += d
	}
	return sum
}

// mustOpenAI returns an embedder for url on a fake clock, with a key, model
// and dimension filled in unless cfg sets them. It skips NewOpenAI's probe,
// so that the fake's answers are the test's requests alone; the probe has
// tests of its own.
func mustOpenAI(t *testing.T, url string, cfg OpenAIConfig) (*OpenAI, *fakeClock) {
	t.Helper()
	cfg.BaseURL = url
	cfg.APIKey = "test-key"
	if cfg.Model == "" {
		cfg.Model = "test-model"
	}
	cfg.Dimensions = cmpOr(cfg.Dimensions, 4)
	o, err := newOpenAI(cfg)
	if err != nil {
		t.Fatalf("newOpenAI: %v", err)
	}
	o.fingerprint = fingerprint(vectorFor(probeText, cfg.Dimensions))
	clk := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	o.now, o.sleep = clk.now, clk.sleep
	return o, clk
}
