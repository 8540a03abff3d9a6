package natsbus

import (
	"context"
	"errors"
	"fmt"
	"regexp"

	"github.com/nats-io/nats.go/jetstream"

	"mediarec"
	"mediarec/internal/ratelimit"
)

// rateBucket holds the state of the shared rate limiters, one key each.
const rateBucket = "RATELIMIT"

// rateKey is what a key-value bucket takes as a key.
var rateKey = regexp.MustCompile(`^[-/_=a-zA-Z0-9]+(\.[-/_=a-zA-Z0-9]+)*$`)

// RateStore keeps the state of a rate limiter (ratelimit.Window) in a
// JetStream key-value bucket, whose revisions give the compare-and-set, so
// that every process of a deployment paces its requests by one log.
type RateStore struct {
	kv  jetstream.KeyValue
	key string
}

// RateStore opens (creating if needed) the bucket of the rate limiters and
// returns the store of the one called name; EINVALID for a name that is
// not a key (letters, digits, -/_= and inner dots).
func (b *Bus) RateStore(ctx context.Context, name string) (*RateStore, error) {
	if !rateKey.MatchString(name) {
		return nil, mediarec.Errorf(mediarec.EINVALID, "%q cannot name a rate limiter.", name)
	}
	// Only the latest state matters. Create first, update only on a
	// settings change: see ensureStream.
	cfg := jetstream.KeyValueConfig{Bucket: b.pre + rateBucket, Storage: jetstream.FileStorage, History: 1}
	kv, err := b.js.CreateKeyValue(ctx, cfg)
	if errors.Is(err, jetstream.ErrBucketExists) {
		kv, err = b.js.UpdateKeyValue(ctx, cfg)
	}
	if err != nil {
		return nil, fmt.Errorf("rate limit bucket: %w", err)
	}
	return &RateStore{kv: kv, key: name}, nil
}

// Get returns the state and its revision; (nil, 0, nil) before the first
// Put. EUNAVAILABLE when the server does not answer.
func (s *RateStore) Get(ctx context.Context) ([]byte, uint64, error) {
	e, err := s.kv.Get(ctx, s.key)
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound):
		return nil, 0, nil
	case err != nil:
		return nil, 0, mediarec.Errorf(mediarec.EUNAVAILABLE, "Read rate limiter %s: %v.", s.key, err)
	}
	return e.Value(), e.Revision(), nil
}

// Put stores state if the stored revision is still rev (0: only if none
// yet); ratelimit.ErrConflict otherwise, EUNAVAILABLE when the server does
// not answer.
func (s *RateStore) Put(ctx context.Context, state []byte, rev uint64) error {
	var err error
	if rev == 0 {
		_, err = s.kv.Create(ctx, s.key, state)
	} else {
		_, err = s.kv.Update(ctx, s.key, state, rev)
	}
	switch {
	case errors.Is(err, jetstream.ErrKeyExists), errors.Is(err, jetstream.ErrKeyRevisionMismatch):
		return ratelimit.ErrConflict
	case err != nil:
		return mediarec.Errorf(mediarec.EUNAVAILABLE, "Write rate limiter %s: %v.", s.key, err)
	}
	return nil
}
