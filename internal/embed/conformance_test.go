package embed

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
	"time"

	"mediarec"
)

// personaCase is one real server the embedder must work against, set up
// as a user would from the README: no tuning beyond what that server's
// documentation asks of every client.
type personaCase struct {
	name  string
	start func(*testing.T) *personaServer
	// config is what a user writes for this server.
	config func(url string) OpenAIConfig
	// limits of the server, for the checks on what it received.
	maxInputs, maxInputTokens, maxRequestTokens, maxBodyBytes int
	// transient is the server's own "try again later"; outage its failure
	// as a whole.
	transient, outage personaFault
	unknownModel      string // "" when the server ignores the model
}

func personaCases() []personaCase {
	return []personaCase{
		{
			name:  "OpenAI",
			start: func(t *testing.T) *personaServer { return newOpenAIFake(t, personaOptions{}) },
			config: func(url string) OpenAIConfig {
				return OpenAIConfig{BaseURL: url + "/v1", APIKey: "sk-test", Model: "text-embedding-3-small", Dimensions: 256}
			},
			maxInputs: 2048, maxInputTokens: 8192, maxRequestTokens: 300_000,
			transient: faultRateLimit, outage: faultOutage, unknownModel: "text-embedding-4",
		},
		{
			name:  "Ollama",
			start: func(t *testing.T) *personaServer { return newOllamaFake(t, personaOptions{}) },
			config: func(url string) OpenAIConfig {
				return OpenAIConfig{BaseURL: url, Model: "nomic-embed-text"}
			},
			transient: faultBusy, outage: faultOutage, unknownModel: "mxbai-embed-large",
		},
		{
			name:  "TEI",
			start: func(t *testing.T) *personaServer { return newTEIFake(t, personaOptions{}) },
			// The README asks TEI users for the model's input limit; the
			// batch limit (32) the embedder must find by itself.
			config: func(url string) OpenAIConfig {
				return OpenAIConfig{BaseURL: url, Model: "bge-small-en-v1.5", MaxInputTokens: 512}
			},
			maxInputs: 32, maxInputTokens: 512, maxBodyBytes: 2_000_000,
			transient: faultBusy, outage: faultOutage,
		},
	}
}

// TestEmbedderConformance checks, against each server, what a caller of
// the embedder must be able to rely on.
func TestEmbedderConformance(t *testing.T) {
	texts := conformanceTexts()
	for _, pc := range personaCases() {
		t.Run(pc.name, func(t *testing.T) {
			t.Run("realistic batch", func(t *testing.T) { conformBatch(t, pc, texts) })
			t.Run("unknown model", func(t *testing.T) { conformUnknownModel(t, pc) })
			t.Run("transient refusal is retried", func(t *testing.T) { conformTransient(t, pc) })
			t.Run("sustained outage", func(t *testing.T) { conformOutage(t, pc) })
			t.Run("per-item refusal", func(t *testing.T) { conformRefusal(t, pc) })
			switch pc.name {
			case "OpenAI":
				t.Run("wrong key", func(t *testing.T) { conformWrongKey(t, pc) })
				t.Run("insufficient quota", func(t *testing.T) { conformQuota(t, pc) })
			case "Ollama":
				t.Run("runner failure", func(t *testing.T) { conformRunner(t, pc) })
			}
		})
	}
}

// mustPersonaEmbedder returns an embedder for f as pc configures it, on a
// fake clock from the first Embed on (the probe in NewOpenAI runs on the
// real one, against a healthy fake).
func mustPersonaEmbedder(t *testing.T, pc personaCase, f *personaServer) (*OpenAI, *fakeClock) {
	t.Helper()
	o, err := NewOpenAI(pc.config(f.URL))
	if err != nil {
		t.Fatalf("NewOpenAI: %v", err)
	}
	clk := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	o.now, o.sleep = clk.now, clk.sleep
	return o, clk
}

func conformBatch(t *testing.T, pc personaCase, texts []string) {
	f := pc.start(t)
	o, _ := mustPersonaEmbedder(t, pc, f)
	start := len(f.seen())
	vecs, err := o.Embed(context.Background(), texts)
	if err != nil {
		t.Fatalf("Embed of %d texts: %v", len(texts), err)
	}
	if len(vecs) != len(texts) {
		t.Fatalf("%d vectors for %d texts", len(vecs), len(texts))
	}
	for i, v := range vecs {
		if len(v) != o.Dimensions() {
			t.Fatalf("vector %d has %d dimensions, Dimensions() is %d", i, len(v), o.Dimensions())
		}
		if n := math.Sqrt(dot32(v, v)); math.Abs(n-1) > 1e-4 {
			t.Errorf("vector %d has norm %v", i, n)
		}
		// In input order: the vector is the one the fake served for this
		// text, or for a shortening of it.
		sent, _, ok := f.servedText(v)
		switch {
		case !ok:
			t.Errorf("vector %d is none the fake served", i)
		case sent != texts[i] && !isShortening(sent, texts[i]):
			t.Errorf("vector %d is the fake's vector of %.60q…, not of text %d %.60q…", i, sent, i, texts[i])
		}
	}
	reqs := f.seen()[start:]
	refused := 0
	for _, r := range reqs {
		if r.Status != http.StatusOK {
			refused++
			t.Logf("refused: %d %.200s (%d inputs, %d bytes)", r.Status, r.Error, len(r.Inputs), r.BodyBytes)
			continue
		}
		checkWithinLimits(t, pc, f, r)
	}
	// The embedder may learn a limit from a refusal (TEI's 32, a tokenizer
	// counting more than the estimate), but not by refusal after refusal:
	// finding the one over-long text of a batch by halving costs about
	// log2(batch) refusals once; after that, what it learnt must keep the
	// remaining texts (of this call too) within the limit.
	if refused > 8 {
		t.Errorf("%d of %d requests refused: the embedder must keep within the limits or learn them", refused, len(reqs))
	}
}

// isShortening tells whether sent is text shortened, as the embedder does
// for the input limit: shorter, and starting the same way.
func isShortening(sent, text string) bool {
	head := sent[:min(len(sent), 40)]
	return len(sent) < len(text) && len(sent) > 0 && strings.HasPrefix(text, head)
}

// checkWithinLimits double-checks an accepted request against the limits
// (the fake would have refused it otherwise; this guards the fake).
func checkWithinLimits(t *testing.T, pc personaCase, f *personaServer, r personaRequest) {
	t.Helper()
	if pc.maxInputs > 0 && len(r.Inputs) > pc.maxInputs {
		t.Errorf("accepted request of %d inputs, limit %d", len(r.Inputs), pc.maxInputs)
	}
	if pc.maxBodyBytes > 0 && r.BodyBytes > pc.maxBodyBytes {
		t.Errorf("accepted request of %d bytes, limit %d", r.BodyBytes, pc.maxBodyBytes)
	}
	total := 0
	for _, s := range r.Inputs {
		_, n := f.effective(s)
		total += n
		if pc.maxInputTokens > 0 && n > pc.maxInputTokens {
			t.Errorf("accepted input of %d tokens, limit %d", n, pc.maxInputTokens)
		}
		if s == "" {
			t.Errorf("empty input sent")
		}
	}
	if pc.maxRequestTokens > 0 && total > pc.maxRequestTokens {
		t.Errorf("accepted request of %d tokens, limit %d", total, pc.maxRequestTokens)
	}
}

// conformUnknownModel: a model the server does not have is the endpoint's
// problem, not the items': no job may be failed as invalid for it.
func conformUnknownModel(t *testing.T, pc personaCase) {
	f := pc.start(t)
	cfg := pc.config(f.URL)
	if pc.unknownModel == "" {
		cfg.Model = "no-such-model"
		if _, err := NewOpenAI(cfg); err != nil {
			t.Errorf("NewOpenAI with a model name %s ignores: %v", pc.name, err)
		}
		return
	}
	cfg.Model = pc.unknownModel
	_, err := NewOpenAI(cfg)
	checkEndpointDown(t, "NewOpenAI with an unknown model", err)
}

func checkEndpointDown(t *testing.T, what string, err error) {
	t.Helper()
	if !IsEndpointDown(err) {
		t.Errorf("%s: error %v; want an EndpointError", what, err)
	}
	if code := mediarec.ErrorCode(err); code == mediarec.EINVALID {
		t.Errorf("%s: code %q: the items are not at fault", what, code)
	}
}

func conformWrongKey(t *testing.T, pc personaCase) {
	f := pc.start(t)
	cfg := pc.config(f.URL)
	cfg.APIKey = "sk-wrong"
	_, err := NewOpenAI(cfg)
	checkEndpointDown(t, "NewOpenAI with a wrong key", err)

	// A key revoked while running.
	o, _ := mustPersonaEmbedder(t, pc, f)
	f.setKey("sk-rotated")
	start := len(f.seen())
	_, err = o.Embed(context.Background(), []string{"a", "b"})
	checkEndpointDown(t, "Embed with a revoked key", err)
	if n := len(f.seen()) - start; n > 2 {
		t.Errorf("%d requests for a revoked key: a 401 is not retried", n)
	}
}

func conformQuota(t *testing.T, pc personaCase) {
	f := pc.start(t)
	o, _ := mustPersonaEmbedder(t, pc, f)
	f.failUntilRecovered(faultQuota)
	start := len(f.seen())
	_, err := o.Embed(context.Background(), []string{"a", "b"})
	checkEndpointDown(t, "Embed without quota", err)
	if n := len(f.seen()) - start; n > 2 {
		t.Errorf("%d requests without quota, want at most 2: waiting never brings quota back", n)
	}
}

// conformTransient: one "try again" answer is retried, after the wait the
// server asks for, and the batch succeeds.
func conformTransient(t *testing.T, pc personaCase) {
	f := pc.start(t)
	o, clk := mustPersonaEmbedder(t, pc, f)
	f.failNext(1, pc.transient)
	start := len(f.seen())
	texts := []string{"The Matrix. 1999. science fiction", "千と千尋の神隠し"}
	vecs, err := o.Embed(context.Background(), texts)
	if err != nil {
		t.Fatalf("Embed after one %d: %v", f.seen()[start].Status, err)
	}
	if len(vecs) != 2 {
		t.Fatalf("%d vectors", len(vecs))
	}
	if n := len(f.seen()) - start; n != 2 {
		t.Errorf("%d requests, want 2", n)
	}
	if pc.transient == faultRateLimit {
		// OpenAI asked for 1s (Retry-After: 1, x-ratelimit-reset-tokens: 1s).
		if got := clk.total(); got < time.Second {
			t.Errorf("waited %v before retrying, the server asked for 1s", got)
		}
	}
}

// conformOutage: a server down for good is an EndpointError after the
// attempts, and the same embedder works again once the server is back.
func conformOutage(t *testing.T, pc personaCase) {
	f := pc.start(t)
	o, _ := mustPersonaEmbedder(t, pc, f)
	f.failUntilRecovered(pc.outage)
	start := len(f.seen())
	_, err := o.Embed(context.Background(), []string{"a", "b"})
	checkEndpointDown(t, "Embed during an outage", err)
	if n := len(f.seen()) - start; n > 6 {
		t.Errorf("%d requests during an outage, want at most MaxAttempts (5) and a probe", n)
	}
	f.recover()
	if _, err := o.Embed(context.Background(), []string{"a", "b"}); err != nil {
		t.Errorf("Embed after recovery: %v", err)
	}
}

// conformRunner: Ollama answers 400 when its runner crashes, as for a bad
// input; the embedder must tell the two apart (by probing with a text
// every model takes) and not fail the items.
func conformRunner(t *testing.T, pc personaCase) {
	f := pc.start(t)
	o, _ := mustPersonaEmbedder(t, pc, f)
	f.failUntilRecovered(faultRunner)
	_, err := o.Embed(context.Background(), []string{"a", "b"})
	checkEndpointDown(t, "Embed while the runner keeps crashing", err)

	// One crash, then Ollama restarts the runner: the batch succeeds.
	f.recover()
	f.failNext(1, faultRunner)
	if _, err := o.Embed(context.Background(), []string{"a", "b"}); err != nil {
		t.Errorf("Embed after one runner crash: %v", err)
	}
}

// conformRefusal: a text the server refuses whatever the embedder does is
// EINVALID, and only that text's: the others embed without it.
func conformRefusal(t *testing.T, pc personaCase) {
	f := pc.start(t)
	o, _ := mustPersonaEmbedder(t, pc, f)
	bad := "Unembeddable \uFFFD item"
	f.refuse(bad)
	good := []string{"Heat. 1995. crime, thriller", "Amélie. 2001. comedy, romance"}
	_, err := o.Embed(context.Background(), []string{good[0], bad, good[1]})
	if code := mediarec.ErrorCode(err); code != mediarec.EINVALID || IsEndpointDown(err) {
		t.Errorf("Embed with a refused text: error %v, code %q; want EINVALID, not an EndpointError", err, code)
	}
	_, err = o.Embed(context.Background(), []string{bad})
	if code := mediarec.ErrorCode(err); code != mediarec.EINVALID || IsEndpointDown(err) {
		t.Errorf("Embed of the refused text alone: error %v, code %q; want EINVALID", err, code)
	}
	if _, err := o.Embed(context.Background(), good); err != nil {
		t.Errorf("Embed of the other texts: %v", err)
	}
}

// conformanceTexts is a catalog's worth of item texts, built with ItemText
// as the worker builds them: short and medium English ones, long English
// and Chinese descriptions (catalog descriptions go up to 20,000
// characters), podcasts listing episodes (numbers and punctuation, which
// tokenisers count more of than bytes/4), CJK titles, and one
// ~100,000-character text of tags. All distinct.
func conformanceTexts() []string {
	rng := rand.New(rand.NewPCG(7, 11))
	words := strings.Fields("the a of and in to river night city war love family secret journey last " +
		"young old world house dark light stranger small town detective murder past future dream " +
		"music band story friends summer winter island ship crew captain machine human memory " +
		"revenge escape prison king queen empire rebellion desert forest ocean storm mother father")
	genres := []string{"Drama", "Comedy", "Thriller", "Science Fiction", "Documentary", "Animation", "Romance", "Crime"}
	tags := []string{"twist ending", "dystopia", "based on a novel", "slow burn", "coming of age", "heist", "time travel", "space", "found family", "noir"}
	sentence := func() string {
		n := 6 + rng.IntN(12)
		ws := make([]string, n)
		for i := range ws {
			ws[i] = words[rng.IntN(len(words))]
		}
		s := strings.Join(ws, " ")
		return strings.ToUpper(s[:1]) + s[1:] + "."
	}
	prose := func(chars int) string {
		var b strings.Builder
		for b.Len() < chars {
			b.WriteString(sentence())
			b.WriteString(" ")
		}
		return strings.TrimSpace(b.String())
	}
	zh := []rune("一个年轻的女孩在神秘的世界里寻找回家的路，她遇到了许多奇怪的人和事。战争结束后，城市慢慢恢复了平静，但是过去的秘密仍然困扰着每一个人。")
	chinese := func(runes int) string {
		out := make([]rune, 0, runes)
		for len(out) < runes {
			out = append(out, zh[rng.IntN(len(zh))])
		}
		return string(out)
	}
	cjkTitles := []string{"千と千尋の神隠し", "霸王别姬", "기생충", "となりのトトロ", "花樣年華", "重庆森林"}
	item := func(i int, title, desc string) *mediarec.Item {
		return &mediarec.Item{
			Title: title, Type: mediarec.ItemTypes[i%len(mediarec.ItemTypes)], Year: 1950 + i%75,
			Genres:   []string{genres[i%len(genres)], genres[(i*3+1)%len(genres)]},
			Tags:     []string{tags[i%len(tags)], tags[(i+4)%len(tags)]},
			Creators: []string{fmt.Sprintf("Director %d", i)}, Description: desc,
		}
	}
	var texts []string
	for i := range 30 { // medium: 200 to 2,000 characters
		title := fmt.Sprintf("The %s %s %d", words[rng.IntN(len(words))], words[rng.IntN(len(words))], i)
		if i%5 == 0 {
			title = cjkTitles[i/5%len(cjkTitles)] + fmt.Sprintf(" %d", i)
		}
		texts = append(texts, ItemText(item(i, title, prose(200+rng.IntN(1800)))))
	}
	for i := range 30 { // long English: 19,000 characters
		texts = append(texts, ItemText(item(100+i, fmt.Sprintf("Saga %d", i), prose(19_000))))
	}
	for i := range 40 { // long Chinese: 12,000 characters
		title := cjkTitles[i%len(cjkTitles)] + fmt.Sprintf(" 第%d部", i+1)
		texts = append(texts, ItemText(item(200+i, title, chinese(12_000))))
	}
	for i := range 5 { // podcasts listing their episodes: numbers and punctuation
		var eps strings.Builder
		for e := 1; eps.Len() < 19_000; e++ {
			fmt.Fprintf(&eps, "Ep. %d (%04d-%02d-%02d, %d:%02d:%02d) %s; ", e, 2015+e%10, 1+e%12, 1+e%28, e%2, e%60, (e*7)%60, words[rng.IntN(len(words))])
		}
		texts = append(texts, ItemText(item(400+i, fmt.Sprintf("Weekly Show %d", i), eps.String())))
	}
	var tagText strings.Builder
	for i := 0; tagText.Len() < 100_000; i++ {
		fmt.Fprintf(&tagText, "%s, %s %d, ", tags[i%len(tags)], tags[(i*7+3)%len(tags)], i)
	}
	texts = append(texts, ItemText(item(300, "Everything Tagged", tagText.String())))
	return texts
}

// TestFakePersonalities drives each fake with raw requests, so that the
// conformance suite rests on fakes that answer what the real servers do.
func TestFakePersonalities(t *testing.T) {
	long := strings.Repeat("word ", 9000)  // 9,000 tokens
	cjk := strings.Repeat("千と千尋の神隠し", 100) // 800 tokens, 2,400 bytes
	manyInputs := func(n int) []string { return strings.Split(strings.Repeat("x,", n-1)+"x", ",") }
	type check struct {
		name       string
		start      func(*testing.T) *personaServer
		setup      func(*personaServer)
		path       string
		header     map[string]string
		body       any // marshalled to JSON; a string is sent as is
		wantStatus int
		wantBody   map[string]any // top-level fields, or error.* fields
		wantText   string         // plain-text body
		wantHeader map[string]string
		wantDims   int // on success: vector length
	}
	openAI := func(t *testing.T) *personaServer { return newOpenAIFake(t, personaOptions{}) }
	ollama := func(t *testing.T) *personaServer { return newOllamaFake(t, personaOptions{}) }
	tei := func(t *testing.T) *personaServer { return newTEIFake(t, personaOptions{}) }
	key := map[string]string{"Authorization": "Bearer sk-test"}
	req := func(model string, input any, extra ...any) map[string]any {
		m := map[string]any{"model": model, "input": input, "encoding_format": "float"}
		for i := 0; i+1 < len(extra); i += 2 {
			m[extra[i].(string)] = extra[i+1]
		}
		return m
	}
	checks := []check{
		{name: "OpenAI no key", start: openAI, body: req("text-embedding-3-small", []string{"a"}), wantStatus: 401,
			wantBody: map[string]any{"error.type": "invalid_request_error", "error.code": nil}},
		{name: "OpenAI wrong key", start: openAI, header: map[string]string{"Authorization": "Bearer sk-wrong-key-123"}, body: req("text-embedding-3-small", []string{"a"}), wantStatus: 401,
			wantBody: map[string]any{"error.code": "invalid_api_key", "error.message": "Incorrect API key provided: sk-*********-123. You can find your API key at https://platform.openai.com/account/api-keys."}},
		{name: "OpenAI unknown model", start: openAI, header: key, body: req("text-embedding-4", []string{"a"}), wantStatus: 404,
			wantBody: map[string]any{"error.code": "model_not_found", "error.type": "invalid_request_error", "error.message": "The model `text-embedding-4` does not exist or you do not have access to it."}},
		{name: "OpenAI empty string", start: openAI, header: key, body: req("text-embedding-3-small", []string{"a", ""}), wantStatus: 400,
			wantBody: map[string]any{"error.type": "invalid_request_error"}},
		{name: "OpenAI 2,049 inputs", start: openAI, header: key, body: req("text-embedding-3-small", manyInputs(2049)), wantStatus: 400},
		{name: "OpenAI 2,048 inputs", start: openAI, header: key, body: req("text-embedding-3-small", manyInputs(2048), "dimensions", 8), wantStatus: 200, wantDims: 8},
		{name: "OpenAI input over 8,192 tokens", start: openAI, header: key, body: req("text-embedding-3-small", []string{"a", long}), wantStatus: 400,
			wantBody: map[string]any{"error.message": "This model's maximum context length is 8192 tokens, however you requested 9000 tokens (9000 in your prompt; 0 for the completion). Please reduce your prompt; or completion length."}},
		{name: "OpenAI over 300,000 tokens a request", start: openAI, header: key, body: req("text-embedding-3-small", manyLong(38, 8000)), wantStatus: 400,
			wantBody: map[string]any{"error.type": "max_tokens_per_request", "error.code": "max_tokens_per_request", "error.message": "Requested 304000 tokens, max 300000 tokens per request"}},
		{name: "OpenAI dimensions on ada-002", start: openAI, header: key, body: req("text-embedding-ada-002", []string{"a"}, "dimensions", 256), wantStatus: 400,
			wantBody: map[string]any{"error.message": "This model does not support specifying dimensions."}},
		{name: "OpenAI dimensions honoured, data shuffled", start: openAI, header: key, body: req("text-embedding-3-small", manyInputs(20), "dimensions", 256), wantStatus: 200, wantDims: 256,
			wantHeader: map[string]string{"x-ratelimit-limit-requests": "3000", "x-ratelimit-remaining-requests": "2999"}},
		{name: "OpenAI native size", start: openAI, header: key, body: req("text-embedding-3-large", []string{"a"}), wantStatus: 200, wantDims: 3072},
		{name: "OpenAI rate limit", start: openAI, setup: func(f *personaServer) { f.failNext(1, faultRateLimit) }, header: key, body: req("text-embedding-3-small", []string{"a"}), wantStatus: 429,
			wantBody:   map[string]any{"error.code": "rate_limit_exceeded", "error.type": "tokens"},
			wantHeader: map[string]string{"Retry-After": "1", "x-ratelimit-reset-tokens": "1s", "x-ratelimit-remaining-tokens": "0", "x-ratelimit-reset-requests": "20ms", "x-ratelimit-limit-tokens": "1000000"}},
		{name: "OpenAI rate limit of 6 minutes", start: func(t *testing.T) *personaServer {
			return newOpenAIFake(t, personaOptions{RateLimitReset: 6 * time.Minute})
		},
			setup: func(f *personaServer) { f.failNext(1, faultRateLimit) }, header: key, body: req("text-embedding-3-small", []string{"a"}), wantStatus: 429,
			wantHeader: map[string]string{"Retry-After": "360", "x-ratelimit-reset-tokens": "6m0s"}},
		{name: "OpenAI insufficient quota", start: openAI, setup: func(f *personaServer) { f.failUntilRecovered(faultQuota) }, header: key, body: req("text-embedding-3-small", []string{"a"}), wantStatus: 429,
			wantBody: map[string]any{"error.code": "insufficient_quota", "error.type": "insufficient_quota"}},
		{name: "OpenAI outage", start: openAI, setup: func(f *personaServer) { f.failUntilRecovered(faultOutage) }, header: key, body: req("text-embedding-3-small", []string{"a"}), wantStatus: 503},
		{name: "OpenAI recovered", start: openAI, setup: func(f *personaServer) { f.failUntilRecovered(faultOutage); f.recover() }, header: key, body: req("text-embedding-3-small", []string{"a"}), wantStatus: 200, wantDims: 1536},
		{name: "OpenAI refused text", start: openAI, setup: func(f *personaServer) { f.refuse("bad") }, header: key, body: req("text-embedding-3-small", []string{"a", "bad"}), wantStatus: 400},
		{name: "OpenAI bad JSON", start: openAI, header: key, body: `{"input":`, wantStatus: 400},

		{name: "Ollama needs no key", start: ollama, body: req("nomic-embed-text", []string{"a", "b"}), wantStatus: 200, wantDims: 768},
		{name: "Ollama model not pulled", start: ollama, body: req("mxbai-embed-large", []string{"a"}), wantStatus: 404,
			wantBody: map[string]any{"error.message": `model "mxbai-embed-large" not found, try pulling it first`, "error.type": "not_found_error", "error.code": nil, "error.param": nil}},
		{name: "Ollama dimensions below native", start: ollama, body: req("nomic-embed-text", []string{"a"}, "dimensions", 256), wantStatus: 200, wantDims: 256},
		{name: "Ollama dimensions above native ignored", start: ollama, body: req("nomic-embed-text", []string{"a"}, "dimensions", 4096), wantStatus: 200, wantDims: 768},
		{name: "Ollama truncates long input", start: ollama, body: req("nomic-embed-text", []string{long}), wantStatus: 200, wantDims: 768,
			wantBody: map[string]any{"usage.prompt_tokens": 2048.0}},
		{name: "Ollama runner crashed", start: ollama, setup: func(f *personaServer) { f.failUntilRecovered(faultRunner) }, body: req("nomic-embed-text", []string{"a"}), wantStatus: 400,
			wantBody: map[string]any{"error.type": "invalid_request_error"}},
		{name: "Ollama busy", start: ollama, setup: func(f *personaServer) { f.failNext(1, faultBusy) }, body: req("nomic-embed-text", []string{"a"}), wantStatus: 503,
			wantBody: map[string]any{"error.type": "api_error"}},
		{name: "Ollama empty input", start: ollama, body: req("nomic-embed-text", []string{}), wantStatus: 400, wantBody: map[string]any{"error.message": "invalid input"}},

		{name: "TEI ignores the model", start: tei, body: req("whatever", []string{"a", "b"}), wantStatus: 200, wantDims: 384,
			wantBody: map[string]any{"model": "BAAI/bge-small-en-v1.5", "usage.prompt_tokens": 6.0}},
		{name: "TEI also on /embeddings", start: tei, path: "/embeddings", body: req("", "a"), wantStatus: 200, wantDims: 384},
		{name: "TEI 33 inputs", start: tei, body: req("m", manyInputs(33)), wantStatus: 413,
			wantBody: map[string]any{"message": "batch size 33 > maximum allowed batch size 32", "code": 413.0, "type": "Validation"}},
		{name: "TEI 32 inputs", start: tei, body: req("m", manyInputs(32)), wantStatus: 200, wantDims: 384},
		{name: "TEI input over 512 tokens", start: tei, body: req("m", []string{"a", cjk}), wantStatus: 413,
			wantBody: map[string]any{"message": "Input validation error: `inputs` must have less than 512 tokens. Given: 802", "type": "Validation"}},
		{name: "TEI auto-truncate", start: func(t *testing.T) *personaServer { return newTEIFake(t, personaOptions{AutoTruncate: true}) }, body: req("m", []string{cjk}), wantStatus: 200, wantDims: 384,
			wantBody: map[string]any{"usage.prompt_tokens": 512.0}},
		{name: "TEI body over 2 MB", start: tei, body: req("m", []string{strings.Repeat("a", 2_000_001)}), wantStatus: 413, wantText: "Failed to buffer the request body: length limit exceeded"},
		{name: "TEI empty batch", start: tei, body: req("m", []string{}), wantStatus: 400, wantBody: map[string]any{"type": "Empty"}},
		{name: "TEI backend failure", start: tei, setup: func(f *personaServer) { f.failUntilRecovered(faultOutage) }, body: req("m", []string{"a"}), wantStatus: 424,
			wantBody: map[string]any{"type": "Backend", "code": 424.0}},
		{name: "TEI overloaded", start: tei, setup: func(f *personaServer) { f.failNext(1, faultBusy) }, body: req("m", []string{"a"}), wantStatus: 429,
			wantBody: map[string]any{"message": "Model is overloaded", "type": "Overloaded"}},
		{name: "TEI refused text", start: tei, setup: func(f *personaServer) { f.refuse("bad") }, body: req("m", []string{"bad"}), wantStatus: 422,
			wantBody: map[string]any{"type": "Tokenizer"}},
		{name: "TEI key", start: func(t *testing.T) *personaServer { return newTEIFake(t, personaOptions{APIKey: "k"}) }, body: req("m", []string{"a"}), wantStatus: 401, wantText: ""},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			f := c.start(t)
			if c.setup != nil {
				c.setup(f)
			}
			raw, ok := c.body.(string)
			if !ok {
				b, err := json.Marshal(c.body)
				if err != nil {
					t.Fatal(err)
				}
				raw = string(b)
			}
			r, err := http.NewRequest(http.MethodPost, f.URL+cmpOrString(c.path, "/v1/embeddings"), strings.NewReader(raw))
			if err != nil {
				t.Fatal(err)
			}
			r.Header.Set("Content-Type", "application/json")
			for k, v := range c.header {
				r.Header.Set(k, v)
			}
			res, err := http.DefaultClient.Do(r)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			body, _ := io.ReadAll(res.Body)
			if res.StatusCode != c.wantStatus {
				t.Fatalf("status %d, want %d; body %.300s", res.StatusCode, c.wantStatus, body)
			}
			for k, v := range c.wantHeader {
				if got := res.Header.Get(k); got != v {
					t.Errorf("header %s = %q, want %q", k, got, v)
				}
			}
			if c.wantText != "" || (c.wantBody == nil && c.wantDims == 0 && res.StatusCode != 200) {
				if string(body) != c.wantText && c.wantText != "" {
					t.Errorf("body %q, want %q", body, c.wantText)
				}
				return
			}
			var got map[string]any
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatalf("body %.300s: %v", body, err)
			}
			for path, want := range c.wantBody {
				v, ok := jsonPath(got, path)
				if !ok || v != want {
					t.Errorf("%s = %#v (present %v), want %#v", path, v, ok, want)
				}
			}
			if res.StatusCode == 200 {
				checkVectors(t, f, got, c.wantDims)
			}
		})
	}
}

// checkVectors checks an answer's vectors: unit length, of dims, one per
// index, each the fake's vector of its input.
func checkVectors(t *testing.T, f *personaServer, got map[string]any, dims int) {
	t.Helper()
	var res struct {
		Data []struct {
			Index     int       `json:"index"`
			Embedding []float32 `json:"embedding"`
		} `json:"data"`
	}
	b, _ := json.Marshal(got)
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	reqs := f.seen()
	last := reqs[len(reqs)-1]
	if len(res.Data) != len(last.Inputs) {
		t.Fatalf("%d vectors for %d inputs", len(res.Data), len(last.Inputs))
	}
	inOrder := true
	for i, d := range res.Data {
		inOrder = inOrder && d.Index == i
		if len(d.Embedding) != dims {
			t.Fatalf("vector %d has %d dimensions, want %d", d.Index, len(d.Embedding), dims)
		}
		if n := math.Sqrt(dot32(d.Embedding, d.Embedding)); math.Abs(n-1) > 1e-5 {
			t.Errorf("vector %d has norm %v", d.Index, n)
		}
		d0 := 0
		if last.Dimensions != nil {
			d0 = *last.Dimensions
		}
		if want := f.vectorFor(last.Model, last.Inputs[d.Index], d0); dot32(want, d.Embedding) < 0.9999 {
			t.Errorf("vector %d is not the fake's vector of its input", d.Index)
		}
	}
	// OpenAI shuffles; Ollama and TEI answer in order.
	if wantOrder := f.kind != personaOpenAI; wantOrder != inOrder && len(res.Data) > 2 {
		t.Errorf("data in index order: %v, want %v", inOrder, wantOrder)
	}
}

func jsonPath(m map[string]any, path string) (any, bool) {
	var v any = m
	for _, k := range strings.Split(path, ".") {
		mm, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = mm[k]; !ok {
			return nil, false
		}
	}
	return v, true
}

func cmpOrString(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// manyLong returns n distinct texts of the given number of fake tokens.
func manyLong(n, tokens int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%c%c ", 'a'+i/26, 'a'+i%26) + strings.Repeat("word ", tokens-1)
	}
	return out
}
