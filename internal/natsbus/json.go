package natsbus

import (
	"context"
	"encoding/json"

	"mediarec"
)

// JSONBatch adapts a handler of decoded values to a BatchHandler. A message
// that does not decode into T is terminated: no retry can fix it.
func JSONBatch[T any](h func(ctx context.Context, vals []T, delivered []int) []error) BatchHandler {
	return func(ctx context.Context, msgs []Message) []error {
		errs := make([]error, len(msgs))
		vals, delivered, idx := make([]T, 0, len(msgs)), make([]int, 0, len(msgs)), make([]int, 0, len(msgs))
		for i, m := range msgs {
			var v T
			if err := json.Unmarshal(m.Data, &v); err != nil {
				errs[i] = mediarec.Errorf(mediarec.EINVALID, "Undecodable message: %v.", err)
				continue
			}
			vals, delivered, idx = append(vals, v), append(delivered, m.Delivered), append(idx, i)
		}
		if len(vals) > 0 {
			for k, err := range h(ctx, vals, delivered) {
				errs[idx[k]] = err
			}
		}
		return errs
	}
}

// JSONEach adapts a handler of one decoded value at a time.
func JSONEach[T any](h func(ctx context.Context, v T) error) BatchHandler {
	return JSONBatch(func(ctx context.Context, vals []T, _ []int) []error {
		errs := make([]error, len(vals))
		for i, v := range vals {
			errs[i] = h(ctx, v)
		}
		return errs
	})
}
