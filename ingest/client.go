package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"

	"mediarec"
)

// Options configures Run. Zero values select the defaults.
type Options struct {
	Server      string        // base URL of the mediarec server, e.g. http://127.0.0.1:8080
	Token       string        // admin bearer token; empty sends no Authorization header
	BatchSize   int           // items per request; default 1000
	Concurrency int           // requests in flight; default 2
	Retries     int           // extra attempts for a batch after a retryable failure; default 5, negative for none
	RetryWait   time.Duration // first backoff, doubled at each retry; default 500ms
	Progress    io.Writer     // where to draw the progress bar; nil draws none
	Client      *http.Client  // default: a client with a 2-minute timeout
	MaxFailures int           // failures kept in full in the report, the rest only counted; default 1000
}

func (o Options) withDefaults() (Options, error) {
	u, err := url.Parse(o.Server)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return o, fmt.Errorf("server %q is not an http(s) URL", o.Server)
	}
	o.Server = strings.TrimRight(o.Server, "/")
	if o.BatchSize <= 0 {
		o.BatchSize = 1000
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 2
	}
	if o.Retries == 0 {
		o.Retries = 5
	}
	if o.RetryWait <= 0 {
		o.RetryWait = 500 * time.Millisecond
	}
	if o.MaxFailures <= 0 {
		o.MaxFailures = 1000
	}
	if o.Client == nil {
		o.Client = &http.Client{Timeout: 2 * time.Minute}
	}
	return o, nil
}

// maxRetryWait caps both the backoff and a server's Retry-After, so that a
// misconfigured server cannot stall an ingest for hours.
const maxRetryWait = time.Minute

// origin is where an item came from; seq orders failures as they were read.
type origin struct {
	source string
	line   int
	seq    int
}

// failure is a Failure with its read order.
type failure struct {
	Failure
	seq int
}

// batch is a full (or the last) batch of items on its way to a sender;
// records counts every record read since the previous batch, the ones the
// reader rejected included, for the progress bar.
type batch struct {
	items   []*mediarec.Item
	origins []origin
	records int
}

// Run reads paths in the given format (see Read) and sends the items to the
// server's POST /v1/items/batch in batches as they fill, so that its memory
// does not grow with the source: it holds the batches in flight, the
// counters, and the first Options.MaxFailures failures. Rows the reader
// rejects and lines the server rejects both count as failures, kept at their
// source file and line.
//
// Run fails when a source cannot be read, when the server refuses a batch
// with a 4xx status other than 429 (bad token, malformed request), when a
// batch still fails after the retries, or when ctx ends; the report then
// holds what was done so far (with a source that turns out unreadable
// midway, the batches read before it have been stored).
func Run(ctx context.Context, opts Options, format string, paths []string) (*Report, error) {
	start := time.Now()
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	if reader(format) == nil {
		return nil, unknownFormat(format)
	}
	var bar *progress
	if opts.Progress != nil {
		// A cheap first pass (lines or CSV records, no item decoding) gives
		// the bar its total without holding anything; a source it cannot
		// count fails in Read below with a better message.
		if total, err := countRecords(format, paths); err == nil {
			bar = newProgress(opts.Progress, total)
		}
	}
	return run(ctx, opts, bar, start, func(fn func(Record) error) error { return Read(format, paths, fn) })
}

// run is Run past the set-up: it sends what read passes on.
func run(ctx context.Context, opts Options, bar *progress, start time.Time, read func(func(Record) error) error) (*Report, error) {
	rep := &Report{}
	var (
		mu    sync.Mutex // guards rep's counters and fails once senders run
		fails = failureLog{limit: opts.MaxFailures}
	)
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	next := make(chan batch)
	var wg sync.WaitGroup
	for range opts.Concurrency {
		wg.Go(func() {
			for b := range next {
				res, err := sendBatch(ctx, opts, b.items, b.origins)
				if err != nil {
					cancel(fmt.Errorf("batch starting at %s:%d: %w", b.origins[0].source, b.origins[0].line, err))
					return
				}
				mu.Lock()
				rep.Created += res.Created
				rep.Updated += res.Updated
				rep.Unchanged += res.Unchanged
				for _, f := range res.failed {
					fails.add(f)
				}
				mu.Unlock()
				bar.add(b.records)
			}
		})
	}

	cur := batch{}
	send := func() error {
		select {
		case next <- cur:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
		cur = batch{}
		return nil
	}
	readErr := read(func(r Record) error {
		rep.Items++
		cur.records++
		if r.Err != nil {
			mu.Lock()
			fails.add(failure{Failure{r.Source, r.Line, fieldErrors(r.Err)}, rep.Items})
			mu.Unlock()
			return nil
		}
		if cur.items == nil {
			cur.items = make([]*mediarec.Item, 0, opts.BatchSize)
			cur.origins = make([]origin, 0, opts.BatchSize)
		}
		cur.items = append(cur.items, r.Item)
		cur.origins = append(cur.origins, origin{r.Source, r.Line, rep.Items})
		if len(cur.items) == opts.BatchSize {
			return send()
		}
		return nil
	})
	if readErr == nil && len(cur.items) > 0 {
		readErr = send()
	}
	close(next)
	wg.Wait()

	rep.Failed, rep.MoreFailed = fails.result()
	rep.Elapsed = time.Since(start)
	if err := context.Cause(ctx); err != nil {
		bar.exit()
		return rep, err
	}
	if readErr != nil {
		bar.exit()
		return rep, readErr
	}
	bar.finish()
	return rep, nil
}

// failureLog keeps the first limit failures in read order and counts the
// rest. Senders report failures out of order, so it holds up to twice the
// limit before it sorts and cuts back: the smallest read positions seen so
// far always survive.
type failureLog struct {
	limit   int
	kept    []failure
	dropped int
}

func (l *failureLog) add(f failure) {
	l.kept = append(l.kept, f)
	if len(l.kept) >= 2*l.limit {
		l.trim()
	}
}

func (l *failureLog) trim() {
	sort.SliceStable(l.kept, func(i, j int) bool { return l.kept[i].seq < l.kept[j].seq })
	if len(l.kept) > l.limit {
		l.dropped += len(l.kept) - l.limit
		l.kept = l.kept[:l.limit]
	}
}

// result returns the kept failures in read order and how many more there
// were.
func (l *failureLog) result() ([]Failure, int) {
	l.trim()
	var out []Failure
	for _, f := range l.kept {
		out = append(out, f.Failure)
	}
	return out, l.dropped
}

// progress is the bar, counting records; a nil *progress draws nothing. The
// first pass's count can be off (podcasts merged by id), so additions stop
// at the total and a successful run ends the bar full.
type progress struct {
	mu    sync.Mutex
	bar   *progressbar.ProgressBar
	total int
	shown int
}

func newProgress(w io.Writer, total int) *progress {
	bar := newBar(w, total)
	if bar == nil {
		return nil
	}
	return &progress{bar: bar, total: total}
}

func (p *progress) add(n int) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	n = min(n, p.total-p.shown)
	if n > 0 {
		p.shown += n
		p.bar.Add(n)
	}
}

func (p *progress) finish() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.shown < p.total {
		p.shown = p.total
		p.bar.Finish()
	}
}

func (p *progress) exit() {
	if p != nil {
		p.bar.Exit()
	}
}

func newBar(w io.Writer, total int) *progressbar.ProgressBar {
	if w == nil || total == 0 {
		return nil
	}
	return progressbar.NewOptions(total,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription("ingest"),
		progressbar.OptionSetWidth(30),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("items"),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionThrottle(100*time.Millisecond),
		// Drawing the empty bar at once starts its clock, so that the first
		// batch's items/s counts the time the batch took.
		progressbar.OptionSetRenderBlankState(true),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(w) }),
	)
}

// batchResult is the server's answer with the failed lines mapped back to
// their sources.
type batchResult struct {
	mediarec.BatchResult
	failed []failure
}

// sendBatch posts items and retries on network errors, 429 and 5xx. A retry
// is safe because the server upserts every line by its external id (one
// derived from the content when the line has none).
func sendBatch(ctx context.Context, opts Options, items []*mediarec.Item, origins []origin) (batchResult, error) {
	var body bytes.Buffer
	for _, it := range items {
		b, err := MarshalItem(it)
		if err != nil {
			return batchResult{}, err
		}
		body.Write(b)
		body.WriteByte('\n')
	}
	wait := opts.RetryWait
	for attempt := 0; ; attempt++ {
		res, err := post(ctx, opts, body.Bytes())
		var rerr *retryableError
		if err == nil {
			return mapFailures(res, origins)
		} else if !errors.As(err, &rerr) || attempt >= opts.Retries || ctx.Err() != nil {
			return batchResult{}, err
		}
		d := max(wait, rerr.after)
		wait = min(2*wait, maxRetryWait)
		t := time.NewTimer(min(d, maxRetryWait))
		select {
		case <-ctx.Done():
			t.Stop()
			return batchResult{}, context.Cause(ctx)
		case <-t.C:
		}
	}
}

// retryableError is a failure that may pass on a later attempt; after is the
// server's Retry-After, if any.
type retryableError struct {
	err   error
	after time.Duration
}

func (e *retryableError) Error() string { return e.err.Error() }
func (e *retryableError) Unwrap() error { return e.err }

func post(ctx context.Context, opts Options, body []byte) (*mediarec.BatchResult, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, opts.Server+"/v1/items/batch", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-ndjson")
	req.Header.Set("Accept", "application/json, application/problem+json")
	if opts.Token != "" {
		req.Header.Set("Authorization", "Bearer "+opts.Token)
	}
	resp, err := opts.Client.Do(req)
	if err != nil {
		return nil, &retryableError{err: err}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, &retryableError{err: fmt.Errorf("read answer: %w", err)}
	}
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		var res mediarec.BatchResult
		if err := json.Unmarshal(data, &res); err != nil {
			return nil, fmt.Errorf("server answered %s with an unreadable batch result: %w", resp.Status, err)
		}
		return &res, nil
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return nil, &retryableError{err: statusError(resp, data), after: retryAfter(resp.Header.Get("Retry-After"))}
	default:
		return nil, statusError(resp, data)
	}
}

// retryAfter reads a Retry-After header given in seconds; the HTTP-date form
// is rare for APIs and falls back to the backoff.
func retryAfter(v string) time.Duration {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 0 {
		return 0
	}
	return time.Duration(n) * time.Second
}

// statusError describes an error answer, preferring the problem's detail.
func statusError(resp *http.Response, data []byte) error {
	var p struct {
		Title  string                `json:"title"`
		Detail string                `json:"detail"`
		Errors []mediarec.FieldError `json:"errors"`
	}
	msg := strings.TrimSpace(string(data))
	if json.Unmarshal(data, &p) == nil && (p.Detail != "" || p.Title != "") {
		msg = p.Detail
		if msg == "" {
			msg = p.Title
		}
		for _, fe := range p.Errors {
			msg += "; " + fe.Field + ": " + fe.Message
		}
	} else if r := []rune(msg); len(r) > 200 {
		msg = string(r[:200]) + "…" // an HTML error page, say
	}
	if msg == "" {
		return fmt.Errorf("server answered %s", resp.Status)
	}
	return fmt.Errorf("server answered %s: %s", resp.Status, msg)
}

// mapFailures turns the 1-based body lines of the server's failures into
// source files and lines.
func mapFailures(res *mediarec.BatchResult, origins []origin) (batchResult, error) {
	out := batchResult{BatchResult: *res}
	for _, f := range res.Failed {
		if f.Line < 1 || f.Line > len(origins) {
			return batchResult{}, fmt.Errorf("server reported line %d of a %d-line batch", f.Line, len(origins))
		}
		o := origins[f.Line-1]
		out.failed = append(out.failed, failure{Failure{o.source, o.line, f.Errors}, o.seq})
	}
	return out, nil
}
