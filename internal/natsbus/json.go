package natsbus

import (
	"context"
	"encoding/json"

	"mediarec"
)

// JSONBatch adapts a handler of decoded values to a BatchHandler: it gets
// the batch's context, the values, how often each was delivered and each
// one's own context (see Message.Ctx). A message that does not decode into
// T is terminated: no retry can fix it.
func JSONBatch[T any](h func(ctx context.Context, vals []T, delivered []int, ctxs []context.Context) []error) BatchHandler {
	return func(ctx context.Context, msgs []Message) []error {
		errs := make([]error, len(msgs))
		vals, delivered, idx := make([]T, 0, len(msgs)), make([]int, 0, len(msgs)), make([]int, 0, len(msgs))
		ctxs := make([]context.Context, 0, len(msgs))
		for i, m := range msgs {
			var v T
			if err := json.Unmarshal(m.Data, &v); err != nil {
				errs[i] = mediarec.Errorf(mediarec.EINVALID, "Undecodable message: %v.", err)
				continue
			}
			mctx := m.Ctx
			if mctx == nil {
				mctx = ctx
			}
			vals, delivered, idx, ctxs = append(vals, v), append(delivered, m.Delivered), append(idx, i), append(ctxs, mctx)
		}
		if len(vals) > 0 {
			for k, err := range h(ctx, vals, delivered, ctxs) {
				errs[idx[k]] = err
			}
		}
		return errs
	}
}
