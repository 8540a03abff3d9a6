package embed

// Stand-ins for three real OpenAI-compatible embedding servers, each
// enforcing the limits and answering the errors its real counterpart does,
// so that the conformance suite (conformance_test.go) tests the embedder
// against behaviour, not against what the embedder expects. Sources, as
// stored copies read when this was written:
//
//   - OpenAI: error bodies as quoted in public issue threads (see each
//     message); header names as go-openai ratelimit.go reads them.
//   - Ollama: ollama/ollama openai/openai.go (NewError: the envelope and its
//     type per status), middleware/openai.go (BaseWriter.writeError keeps
//     the native status), server/routes.go (EmbedHandler: truncation on by
//     default, dimensions only below the native size, any runner error →
//     400; handleScheduleError: 404 for a model not pulled, 503 for a full
//     queue).
//   - TEI: huggingface/text-embeddings-inference router/src/http/server.rs
//     (openai_embed; ErrorType → status: Validation 413, Tokenizer 422,
//     Backend 424, Overloaded 429, Empty 400), router/src/http/types.rs
//     (OpenAICompatErrorResponse {message, code, type}),
//     core/src/tokenization.rs (the token and character limits and their
//     messages), core/src/lib.rs (the "Input validation error: " prefix),
//     issue #50 (axum's plain-text 413 above the payload limit).

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"
)

type persona int

const (
	personaOpenAI persona = iota + 1
	personaOllama
	personaTEI
)

func (p persona) String() string {
	return map[persona]string{personaOpenAI: "OpenAI", personaOllama: "Ollama", personaTEI: "TEI"}[p]
}

// personaFault is a failure a test injects.
type personaFault int

const (
	// faultRateLimit is OpenAI's 429 rate_limit_exceeded, with the
	// x-ratelimit-* headers and Retry-After; Ollama and TEI, which have no
	// rate limits, answer their own transient refusal instead (faultBusy).
	faultRateLimit personaFault = iota + 1
	// faultQuota is OpenAI's 429 insufficient_quota: billing, retrying never
	// helps.
	faultQuota
	// faultBusy is the server's own "try again": OpenAI 503 "overloaded or
	// not ready", Ollama 503 "server busy" (OLLAMA_MAX_QUEUE), TEI 429
	// "Model is overloaded".
	faultBusy
	// faultOutage is the server failing as a whole: OpenAI 503, Ollama 503,
	// TEI 424 (backend error).
	faultOutage
	// faultRunner is Ollama's runner crashing mid-request, which its
	// EmbedHandler reports as 400 like a bad input; OpenAI answers 500 and
	// TEI 424.
	faultRunner
)

// personaOptions steer a fake. Zero values take the real server's defaults.
type personaOptions struct {
	// APIKey is the key the fake accepts. OpenAI always wants one (default
	// "sk-test"); TEI only when started with --api-key; Ollama never.
	APIKey string
	// Models maps the models the fake serves to their native dimension.
	// TEI serves one and ignores the name asked for.
	Models map[string]int
	// MaxInputTokens is the per-text limit in the fake's tokens: OpenAI
	// 8,192; Ollama the context length (2,048), beyond which it truncates;
	// TEI the model's max_input_length (512), counting [CLS] and [SEP].
	MaxInputTokens int
	// MaxBatchInputs is the most texts per request: OpenAI 2,048, TEI
	// --max-client-batch-size 32, Ollama none.
	MaxBatchInputs int
	// MaxRequestTokens is OpenAI's 300,000 tokens per request.
	MaxRequestTokens int
	// MaxBodyBytes is TEI's --payload-limit, 2,000,000 bytes.
	MaxBodyBytes int
	// AutoTruncate is TEI's --auto-truncate: shorten over-long inputs
	// instead of refusing them. Off by default, as in TEI. (Its OpenAI
	// route takes no per-request truncate flag, only this server flag.)
	AutoTruncate bool
	// RateLimitReset is the wait OpenAI's 429 asks for; default 1s.
	RateLimitReset time.Duration
}

// personaRequest is one request as a fake received it.
type personaRequest struct {
	Time           time.Time
	Header         http.Header
	BodyBytes      int
	Model          string
	Inputs         []string
	Dimensions     *int
	EncodingFormat string
	Status         int    // what the fake answered
	Error          string // the error message it answered, if any
}

// personaServer is a running fake and the handle that inspects and steers
// it; all methods are safe for concurrent use.
type personaServer struct {
	URL  string
	kind persona
	opts personaOptions

	mu       sync.Mutex
	requests []personaRequest
	served   []servedVector
	queue    []personaFault // injected once each, in order
	down     personaFault   // injected until recover
	refused  map[string]bool
	key      string
}

type servedVector struct {
	text string // as received
	vec  []float32
}

func newOpenAIFake(t *testing.T, opts personaOptions) *personaServer {
	if opts.APIKey == "" {
		opts.APIKey = "sk-test"
	}
	if opts.Models == nil {
		opts.Models = map[string]int{"text-embedding-3-small": 1536, "text-embedding-3-large": 3072, "text-embedding-ada-002": 1536}
	}
	opts.MaxInputTokens = cmpOr(opts.MaxInputTokens, 8192)
	opts.MaxBatchInputs = cmpOr(opts.MaxBatchInputs, 2048)
	opts.MaxRequestTokens = cmpOr(opts.MaxRequestTokens, 300_000)
	opts.RateLimitReset = cmpOr(opts.RateLimitReset, time.Second)
	return startPersona(t, personaOpenAI, opts)
}

func newOllamaFake(t *testing.T, opts personaOptions) *personaServer {
	if opts.Models == nil {
		opts.Models = map[string]int{"nomic-embed-text:latest": 768, "all-minilm:latest": 384}
	}
	opts.MaxInputTokens = cmpOr(opts.MaxInputTokens, 2048)
	return startPersona(t, personaOllama, opts)
}

func newTEIFake(t *testing.T, opts personaOptions) *personaServer {
	if opts.Models == nil {
		opts.Models = map[string]int{"BAAI/bge-small-en-v1.5": 384}
	}
	opts.MaxInputTokens = cmpOr(opts.MaxInputTokens, 512)
	opts.MaxBatchInputs = cmpOr(opts.MaxBatchInputs, 32)
	opts.MaxBodyBytes = cmpOr(opts.MaxBodyBytes, 2_000_000)
	return startPersona(t, personaTEI, opts)
}

func startPersona(t *testing.T, kind persona, opts personaOptions) *personaServer {
	t.Helper()
	f := &personaServer{kind: kind, opts: opts, refused: map[string]bool{}, key: opts.APIKey}
	srv := httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(srv.Close)
	f.URL = srv.URL
	return f
}

// failNext makes the next n requests fail with fault k, then recover.
func (f *personaServer) failNext(n int, k personaFault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for range n {
		f.queue = append(f.queue, k)
	}
}

// failUntilRecovered makes every request fail with fault k until recover.
func (f *personaServer) failUntilRecovered(k personaFault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.down = k
}

func (f *personaServer) recover() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.down, f.queue = 0, nil
}

// refuse makes the fake refuse any request holding text, as the server
// refuses an input it cannot take, whatever the embedder does to it.
func (f *personaServer) refuse(text string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.refused[text] = true
}

// setKey changes the key the fake accepts, as when a key is revoked.
func (f *personaServer) setKey(key string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.key = key
}

// seen returns the requests received so far.
func (f *personaServer) seen() []personaRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]personaRequest(nil), f.requests...)
}

// servedText returns the text, as received, of the vector the fake served
// that v points the same way as (the embedder may renormalise).
func (f *personaServer) servedText(v []float32) (string, []float32, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, s := range f.served {
		if len(s.vec) == len(v) && dot32(s.vec, v) > 0.9999 {
			return s.text, s.vec, true
		}
	}
	return "", nil, false
}

func dot32(a, b []float32) float64 {
	var s float64
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}

// personaTokens is the fakes' tokenizer. It is deliberately not bytes/4,
// so that the embedder's estimate is tested rather than mirrored: each
// CJK rune is a token (real BPE tokenisers give one or more, against the
// 0.75 bytes/4 gives), each punctuation mark or symbol is one, a run of
// letters one per started 6 runes, and a run of digits one per started 3
// (as cl100k_base groups digits), so that numbers and punctuation count
// for more than their bytes.
func personaTokens(s string) int {
	n, _ := personaScan(s, -1)
	return n
}

// personaTruncate returns the longest prefix of s of at most limit tokens.
func personaTruncate(s string, limit int) string {
	_, end := personaScan(s, limit)
	return s[:end]
}

// personaScan counts the tokens of s, stopping before the token that would
// exceed limit (limit < 0: no limit), and returns the count and the byte
// offset it stopped at.
func personaScan(s string, limit int) (int, int) {
	const (
		none = iota
		letters
		digits
	)
	n, class, run := 0, none, 0
	for i, r := range s {
		starts := false
		switch {
		case unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul):
			starts, class = true, none
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			c, per := letters, 6
			if unicode.IsDigit(r) {
				c, per = digits, 3
			}
			if c != class {
				class, run = c, 0
			}
			starts = run%per == 0
			run++
		case unicode.IsSpace(r):
			class = none
		default:
			starts, class = true, none
		}
		if starts {
			if limit >= 0 && n == limit {
				return n, i
			}
			n++
		}
	}
	return n, len(s)
}

// personaVector is a fake's unit vector for text at the model's native
// size: pseudo-random from a hash of the model and the text, so that every
// text has its own direction, and every model its own space.
func personaVector(model, text string, dim int) []float32 {
	h := fnv.New64a()
	io.WriteString(h, model)
	h.Write([]byte{0})
	io.WriteString(h, text)
	seed := h.Sum64()
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	v := make([]float32, dim)
	for i := range v {
		v[i] = float32(rng.NormFloat64())
	}
	normalize(v)
	return v
}

// shortened is v cut to dims and brought back to unit length, as OpenAI's
// text-embedding-3 and Ollama do for `dimensions`.
func shortened(v []float32, dims int) []float32 {
	out := append([]float32(nil), v[:dims]...)
	normalize(out)
	return out
}

type personaInput []string

// UnmarshalJSON takes a string or an array of strings, as all three do.
func (in *personaInput) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		*in = personaInput{s}
		return nil
	}
	var ss []string
	if err := json.Unmarshal(b, &ss); err != nil {
		return err
	}
	*in = ss
	return nil
}

// personaAnswer is what the fake answers: an error (status, JSON or text
// body, headers) or vectors.
type personaAnswer struct {
	status  int
	message string
	body    any    // JSON body; nil with text
	text    string // plain-text body
	header  map[string]string
}

func (f *personaServer) serve(w http.ResponseWriter, r *http.Request) {
	route := r.URL.Path == "/v1/embeddings" || (f.kind == personaTEI && r.URL.Path == "/embeddings")
	if r.Method != http.MethodPost || !route {
		http.NotFound(w, r)
		return
	}
	rec := personaRequest{Time: time.Now(), Header: r.Header.Clone()}
	a, ok := f.answer(r, &rec)
	f.mu.Lock()
	rec.Status, rec.Error = a.status, a.message
	f.requests = append(f.requests, rec)
	f.mu.Unlock()
	if !ok {
		for k, v := range a.header {
			w.Header().Set(k, v)
		}
		switch {
		case a.body != nil:
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(a.status)
			json.NewEncoder(w).Encode(a.body)
		default:
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(a.status)
			io.WriteString(w, a.text)
		}
		return
	}
	f.respond(w, rec)
}

// answer checks the request as the real server would, in its order, and
// returns the refusal, or ok when the request is to be embedded.
func (f *personaServer) answer(r *http.Request, rec *personaRequest) (personaAnswer, bool) {
	f.mu.Lock()
	key := f.key
	f.mu.Unlock()
	// Authentication comes before the body is read.
	switch {
	case f.kind == personaOpenAI && r.Header.Get("Authorization") == "":
		return f.openAIError(http.StatusUnauthorized, "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (i.e. -u YOUR_KEY:). You can obtain an API key from https://platform.openai.com/account/api-keys.", "invalid_request_error", ""), false
	case f.kind == personaOpenAI && r.Header.Get("Authorization") != "Bearer "+key:
		got := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		return f.openAIError(http.StatusUnauthorized, fmt.Sprintf("Incorrect API key provided: %s. You can find your API key at https://platform.openai.com/account/api-keys.", redactKey(got)), "invalid_request_error", "invalid_api_key"), false
	case f.kind == personaTEI && key != "" && r.Header.Get("Authorization") != "Bearer "+key:
		// TEI's auth middleware answers a bare 401 (server.rs `run`).
		return personaAnswer{status: http.StatusUnauthorized}, false
	}
	body, err := io.ReadAll(r.Body)
	rec.BodyBytes = len(body)
	if err != nil {
		return personaAnswer{status: http.StatusBadRequest, text: err.Error(), message: err.Error()}, false
	}
	if f.opts.MaxBodyBytes > 0 && len(body) > f.opts.MaxBodyBytes {
		// axum's DefaultBodyLimit rejection, plain text (TEI issue #50).
		msg := "Failed to buffer the request body: length limit exceeded"
		return personaAnswer{status: http.StatusRequestEntityTooLarge, text: msg, message: msg}, false
	}
	var req struct {
		Input          *personaInput `json:"input"`
		Model          string        `json:"model"`
		Dimensions     *int          `json:"dimensions"`
		EncodingFormat string        `json:"encoding_format"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return f.badJSON(err), false
	}
	if req.Input != nil {
		rec.Inputs = *req.Input
	}
	rec.Model, rec.Dimensions, rec.EncodingFormat = req.Model, req.Dimensions, req.EncodingFormat
	if a, failed := f.injected(rec); failed {
		return a, false
	}
	if a, refused := f.validate(rec); refused {
		return a, false
	}
	return personaAnswer{status: http.StatusOK}, true
}

// redactKey shows a key as OpenAI's 401 does: the start and the end.
func redactKey(k string) string {
	if len(k) <= 8 {
		return strings.Repeat("*", len(k))
	}
	return k[:3] + strings.Repeat("*", len(k)-7) + k[len(k)-4:]
}

func (f *personaServer) badJSON(err error) personaAnswer {
	switch f.kind {
	case personaOpenAI:
		return f.openAIError(http.StatusBadRequest, "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON. If you have trouble figuring out how to fix this, please contact us through our help center at help.openai.com.)", "invalid_request_error", "")
	case personaOllama:
		return f.ollamaError(http.StatusBadRequest, err.Error())
	default:
		// axum's Json extractor: a body that is JSON but not of the
		// request's shape is 422, plain text.
		msg := "Failed to deserialize the JSON body into the target type: " + err.Error()
		return personaAnswer{status: http.StatusUnprocessableEntity, text: msg, message: msg}
	}
}

// injected returns the failure a test injected, if any is due.
func (f *personaServer) injected(rec *personaRequest) (personaAnswer, bool) {
	f.mu.Lock()
	k := f.down
	if k == 0 && len(f.queue) > 0 {
		k, f.queue = f.queue[0], f.queue[1:]
	}
	f.mu.Unlock()
	if k == 0 {
		return personaAnswer{}, false
	}
	switch f.kind {
	case personaOpenAI:
		switch k {
		case faultRateLimit:
			reset := f.opts.RateLimitReset
			a := f.openAIError(http.StatusTooManyRequests, fmt.Sprintf("Rate limit reached for %s in organization org-fake on tokens per min (TPM): Limit 1000000, Used 1000000, Requested %d. Please try again in %s. Visit https://platform.openai.com/account/rate-limits to learn more.", rec.Model, f.requestTokens(rec.Inputs), reset), "tokens", "rate_limit_exceeded")
			a.header = openAIRateHeaders(0, reset)
			a.header["Retry-After"] = strconv.Itoa(int(math.Ceil(reset.Seconds())))
			return a, true
		case faultQuota:
			// Public issue threads, e.g. chatanywhere/GPT_API_free#229.
			return f.openAIError(http.StatusTooManyRequests, "You exceeded your current quota, please check your plan and billing details. For more information on this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors.", "insufficient_quota", "insufficient_quota"), true
		case faultBusy, faultOutage:
			return f.openAIError(http.StatusServiceUnavailable, "The server is overloaded or not ready yet.", "server_error", ""), true
		default:
			return f.openAIError(http.StatusInternalServerError, "The server had an error while processing your request. Sorry about that!", "server_error", ""), true
		}
	case personaOllama:
		switch k {
		case faultRunner:
			// EmbedHandler answers any runner error not already a
			// StatusError with 400 (server/routes.go).
			return f.ollamaError(http.StatusBadRequest, `do embedding request: Post "http://127.0.0.1:41853/embedding": EOF`), true
		default:
			// handleScheduleError: ErrMaxQueue → 503.
			return f.ollamaError(http.StatusServiceUnavailable, "server busy, please try again.  maximum pending requests exceeded"), true
		}
	default:
		switch k {
		case faultRateLimit, faultBusy:
			return teiError(http.StatusTooManyRequests, "Model is overloaded", "Overloaded"), true
		default:
			return teiError(http.StatusFailedDependency, "Backend error: Inference failed: DriverError(CUDA_ERROR_ILLEGAL_ADDRESS)", "Backend"), true
		}
	}
}

// validate refuses what the real server refuses, in its order.
func (f *personaServer) validate(rec *personaRequest) (personaAnswer, bool) {
	in := rec.Inputs
	switch f.kind {
	case personaOpenAI:
		dim, ok := f.opts.Models[rec.Model]
		if !ok {
			return f.openAIError(http.StatusNotFound, fmt.Sprintf("The model `%s` does not exist or you do not have access to it.", rec.Model), "invalid_request_error", "model_not_found"), true
		}
		if rec.Dimensions != nil && !strings.HasPrefix(rec.Model, "text-embedding-3") {
			return f.openAIError(http.StatusBadRequest, "This model does not support specifying dimensions.", "invalid_request_error", ""), true
		}
		if rec.Dimensions != nil && (*rec.Dimensions < 1 || *rec.Dimensions > dim) {
			// Not verified against the real API: the message is a guess.
			return f.openAIError(http.StatusBadRequest, fmt.Sprintf("Invalid value for 'dimensions' = %d. Must be between 1 and %d.", *rec.Dimensions, dim), "invalid_request_error", ""), true
		}
		invalid := "'$.input' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference."
		if len(in) == 0 || len(in) > f.opts.MaxBatchInputs {
			return f.openAIError(http.StatusBadRequest, invalid, "invalid_request_error", ""), true
		}
		total := 0
		for _, s := range in {
			n := personaTokens(s)
			switch {
			case s == "" || f.isRefused(s):
				return f.openAIError(http.StatusBadRequest, invalid, "invalid_request_error", ""), true
			case n > f.opts.MaxInputTokens:
				// e.g. microsoft/PubSec-Info-Assistant#755, sbintuitions/JMTEB#15.
				return f.openAIError(http.StatusBadRequest, fmt.Sprintf("This model's maximum context length is %d tokens, however you requested %d tokens (%d in your prompt; 0 for the completion). Please reduce your prompt; or completion length.", f.opts.MaxInputTokens, n, n), "invalid_request_error", ""), true
			}
			total += n
		}
		if total > f.opts.MaxRequestTokens {
			// ridgesai/ridges-old#75.
			return f.openAIError(http.StatusBadRequest, fmt.Sprintf("Requested %d tokens, max %d tokens per request", total, f.opts.MaxRequestTokens), "max_tokens_per_request", "max_tokens_per_request"), true
		}
	case personaOllama:
		if len(in) == 0 {
			return f.ollamaError(http.StatusBadRequest, "invalid input"), true
		}
		if _, ok := f.opts.Models[ollamaName(rec.Model)]; !ok {
			return f.ollamaError(http.StatusNotFound, fmt.Sprintf("model %q not found, try pulling it first", rec.Model)), true
		}
		for _, s := range in {
			if f.isRefused(s) {
				return f.ollamaError(http.StatusBadRequest, "failed to process inputs: unable to tokenize input"), true
			}
		}
	case personaTEI:
		if len(in) == 0 {
			return teiError(http.StatusBadRequest, "`inputs` cannot be empty", "Empty"), true
		}
		if len(in) > f.opts.MaxBatchInputs {
			return teiError(http.StatusRequestEntityTooLarge, fmt.Sprintf("batch size %d > maximum allowed batch size %d", len(in), f.opts.MaxBatchInputs), "Validation"), true
		}
		for _, s := range in {
			chars, limit := len([]rune(s)), f.opts.MaxInputTokens*250 // MAX_CHAR_MULTIPLIER
			switch {
			case s == "":
				return teiError(http.StatusBadRequest, "Input validation error: `inputs` cannot be empty", "Empty"), true
			case f.isRefused(s):
				return teiError(http.StatusUnprocessableEntity, "tokenizer error Unk token `[UNK]` not found in the vocabulary", "Tokenizer"), true
			case chars > limit && !f.opts.AutoTruncate:
				return teiError(http.StatusRequestEntityTooLarge, fmt.Sprintf("Input validation error: `inputs` must have less than %d characters. Given: %d", limit, chars), "Validation"), true
			case f.teiTokens(s) > f.opts.MaxInputTokens && !f.opts.AutoTruncate:
				return teiError(http.StatusRequestEntityTooLarge, fmt.Sprintf("Input validation error: `inputs` must have less than %d tokens. Given: %d", f.opts.MaxInputTokens, f.teiTokens(s)), "Validation"), true
			}
		}
	}
	return personaAnswer{}, false
}

func (f *personaServer) isRefused(s string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.refused[s]
}

// teiTokens counts [CLS] and [SEP] too, as TEI's limit does.
func (f *personaServer) teiTokens(s string) int { return personaTokens(s) + 2 }

// ollamaName adds the default tag, as Ollama resolves names.
func ollamaName(m string) string {
	if !strings.Contains(m, ":") {
		return m + ":latest"
	}
	return m
}

func (f *personaServer) requestTokens(in []string) int {
	n := 0
	for _, s := range in {
		n += personaTokens(s)
	}
	return n
}

// effective is the text the model embeds for s: Ollama truncates to its
// context silently, TEI with --auto-truncate to its limit.
func (f *personaServer) effective(s string) (string, int) {
	switch {
	case f.kind == personaOllama:
		s = personaTruncate(s, f.opts.MaxInputTokens)
		return s, personaTokens(s)
	case f.kind == personaTEI:
		if f.opts.AutoTruncate {
			s = personaTruncate(s, f.opts.MaxInputTokens-2)
		}
		return s, f.teiTokens(s)
	}
	return s, personaTokens(s)
}

// vectorFor is the vector the fake answers for text (as received) with
// `dimensions` dims (0: none sent).
func (f *personaServer) vectorFor(model, text string, dims int) []float32 {
	native := f.nativeDim(model)
	e, _ := f.effective(text)
	v := personaVector(f.servedModel(model), e, native)
	switch f.kind {
	case personaOpenAI:
		if dims > 0 {
			v = shortened(v, dims)
		}
	case personaOllama:
		// EmbedHandler: `dimensions` applies only below the native size;
		// above it the full vector comes back, without an error.
		if dims > 0 && dims < native {
			v = shortened(v, dims)
		}
	}
	return v
}

// servedModel is the model that answers a request for model: TEI's one
// model whatever is asked, Ollama's name with its tag.
func (f *personaServer) servedModel(model string) string {
	switch f.kind {
	case personaOllama:
		return ollamaName(model)
	case personaTEI:
		for m := range f.opts.Models {
			return m
		}
	}
	return model
}

func (f *personaServer) nativeDim(model string) int {
	switch f.kind {
	case personaOllama:
		return f.opts.Models[ollamaName(model)]
	case personaTEI:
		for _, d := range f.opts.Models { // one model, whatever is asked
			return d
		}
	}
	return f.opts.Models[model]
}

func (f *personaServer) respond(w http.ResponseWriter, rec personaRequest) {
	dims := 0
	if rec.Dimensions != nil && (f.kind != personaTEI) {
		dims = *rec.Dimensions
	}
	type item struct {
		Object    string    `json:"object"`
		Embedding []float32 `json:"embedding"`
		Index     int       `json:"index"`
	}
	data := make([]item, len(rec.Inputs))
	tokens := 0
	served := make([]servedVector, len(rec.Inputs))
	for i, s := range rec.Inputs {
		v := f.vectorFor(rec.Model, s, dims)
		_, n := f.effective(s)
		tokens += n
		data[i] = item{Object: "embedding", Embedding: v, Index: i}
		served[i] = servedVector{text: s, vec: v}
	}
	f.mu.Lock()
	f.served = append(f.served, served...)
	f.mu.Unlock()
	model := rec.Model
	switch f.kind {
	case personaOpenAI:
		// The data come out of index order: a client must use `index`.
		rand.New(rand.NewPCG(uint64(len(data)), uint64(tokens))).Shuffle(len(data), func(i, j int) { data[i], data[j] = data[j], data[i] })
		for k, v := range openAIRateHeaders(tokens, 0) {
			w.Header().Set(k, v)
		}
	case personaTEI:
		for m := range f.opts.Models {
			model = m
		}
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"object": "list", "data": data, "model": model,
		"usage": map[string]int{"prompt_tokens": tokens, "total_tokens": tokens}})
}

// openAIRateHeaders are the x-ratelimit-* headers OpenAI sends with every
// answer; reset times are Go duration strings ("6m0s", "1s", "20ms"),
// which is the format OpenAI uses (go-openai ratelimit.go parses them with
// time.ParseDuration). reset 0 means a success, with budget left.
func openAIRateHeaders(used int, reset time.Duration) map[string]string {
	h := map[string]string{
		"x-ratelimit-limit-requests":     "3000",
		"x-ratelimit-limit-tokens":       "1000000",
		"x-ratelimit-remaining-requests": "2999",
		"x-ratelimit-remaining-tokens":   strconv.Itoa(max(0, 1_000_000-used)),
		"x-ratelimit-reset-requests":     "20ms",
		"x-ratelimit-reset-tokens":       time.Duration(used * int(time.Minute) / 1_000_000).Round(time.Millisecond).String(),
	}
	if reset > 0 {
		h["x-ratelimit-remaining-tokens"] = "0"
		h["x-ratelimit-reset-tokens"] = reset.String()
	}
	return h
}

// openAIError is OpenAI's envelope; code "" is null.
func (f *personaServer) openAIError(status int, msg, typ, code string) personaAnswer {
	var c any
	if code != "" {
		c = code
	}
	return personaAnswer{status: status, message: msg,
		body: map[string]any{"error": map[string]any{"message": msg, "type": typ, "param": nil, "code": c}}}
}

// ollamaError is Ollama's OpenAI-route envelope: openai.NewError, with the
// type taken from the status and param and code always null.
func (f *personaServer) ollamaError(status int, msg string) personaAnswer {
	typ := "api_error"
	switch status {
	case http.StatusBadRequest:
		typ = "invalid_request_error"
	case http.StatusNotFound:
		typ = "not_found_error"
	}
	return personaAnswer{status: status, message: msg,
		body: map[string]any{"error": map[string]any{"message": msg, "type": typ, "param": nil, "code": nil}}}
}

// teiError is TEI's OpenAICompatErrorResponse: flat, the status repeated
// as code, the ErrorType variant name as type.
func teiError(status int, msg, typ string) personaAnswer {
	return personaAnswer{status: status, message: msg,
		body: map[string]any{"message": msg, "code": status, "type": typ}}
}

func TestPersonaTokens(t *testing.T) {
	tests := []struct {
		text string
		want int
	}{
		{"", 0},
		{"the cat", 2},
		{"description", 2}, // 11 runes: 2 tokens
		{"twist ending, dystopia.", 6},
		{"千と千尋", 4},
		{"2021-03-04", 6},
		{"55,000,000", 5},
		{"Ep101", 2},
		{"Spirited Away (千と千尋の神隠し)", 13},
	}
	for _, tt := range tests {
		if got := personaTokens(tt.text); got != tt.want {
			t.Errorf("personaTokens(%q) = %d, want %d", tt.text, got, tt.want)
		}
		for limit := range tt.want + 1 {
			if got := personaTokens(personaTruncate(tt.text, limit)); got != limit {
				t.Errorf("personaTruncate(%q, %d) has %d tokens", tt.text, limit, got)
			}
		}
	}
}
