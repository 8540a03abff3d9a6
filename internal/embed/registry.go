package embed

import (
	"context"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	"mediarec"
	"mediarec/internal/linalg"
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
	gen := NewGeneration(e, CollectionFor(e.Model()))
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
	e, err := r.embedderOf(ctx, s.Live)
	if err != nil {
		return nil, "", err
	}
	return e, s.Live.Collection, nil
}

// identified is an embedder whose vectors are known by more than the
// model's name (OpenAI).
type identified interface {
	Endpoint() string
	Fingerprint() string
}

// siblings is an embedder that reaches other models at its endpoint
// (OpenAI): the live generation's, while the configured model is a new
// one being re-embedded into.
type siblings interface {
	Sibling(model string, dims int) (Embedder, error)
}

// NewGeneration is the generation of e's vectors in collection, with the
// identity of a remote model.
func NewGeneration(e Embedder, collection string) mediarec.Generation {
	g := mediarec.Generation{Model: e.Model(), Dimensions: e.Dimensions(), Collection: collection}
	if id, ok := e.(identified); ok {
		g.Endpoint, g.Fingerprint = id.Endpoint(), id.Fingerprint()
	}
	return g
}

// EmbedderFor returns the embedder of the jobs whose vectors go to
// collection with model: the embedder of that generation when the state
// names it, else of the model.
func (r *Registry) EmbedderFor(ctx context.Context, model, collection string) (Embedder, error) {
	s, err := r.State(ctx)
	if err != nil {
		return nil, err
	}
	for _, g := range []*mediarec.Generation{&s.Live, s.Target} {
		if g != nil && g.Collection == collection && g.Model == model {
			return r.embedderOf(ctx, *g)
		}
	}
	return r.Embedder(ctx, model)
}

// fingerprintMatch is the least cosine similarity of two fingerprints of
// one model: the same text embedded twice differs by rounding only, two
// models' vectors are unrelated.
const fingerprintMatch = 0.99

// serves tells whether e gives the vectors of generation g: the same
// model name and length and, where g recorded them, the same endpoint and
// fingerprint. A generation from before they were recorded goes by name
// and length. unknown: e has no fingerprint yet (its endpoint has not
// answered since the process started), so it cannot be told from g's.
func serves(e Embedder, g mediarec.Generation) (ok, unknown bool) {
	if e.Model() != g.Model || e.Dimensions() != g.Dimensions {
		return false, false
	}
	id, isRemote := e.(identified)
	if !isRemote {
		return g.Endpoint == "" && g.Fingerprint == "", false
	}
	if g.Endpoint != "" && g.Endpoint != id.Endpoint() {
		return false, false
	}
	if g.Fingerprint == "" {
		return true, false
	}
	fp := id.Fingerprint()
	if fp == "" {
		return false, true
	}
	a, b := fingerprintVector(fp), fingerprintVector(g.Fingerprint)
	n := min(len(a), len(b))
	return n > 0 && similarity(a[:n], b[:n]) >= fingerprintMatch, false
}

// unchecked stands for the configured model of a generation it may serve,
// while its endpoint has not answered since the process started: it embeds
// nothing (an EndpointError, which workers wait out and searches answer
// by keywords) until the endpoint answers and the model is checked.
type unchecked struct{ g mediarec.Generation }

func (u unchecked) Embed(context.Context, []string) ([][]float32, error) {
	return nil, endpointDown("has not answered since this process started, so its model is not checked against collection %s yet", u.g.Collection)
}
func (u unchecked) Model() string   { return u.g.Model }
func (u unchecked) Dimensions() int { return u.g.Dimensions }

// similarity is the cosine similarity of two fingerprints.
func similarity(a, b []float32) float64 {
	na, nb := float64(linalg.Dot(a, a)), float64(linalg.Dot(b, b))
	if na == 0 || nb == 0 {
		return 0
	}
	return float64(linalg.Dot(a, b)) / math.Sqrt(na*nb)
}

// embedderOf returns the embedder of generation g. A local model is known
// by its name. A remote one is the configured endpoint when that serves
// it; otherwise the same endpoint asked for g's model and length (the live
// generation's, while a re-embedding fills the configured model's), if
// what it answers is g's model. Queries and writes never go to a
// generation with another model's vectors: that is an EndpointError, which
// workers wait out and searches report.
func (r *Registry) embedderOf(ctx context.Context, g mediarec.Generation) (Embedder, error) {
	if r.remote == nil || strings.HasPrefix(g.Model, "hashing-") || strings.HasPrefix(g.Model, "lsa-") {
		return r.Embedder(ctx, g.Model)
	}
	switch ok, unknown := serves(r.remote, g); {
	case ok:
		return r.remote, nil
	case unknown:
		return unchecked{g}, nil
	}
	key := "generation " + g.Collection
	r.mu.Lock()
	e, ok := r.models[key]
	r.mu.Unlock()
	if ok {
		return e, nil
	}
	sib, ok := r.remote.(siblings)
	if !ok {
		return nil, endpointDown("is configured for %s (%d values), not for %s (%d values) that collection %s holds", r.remote.Model(), r.remote.Dimensions(), g.Model, g.Dimensions, g.Collection)
	}
	e, err := sib.Sibling(g.Model, g.Dimensions)
	if err != nil {
		return nil, fmt.Errorf("embedder for %s of collection %s: %w", g.Model, g.Collection, err)
	}
	switch ok, unknown := serves(e, g); {
	case unknown:
		return unchecked{g}, nil
	case !ok:
		return nil, endpointDown("serves other vectors under %s than collection %s holds (another model behind the name, or another endpoint): re-embed the catalog", g.Model, g.Collection)
	}
	r.mu.Lock()
	r.models[key] = e
	r.mu.Unlock()
	return e, nil
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
