package embed

import (
	"cmp"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/sashabaranov/go-openai"

	"mediarec"
	"mediarec/internal/ratelimit"
)

// OpenAIConfig configures an embedder for an OpenAI-compatible endpoint.
// Zero values take the defaults given.
type OpenAIConfig struct {
	// BaseURL is the API root, as OpenAI clients take it: requests go to
	// BaseURL + "/embeddings". A URL without a path gets "/v1", so
	// "http://localhost:11434" (Ollama) works as is. Default: OpenAI. For
	// Azure OpenAI, the resource's endpoint (https://NAME.openai.azure.com).
	BaseURL string
	APIKey  string
	Model   string // required
	// Dimensions is sent as the `dimensions` parameter when > 0, for models
	// that can shorten their vectors; NewOpenAI checks that the endpoint
	// answers vectors of that length. At 0 the model's own size is used.
	Dimensions int
	// BatchSize is the most texts per request; default 96. An endpoint
	// that refuses a batch as too large (TEI takes 32) teaches the embedder
	// a smaller one.
	BatchSize int
	// MaxBatchTokens bounds the estimated tokens of one request; default
	// 250,000, under OpenAI's 300,000.
	MaxBatchTokens int
	// MaxInputTokens bounds the estimated tokens of one text; longer texts
	// are shortened (items by TextFor: the description first). Default
	// 8,191, OpenAI's limit; TEI's models often take 512.
	MaxInputTokens int
	// RequestsPerMinute and TokensPerMinute limit the client before the
	// server has to (0: no limit), in this process; Limiter shares them
	// between processes instead.
	RequestsPerMinute int
	TokensPerMinute   int
	// Limiter, when set, paces the requests of every process that shares
	// its store (see package ratelimit); it replaces the two limits above.
	Limiter *ratelimit.Window
	// Timeout bounds one request; default 60s.
	Timeout time.Duration
	// MaxAttempts bounds the tries of one batch through transient failures
	// (429, 5xx, network); default 5. Beyond them the endpoint counts as
	// down (an EndpointError).
	MaxAttempts int
	// BackoffBase is the wait after the first failure, doubled after each
	// further one up to BackoffMax (defaults 500ms and 30s), with jitter so
	// that many workers do not retry in step. A wait the server asks for
	// (Retry-After, x-ratelimit-reset-*) is kept however long.
	BackoffBase time.Duration
	BackoffMax  time.Duration
	// Headers are sent with every request, e.g. OpenAI-Project.
	Headers map[string]string
	// APIType is "" for OpenAI and compatible servers, or "azure" for Azure
	// OpenAI: the key goes in the api-key header, the model is a
	// Deployment, and APIVersion (default 2024-10-21) is sent.
	APIType    string
	APIVersion string
	Deployment string // Azure: default Model
	// HTTPClient is used for the requests; default a new http.Client.
	HTTPClient *http.Client
}

// Defaults of OpenAIConfig, and of what the embedder learns.
const (
	defaultBatchSize      = 96
	defaultMaxBatchTokens = 250_000
	defaultMaxInputTokens = 8191
	// maxBatchBytes bounds a request's texts: TEI refuses bodies above
	// 2 MB with a plain-text 413.
	maxBatchBytes   = 1_500_000
	azureAPIVersion = "2024-10-21"
	// probeText is embedded at start and to tell an endpoint's failure
	// from an item's: a text every model takes.
	probeText = "dimension probe"
	// fingerprintLen is how many values of the probe's vector identify
	// the model behind an endpoint (see Fingerprint).
	fingerprintLen = 32
)

// OpenAI embeds texts through an OpenAI-compatible /embeddings endpoint
// (OpenAI, Azure OpenAI, Ollama, vLLM, TEI, LM Studio…). It is safe for
// concurrent use; the rate limits are shared by all calls.
type OpenAI struct {
	cfg         OpenAIConfig
	client      *openai.Client
	endpoint    string // base URL without credentials, part of the model's identity
	dim         int
	fingerprint string
	limit       *ratelimit.Window // nil: unlimited

	// What the endpoint taught: smaller batches, a shorter input limit,
	// and how its token counts compare with the estimate.
	mu             sync.Mutex
	batchSize      int
	maxBatchTokens int
	maxInputTokens int
	tokenRatio     float64   // server tokens / estimated tokens, ≥ 1
	lastProbe      time.Time // of Fingerprint, while it has none

	// The clock is replaceable so that tests can check limits and backoff
	// without waiting.
	now    func() time.Time
	sleep  func(ctx context.Context, d time.Duration) error
	jitter func(d time.Duration) time.Duration
}

// NewOpenAI returns an embedder for the endpoint of cfg. It embeds one
// probe text, always: to learn or check the vector length (consumers
// create collections from Dimensions() before the first Embed), to take
// the fingerprint of the model behind the endpoint, and to fail at start
// rather than on every job when the key, the model or a setting is wrong.
// An endpoint that is only down (unreachable, 5xx, rate-limited, a
// billing stop) does not stop a start when cfg.Dimensions gives the
// length: the catalog and searches serve meanwhile, and the fingerprint is
// taken once the endpoint answers (see Fingerprint).
// Errors: EINVALID for a bad configuration, an EndpointError when the
// endpoint refuses or cannot be reached.
func NewOpenAI(cfg OpenAIConfig) (*OpenAI, error) {
	o, err := newOpenAI(cfg)
	if err != nil {
		return nil, err
	}
	if f, err := o.probe(context.Background()); err != nil {
		if o.dim > 0 && (f.kind == failTransient || f.status == http.StatusTooManyRequests) {
			return o, nil
		}
		return nil, fmt.Errorf("probe %s: %w", cfg.Model, err)
	}
	return o, nil
}

// newOpenAI builds the embedder without the probe.
func newOpenAI(cfg OpenAIConfig) (*OpenAI, error) {
	if cfg.Model == "" {
		return nil, mediarec.Errorf(mediarec.EINVALID, "The embedding model name is required.")
	}
	if cfg.Dimensions < 0 || cfg.BatchSize < 0 || cfg.MaxBatchTokens < 0 || cfg.MaxInputTokens < 0 || cfg.RequestsPerMinute < 0 || cfg.TokensPerMinute < 0 ||
		cfg.Timeout < 0 || cfg.MaxAttempts < 0 || cfg.BackoffBase < 0 || cfg.BackoffMax < 0 {
		return nil, mediarec.Errorf(mediarec.EINVALID, "Embedding endpoint settings must not be negative.")
	}
	cfg.BatchSize = cmpOr(cfg.BatchSize, defaultBatchSize)
	cfg.MaxBatchTokens = cmpOr(cfg.MaxBatchTokens, defaultMaxBatchTokens)
	cfg.MaxInputTokens = cmpOr(cfg.MaxInputTokens, defaultMaxInputTokens)
	cfg.Timeout = cmpOr(cfg.Timeout, 60*time.Second)
	cfg.MaxAttempts = cmpOr(cfg.MaxAttempts, 5)
	cfg.BackoffBase = cmpOr(cfg.BackoffBase, 500*time.Millisecond)
	cfg.BackoffMax = max(cmpOr(cfg.BackoffMax, 30*time.Second), cfg.BackoffBase)
	oc, endpoint, err := clientConfig(cfg)
	if err != nil {
		return nil, err
	}
	o := &OpenAI{cfg: cfg, client: openai.NewClientWithConfig(oc), endpoint: endpoint, dim: cfg.Dimensions,
		batchSize: cfg.BatchSize, maxBatchTokens: cfg.MaxBatchTokens, maxInputTokens: cfg.MaxInputTokens, tokenRatio: 1,
		now: time.Now, sleep: sleepCtx, jitter: func(d time.Duration) time.Duration { return rand.N(d + 1) }}
	o.limit = cfg.Limiter
	if o.limit == nil && (cfg.RequestsPerMinute > 0 || cfg.TokensPerMinute > 0) {
		o.limit, err = ratelimit.New(ratelimit.NewMemoryStore(), ratelimit.Config{
			Requests: cfg.RequestsPerMinute, Tokens: cfg.TokensPerMinute,
			// Through o, so that tests can swap the clock after NewOpenAI.
			Now:   func() time.Time { return o.now() },
			Sleep: func(ctx context.Context, d time.Duration) error { return o.sleep(ctx, d) },
		})
		if err != nil {
			return nil, mediarec.Errorf(mediarec.EINVALID, "Embedding rate limits: %v", err)
		}
	}
	if cfg.TokensPerMinute > 0 {
		// A request must fit in the part of a minute's budget bulk work
		// may use, or it would wait for an empty window every time.
		o.maxBatchTokens = max(1, min(o.maxBatchTokens, cfg.TokensPerMinute*9/10))
	}
	return o, nil
}

// clientConfig is go-openai's configuration for cfg, and the endpoint's
// address as the model's identity records it.
func clientConfig(cfg OpenAIConfig) (openai.ClientConfig, string, error) {
	var oc openai.ClientConfig
	switch cfg.APIType {
	case "", "openai":
		base, err := baseURL(cfg.BaseURL)
		if err != nil {
			return oc, "", err
		}
		oc = openai.DefaultConfig(cfg.APIKey)
		oc.BaseURL = base
	case "azure":
		u, err := url.Parse(cfg.BaseURL)
		if err != nil || u.Scheme != "https" || u.Host == "" {
			return oc, "", mediarec.Errorf(mediarec.EINVALID, "The Azure OpenAI endpoint %q is not an https URL.", cfg.BaseURL)
		}
		oc = openai.DefaultAzureConfig(cfg.APIKey, cfg.BaseURL)
		oc.APIVersion = cmp.Or(cfg.APIVersion, azureAPIVersion)
		deployment := cmp.Or(cfg.Deployment, cfg.Model)
		oc.AzureModelMapperFunc = func(string) string { return deployment }
	default:
		return oc, "", mediarec.Errorf(mediarec.EINVALID, "Embedding API type %q: want openai or azure.", cfg.APIType)
	}
	client := cfg.HTTPClient
	if client == nil {
		client = &http.Client{}
	}
	if len(cfg.Headers) > 0 {
		c := *client
		c.Transport = headerTransport{base: cmp.Or[http.RoundTripper](c.Transport, http.DefaultTransport), headers: cfg.Headers}
		client = &c
	}
	oc.HTTPClient = client
	u, _ := url.Parse(oc.BaseURL)
	u.User = nil
	return oc, strings.TrimRight(u.String(), "/"), nil
}

// headerTransport adds the configured headers to every request.
type headerTransport struct {
	base    http.RoundTripper
	headers map[string]string
}

func (t headerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	for k, v := range t.headers {
		r.Header.Set(k, v)
	}
	return t.base.RoundTrip(r)
}

func cmpOr[T int | time.Duration](v, def T) T {
	if v == 0 {
		return def
	}
	return v
}

func baseURL(raw string) (string, error) {
	if raw == "" {
		return "https://api.openai.com/v1", nil
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", mediarec.Errorf(mediarec.EINVALID, "The embedding endpoint %q is not an http(s) URL.", raw)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	if u.Path == "" {
		u.Path = "/v1"
	}
	return u.String(), nil
}

// Model returns the configured model name. A model's vectors are
// identified by it together with Endpoint, Dimensions and Fingerprint.
func (o *OpenAI) Model() string { return o.cfg.Model }

// Sibling returns an embedder for another model at the same endpoint,
// with the same settings, probed: the model's own length when that is
// dims (a model that cannot shorten its vectors refuses `dimensions`),
// else dims asked for.
func (o *OpenAI) Sibling(model string, dims int) (Embedder, error) {
	cfg := o.cfg
	// Azure names a deployment per model; another model is reached by its
	// own name there.
	cfg.Model, cfg.Dimensions, cfg.Deployment = model, 0, ""
	e, err := NewOpenAI(cfg)
	if err == nil && e.Dimensions() == dims {
		return e, nil
	}
	cfg.Dimensions = dims
	return NewOpenAI(cfg)
}

// Dimensions returns the vector length, as the probe found it.
func (o *OpenAI) Dimensions() int { return o.dim }

// Endpoint is the base URL the vectors come from (without credentials).
func (o *OpenAI) Endpoint() string { return o.endpoint }

// Fingerprint is the start of the probe text's vector (see fingerprint):
// the same model answers it again, another model (swapped behind one
// name, as TEI ignores the name it is sent) answers another. An embedder
// that started while its endpoint was down probes again here, at most
// every reprobeEvery; until one succeeds it has none ("").
func (o *OpenAI) Fingerprint() string {
	o.mu.Lock()
	fp, last := o.fingerprint, o.lastProbe
	if fp == "" && o.now().Sub(last) >= reprobeEvery {
		o.lastProbe = o.now()
	} else {
		o.mu.Unlock()
		return fp
	}
	o.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), reprobeEvery)
	defer cancel()
	o.probe(ctx) //nolint:errcheck // the empty fingerprint says it
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.fingerprint
}

// reprobeEvery spaces the probes of an embedder without a fingerprint.
const reprobeEvery = 10 * time.Second

// fingerprint encodes the first fingerprintLen values of v, scaled to
// bytes, in hex: a short string that keeps a Generation comparable, and
// near enough to the vector for similarity to tell models apart.
func fingerprint(v []float32) string {
	v = v[:min(len(v), fingerprintLen)]
	var top float32
	for _, x := range v {
		top = max(top, float32(math.Abs(float64(x))))
	}
	b := make([]byte, len(v))
	for i, x := range v {
		if top > 0 {
			b[i] = byte(int8(math.Round(float64(x / top * 127))))
		}
	}
	return hex.EncodeToString(b)
}

// fingerprintVector decodes a fingerprint; nil for a malformed one.
func fingerprintVector(s string) []float32 {
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil
	}
	v := make([]float32, len(b))
	for i, x := range b {
		v[i] = float32(int8(x))
	}
	return v
}

// probe embeds probeText and checks the answer's length against the
// configured one; the first probe sets the dimension and the fingerprint.
func (o *OpenAI) probe(ctx context.Context) (failure, error) {
	vecs, f, err := o.send(AsQuery(ctx), []string{probeText})
	switch {
	case err == nil:
	case IsEndpointDown(err) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		return f, err
	case f.kind == failMalformed:
		// A wrong EMBEDDING_DIMENSIONS shows here: vectors of another length.
		return f, endpointDown("answers the probe text unusably: %v", err)
	default:
		return f, endpointDown("refuses the probe text %q: %s", probeText, f.text)
	}
	v := vecs[0]
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.fingerprint == "" {
		if o.dim == 0 {
			// Only NewOpenAI gets here, before o is shared: a length
			// learnt later would change under the collections.
			o.dim = len(v)
		}
		o.fingerprint = fingerprint(v)
	}
	return failure{}, nil
}

// Embed returns one unit vector per text. It packs texts into requests of
// at most BatchSize texts, MaxBatchTokens estimated tokens and maxBatchBytes,
// and shortens any text over MaxInputTokens. Errors: EINVALID for a text
// the endpoint refuses while it embeds others (only a one-text call can
// tell which), an EndpointError when the endpoint as a whole refuses or
// stays unavailable; an answer that does not fit the request is an
// internal error naming the problem.
func (o *OpenAI) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	for i, t := range texts {
		if strings.TrimSpace(t) == "" {
			return nil, mediarec.Errorf(mediarec.EINVALID, "Text %d is empty; there is nothing to embed.", i)
		}
	}
	texts = slices.Clone(texts) // batchLen shortens them
	out := make([][]float32, 0, len(texts))
	for start := 0; start < len(texts); {
		n := o.batchLen(texts[start:])
		vecs, err := o.embedBatch(ctx, texts[start:start+n], false)
		if err != nil {
			return nil, fmt.Errorf("embed texts %d to %d of %d: %w", start, start+n-1, len(texts), err)
		}
		out = append(out, vecs...)
		start += n
	}
	return out, nil
}

// batchLen is how many of texts the next request takes, at least one,
// and shortens those over the input limit. Texts are shortened batch by
// batch, so that what one batch's refusals taught (a shorter limit, the
// server counting more tokens than estimated) holds for the next.
func (o *OpenAI) batchLen(texts []string) int {
	o.mu.Lock()
	size, budget := o.batchSize, o.maxBatchTokens
	o.mu.Unlock()
	limit := o.inputLimit()
	tokens, bytes := 0, 0
	for i := range texts {
		texts[i] = o.shorten(texts[i], limit)
		t := texts[i]
		tokens += o.estimate(t)
		bytes += len(t)
		if i > 0 && (i == size || tokens > budget || bytes > maxBatchBytes) {
			return i
		}
	}
	return len(texts)
}

// embedBatch embeds one request's texts, splitting it when the endpoint
// refuses it as too large, or refuses an input in it (halves, down to the
// one text at fault). probed says the endpoint answered a probe during
// this call, so a refusal is the input's.
func (o *OpenAI) embedBatch(ctx context.Context, batch []string, probed bool) ([][]float32, error) {
	vecs, f, err := o.send(ctx, batch)
	if err == nil {
		return vecs, nil
	}
	switch f.kind {
	case failTooLarge:
		if len(batch) == 1 {
			return o.embedShortened(ctx, batch[0], f)
		}
		if o.learnInput(batch, f) {
			// The limit it names, met by every text of the batch.
			limit := o.inputLimit()
			shorter := make([]string, len(batch))
			for i, t := range batch {
				shorter[i] = o.shorten(t, limit)
			}
			if !slices.Equal(shorter, batch) {
				return o.embedBatch(ctx, shorter, probed)
			}
		} else {
			o.learnBatch(len(batch), f)
		}
	case failInput:
		if !probed {
			if _, perr := o.probe(ctx); perr != nil {
				if IsEndpointDown(perr) {
					return nil, perr
				}
				return nil, endpointDown("refuses even a probe text: %s", f.text)
			}
			probed = true
		}
		if len(batch) == 1 {
			return nil, mediarec.Errorf(mediarec.EINVALID, "The embedding endpoint refused this text: %s.", f.text)
		}
	default:
		return nil, err
	}
	half := len(batch) / 2
	first, err := o.embedBatch(ctx, batch[:half], probed)
	if err != nil {
		return nil, err
	}
	second, err := o.embedBatch(ctx, batch[half:], probed)
	if err != nil {
		return nil, err
	}
	return append(first, second...), nil
}

// embedShortened embeds one text the endpoint found too long, shortened to
// the limit its answer names (or by a quarter) and tried again.
func (o *OpenAI) embedShortened(ctx context.Context, text string, f failure) ([][]float32, error) {
	for range 3 {
		limit := o.estimate(text) * 3 / 4
		if o.learnInput([]string{text}, f) {
			limit = min(limit, o.inputLimit())
		}
		shorter := o.shorten(text, limit)
		if shorter == text {
			break
		}
		text = shorter
		vecs, next, err := o.send(ctx, []string{text})
		if err == nil {
			return vecs, nil
		}
		if next.kind != failTooLarge {
			return nil, err
		}
		f = next
	}
	return nil, mediarec.Errorf(mediarec.EINVALID, "The embedding endpoint finds this text too long even shortened: %s.", f.text)
}

// learnInput learns from a refusal that names the per-text limit and the
// count of the text over it: the limit, and how the server's count
// compares with the estimate. The count is taken as the longest text's of
// batch, the likeliest to be the one over. It reports whether the refusal
// named them.
func (o *OpenAI) learnInput(batch []string, f failure) bool {
	lim, given := f.tokenLimit()
	if lim <= 0 {
		return false
	}
	longest := 0
	for _, t := range batch {
		longest = max(longest, o.estimate(t))
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.maxInputTokens = min(o.maxInputTokens, lim)
	if r := float64(given) / float64(max1(longest)) * o.tokenRatio; r > o.tokenRatio {
		o.tokenRatio = min(r, 4)
	}
	return true
}

// batchLimitRE reads the largest batch a refusal names: TEI's "batch size
// 33 > maximum allowed batch size 32".
var batchLimitRE = regexp.MustCompile(`maximum allowed batch size (\d+)`)

// learnBatch lowers the batch limit the refusal of a batch of n texts
// points at, so that later batches are not refused in turn.
func (o *OpenAI) learnBatch(n int, f failure) {
	o.mu.Lock()
	defer o.mu.Unlock()
	msg := strings.ToLower(f.text)
	switch {
	case batchLimitRE.MatchString(f.text):
		named, _ := strconv.Atoi(batchLimitRE.FindStringSubmatch(f.text)[1])
		o.batchSize = max(1, min(o.batchSize, named))
	case strings.Contains(msg, "batch") || strings.Contains(msg, "inputs") || strings.Contains(msg, "array"):
		o.batchSize = max(1, min(o.batchSize, n/2))
	case strings.Contains(msg, "token"):
		o.maxBatchTokens = max(1, o.maxBatchTokens/2)
	}
}

// inputLimit is the estimated tokens a text may have.
func (o *OpenAI) inputLimit() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	// A tenth of margin: the estimate is not the server's tokenizer.
	return o.maxInputTokens * 9 / 10
}

// MaxInputTokens and EstimateTokens let TextFor shorten an item's text
// the way this endpoint needs.
func (o *OpenAI) MaxInputTokens() int { return o.inputLimit() }

// EstimateTokens guesses the tokens the endpoint will count in s: a
// quarter of its ASCII bytes, as OpenAI's tokenisers give for English, and
// one per other character (a CJK character is one token or more), scaled
// by what the server's own counts taught.
func (o *OpenAI) EstimateTokens(s string) int { return o.estimate(s) }

func (o *OpenAI) estimate(s string) int {
	ascii, other := 0, 0
	for _, r := range s {
		if r < utf8.RuneSelf {
			ascii++
		} else {
			other++
		}
	}
	o.mu.Lock()
	ratio := o.tokenRatio
	o.mu.Unlock()
	return int(math.Ceil(float64((ascii+3)/4+other) * ratio))
}

// shorten cuts s at a word break to at most limit estimated tokens.
func (o *OpenAI) shorten(s string, limit int) string {
	if o.estimate(s) <= limit {
		return s
	}
	lo, hi := 0, len(s) // the longest prefix that fits, by bisection
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if o.estimate(s[:mid]) <= limit {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	cut := s[:lo]
	for !utf8.ValidString(cut) {
		cut = cut[:len(cut)-1]
	}
	if i := strings.LastIndexAny(cut, " \n\t"); i > len(cut)/2 {
		cut = cut[:i]
	}
	return cut
}

func max1(n int) int { return max(n, 1) }

// send makes one request, retrying transient failures, and returns its
// vectors, or how it failed.
func (o *OpenAI) send(ctx context.Context, batch []string) ([][]float32, failure, error) {
	tokens := 0
	for _, t := range batch {
		tokens += o.estimate(t)
	}
	var last failure
	for attempt := 1; ; attempt++ {
		var ticket *ratelimit.Ticket
		if o.limit != nil {
			var err error
			if ticket, err = o.limit.Wait(ctx, tokens, isQuery(ctx)); err != nil {
				return nil, last, err
			}
		}
		res, err := o.request(ctx, batch)
		if err == nil {
			o.settle(ctx, ticket, tokens, res)
			vecs, err := o.validate(res.Data, len(batch))
			return vecs, failure{}, err
		}
		if ctx.Err() != nil {
			return nil, last, ctx.Err()
		}
		last = readFailure(err, res.Header(), o.now())
		switch {
		case last.kind == failMalformed:
			return nil, last, fmt.Errorf("malformed answer from %s: %w", o.cfg.Model, err)
		case last.kind == failEndpoint:
			return nil, last, endpointDown("refuses the request: %s", last.text)
		case last.kind != failTransient:
			return nil, last, mediarec.Errorf(mediarec.EINVALID, "The embedding endpoint refused the request: %s.", last.text)
		case attempt == o.cfg.MaxAttempts:
			return nil, last, endpointDown("is unavailable after %d attempts: %s", attempt, last.text)
		}
		wait := last.wait
		if wait > 0 && o.limit != nil {
			// Every process sharing the limiter waits too, queries included.
			if err := o.limit.Hold(ctx, o.now().Add(wait)); err != nil {
				return nil, last, err
			}
		}
		if wait <= 0 {
			wait = o.backoff(attempt)
		}
		if err := o.sleep(ctx, wait); err != nil {
			return nil, last, err
		}
	}
}

// settle tells the limiter what the server counted, learns how the
// estimate compares, and holds every process when the server's
// x-ratelimit headers say a budget is spent.
func (o *OpenAI) settle(ctx context.Context, ticket *ratelimit.Ticket, estimated int, res openai.EmbeddingResponse) {
	if used := res.Usage.PromptTokens; used > 0 {
		o.mu.Lock()
		// Only ever up: an estimate above the count wastes a little
		// budget, one below it overshoots the server's limit.
		if r := float64(used) / float64(max1(estimated)) * o.tokenRatio; r > o.tokenRatio {
			o.tokenRatio = min(r, 4)
		}
		o.mu.Unlock()
		if ticket != nil {
			ticket.Settle(ctx, used) //nolint:errcheck // a lost correction only costs accuracy
		}
	}
	if o.limit == nil {
		return
	}
	h := res.Header()
	for _, kind := range []string{"requests", "tokens"} {
		if h.Get("X-Ratelimit-Remaining-"+kind) != "0" {
			continue
		}
		if d, err := time.ParseDuration(h.Get("X-Ratelimit-Reset-" + kind)); err == nil && d > 0 {
			o.limit.Hold(ctx, o.now().Add(d)) //nolint:errcheck // the next request's 429 says it again
		}
	}
}

// endpointDown is an EndpointError with the message "The embedding
// endpoint " + what.
func endpointDown(format string, args ...any) error {
	return &EndpointError{Err: errorf(mediarec.EUNAVAILABLE, "The embedding endpoint "+format, args...)}
}

// backoff is the wait after the given failed attempt: exponential, with
// "equal jitter" (half fixed, half random) so that it never collapses to 0.
func (o *OpenAI) backoff(attempt int) time.Duration {
	d := o.cfg.BackoffBase
	for i := 1; i < attempt && d < o.cfg.BackoffMax; i++ {
		d *= 2
	}
	d = min(d, o.cfg.BackoffMax)
	return d/2 + o.jitter(d/2)
}

func errorf(code, format string, args ...any) error {
	return &mediarec.Error{Code: code, Message: fmt.Sprintf(format, args...) + "."}
}

// request sends one batch.
func (o *OpenAI) request(ctx context.Context, batch []string) (openai.EmbeddingResponse, error) {
	ctx, cancel := context.WithTimeout(ctx, o.cfg.Timeout)
	defer cancel()
	return o.client.CreateEmbeddings(ctx, openai.EmbeddingRequestStrings{
		Input:          batch,
		Model:          openai.EmbeddingModel(o.cfg.Model),
		Dimensions:     o.cfg.Dimensions,
		EncodingFormat: openai.EmbeddingEncodingFormatFloat,
	})
}

// validate checks that the answer has one finite, non-zero vector of the
// expected size for each input, and returns them normalised, in input order.
func (o *OpenAI) validate(data []openai.Embedding, n int) ([][]float32, error) {
	if len(data) != n {
		return nil, fmt.Errorf("%d vectors for %d texts", len(data), n)
	}
	out := make([][]float32, n)
	for _, e := range data {
		switch {
		case e.Index < 0 || e.Index >= n:
			return nil, fmt.Errorf("vector index %d out of range 0 to %d", e.Index, n-1)
		case out[e.Index] != nil:
			return nil, fmt.Errorf("vector index %d given twice (an index may be missing)", e.Index)
		case len(e.Embedding) == 0:
			return nil, fmt.Errorf("vector %d is empty", e.Index)
		}
		out[e.Index] = e.Embedding
	}
	dim := o.dim
	if dim == 0 { // the first probe: its answer sets the size
		dim = len(out[0])
	}
	for i, v := range out {
		if len(v) != dim {
			return nil, fmt.Errorf("vector %d has %d dimensions, want %d", i, len(v), dim)
		}
		for _, x := range v {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				return nil, fmt.Errorf("vector %d holds %v", i, x)
			}
		}
		if !normalize(v) {
			return nil, fmt.Errorf("vector %d is all zeros", i)
		}
	}
	return out, nil
}

// Kinds of failed requests.
const (
	failMalformed = iota // a 2xx that does not decode or validate
	failTransient        // 429 rate limit, 5xx, 408, TEI's 424, network: try again
	failEndpoint         // key, permission, model, route, billing: nothing to retry
	failTooLarge         // the batch, or its one text, is over a limit
	failInput            // refused as invalid: an input's fault or a setting's
)

// failure is what a failed request says.
type failure struct {
	kind   int
	status int
	text   string        // the server's message, or the error
	wait   time.Duration // what the server asked to wait, 0 if nothing
}

// readFailure reads a failed request: its status and message, whatever the
// server's error shape (OpenAI's envelope, {"error": "text"}, TEI's
// {"message", "code", "type"}, plain text), and classifies it.
func readFailure(err error, h http.Header, now time.Time) failure {
	f := failure{text: err.Error()}
	var code, typ string
	var reqErr *openai.RequestError
	var apiErr *openai.APIError
	// The request error first: a body whose "error" is a string reaches
	// go-openai as an empty APIError inside it.
	if errors.As(err, &reqErr) && reqErr.HTTPStatusCode > 0 {
		f.status = reqErr.HTTPStatusCode
		f.text, code, typ = bodyMessage(reqErr.Body)
		f.text = fmt.Sprintf("HTTP %d %s", f.status, f.text)
	} else if errors.As(err, &apiErr) && apiErr.HTTPStatusCode > 0 {
		f.status = apiErr.HTTPStatusCode
		f.text = fmt.Sprintf("HTTP %d: %s", f.status, apiErr.Message)
		code, typ = fmt.Sprint(cmp.Or[any](apiErr.Code, "")), apiErr.Type
	}
	f.wait = serverWait(h, now)
	msg := strings.ToLower(f.text)
	var netErr net.Error
	var urlErr *url.Error
	switch s := f.status; {
	case s == 0 && (errors.As(err, &urlErr) || errors.As(err, &netErr) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, io.ErrUnexpectedEOF)):
		f.kind = failTransient // unreachable, reset, timed out, cut short
	case s == 0:
		f.kind = failMalformed
	case s == http.StatusTooManyRequests && (code == "insufficient_quota" || typ == "insufficient_quota" || strings.Contains(msg, "quota")):
		f.kind = failEndpoint // billing: retrying never helps
	case s == http.StatusTooManyRequests || s == http.StatusRequestTimeout || s == http.StatusFailedDependency || s >= 500:
		f.kind = failTransient
	case s == http.StatusRequestEntityTooLarge || tooLarge(msg):
		f.kind = failTooLarge
	case s == http.StatusBadRequest || s == http.StatusUnprocessableEntity:
		f.kind = failInput
	default: // 401, 403, 404, 405…: key, permission, model or route
		f.kind = failEndpoint
	}
	return f
}

// tooLarge matches refusals of a request's size: too many inputs, too many
// tokens in all or in one.
func tooLarge(msg string) bool {
	for _, s := range []string{"batch size", "maximum context length", "too many inputs", "per request", "must have less than", "too long", "length limit exceeded", "maximum allowed batch"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// tokenLimitRE reads a limit and a count from the messages of refused
// lengths: OpenAI's "maximum context length is 8192 tokens, however you
// requested 9000 tokens", TEI's "must have less than 512 tokens. Given: 600".
var tokenLimitRE = regexp.MustCompile(`(?:maximum context length is|less than) (\d+) tokens.*?(?:requested|Given:) (\d+)`)

// tokenLimit is the limit and the count a too-long refusal names, or 0s.
func (f failure) tokenLimit() (limit, given int) {
	m := tokenLimitRE.FindStringSubmatch(f.text)
	if m == nil {
		return 0, 0
	}
	limit, _ = strconv.Atoi(m[1])
	given, _ = strconv.Atoi(m[2])
	return limit, given
}

// bodyMessage reads an error body: the message, code and type of the
// shapes servers use, or the start of a body that is not JSON.
func bodyMessage(body []byte) (msg, code, typ string) {
	var v struct {
		Error     json.RawMessage `json:"error"`
		Message   string          `json:"message"`
		Detail    any             `json:"detail"`
		Code      any             `json:"code"`
		Type      string          `json:"type"`
		ErrorType string          `json:"error_type"`
	}
	if json.Unmarshal(body, &v) == nil {
		var inner struct {
			Message string `json:"message"`
			Code    any    `json:"code"`
			Type    string `json:"type"`
		}
		var text string
		switch {
		case json.Unmarshal(v.Error, &text) == nil:
			return text, "", v.ErrorType
		case json.Unmarshal(v.Error, &inner) == nil && inner.Message != "":
			return inner.Message, fmt.Sprint(cmp.Or[any](inner.Code, "")), inner.Type
		case v.Message != "":
			return v.Message, fmt.Sprint(cmp.Or[any](v.Code, "")), cmp.Or(v.Type, v.ErrorType)
		case v.Detail != nil:
			return fmt.Sprint(v.Detail), "", ""
		}
	}
	text := []rune(strings.Join(strings.Fields(string(body)), " "))
	if len(text) > 200 {
		text = append(text[:200], '…')
	}
	return string(text), "", ""
}

// serverWait reads the wait a server asks for: OpenAI's retry-after-ms, the
// standard Retry-After in seconds or as an HTTP date, or, with a budget
// spent, the x-ratelimit reset of that budget.
func serverWait(h http.Header, now time.Time) time.Duration {
	if d := parseWait(h.Get("Retry-After-Ms"), time.Millisecond); d > 0 {
		return d
	}
	v := h.Get("Retry-After")
	if d := parseWait(v, time.Second); d > 0 {
		return d
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	var wait time.Duration
	for _, kind := range []string{"requests", "tokens"} {
		if h.Get("X-Ratelimit-Remaining-"+kind) == "0" {
			if d, err := time.ParseDuration(h.Get("X-Ratelimit-Reset-" + kind)); err == nil {
				wait = max(wait, d)
			}
		}
	}
	return wait
}

// parseWait reads a positive number of units, capped at a day so that a
// hostile header cannot overflow a Duration.
func parseWait(v string, unit time.Duration) time.Duration {
	x, err := strconv.ParseFloat(v, 64)
	if err != nil || !(x > 0) {
		return 0
	}
	return time.Duration(min(x*float64(unit), float64(24*time.Hour)))
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
