package embed

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"

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

// Models gives the embedder of a model a job names.
type Models interface {
	Embedder(ctx context.Context, model string) (Embedder, error)
}

// Worker embeds the items of EmbedJobs in batches, writes their vectors and
// reports each result to the catalog. It keeps no state of its own, so any
// number of workers can share the jobs.
type Worker struct {
	models   Models
	vectors  VectorWriter
	pub      Publisher
	log      *slog.Logger
	attempts int // deliveries before a job is reported failed
}

// NewWorker returns a worker; a job failing attempts deliveries is
// reported failed.
func NewWorker(models Models, vectors VectorWriter, pub Publisher, attempts int, log *slog.Logger) *Worker {
	return &Worker{models: models, vectors: vectors, pub: pub, attempts: attempts, log: log}
}

// generation is where a job's vector goes.
type generation struct{ collection, model string }

// Handle processes a batch and returns one error per job: nil when the job
// is settled (done, failed and reported, or deleted), an EINVALID error for
// a job that can never succeed, another error to have it delivered again.
// delivered[i] counts the deliveries of jobs[i], 1 the first time.
func (w *Worker) Handle(ctx context.Context, jobs []mediarec.EmbedJob, delivered []int) []error {
	errs := make([]error, len(jobs))
	groups := map[generation][]int{} // indexes of the jobs to embed
	deletes := map[string][]int{}    // collection → indexes
	for i, j := range jobs {
		switch {
		case j.ItemID <= 0 || j.Collection == "":
			errs[i] = mediarec.Errorf(mediarec.EINVALID, "Embed job without an item id or a collection.")
		case j.Deleted:
			deletes[j.Collection] = append(deletes[j.Collection], i)
		case j.Item == nil:
			errs[i] = w.fail(ctx, j, "the job carries no item")
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
		err := w.vectors.Delete(ctx, coll, ids)
		for _, i := range idx {
			errs[i] = err
		}
	}
	for g, idx := range groups {
		w.embedGroup(ctx, g, jobs, delivered, idx, errs)
	}
	return errs
}

// embedGroup embeds and writes the jobs idx of one collection and settles
// each. When the embedder refuses the batch as invalid (one text too long
// for the model, say), it retries the jobs one by one, so only the
// offending item fails.
func (w *Worker) embedGroup(ctx context.Context, g generation, jobs []mediarec.EmbedJob, delivered, idx []int, errs []error) {
	err := w.embedAndWrite(ctx, g, jobs, idx)
	if err != nil && len(idx) > 1 && mediarec.ErrorCode(err) == mediarec.EINVALID {
		for _, i := range idx {
			w.embedGroup(ctx, g, jobs, delivered, []int{i}, errs)
		}
		return
	}
	for _, i := range idx {
		if err != nil {
			errs[i] = w.retryOrFail(ctx, jobs[i], delivered[i], err)
		} else {
			errs[i] = w.report(ctx, jobs[i], mediarec.EmbeddingDone, "")
		}
	}
}

func (w *Worker) embedAndWrite(ctx context.Context, g generation, jobs []mediarec.EmbedJob, idx []int) error {
	e, err := w.models.Embedder(ctx, g.model)
	if err != nil {
		return err
	}
	texts := make([]string, len(idx))
	for k, i := range idx {
		texts[k] = ItemText(jobs[i].Item)
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
// the item is reported failed with the reason, and the job is settled.
func (w *Worker) retryOrFail(ctx context.Context, j mediarec.EmbedJob, delivered int, err error) error {
	if delivered < w.attempts && mediarec.ErrorCode(err) != mediarec.EINVALID {
		w.log.Warn("embed job failed; will retry", "item_id", j.ItemID, "attempt", delivered, "error", err)
		return err
	}
	w.log.Error("embed job failed for good", "item_id", j.ItemID, "attempts", delivered, "error", err)
	return w.fail(ctx, j, failureReason(err))
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
