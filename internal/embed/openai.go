package embed

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/sashabaranov/go-openai"
	"golang.org/x/time/rate"

	"mediarec"
)

// OpenAIConfig configures an embedder for an OpenAI-compatible endpoint.
// Zero values take the defaults given.
type OpenAIConfig struct {
	// BaseURL is the API root, as OpenAI clients take it: requests go to
	// BaseURL + "/embeddings". A URL without a path gets "/v1", so
	// "http://localhost:11434" (Ollama) works as is. Default: OpenAI.
	BaseURL string
	APIKey  string
	Model   string // required
	// Dimensions is sent as the `dimensions` parameter when > 0, for models
	// that can shorten their vectors. At 0 the model's own size is used,
	// learnt by NewOpenAI from one probe request.
	Dimensions int
	// BatchSize is the number of texts per request; default 96.
	BatchSize int
	// RequestsPerMinute and TokensPerMinute limit the client before the
	// server has to (0: no limit). Tokens are estimated as len(text)/4,
	// about right for English under OpenAI's tokenisers.
	RequestsPerMinute int
	TokensPerMinute   int
	// Timeout bounds one request; default 60s.
	Timeout time.Duration
	// MaxAttempts bounds the tries of one batch; default 5.
	MaxAttempts int
	// BackoffBase is the wait after the first failure, doubled after each
	// further one up to BackoffMax (defaults 500ms and 30s), with jitter so
	// that many workers do not retry in step. A Retry-After longer than
	// BackoffMax ends the attempts: the caller retries later instead of
	// holding a worker.
	BackoffBase time.Duration
	BackoffMax  time.Duration
	// HTTPClient is used for the requests; default a new http.Client.
	HTTPClient *http.Client
}

// OpenAI embeds texts through an OpenAI-compatible /embeddings endpoint
// (OpenAI, Ollama, vLLM, TEI, LM Studio…). It is safe for concurrent use;
// the rate limits are shared by all calls.
type OpenAI struct {
	cfg    OpenAIConfig
	client *openai.Client
	dim    int
	reqs   *rate.Limiter // nil: unlimited
	toks   *rate.Limiter

	// The clock is replaceable so that tests can check limits and backoff
	// without waiting.
	now    func() time.Time
	sleep  func(ctx context.Context, d time.Duration) error
	jitter func(d time.Duration) time.Duration
}

// NewOpenAI returns an embedder for the endpoint of cfg. When
// cfg.Dimensions is 0 it embeds one probe text to learn the dimension,
// because consumers create vector collections from Dimensions() before the
// first Embed. Errors: EINVALID for a bad configuration or a rejected probe,
// EUNAVAILABLE when the endpoint cannot be reached.
func NewOpenAI(cfg OpenAIConfig) (*OpenAI, error) {
	if cfg.Model == "" {
		return nil, mediarec.Errorf(mediarec.EINVALID, "The embedding model name is required.")
	}
	if cfg.Dimensions < 0 || cfg.BatchSize < 0 || cfg.RequestsPerMinute < 0 || cfg.TokensPerMinute < 0 ||
		cfg.Timeout < 0 || cfg.MaxAttempts < 0 || cfg.BackoffBase < 0 || cfg.BackoffMax < 0 {
		return nil, mediarec.Errorf(mediarec.EINVALID, "Embedding endpoint settings must not be negative.")
	}
	cfg.BatchSize = cmpOr(cfg.BatchSize, 96)
	cfg.Timeout = cmpOr(cfg.Timeout, 60*time.Second)
	cfg.MaxAttempts = cmpOr(cfg.MaxAttempts, 5)
	cfg.BackoffBase = cmpOr(cfg.BackoffBase, 500*time.Millisecond)
	cfg.BackoffMax = max(cmpOr(cfg.BackoffMax, 30*time.Second), cfg.BackoffBase)
	base, err := baseURL(cfg.BaseURL)
	if err != nil {
		return nil, err
	}
	oc := openai.DefaultConfig(cfg.APIKey)
	oc.BaseURL = base
	if cfg.HTTPClient != nil {
		oc.HTTPClient = cfg.HTTPClient
	}
	o := &OpenAI{cfg: cfg, client: openai.NewClientWithConfig(oc), dim: cfg.Dimensions,
		now: time.Now, sleep: sleepCtx, jitter: func(d time.Duration) time.Duration { return rand.N(d + 1) }}
	if cfg.RequestsPerMinute > 0 {
		// A burst of one paces requests evenly through the minute.
		o.reqs = rate.NewLimiter(rate.Limit(float64(cfg.RequestsPerMinute)/60), 1)
	}
	if cfg.TokensPerMinute > 0 {
		// Requests vary in size, so tokens can only be budgeted by the
		// minute, as the server does.
		o.toks = rate.NewLimiter(rate.Limit(float64(cfg.TokensPerMinute)/60), cfg.TokensPerMinute)
	}
	if o.dim == 0 {
		if _, err := o.Embed(context.Background(), []string{"dimension probe"}); err != nil {
			return nil, fmt.Errorf("probe the dimension of %s: %w", cfg.Model, err)
		}
	}
	return o, nil
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

// Model returns the configured model name. With Dimensions set, vectors of
// the same model at another size are another space: compare both.
func (o *OpenAI) Model() string { return o.cfg.Model }

// Dimensions returns the vector length: the configured one, or the one the
// probe found.
func (o *OpenAI) Dimensions() int { return o.dim }

// Embed returns one unit vector per text, sending BatchSize texts per
// request. Errors: EINVALID when the endpoint rejects the input (HTTP 400,
// 413, 422), EUNAVAILABLE when it cannot be reached, keeps failing (429,
// 5xx) or refuses the credentials or model (401, 403, 404); an answer that
// does not fit the request is an internal error naming the problem.
func (o *OpenAI) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, 0, len(texts))
	for start := 0; start < len(texts); start += o.cfg.BatchSize {
		batch := texts[start:min(start+o.cfg.BatchSize, len(texts))]
		vecs, err := o.embedBatch(ctx, batch)
		if err != nil {
			return nil, fmt.Errorf("embed texts %d to %d of %d: %w", start, start+len(batch)-1, len(texts), err)
		}
		out = append(out, vecs...)
	}
	return out, nil
}

func (o *OpenAI) embedBatch(ctx context.Context, batch []string) ([][]float32, error) {
	tokens := 0
	for _, t := range batch {
		tokens += (len(t) + 3) / 4
	}
	for attempt := 1; ; attempt++ {
		if err := o.throttle(ctx, tokens); err != nil {
			return nil, err
		}
		vecs, retryAfter, err := o.request(ctx, batch)
		if err == nil {
			return vecs, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		retry, code := classify(err)
		switch {
		case !retry:
			if code == "" {
				return nil, fmt.Errorf("malformed answer from %s: %w", o.cfg.Model, err)
			}
			return nil, errorf(code, "The embedding endpoint refused the request: %s", errorText(err))
		case attempt == o.cfg.MaxAttempts:
			return nil, errorf(mediarec.EUNAVAILABLE, "The embedding endpoint is unavailable after %d attempts: %s", attempt, errorText(err))
		case retryAfter > o.cfg.BackoffMax:
			return nil, errorf(mediarec.EUNAVAILABLE, "The embedding endpoint asks to wait %s: %s", retryAfter, errorText(err))
		}
		wait := retryAfter
		if wait <= 0 {
			wait = o.backoff(attempt)
		}
		if err := o.sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
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

// throttle waits until both limits allow the request.
func (o *OpenAI) throttle(ctx context.Context, tokens int) error {
	now := o.now()
	var wait time.Duration
	var held []*rate.Reservation
	if o.reqs != nil {
		r := o.reqs.ReserveN(now, 1)
		held, wait = append(held, r), max(wait, r.DelayFrom(now))
	}
	if o.toks != nil {
		// A request above a minute's budget waits for a full minute's
		// budget rather than forever.
		r := o.toks.ReserveN(now, min(tokens, o.toks.Burst()))
		held, wait = append(held, r), max(wait, r.DelayFrom(now))
	}
	if err := o.sleep(ctx, wait); err != nil {
		for _, r := range held {
			r.CancelAt(o.now())
		}
		return err
	}
	return nil
}

// request sends one batch and returns its vectors, or the error and the
// wait the server asked for (0 if none).
func (o *OpenAI) request(ctx context.Context, batch []string) ([][]float32, time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, o.cfg.Timeout)
	defer cancel()
	res, err := o.client.CreateEmbeddings(ctx, openai.EmbeddingRequestStrings{
		Input:          batch,
		Model:          openai.EmbeddingModel(o.cfg.Model),
		Dimensions:     o.cfg.Dimensions,
		EncodingFormat: openai.EmbeddingEncodingFormatFloat,
	})
	if err != nil {
		// go-openai keeps the response headers even when the status is an
		// error, which is where Retry-After is.
		return nil, retryAfter(res.Header(), o.now()), err
	}
	vecs, err := o.validate(res.Data, len(batch))
	return vecs, 0, err
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
	if dim == 0 { // the probe: the first answer sets the size
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
	if o.dim == 0 {
		// Only the probe in NewOpenAI gets here, before o is shared, so
		// no lock is needed.
		o.dim = dim
	}
	return out, nil
}

// classify tells whether a failed request is worth retrying and, when the
// caller has to act, the error code.
func classify(err error) (retry bool, code string) {
	status := 0
	var apiErr *openai.APIError
	var reqErr *openai.RequestError
	if errors.As(err, &apiErr) {
		status = apiErr.HTTPStatusCode
	} else if errors.As(err, &reqErr) {
		status = reqErr.HTTPStatusCode
	}
	var netErr net.Error
	var urlErr *url.Error
	switch {
	case status == http.StatusTooManyRequests || status == http.StatusRequestTimeout || status >= 500:
		return true, mediarec.EUNAVAILABLE
	case status == http.StatusBadRequest || status == http.StatusRequestEntityTooLarge || status == http.StatusUnprocessableEntity:
		return false, mediarec.EINVALID
	case status >= 400:
		// Wrong key or model: no retry helps, but the input is fine, so
		// the job must not be dropped as invalid either.
		return false, mediarec.EUNAVAILABLE
	case errors.As(err, &urlErr), errors.As(err, &netErr),
		errors.Is(err, context.DeadlineExceeded), errors.Is(err, io.ErrUnexpectedEOF):
		return true, mediarec.EUNAVAILABLE // unreachable, reset, timed out, cut short
	}
	return false, "" // a 2xx that does not decode or validate
}

// errorText is the endpoint's own message when it sent one, else err.
func errorText(err error) string {
	var apiErr *openai.APIError
	if errors.As(err, &apiErr) && apiErr.Message != "" {
		return fmt.Sprintf("HTTP %d: %s", apiErr.HTTPStatusCode, apiErr.Message)
	}
	var reqErr *openai.RequestError
	if errors.As(err, &reqErr) {
		// Not OpenAI's error shape (TEI, a proxy): show the start of the body.
		body := []rune(strings.Join(strings.Fields(string(reqErr.Body)), " "))
		if len(body) > 200 {
			body = append(body[:200], '…')
		}
		return strings.TrimSpace(fmt.Sprintf("HTTP %d %s", reqErr.HTTPStatusCode, string(body)))
	}
	return err.Error()
}

// retryAfter reads the wait a server asks for: OpenAI's retry-after-ms, or
// the standard Retry-After in seconds or as an HTTP date.
func retryAfter(h http.Header, now time.Time) time.Duration {
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
	return 0
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
