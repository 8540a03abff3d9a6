package embed

import (
	"context"
	"errors"
)

// EndpointError is a failure of the embedding endpoint as a whole: a wrong
// key, model or setting, a billing stop, an outage that outlasted the
// retries. No item is at fault, so no item may be failed for it: the
// worker holds its jobs and waits for the endpoint to answer again.
type EndpointError struct {
	Err error // carries a *mediarec.Error of code EUNAVAILABLE
}

func (e *EndpointError) Error() string { return e.Err.Error() }
func (e *EndpointError) Unwrap() error { return e.Err }

// IsEndpointDown tells whether err is an EndpointError.
func IsEndpointDown(err error) bool {
	var e *EndpointError
	return errors.As(err, &e)
}

type queryKey struct{}

// AsQuery marks ctx as a user's query, which the rate limit lets ahead of
// bulk embedding: a search waits behind no re-embedding.
func AsQuery(ctx context.Context) context.Context { return context.WithValue(ctx, queryKey{}, true) }

// isQuery tells whether ctx was marked by AsQuery.
func isQuery(ctx context.Context) bool { v, _ := ctx.Value(queryKey{}).(bool); return v }
