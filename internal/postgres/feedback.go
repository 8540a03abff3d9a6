package postgres

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"mediarec"
)

// setFeedbackSQL upserts a judgement and writes its event in one statement.
// A judgement equal to the stored one (cur) is answered from a plain read:
// it inserts nothing, so it neither locks the row nor needs a WAL flush.
// Otherwise the upsert's WHERE still turns a concurrent identical write into
// a no-op that writes no event. The second column says whether anything
// changed; no row at all means an identical judgement was committed after
// the statement's snapshot (cur missed it, the upsert left it alone).
const setFeedbackSQL = `WITH cur AS (
	SELECT created_at FROM feedback WHERE user_id = $1 AND item_id = $2 AND kind = $3 AND rating = $4
), up AS (
	INSERT INTO feedback (user_id, item_id, kind, rating)
	SELECT $1, $2, $3, $4 WHERE NOT EXISTS (SELECT FROM cur)
	ON CONFLICT (user_id, item_id) DO UPDATE SET kind = excluded.kind, rating = excluded.rating, created_at = now()
	WHERE (feedback.kind, feedback.rating) IS DISTINCT FROM (excluded.kind, excluded.rating)
	RETURNING created_at
), out AS (INSERT INTO user_outbox (subject, payload) SELECT $5, $6 FROM up)
SELECT created_at, true FROM up
UNION ALL
SELECT created_at, false FROM cur`

// Bounds of feedback batching.
const (
	// maxFeedbackBatch is the most writes one transaction carries.
	maxFeedbackBatch = 64
	// maxFeedbackFlushers is how many batches may be in flight at once. Two
	// keep one slow commit from holding up every writer; more make smaller
	// batches, and per write PostgreSQL spends the more CPU the smaller its
	// batch. It also leaves most of the pool to reads and the outbox relay.
	maxFeedbackFlushers = 2
	// feedbackBatchTimeout bounds one batch. A batch serves several
	// requests, so it does not run under any one request's context.
	feedbackBatchTimeout = 30 * time.Second
)

// feedbackWriter writes feedback in batches. Feedback is the write users
// make most, each a tiny transaction whose cost is nearly all round trip and
// commit (a WAL flush). Writes that arrive while others are being written
// queue up and go together: one pipelined round trip and one commit for the
// whole batch. Under no load a batch is a single write, so nothing waits
// for company.
type feedbackWriter struct {
	db *DB

	mu       sync.Mutex
	pending  []*feedbackWrite
	flushers int
}

// feedbackWrite is one caller's write and where its result goes. f is a
// copy: a caller that gave up waiting owns its Feedback again.
type feedbackWrite struct {
	f    mediarec.Feedback
	ev   mediarec.OutboxEvent
	done chan feedbackResult // buffered: a flusher never blocks on it
}

type feedbackResult struct {
	createdAt time.Time
	changed   bool
	err       error
}

func newFeedbackWriter(db *DB) *feedbackWriter {
	return &feedbackWriter{db: db}
}

// write queues f and waits for its batch. If ctx ends first the write may
// still be stored, as with any statement cancelled after it was sent.
func (w *feedbackWriter) write(ctx context.Context, f *mediarec.Feedback, ev mediarec.OutboxEvent) (bool, error) {
	fw := &feedbackWrite{f: *f, ev: ev, done: make(chan feedbackResult, 1)}
	w.mu.Lock()
	w.pending = append(w.pending, fw)
	start := w.flushers < maxFeedbackFlushers
	if start {
		w.flushers++
	}
	w.mu.Unlock()
	if start {
		go w.flush()
	}
	select {
	case r := <-fw.done:
		if r.err != nil {
			return false, r.err
		}
		f.CreatedAt = r.createdAt
		return r.changed, nil
	case <-ctx.Done():
		return false, fmt.Errorf("set feedback of user %d on item %d: %w", f.UserID, f.ItemID, ctx.Err())
	}
}

// flush writes batches until no write is pending.
func (w *feedbackWriter) flush() {
	for {
		w.mu.Lock()
		n := min(len(w.pending), maxFeedbackBatch)
		if n == 0 {
			w.flushers--
			w.mu.Unlock()
			return
		}
		batch := slices.Clone(w.pending[:n])
		w.pending = slices.Delete(w.pending, 0, n)
		w.mu.Unlock()

		ctx, cancel := context.WithTimeout(context.Background(), feedbackBatchTimeout)
		results := w.writeBatch(ctx, batch)
		cancel()
		for i, fw := range batch {
			fw.done <- results[i]
		}
	}
}

// writeBatch writes a batch in one implicit transaction: the statements are
// pipelined and committed by one Sync. If any fails, PostgreSQL rolls the
// whole batch back, and each write is tried again alone, so that only the
// failing one reports its error.
func (w *feedbackWriter) writeBatch(ctx context.Context, batch []*feedbackWrite) []feedbackResult {
	results := make([]feedbackResult, len(batch))
	if len(batch) == 1 {
		results[0] = w.writeOne(ctx, batch[0])
		return results
	}
	// Every batch locks its rows in one order, so two batches in flight
	// never wait on each other in a cycle (a deadlock PostgreSQL would break
	// only after a second). The sort is stable: writes to one row keep their
	// order.
	order := make([]int, len(batch))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		fa, fb := batch[a].f, batch[b].f
		return cmp.Or(cmp.Compare(fa.UserID, fb.UserID), cmp.Compare(fa.ItemID, fb.ItemID))
	})
	b := &pgx.Batch{}
	for _, i := range order {
		f, ev := &batch[i].f, batch[i].ev
		b.Queue(setFeedbackSQL, f.UserID, f.ItemID, string(f.Kind), f.Rating, ev.Subject, ev.Payload)
	}
	br := w.db.Pool.SendBatch(ctx, b)
	failed := false
	for _, i := range order {
		r := &results[i]
		r.err = br.QueryRow().Scan(&r.createdAt, &r.changed)
		if r.err != nil && !errors.Is(r.err, pgx.ErrNoRows) {
			failed = true
		}
	}
	if err := br.Close(); err != nil {
		failed = true
	}
	for i, fw := range batch {
		switch {
		case failed:
			results[i] = w.writeOne(ctx, fw)
		case errors.Is(results[i].err, pgx.ErrNoRows):
			results[i] = w.standing(ctx, &fw.f)
		}
	}
	return results
}

// writeOne writes one judgement in its own statement.
func (w *feedbackWriter) writeOne(ctx context.Context, fw *feedbackWrite) feedbackResult {
	f, ev := &fw.f, fw.ev
	var r feedbackResult
	err := w.db.Pool.QueryRow(ctx, setFeedbackSQL, f.UserID, f.ItemID, string(f.Kind), f.Rating, ev.Subject, ev.Payload).Scan(&r.createdAt, &r.changed)
	if errors.Is(err, pgx.ErrNoRows) {
		return w.standing(ctx, f)
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23503" { // foreign_key_violation
		return feedbackResult{err: userNotFound(f.UserID)}
	} else if err != nil {
		return feedbackResult{err: fmt.Errorf("set feedback of user %d on item %d: %w", f.UserID, f.ItemID, err)}
	}
	return r
}

// standing reports an unchanged judgement: when it was made.
func (w *feedbackWriter) standing(ctx context.Context, f *mediarec.Feedback) feedbackResult {
	r := feedbackResult{}
	if err := w.db.Pool.QueryRow(ctx, `SELECT created_at FROM feedback WHERE user_id = $1 AND item_id = $2`,
		f.UserID, f.ItemID).Scan(&r.createdAt); err != nil {
		r.err = fmt.Errorf("set feedback of user %d on item %d: %w", f.UserID, f.ItemID, err)
	}
	return r
}
