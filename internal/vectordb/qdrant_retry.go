package vectordb

import (
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/qdrant/go-client/qdrant"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

const (
	qdrantDefaultTimeout = 10 * time.Second
	qdrantDefaultRetries = 4
	// qdrantWriteGrace is how much longer than the server's own timeout a
	// write waits for its answer, so that a slow write comes back as the
	// server's WaitTimeout rather than as a deadline of ours.
	qdrantWriteGrace  = 2 * time.Second
	qdrantBackoffBase = 100 * time.Millisecond
	qdrantBackoffMax  = 5 * time.Second
	// qdrantMaxRetryAfter bounds how long a rate-limited call waits for its
	// retry, however long the server asks for.
	qdrantMaxRetryAfter = 30 * time.Second
)

// errNotApplied is a write the server answered without applying it whole:
// WaitTimeout (wait set, the server's timeout passed first), on a sharded
// collection possibly with part of the batch applied. Every write here sets
// each point whole, so sending it again is safe.
var errNotApplied = errors.New("qdrant did not apply the write in time")

// call runs fn, each attempt under its own deadline, and runs it again
// after a transient failure (see retryAfter) up to q.retries more times.
// Every call the adapter makes is idempotent: points are written whole by
// id, deletes and alias switches name their outcome, and a collection
// created twice is detected (see createCollection).
func (q *Qdrant) call(ctx context.Context, timeout time.Duration, fn func(ctx context.Context) error) error {
	for attempt := 0; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, timeout)
		err := fn(actx)
		cancel()
		if err == nil {
			return nil
		}
		wait, transient := retryAfter(err, attempt)
		if !transient || attempt >= q.retries || ctx.Err() != nil {
			return err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
	}
}

// retryAfter says whether err is worth another attempt and how long to
// wait first: what a rate-limited answer asks, else an exponential backoff
// with jitter, so that the replicas of a service do not retry in step.
func retryAfter(err error, attempt int) (time.Duration, bool) {
	var exhausted *qdrant.QdrantResourceExhaustedError
	if errors.As(err, &exhausted) && exhausted.RetryAfterS > 0 {
		return min(time.Duration(exhausted.RetryAfterS)*time.Second, qdrantMaxRetryAfter), true
	}
	if !qdrantTransient(err) {
		return 0, false
	}
	backoff := min(qdrantBackoffBase<<attempt, qdrantBackoffMax)
	return backoff/2 + rand.N(backoff/2+1), true
}

// qdrantTransient reports failures that another attempt may not meet: a
// node down or restarting, a rate limit, an attempt's deadline, a write not
// applied in time, and the replica-set failures that Qdrant itself says to
// retry (Internal, "... Please retry").
func qdrantTransient(err error) bool {
	if errors.Is(err, errNotApplied) {
		return true
	}
	st := status.Convert(err)
	switch st.Code() {
	case codes.Unavailable, codes.ResourceExhausted, codes.DeadlineExceeded, codes.Aborted:
		return true
	case codes.Internal:
		return qdrantPleaseRetry(st.Message())
	}
	return false
}

// qdrantPleaseRetry matches the message of Qdrant's transient cluster
// failures: too many replicas failed an operation, or a shard moved.
func qdrantPleaseRetry(msg string) bool {
	return strings.Contains(strings.ToLower(msg), "please retry")
}
