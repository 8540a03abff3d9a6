package ratelimit_test

import (
	"testing"

	"mediarec/internal/ratelimit"
	"mediarec/internal/ratelimit/ratelimittest"
)

var _ ratelimit.Store = (*ratelimit.MemoryStore)(nil)

func TestMemoryStore(t *testing.T) {
	ratelimittest.TestStore(t, func(testing.TB) ratelimit.Store { return ratelimit.NewMemoryStore() })
}
