package embed

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"mediarec"
)

// StateStore keeps the embedding state every process shares, and the
// fitted local models.
type StateStore interface {
	// LoadState returns the state and its revision; ENOTFOUND before the
	// first save.
	LoadState(ctx context.Context) (mediarec.EmbeddingState, uint64, error)
	// SaveState stores s if the stored revision is still rev (0: nothing
	// stored yet) and returns the new revision; ECONFLICT otherwise.
	SaveState(ctx context.Context, s mediarec.EmbeddingState, rev uint64) (uint64, error)
	// PutModel stores a fitted model under its name.
	PutModel(ctx context.Context, name string, data []byte) error
	// GetModel returns a stored model, or ENOTFOUND.
	GetModel(ctx context.Context, name string) ([]byte, error)
}

// stateTTL bounds how stale a process's view of the state may be. Queries
// embed with the model of the generation they read, so a stale view is
// consistent, only late.
const stateTTL = time.Second

// Registry gives a process the shared state and the embedder of any model
// named in it: the hashing model, a fitted LSA model (loaded once from the
// store), or the configured remote model.
type Registry struct {
	store  StateStore
	remote Embedder // the OpenAI-compatible embedder, nil when local

	mu     sync.Mutex
	state  mediarec.EmbeddingState
	rev    uint64
	loaded time.Time
	models map[string]Embedder
}

// NewRegistry returns a registry over store; remote is the configured
// OpenAI-compatible embedder, or nil for the local one.
func NewRegistry(store StateStore, remote Embedder) *Registry {
	return &Registry{store: store, remote: remote, models: map[string]Embedder{}}
}

// Remote reports whether the embedder is a remote endpoint.
func (r *Registry) Remote() bool { return r.remote != nil }

// Init makes sure a live generation exists: on the first start of a
// deployment it creates the collection of the default model and the live
// alias pointing at it. fitFollows says that a fitted model will replace
// the hashing one once the first catalog is embedded (the local embedder
// with refits on): its collection then keeps no graph, since a graph of a
// million hashing vectors took longer to build than the whole fit and
// re-embedding and was dropped right after; searches scan it meanwhile.
func (r *Registry) Init(ctx context.Context, vectors CollectionStore, fitFollows bool) error {
	_, err := r.State(ctx)
	if mediarec.ErrorCode(err) != mediarec.ENOTFOUND {
		return err
	}
	e, create := r.remote, vectors.CreateCollection
	if e == nil {
		e = NewHashing(DefaultDimensions)
		if fitFollows {
			create = vectors.CreateScanCollection
		}
	}
	gen := mediarec.Generation{Model: e.Model(), Dimensions: e.Dimensions(), Collection: CollectionFor(e.Model())}
	if err := create(ctx, gen.Collection, gen.Dimensions); err != nil && mediarec.ErrorCode(err) != mediarec.ECONFLICT {
		return fmt.Errorf("create %s: %w", gen.Collection, err)
	}
	if err := vectors.SetAlias(ctx, LiveAlias, gen.Collection); err != nil {
		return fmt.Errorf("point %s at %s: %w", LiveAlias, gen.Collection, err)
	}
	err = r.Update(ctx, func(s *mediarec.EmbeddingState) error {
		if s.Live.Model == "" {
			s.Live = gen
		}
		return nil
	})
	return err
}

// stateTimeout bounds a reload, so that an unreachable store costs a
// caller little.
const stateTimeout = 2 * time.Second

// State returns the shared state, at most stateTTL old. When the store
// cannot be read it returns the last state it read: searches go on
// answering from the live generation while the bus is away.
func (r *Registry) State(ctx context.Context) (mediarec.EmbeddingState, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if time.Since(r.loaded) < stateTTL {
		return r.state, nil
	}
	ctx, cancel := context.WithTimeout(ctx, stateTimeout)
	defer cancel()
	s, rev, err := r.store.LoadState(ctx)
	if err != nil {
		if r.state.Live.Model != "" && mediarec.ErrorCode(err) != mediarec.ENOTFOUND {
			r.loaded = time.Now() // try the store again after the TTL, not on every call
			return r.state, nil
		}
		return mediarec.EmbeddingState{}, err
	}
	r.state, r.rev, r.loaded = s, rev, time.Now()
	return s, nil
}

// Update applies fn to the latest state and saves it, retrying when another
// process saved in between. fn may run more than once.
func (r *Registry) Update(ctx context.Context, fn func(*mediarec.EmbeddingState) error) error {
	for {
		s, rev, err := r.store.LoadState(ctx)
		if mediarec.ErrorCode(err) == mediarec.ENOTFOUND {
			s, rev = mediarec.EmbeddingState{}, 0
		} else if err != nil {
			return err
		}
		if err := fn(&s); err != nil {
			return err
		}
		newRev, err := r.store.SaveState(ctx, s, rev)
		if mediarec.ErrorCode(err) == mediarec.ECONFLICT {
			continue
		} else if err != nil {
			return err
		}
		r.mu.Lock()
		r.state, r.rev, r.loaded = s, newRev, time.Now()
		r.mu.Unlock()
		return nil
	}
}

// Live returns the embedder and collection of the live generation.
func (r *Registry) Live(ctx context.Context) (Embedder, string, error) {
	s, err := r.State(ctx)
	if err != nil {
		return nil, "", err
	}
	e, err := r.Embedder(ctx, s.Live.Model)
	if err != nil {
		return nil, "", err
	}
	return e, s.Live.Collection, nil
}

// Embedder returns the embedder of a model named in the state.
func (r *Registry) Embedder(ctx context.Context, model string) (Embedder, error) {
	r.mu.Lock()
	e, ok := r.models[model]
	r.mu.Unlock()
	if ok {
		return e, nil
	}
	switch {
	case r.remote != nil && model == r.remote.Model():
		e = r.remote
	case strings.HasPrefix(model, "hashing-"):
		var dim int
		if _, err := fmt.Sscanf(model, "hashing-%d", &dim); err != nil || dim < 1 {
			return nil, mediarec.Errorf(mediarec.EINVALID, "Unknown model %q.", model)
		}
		e = NewHashing(dim)
	case strings.HasPrefix(model, "lsa-"):
		data, err := r.store.GetModel(ctx, model)
		if err != nil {
			return nil, fmt.Errorf("load model %s: %w", model, err)
		}
		if e, err = UnmarshalLSA(data); err != nil {
			return nil, fmt.Errorf("load model %s: %w", model, err)
		}
	default:
		// A remote model this process is not configured for.
		return nil, mediarec.Errorf(mediarec.EUNAVAILABLE, "This process has no embedder for model %q; check OPENAI_BASE_URL and EMBEDDING_MODEL.", model)
	}
	r.mu.Lock()
	r.models[model] = e
	r.mu.Unlock()
	return e, nil
}
