package embed

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"mediarec"
)

// liveOn returns a registry whose live generation is the vectors of e in
// collection "items", with remote as the configured embedder.
func liveOn(t *testing.T, e, remote Embedder) *Registry {
	t.Helper()
	store := &MemStates{}
	reg := NewRegistry(store, remote)
	err := reg.Update(context.Background(), func(s *mediarec.EmbeddingState) error {
		s.Live = NewGeneration(e, "items")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

// MemStates is a StateStore in memory, for the tests of this package and
// of embed_test.
type MemStates struct {
	State mediarec.EmbeddingState
	Rev   uint64
}

func (m *MemStates) LoadState(context.Context) (mediarec.EmbeddingState, uint64, error) {
	if m.Rev == 0 {
		return mediarec.EmbeddingState{}, 0, mediarec.Errorf(mediarec.ENOTFOUND, "no state")
	}
	return m.State, m.Rev, nil
}

func (m *MemStates) SaveState(_ context.Context, s mediarec.EmbeddingState, rev uint64) (uint64, error) {
	if rev != m.Rev {
		return 0, mediarec.Errorf(mediarec.ECONFLICT, "revision %d, stored %d", rev, m.Rev)
	}
	m.State, m.Rev = s, m.Rev+1
	return m.Rev, nil
}

func (m *MemStates) PutModel(context.Context, string, []byte) error { return nil }

func (m *MemStates) GetModel(context.Context, string) ([]byte, error) {
	return nil, mediarec.Errorf(mediarec.ENOTFOUND, "no model")
}

func mustNewOpenAI(t *testing.T, cfg OpenAIConfig) *OpenAI {
	t.Helper()
	o, err := NewOpenAI(cfg)
	if err != nil {
		t.Fatalf("NewOpenAI(%s, %d): %v", cfg.Model, cfg.Dimensions, err)
	}
	return o
}

// A new EMBEDDING_MODEL or EMBEDDING_DIMENSIONS starts a new generation;
// until it is complete, searches embed with the live generation's model,
// reached at the same endpoint, and jobs of each generation get the
// embedder of theirs.
func TestRegistryServesEachGeneration(t *testing.T) {
	f := newOpenAIFake(t, personaOptions{Models: map[string]int{"text-embedding-3-small": 16, "text-embedding-3-large": 24}})
	cfg := OpenAIConfig{BaseURL: f.URL + "/v1", APIKey: "sk-test", Model: "text-embedding-3-small"}
	live := mustNewOpenAI(t, cfg)
	tests := []struct {
		name   string
		change func(*OpenAIConfig)
	}{
		{"another model", func(c *OpenAIConfig) { c.Model = "text-embedding-3-large" }},
		{"other dimensions only", func(c *OpenAIConfig) { c.Dimensions = 8 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			next := cfg
			tt.change(&next)
			remote := mustNewOpenAI(t, next)
			reg := liveOn(t, live, remote)
			ctx := context.Background()
			e, coll, err := reg.Live(ctx)
			if err != nil {
				t.Fatalf("Live: %v", err)
			}
			if coll != "items" || e.Model() != live.Model() || e.Dimensions() != live.Dimensions() {
				t.Fatalf("live embedder %s/%d for %s; want %s/%d, the live generation's", e.Model(), e.Dimensions(), coll, live.Model(), live.Dimensions())
			}
			if _, err := e.Embed(ctx, []string{"a film about the sea"}); err != nil {
				t.Fatalf("a query on the live generation: %v", err)
			}
			err = reg.Update(ctx, func(s *mediarec.EmbeddingState) error {
				g := NewGeneration(remote, "items_next")
				s.Target = &g
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if got, err := reg.EmbedderFor(ctx, remote.Model(), "items_next"); err != nil || got != Embedder(remote) {
				t.Fatalf("target's embedder = %v, %v; want the configured one", got, err)
			}
			if got, err := reg.EmbedderFor(ctx, live.Model(), "items"); err != nil || got.Dimensions() != live.Dimensions() {
				t.Fatalf("live generation's jobs: %v, %v", got, err)
			}
		})
	}
}

// TEI ignores the model's name: another model swapped in behind the same
// URL answers under the old name. The fingerprint tells, and neither
// queries nor writes reach the live generation with the other vectors.
func TestRegistryRefusesAnotherModelBehindTheName(t *testing.T) {
	first := newTEIFake(t, personaOptions{Models: map[string]int{"BAAI/bge-small-en-v1.5": 16}})
	second := newTEIFake(t, personaOptions{Models: map[string]int{"intfloat/e5-small-v2": 16}})
	var target atomic.Pointer[url.URL]
	u, _ := url.Parse(first.URL)
	target.Store(u)
	proxy := httptest.NewServer(&httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) { r.SetURL(target.Load()) }})
	t.Cleanup(proxy.Close)

	cfg := OpenAIConfig{BaseURL: proxy.URL, Model: "bge-small-en-v1.5", MaxInputTokens: 512}
	live := mustNewOpenAI(t, cfg)
	u, _ = url.Parse(second.URL)
	target.Store(u)
	swapped := mustNewOpenAI(t, cfg)
	if swapped.Model() != live.Model() || swapped.Dimensions() != live.Dimensions() || swapped.Endpoint() != live.Endpoint() {
		t.Fatalf("the swap should look the same by name, length and URL")
	}
	reg := liveOn(t, live, swapped)
	ctx := context.Background()
	if _, _, err := reg.Live(ctx); !IsEndpointDown(err) {
		t.Fatalf("Live with another model behind the name: %v, want an EndpointError", err)
	}
	if _, err := reg.EmbedderFor(ctx, live.Model(), "items"); !IsEndpointDown(err) {
		t.Fatalf("jobs of the live generation: %v, want an EndpointError (no write)", err)
	}
	// The same model again is accepted.
	u, _ = url.Parse(first.URL)
	target.Store(u)
	reg = liveOn(t, live, mustNewOpenAI(t, cfg))
	if _, _, err := reg.Live(ctx); err != nil {
		t.Fatalf("Live with the same model: %v", err)
	}
}

// NewOpenAI always probes: a configured length the endpoint does not
// answer, or a setting it refuses, stops the start, and no item is blamed.
func TestOpenAIProbeChecksTheSettings(t *testing.T) {
	tests := []struct {
		name string
		cfg  func(url string) OpenAIConfig
	}{
		// Ollama gives its full vector when asked for a longer one.
		{"dimensions above the model's", func(url string) OpenAIConfig {
			return OpenAIConfig{BaseURL: url, Model: "nomic-embed-text", Dimensions: 1024}
		}},
		{"a model not pulled", func(url string) OpenAIConfig {
			return OpenAIConfig{BaseURL: url, Model: "mxbai-embed-large"}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newOllamaFake(t, personaOptions{})
			_, err := NewOpenAI(tt.cfg(f.URL))
			if !IsEndpointDown(err) {
				t.Fatalf("NewOpenAI: %v, want an EndpointError", err)
			}
		})
	}
	t.Run("dimensions on a model without them", func(t *testing.T) {
		f := newOpenAIFake(t, personaOptions{})
		_, err := NewOpenAI(OpenAIConfig{BaseURL: f.URL + "/v1", APIKey: "sk-test", Model: "text-embedding-ada-002", Dimensions: 512})
		if !IsEndpointDown(err) {
			t.Fatalf("NewOpenAI: %v, want an EndpointError", err)
		}
	})
}

// Azure OpenAI: the deployment in the path, the API version in the query,
// the key in api-key; and extra headers go with every request.
func TestOpenAIAzureAndHeaders(t *testing.T) {
	var got atomic.Pointer[http.Request]
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.Store(r)
		answerOK(4)(1, embeddingRequest{Input: []string{probeText}}, w)
	}))
	t.Cleanup(srv.Close)
	srv.URL = "https" + srv.URL[len("http"):]
	client := srv.Client()
	// The test server speaks http; the client is told to reach it so.
	client.Transport = rewriteScheme{}
	_, err := NewOpenAI(OpenAIConfig{
		BaseURL: srv.URL, APIKey: "azure-key", Model: "text-embedding-3-small", APIType: "azure",
		Deployment: "embed-prod", Headers: map[string]string{"OpenAI-Project": "proj_1"}, HTTPClient: client,
	})
	if err != nil {
		t.Fatal(err)
	}
	r := got.Load()
	checks := map[string][2]string{
		"path":           {r.URL.Path, "/openai/deployments/embed-prod/embeddings"},
		"api-version":    {r.URL.Query().Get("api-version"), azureAPIVersion},
		"api-key":        {r.Header.Get("Api-Key"), "azure-key"},
		"authorization":  {r.Header.Get("Authorization"), ""},
		"OpenAI-Project": {r.Header.Get("OpenAI-Project"), "proj_1"},
	}
	for name, c := range checks {
		if c[0] != c[1] {
			t.Errorf("%s = %q, want %q", name, c[0], c[1])
		}
	}
}

// rewriteScheme sends https requests to an http test server.
type rewriteScheme struct{}

func (rewriteScheme) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.URL.Scheme = "http"
	return http.DefaultTransport.RoundTrip(r)
}

// TextFor keeps an item within the endpoint's input limit, shortening the
// description first, then the repeated tags, never the title.
func TestTextForShortensTheDescriptionFirst(t *testing.T) {
	_, url := mustFakeEndpoint(t, answerOK(4))
	o, _ := mustOpenAI(t, url, OpenAIConfig{MaxInputTokens: 200})
	words := func(w string, n int) string { return strings.TrimSpace(strings.Repeat(w+" ", n)) }
	tags := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("tag%d", i)
		}
		return out
	}
	base := mediarec.Item{Title: "The Long Way Home", Type: mediarec.TypeMovie, Year: 1999, Genres: []string{"Drama"}}
	tests := []struct {
		name        string
		description string
		tags        []string
		check       func(t *testing.T, text string)
	}{
		{"fits", "A short story.", tags(3), func(t *testing.T, text string) {
			if !strings.HasSuffix(text, "A short story.") || strings.Count(text, "tag2") != 3 {
				t.Errorf("changed although it fits: %q", text)
			}
		}},
		{"long description", words("journey", 400), tags(3), func(t *testing.T, text string) {
			if strings.Count(text, "tag2") != 3 || !strings.Contains(text, "journey journey") {
				t.Errorf("want the tags thrice and part of the description: %q", text)
			}
		}},
		{"huge tag list", "A short story.", tags(500), func(t *testing.T, text string) {
			if strings.Contains(text, "A short story") || strings.Count(text, "tag0,") != 1 || strings.Contains(text, "tag499") {
				t.Errorf("want no description, the first tags once: %q", text)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			it := base
			it.Description, it.Tags = tt.description, tt.tags
			text := TextFor(o, &it)
			if !strings.HasPrefix(text, "The Long Way Home. The Long Way Home. movie. 1999. 1990s. Drama") {
				t.Errorf("the head was cut: %q", text[:min(80, len(text))])
			}
			if est := o.EstimateTokens(text); est > o.MaxInputTokens() {
				t.Errorf("%d estimated tokens, limit %d", est, o.MaxInputTokens())
			}
			tt.check(t, text)
		})
	}
	if text := TextFor(NewHashing(8), &base); text != ItemText(&base) {
		t.Errorf("an embedder without a limit gets ItemText")
	}
}

// A request's texts stay under OpenAI's 300,000 tokens however many fit
// the batch size: the batches are cut by their estimated tokens.
func TestOpenAIBatchesByTokens(t *testing.T) {
	f := newOpenAIFake(t, personaOptions{})
	o := mustNewOpenAI(t, OpenAIConfig{BaseURL: f.URL + "/v1", APIKey: "sk-test", Model: "text-embedding-3-small", Dimensions: 64})
	texts := make([]string, 48)
	for i := range texts {
		// CJK: a token a character, for the fake as for OpenAI's tokenizers.
		texts[i] = fmt.Sprintf("%d ", i) + strings.Repeat("遠い星で家からの便りを待つ乗組員", 440)
	}
	if _, err := o.Embed(context.Background(), texts); err != nil {
		t.Fatal(err)
	}
	reqs := f.seen()[1:] // after the probe
	total := 0
	for _, r := range reqs {
		if r.Status != http.StatusOK {
			t.Errorf("a request was refused: %d %s", r.Status, r.Error)
		}
		n := f.requestTokens(r.Inputs)
		total += n
		if n > 300_000 {
			t.Errorf("a request of %d tokens", n)
		}
	}
	if len(reqs) < 2 || total <= 300_000 {
		t.Fatalf("%d requests of %d tokens in all: the test needs more than one request's worth", len(reqs), total)
	}
}

// An endpoint that is down when a process starts does not stop it when
// EMBEDDING_DIMENSIONS gives the length: the fingerprint is taken once the
// endpoint answers. A refusing one (a bad key) still stops it.
func TestOpenAIStartsWhileTheEndpointIsDown(t *testing.T) {
	f := newOpenAIFake(t, personaOptions{})
	f.failUntilRecovered(faultOutage)
	cfg := OpenAIConfig{BaseURL: f.URL + "/v1", APIKey: "sk-test", Model: "text-embedding-3-small", MaxAttempts: 2, BackoffBase: time.Millisecond}
	if _, err := NewOpenAI(cfg); !IsEndpointDown(err) {
		t.Fatalf("without EMBEDDING_DIMENSIONS: %v, want an EndpointError (the length is unknown)", err)
	}
	cfg.Dimensions = 64
	o, err := NewOpenAI(cfg)
	if err != nil {
		t.Fatalf("with EMBEDDING_DIMENSIONS: %v", err)
	}
	clk := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	o.now, o.sleep = clk.now, clk.sleep
	if fp := o.Fingerprint(); fp != "" {
		t.Fatalf("a fingerprint while the endpoint is down: %q", fp)
	}
	f.recover()
	if fp := o.Fingerprint(); fp != "" {
		t.Fatalf("probed again within %v", reprobeEvery)
	}
	clk.sleep(context.Background(), reprobeEvery)
	if fp := o.Fingerprint(); fp == "" || o.Dimensions() != 64 {
		t.Fatalf("after the endpoint came back: fingerprint %q, %d values", fp, o.Dimensions())
	}

	bad := cfg
	bad.APIKey = "sk-wrong"
	if _, err := NewOpenAI(bad); !IsEndpointDown(err) {
		t.Fatalf("a wrong key: %v, want the start refused", err)
	}
}

// A process that starts while the endpoint is down cannot check the live
// generation's model yet: it embeds nothing for it (searches answer by
// keywords, workers wait) until the endpoint answers, and then serves it.
func TestRegistryWaitsToCheckTheModel(t *testing.T) {
	f := newOpenAIFake(t, personaOptions{})
	cfg := OpenAIConfig{BaseURL: f.URL + "/v1", APIKey: "sk-test", Model: "text-embedding-3-small", Dimensions: 64, MaxAttempts: 2, BackoffBase: time.Millisecond}
	live := mustNewOpenAI(t, cfg)
	f.failUntilRecovered(faultOutage)
	restarted := mustNewOpenAI(t, cfg)
	clk := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	restarted.now, restarted.sleep = clk.now, clk.sleep
	reg := liveOn(t, live, restarted)
	ctx := context.Background()

	e, _, err := reg.Live(ctx)
	if err != nil {
		t.Fatalf("Live while the endpoint is down: %v", err)
	}
	if _, err := e.Embed(ctx, []string{"a film about the sea"}); !IsEndpointDown(err) {
		t.Fatalf("a query before the model is checked: %v, want an EndpointError", err)
	}
	f.recover()
	clk.sleep(ctx, reprobeEvery)
	if e, _, err = reg.Live(ctx); err != nil || e != Embedder(restarted) {
		t.Fatalf("Live once the endpoint answers: %v, %v; want the configured embedder", e, err)
	}
}
