package qdranttest

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/qdrant/go-client/qdrant"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// Call is one request the server received.
type Call struct {
	// Method is the full gRPC method name, e.g. qdrant.Points_Upsert_FullMethodName.
	Method string
	// Request is a copy of the request as it arrived.
	Request proto.Message
	// Deadline is the time that was left until the call's deadline when it
	// arrived; 0 if it had none.
	Deadline time.Duration
}

// Calls returns every request the server received, in arrival order, those
// that failed included. The requests are copies; treat them as read-only.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// CallsTo returns the calls to one method (a full method name), in arrival
// order.
func (s *Server) CallsTo(method string) []Call {
	var out []Call
	for _, c := range s.Calls() {
		if c.Method == method {
			out = append(out, c)
		}
	}
	return out
}

type fault struct {
	err   error
	after bool // answer err after the handler ran
}

// Fail queues errors for the next calls to method (a full method name, or
// "" for whatever is called next): each call takes the next error and
// returns it without being handled; a nil error lets its call through.
// Errors queued for the method itself are used before those for any method.
// Pass status errors, ResourceExhausted or PleaseRetry, to look like Qdrant.
func (s *Server) Fail(method string, errs ...error) { s.queueFaults(method, false, errs) }

// FailAfter queues errors as Fail does, but each call is handled first and
// then answered with its error: the write is applied, and the client learns
// nothing of it, as when its deadline passes just after Qdrant applied it.
func (s *Server) FailAfter(method string, errs ...error) { s.queueFaults(method, true, errs) }

// FailNext makes the next request, whatever it is, fail with err; it is
// Fail("", err).
func (s *Server) FailNext(err error) { s.Fail("", err) }

func (s *Server) queueFaults(method string, after bool, errs []error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, err := range errs {
		s.faults[method] = append(s.faults[method], fault{err: err, after: after})
	}
}

// Stall makes the next call to method ("" for any) wait d before it is
// handled, or until its context ends, when it fails with DeadlineExceeded
// or Canceled as a slow Qdrant's call does. Faults queued for the call
// apply after the wait.
func (s *Server) Stall(method string, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stalls[method] = append(s.stalls[method], d)
}

type upsertPlan struct {
	status qdrant.UpdateStatus
	apply  int
}

// UpsertStatus makes the next Upsert that passes validation apply only the
// first apply points of its batch (all if apply < 0) and answer with st, as
// Qdrant 1.17 answers WaitTimeout when the request's timeout passes before
// the whole batch of a waited update is applied. A 1.15 server (WithVersion)
// had no WaitTimeout: it waited for the whole batch, so there a WaitTimeout
// plan applies every point and answers Completed.
func (s *Server) UpsertStatus(st qdrant.UpdateStatus, apply int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.upsert = &upsertPlan{status: st, apply: apply}
}

// rateLimited is the error ResourceExhausted returns; the interceptor turns
// it into Qdrant's answer with a retry-after trailer.
type rateLimited struct{ retryAfterS int }

func (e rateLimited) Error() string { return e.GRPCStatus().Err().Error() }

// GRPCStatus lets status.Code and status.Convert see the code.
func (e rateLimited) GRPCStatus() *status.Status { return e.status("Write") }

// status is Qdrant's answer when a collection's rate limiter (strict mode
// read_rate_limit or write_rate_limit) refuses an operation:
// CollectionError::rate_limit_error in lib/collection/src/operations/types.rs,
// wrapped by StorageError's "Rate limiting exceeded: " and sent as
// ResourceExhausted. The token counts are made up.
func (e rateLimited) status(kind string) *status.Status {
	return status.Newf(codes.ResourceExhausted,
		"Rate limiting exceeded: %s rate limit exceeded: Operation requires 1 tokens but only 0.0 were available. Retry after %ds",
		kind, e.retryAfterS)
}

// ResourceExhausted returns Qdrant's rate-limiting error: queued with Fail,
// the call is answered with ResourceExhausted and the trailer retry-after:
// retryAfterS, which the Go client turns into a
// *qdrant.QdrantResourceExhaustedError.
func ResourceExhausted(retryAfterS int) error { return rateLimited{retryAfterS: retryAfterS} }

// PleaseRetry returns Qdrant's transient cluster error: Internal, with the
// message a replica set answers when a write reached no active replica
// (update_impl in lib/collection/src/shards/replica_set/update.rs, wrapped
// by StorageError's "Service internal error: "). The failed peer and its
// error after "Please retry." are made up.
func PleaseRetry() error {
	return status.Error(codes.Internal, "Service internal error: Failed to apply operation to at least one `Active` replica. "+
		"Consistency of this update is not guaranteed. Please retry. "+
		"Failed peer: 2, error: Service internal error: Tonic status error: status: Unavailable, message: \"transport error\"")
}

func (s *Server) intercept(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	method := info.FullMethod
	s.record(ctx, method, req)
	if err := s.authenticate(ctx, method); err != nil {
		return nil, err
	}
	if d, ok := s.takeStall(method); ok {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, status.FromContextError(ctx.Err()).Err()
		}
	}
	f := s.takeFault(method)
	if f.err != nil && !f.after {
		return nil, answer(ctx, method, f.err)
	}
	resp, err := handler(ctx, req)
	if f.err != nil {
		return nil, answer(ctx, method, f.err)
	}
	return resp, err
}

func (s *Server) record(ctx context.Context, method string, req any) {
	c := Call{Method: method}
	if m, ok := req.(proto.Message); ok {
		c.Request = proto.Clone(m)
	}
	if dl, ok := ctx.Deadline(); ok {
		c.Deadline = time.Until(dl)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, c)
}

// authenticate checks the api-key header as Qdrant does: on every call but
// HealthCheck since 1.16, on every call before.
func (s *Server) authenticate(ctx context.Context, method string) error {
	if s.apiKey == "" || method == qdrant.Qdrant_HealthCheck_FullMethodName && !s.legacy {
		return nil
	}
	md, _ := metadata.FromIncomingContext(ctx)
	if keys := md.Get("api-key"); len(keys) != 1 || keys[0] != s.apiKey {
		return status.Error(codes.Unauthenticated, "Invalid API key or JWT")
	}
	return nil
}

func (s *Server) takeStall(method string) (time.Duration, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, key := range []string{method, ""} {
		if q := s.stalls[key]; len(q) > 0 {
			s.stalls[key] = q[1:]
			return q[0], true
		}
	}
	return 0, false
}

func (s *Server) takeFault(method string) fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, key := range []string{method, ""} {
		if q := s.faults[key]; len(q) > 0 {
			s.faults[key] = q[1:]
			return q[0]
		}
	}
	return fault{}
}

// answer turns an injected error into what Qdrant sends: rate limiting
// comes with the retry-after trailer the client reads.
func answer(ctx context.Context, method string, err error) error {
	retryAfter := "1" // what a plain ResourceExhausted status gets
	var rl rateLimited
	if errors.As(err, &rl) {
		err = rl.status(rateLimiter(method)).Err()
		retryAfter = strconv.Itoa(rl.retryAfterS)
	}
	if status.Code(err) == codes.ResourceExhausted {
		grpc.SetTrailer(ctx, metadata.Pairs("retry-after", retryAfter)) //nolint:errcheck // only fails outside a call
	}
	return err
}

// rateLimiter names the limiter Qdrant would charge a method to.
func rateLimiter(method string) string {
	name := method[strings.LastIndex(method, "/")+1:]
	for _, read := range []string{"Get", "Query", "Search", "Scroll", "Count", "Recommend", "Discover", "Facet"} {
		if strings.HasPrefix(name, read) {
			return "Read"
		}
	}
	return "Write"
}
