package natsbus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"mediarec"
)

// Buckets of the embedding state and the fitted models.
const (
	stateBucket  = "EMBEDDING"
	modelsBucket = "MODELS"
	stateKey     = "state"
)

// EmbeddingStore keeps the embedding state in a JetStream key-value bucket,
// whose revisions give compare-and-set, and fitted models in an object
// store, so every process of a deployment sees the same ones.
type EmbeddingStore struct {
	kv  jetstream.KeyValue
	obj jetstream.ObjectStore
}

// EmbeddingStore opens (creating if needed) the buckets.
func (b *Bus) EmbeddingStore(ctx context.Context) (*EmbeddingStore, error) {
	// Create first, update only on a settings change: see ensureStream.
	kvCfg := jetstream.KeyValueConfig{Bucket: b.pre + stateBucket, Storage: jetstream.FileStorage, History: 5}
	kv, err := b.js.CreateKeyValue(ctx, kvCfg)
	if errors.Is(err, jetstream.ErrBucketExists) {
		kv, err = b.js.UpdateKeyValue(ctx, kvCfg)
	}
	if err != nil {
		return nil, fmt.Errorf("embedding state bucket: %w", err)
	}
	objCfg := jetstream.ObjectStoreConfig{Bucket: b.pre + modelsBucket, Storage: jetstream.FileStorage}
	obj, err := b.js.CreateObjectStore(ctx, objCfg)
	if errors.Is(err, jetstream.ErrBucketExists) {
		obj, err = b.js.UpdateObjectStore(ctx, objCfg)
	}
	if err != nil {
		return nil, fmt.Errorf("models bucket: %w", err)
	}
	return &EmbeddingStore{kv: kv, obj: obj}, nil
}

// LoadState returns the state and its revision; ENOTFOUND before the first
// save.
func (s *EmbeddingStore) LoadState(ctx context.Context) (mediarec.EmbeddingState, uint64, error) {
	var st mediarec.EmbeddingState
	e, err := s.kv.Get(ctx, stateKey)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return st, 0, mediarec.Errorf(mediarec.ENOTFOUND, "No embedding state yet.")
	} else if err != nil {
		return st, 0, mediarec.Errorf(mediarec.EUNAVAILABLE, "Read the embedding state: %v.", err)
	}
	if err := json.Unmarshal(e.Value(), &st); err != nil {
		return st, 0, fmt.Errorf("decode the embedding state: %w", err)
	}
	return st, e.Revision(), nil
}

// SaveState stores st if the stored revision is still rev (0: nothing yet).
func (s *EmbeddingStore) SaveState(ctx context.Context, st mediarec.EmbeddingState, rev uint64) (uint64, error) {
	data, err := json.Marshal(st)
	if err != nil {
		return 0, fmt.Errorf("encode the embedding state: %w", err)
	}
	var newRev uint64
	if rev == 0 {
		newRev, err = s.kv.Create(ctx, stateKey, data)
	} else {
		newRev, err = s.kv.Update(ctx, stateKey, data, rev)
	}
	switch {
	case errors.Is(err, jetstream.ErrKeyExists), errors.Is(err, jetstream.ErrKeyRevisionMismatch):
		return 0, mediarec.Errorf(mediarec.ECONFLICT, "The embedding state changed meanwhile.")
	case err != nil:
		return 0, mediarec.Errorf(mediarec.EUNAVAILABLE, "Save the embedding state: %v.", err)
	}
	return newRev, nil
}

// PutModel stores a fitted model under its name.
func (s *EmbeddingStore) PutModel(ctx context.Context, name string, data []byte) error {
	if _, err := s.obj.PutBytes(ctx, name, data); err != nil {
		return mediarec.Errorf(mediarec.EUNAVAILABLE, "Store model %s: %v.", name, err)
	}
	return nil
}

// GetModel returns a stored model, or ENOTFOUND.
func (s *EmbeddingStore) GetModel(ctx context.Context, name string) ([]byte, error) {
	data, err := s.obj.GetBytes(ctx, name)
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return nil, mediarec.Errorf(mediarec.ENOTFOUND, "Model %s not found.", name)
	} else if err != nil {
		return nil, mediarec.Errorf(mediarec.EUNAVAILABLE, "Read model %s: %v.", name, err)
	}
	return data, nil
}
