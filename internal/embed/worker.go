package embed

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"go.opentelemetry.io/otel/trace"

	"mediarec"
)

// VectorWriter is what a worker needs of the vector store.
type VectorWriter interface {
	Upsert(ctx context.Context, collection string, points []mediarec.VectorPoint) error
	Delete(ctx context.Context, collection string, ids []int64) error
}

// Publisher is what a worker needs of the message bus.
type Publisher interface {
	Publish(ctx context.Context, subject, msgID string, data []byte) error
}

// Models gives the embedder of the generation a job names by its model and
// collection (Registry.EmbedderFor): an EndpointError when no embedder at
// hand gives that generation's vectors, so none is written.
type Models interface {
	EmbedderFor(ctx context.Context, model, collection string) (Embedder, error)
}

// JobCounter counts settled jobs by result (internal/metrics.Jobs).
type JobCounter interface {
	Settled(result string)
}

// Results of a job, as a worker counts and logs them.
const (
	JobDone    = "done"    // vector written, or deleted
	JobFailed  = "failed"  // reported failed for good, or invalid
	JobRetried = "retried" // handed back for another delivery
)

// Worker embeds the items of EmbedJobs in batches, writes their vectors and
// reports each result to the catalog. It keeps no state of its own, so any
// number of workers can share the jobs.
type Worker struct {
	models   Models
	vectors  VectorWriter
	pub      Publisher
	counter  JobCounter
	log      *slog.Logger
	attempts int // deliveries before a job is reported failed

	// ProbeBackoff is how long a paused worker waits before its attempt-th
	// probe of the endpoint (0 first); nil waits 1 s, doubling to 30 s.
	ProbeBackoff func(attempt int) time.Duration

	mu     sync.Mutex
	paused int    // groups waiting for their endpoint
	reason string // why the last pause began
}

// NewWorker returns a worker; a job failing attempts deliveries is
// reported failed. counter, if not nil, counts the settled jobs.
func NewWorker(models Models, vectors VectorWriter, pub Publisher, attempts int, counter JobCounter, log *slog.Logger) *Worker {
	return &Worker{models: models, vectors: vectors, pub: pub, attempts: attempts, counter: counter, log: log}
}

// generation is where a job's vector goes.
type generation struct{ collection, model string }

// batch is one call of Handle: the jobs, with each one's delivery count,
// context and, once settled, result.
type batch struct {
	ctx       context.Context
	jobs      []mediarec.EmbedJob
	delivered []int
	ctxs      []context.Context
	errs      []error
	results   []string
}

// jobCtx is the context of job i: its own, carrying its trace.
func (b *batch) jobCtx(i int) context.Context {
	if b.ctxs != nil && b.ctxs[i] != nil {
		return b.ctxs[i]
	}
	return b.ctx
}

// Handle processes a batch and returns one error per job: nil when the job
// is settled (done, failed and reported, or deleted), an EINVALID error for
// a job that can never succeed, another error to have it delivered again.
// delivered[i] counts the deliveries of jobs[i], 1 the first time; ctxs[i]
// (ctxs may be nil) is the context of jobs[i], with the trace it came
// with: its result is reported in it, and the writes of a group of jobs
// happen in the context of the group's first (the jobs of one batch
// request share one trace).
func (w *Worker) Handle(ctx context.Context, jobs []mediarec.EmbedJob, delivered []int, ctxs []context.Context) []error {
	b := &batch{ctx: ctx, jobs: jobs, delivered: delivered, ctxs: ctxs, errs: make([]error, len(jobs)), results: make([]string, len(jobs))}
	groups := map[generation][]int{} // indexes of the jobs to embed
	deletes := map[string][]int{}    // collection → indexes
	for i, j := range jobs {
		switch {
		case j.ItemID <= 0 || j.Collection == "":
			b.errs[i] = mediarec.Errorf(mediarec.EINVALID, "Embed job without an item id or a collection.")
			b.results[i] = JobFailed
		case j.Deleted:
			deletes[j.Collection] = append(deletes[j.Collection], i)
		case j.Item == nil:
			b.results[i], b.errs[i] = JobFailed, w.fail(b.jobCtx(i), j, "the job carries no item")
		default:
			g := generation{j.Collection, j.Model}
			groups[g] = append(groups[g], i)
		}
	}
	for coll, idx := range deletes {
		ids := make([]int64, len(idx))
		for k, i := range idx {
			ids[k] = jobs[i].ItemID
		}
		err := w.vectors.Delete(b.jobCtx(idx[0]), coll, ids)
		for _, i := range idx {
			b.errs[i], b.results[i] = err, JobDone
			if err != nil {
				b.results[i] = JobRetried
			}
		}
	}
	for g, idx := range groups {
		w.embedGroup(b, g, idx)
	}
	w.logBatch(b)
	return b.errs
}

// embedGroup embeds and writes the jobs idx of one collection and settles
// each. When the embedder refuses the batch as invalid (one text too long
// for the model, say), it retries the jobs one by one, so only the
// offending item fails. When the endpoint as a whole fails (a wrong key, a
// billing stop, an outage), no item is at fault: it holds the jobs, which
// the bus keeps in progress, until the endpoint answers again, then embeds
// them again; if ctx ends first, they are handed back for redelivery,
// never failed.
func (w *Worker) embedGroup(b *batch, g generation, idx []int) {
	err := w.embedAndWrite(b.jobCtx(idx[0]), g, b.jobs, idx)
	for IsEndpointDown(err) {
		if !w.awaitEndpoint(b.ctx, g, len(idx), err) {
			for _, i := range idx {
				b.results[i], b.errs[i] = JobRetried, fmt.Errorf("held while the embedding endpoint was down: %w", err)
			}
			return
		}
		err = w.embedAndWrite(b.jobCtx(idx[0]), g, b.jobs, idx)
	}
	if err != nil && len(idx) > 1 && mediarec.ErrorCode(err) == mediarec.EINVALID {
		for _, i := range idx {
			w.embedGroup(b, g, []int{i})
		}
		return
	}
	for _, i := range idx {
		if err != nil {
			b.results[i], b.errs[i] = w.retryOrFail(b.jobCtx(i), b.jobs[i], b.delivered[i], err)
		} else {
			b.results[i], b.errs[i] = JobDone, w.report(b.jobCtx(i), b.jobs[i], mediarec.EmbeddingDone, "")
		}
	}
}

// awaitEndpoint pauses the worker until the embedder of g answers a probe
// again, and reports whether it did before ctx ended. cause is the
// endpoint's failure; jobs counts the jobs held meanwhile.
//
// While it waits, the batch's handler does not return, so this worker
// takes no more jobs, and the bus keeps the held ones in progress: they
// spend no delivery, however long the endpoint is down. Every worker that
// meets the failure pauses the same way. If ctx ends (a shutdown), the
// jobs are handed back and their next delivery is counted; a job thus
// reaches its last attempt only after as many shutdowns, and even then an
// endpoint failure never reports it failed.
func (w *Worker) awaitEndpoint(ctx context.Context, g generation, jobs int, cause error) bool {
	reason := mediarec.ErrorMessage(cause)
	w.mu.Lock()
	w.paused++
	w.reason = reason
	w.mu.Unlock()
	defer func() {
		w.mu.Lock()
		w.paused--
		w.mu.Unlock()
	}()
	start := time.Now()
	w.log.WarnContext(ctx, "embedding endpoint down: holding jobs until it answers again", "model", g.model,
		"collection", g.collection, "jobs", jobs, "reason", reason, "error", cause)
	for attempt := 0; ; attempt++ {
		if sleepCtx(ctx, w.probeBackoff(attempt)) != nil {
			w.log.WarnContext(ctx, "embedding endpoint still down at shutdown: jobs handed back", "model", g.model, "jobs", jobs, "paused_for", time.Since(start))
			return false
		}
		err := w.probe(ctx, g)
		if ctx.Err() != nil {
			continue // reported at the top
		}
		if !IsEndpointDown(err) {
			// Answered: whatever the held items do now, they do as items.
			w.log.InfoContext(ctx, "embedding endpoint answers again: resuming", "model", g.model, "jobs", jobs, "paused_for", time.Since(start), "probes", attempt+1)
			return true
		}
	}
}

// probe asks the embedder of g for one short text's vector.
func (w *Worker) probe(ctx context.Context, g generation) error {
	e, err := w.models.EmbedderFor(ctx, g.model, g.collection)
	if err != nil {
		return &EndpointError{Err: err} // no embedder yet: still waiting
	}
	_, err = e.Embed(ctx, []string{probeText})
	return err
}

func (w *Worker) probeBackoff(attempt int) time.Duration {
	if w.ProbeBackoff != nil {
		return w.ProbeBackoff(attempt)
	}
	return min(time.Second<<min(attempt, 5), 30*time.Second)
}

// Paused tells whether the worker is waiting for an embedding endpoint to
// answer again, and why it began to (the endpoint's user-safe message).
func (w *Worker) Paused() (bool, string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.paused == 0 {
		return false, ""
	}
	return true, w.reason
}

// logBatch counts the jobs by result and logs one line per collection and
// trace: one per request that queued them (a batch ingest's items share
// one), in that request's trace.
func (w *Worker) logBatch(b *batch) {
	type key struct {
		collection string
		trace      trace.TraceID
	}
	type line struct {
		ctx     context.Context
		ids     []int64 // the first maxLoggedIDs
		items   int
		results map[string]int
	}
	lines := map[key]*line{}
	var order []key
	for i, j := range b.jobs {
		if w.counter != nil {
			w.counter.Settled(b.results[i])
		}
		ctx := b.jobCtx(i)
		k := key{j.Collection, trace.SpanContextFromContext(ctx).TraceID()}
		l, ok := lines[k]
		if !ok {
			l = &line{ctx: ctx, results: map[string]int{}}
			lines[k] = l
			order = append(order, k)
		}
		if len(l.ids) < maxLoggedIDs {
			l.ids = append(l.ids, j.ItemID)
		}
		l.items++
		l.results[b.results[i]]++
	}
	for _, k := range order {
		l := lines[k]
		w.log.LogAttrs(l.ctx, slog.LevelInfo, "embed jobs settled", slog.String("collection", k.collection),
			slog.Int("items", l.items), slog.Any("item_ids", l.ids), slog.Int(JobDone, l.results[JobDone]),
			slog.Int(JobRetried, l.results[JobRetried]), slog.Int(JobFailed, l.results[JobFailed]))
	}
}

// maxLoggedIDs bounds the item ids one log line lists.
const maxLoggedIDs = 20

func (w *Worker) embedAndWrite(ctx context.Context, g generation, jobs []mediarec.EmbedJob, idx []int) error {
	e, err := w.models.EmbedderFor(ctx, g.model, g.collection)
	if err != nil {
		return err
	}
	texts := make([]string, len(idx))
	for k, i := range idx {
		texts[k] = TextFor(e, jobs[i].Item)
	}
	vecs, err := e.Embed(ctx, texts)
	if err != nil {
		return fmt.Errorf("embed %d items: %w", len(texts), err)
	}
	points := make([]mediarec.VectorPoint, len(idx))
	for k, i := range idx {
		it := jobs[i].Item
		points[k] = mediarec.VectorPoint{ID: it.ID, Vector: vecs[k], Payload: mediarec.VectorPayload{
			Type: it.Type, Genres: it.Genres, Tags: it.Tags, Year: it.Year,
		}}
	}
	if err := w.vectors.Upsert(ctx, g.collection, points); err != nil {
		return fmt.Errorf("write %d vectors to %s: %w", len(points), g.collection, err)
	}
	return nil
}

// retryOrFail asks for another delivery, unless this was the last one: then
// the item is reported failed with the reason, and the job is settled. It
// returns the job's result and error. (An endpoint failure never gets
// here: embedGroup waits it out.)
func (w *Worker) retryOrFail(ctx context.Context, j mediarec.EmbedJob, delivered int, err error) (string, error) {
	if delivered < w.attempts && mediarec.ErrorCode(err) != mediarec.EINVALID {
		w.log.WarnContext(ctx, "embed job failed; will retry", "item_id", j.ItemID, "attempt", delivered, "error", err)
		return JobRetried, err
	}
	w.log.ErrorContext(ctx, "embed job failed for good", "item_id", j.ItemID, "attempts", delivered, "error", err)
	return JobFailed, w.fail(ctx, j, failureReason(err))
}

func (w *Worker) fail(ctx context.Context, j mediarec.EmbedJob, reason string) error {
	return w.report(ctx, j, mediarec.EmbeddingFailed, reason)
}

// failureReason is what the catalog shows: the user-safe message of an
// application error, else the error text, which names the failing part.
func failureReason(err error) string {
	var e *mediarec.Error
	if errors.As(err, &e) {
		return e.Message
	}
	return err.Error()
}

// report publishes the result. Its id makes a re-published result (after a
// redelivery) a duplicate the bus drops.
func (w *Worker) report(ctx context.Context, j mediarec.EmbedJob, status mediarec.EmbeddingStatus, reason string) error {
	data, err := json.Marshal(mediarec.EmbedResult{ItemID: j.ItemID, Version: j.Version, Status: status, Model: j.Model, Collection: j.Collection, Error: reason})
	if err != nil {
		return fmt.Errorf("encode result: %w", err)
	}
	id := "result-" + strconv.FormatInt(j.ItemID, 10) + "-" + strconv.Itoa(j.Version) + "-" + j.Collection + "-" + string(status)
	if err := w.pub.Publish(ctx, mediarec.SubjectEmbedResults, id, data); err != nil {
		return fmt.Errorf("report item %d: %w", j.ItemID, err)
	}
	return nil
}
