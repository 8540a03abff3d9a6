package embed

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/dustin/go-humanize"

	"mediarec"
)

// Catalog is what re-embedding needs of the catalog.
type Catalog interface {
	// EachItem calls fn for every item, in id order.
	EachItem(ctx context.Context, fn func(*mediarec.Item) error) error
	// EnqueueAll queues every item for embedding into collection.
	EnqueueAll(ctx context.Context, collection string) (int, error)
	// EmbeddingStats counts the items per embedding status.
	EmbeddingStats(ctx context.Context) (map[mediarec.EmbeddingStatus]int, error)
}

// fitSample bounds the texts a local fit reads: the vocabulary and the
// latent space settle long before a million items.
const fitSample = 50_000

// Coordinator runs re-embeddings: it fits a new local model (or takes the
// configured remote one), has the workers embed every item into a new
// collection while searches keep reading the live one, and switches the
// live generation and alias once the new collection is complete. With the
// local embedder it also refits on its own once the catalog has grown.
type Coordinator struct {
	reg     *Registry
	vectors CollectionStore
	catalog Catalog
	log     *slog.Logger
	growth  float64 // refit once the catalog grew by this fraction; 0 disables

	// MaxFailedShare is the largest share of the catalog (0.01 for 1%)
	// that may have failed to embed in a complete target for it to be
	// switched to; past it the target waits, marked Blocked, so that a
	// model that fails most items never replaces one that works. A target
	// without a single vector is never switched to. Set before Run.
	MaxFailedShare float64

	mu      sync.Mutex
	fitting string                        // job id of a fit in progress
	failed  map[string]map[int64]struct{} // target collection → items that failed there
	base    context.Context               // Run's context: builds stop with it
	builds  sync.WaitGroup
}

// DefaultMaxFailedShare is the MaxFailedShare of a new Coordinator.
const DefaultMaxFailedShare = 0.01

// NewCoordinator returns a coordinator. growth is the fraction of catalog
// growth since the last fit that triggers a refit of the local model (0.2
// for 20%); 0 turns automatic refits off.
func NewCoordinator(reg *Registry, vectors CollectionStore, catalog Catalog, growth float64, log *slog.Logger) *Coordinator {
	return &Coordinator{reg: reg, vectors: vectors, catalog: catalog, growth: growth, log: log,
		MaxFailedShare: DefaultMaxFailedShare, failed: map[string]map[int64]struct{}{}}
}

// Progress describes the embedding for operators.
type Progress struct {
	Live    mediarec.Generation  `json:"live"`
	Target  *mediarec.Generation `json:"target,omitempty"`
	JobID   string               `json:"job_id,omitempty"`
	Fitting bool                 `json:"fitting,omitempty"`
	Total   int                  `json:"total,omitempty"`
	Done    int                  `json:"done,omitempty"` // vectors in the target so far
	// Failed counts the items that failed to embed in the target, as this
	// process saw them reported.
	Failed int `json:"failed,omitempty"`
	// Blocked says why the target, complete, is not switched to (too many
	// items failed), and what to do; empty while it is not.
	Blocked string `json:"blocked,omitempty"`
}

// Progress reports the live generation and any re-embedding under way.
func (c *Coordinator) Progress(ctx context.Context) (*Progress, error) {
	s, err := c.reg.State(ctx)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	p := &Progress{Live: s.Live, Target: s.Target, JobID: s.JobID, Total: s.Total, Fitting: c.fitting != "", Blocked: s.Blocked}
	if p.Fitting {
		p.JobID = c.fitting
	}
	if s.Target != nil {
		p.Failed = len(c.failed[s.Target.Collection])
	}
	c.mu.Unlock()
	if s.Target != nil {
		info, err := c.vectors.CollectionInfo(ctx, s.Target.Collection)
		if err != nil {
			return nil, fmt.Errorf("target collection: %w", err)
		}
		p.Done = info.Points
	}
	return p, nil
}

// Start begins a re-embedding of the whole catalog and returns its job id
// and the number of items. The fit runs in the background. ECONFLICT when
// one is already running; one that is blocked (too many of its items
// failed) is replaced, its collection deleted.
func (c *Coordinator) Start(ctx context.Context) (string, int, error) {
	s, err := c.reg.State(ctx)
	if err != nil {
		return "", 0, err
	}
	stats, err := c.catalog.EmbeddingStats(ctx)
	if err != nil {
		return "", 0, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fitting != "" || s.Target != nil && s.Blocked == "" {
		return "", 0, mediarec.Errorf(mediarec.ECONFLICT, "A re-embedding is already running.")
	}
	if c.base == nil {
		return "", 0, mediarec.Errorf(mediarec.EUNAVAILABLE, "Re-embedding is not running in this process yet.")
	}
	var abandoned string
	if s.Target != nil {
		abandoned = s.Target.Collection
	}
	// The build outlives the request that started it, but not the process.
	jobID, base := newJobID(), c.base
	c.fitting = jobID
	c.builds.Go(func() { c.build(base, jobID, total(stats), abandoned) })
	return jobID, total(stats), nil
}

// build fits the model, creates the target collection and queues every
// item into it. abandoned, if not empty, is the collection of a blocked
// target this one replaces.
func (c *Coordinator) build(ctx context.Context, jobID string, items int, abandoned string) {
	defer func() {
		c.mu.Lock()
		c.fitting = ""
		c.mu.Unlock()
	}()
	start := time.Now()
	gen, err := c.newGeneration(ctx, jobID, items)
	if err != nil {
		c.log.Error("re-embedding failed", "job_id", jobID, "error", err)
		return
	}
	err = c.reg.Update(ctx, func(s *mediarec.EmbeddingState) error {
		s.Target, s.JobID, s.Total, s.Blocked = &gen, jobID, 0, ""
		if !c.reg.Remote() {
			s.FittedOn = items
		}
		return nil
	})
	if err != nil {
		c.log.Error("re-embedding failed", "job_id", jobID, "error", err)
		return
	}
	if abandoned != "" {
		c.mu.Lock()
		delete(c.failed, abandoned)
		c.mu.Unlock()
		if err := c.vectors.DeleteCollection(ctx, abandoned); err != nil && mediarec.ErrorCode(err) != mediarec.ENOTFOUND {
			c.log.Warn("could not delete the collection of a blocked re-embedding", "collection", abandoned, "error", err)
		}
	}
	if err := c.enqueue(ctx, gen); err != nil {
		c.log.Error("re-embedding failed", "job_id", jobID, "error", err)
		return
	}
	c.log.Info("re-embedding queued", "job_id", jobID, "model", gen.Model, "collection", gen.Collection, "prepared_in", time.Since(start))
}

// enqueue queues the catalog into the target and records how much.
func (c *Coordinator) enqueue(ctx context.Context, gen mediarec.Generation) error {
	n, err := c.catalog.EnqueueAll(ctx, gen.Collection)
	if err != nil {
		return err
	}
	return c.reg.Update(ctx, func(s *mediarec.EmbeddingState) error {
		if s.Target != nil && s.Target.Collection == gen.Collection {
			s.Total = n
		}
		return nil
	})
}

// newGeneration fits (or takes) the model and creates its collection.
func (c *Coordinator) newGeneration(ctx context.Context, jobID string, items int) (mediarec.Generation, error) {
	if s, err := c.reg.State(ctx); err == nil && s.Retired != "" {
		// The generation before the live one is no longer read by anyone.
		if err := c.dropRetired(ctx, s.Retired); err != nil {
			c.log.Warn("could not delete a retired collection", "error", err)
		}
	}
	e := c.reg.remote
	if e == nil {
		texts, err := c.sampleTexts(ctx, items)
		if err != nil {
			return mediarec.Generation{}, err
		}
		lsa, err := FitLSA(texts, DefaultDimensions)
		if err != nil {
			return mediarec.Generation{}, fmt.Errorf("fit the local model: %w", err)
		}
		data, err := lsa.MarshalBinary()
		if err != nil {
			return mediarec.Generation{}, fmt.Errorf("encode the local model: %w", err)
		}
		if err := c.reg.store.PutModel(ctx, lsa.Model(), data); err != nil {
			return mediarec.Generation{}, err
		}
		e = lsa
	}
	gen := NewGeneration(e, CollectionFor(e.Model())+"_"+jobID)
	if err := c.vectors.CreateCollection(ctx, gen.Collection, gen.Dimensions); err != nil {
		return mediarec.Generation{}, fmt.Errorf("create %s: %w", gen.Collection, err)
	}
	return gen, nil
}

// sampleTexts returns the texts of up to fitSample items, spread evenly
// over the catalog so that a sample is deterministic for a catalog.
func (c *Coordinator) sampleTexts(ctx context.Context, items int) ([]string, error) {
	stride := max(1, (items+fitSample-1)/fitSample)
	texts := make([]string, 0, min(items, fitSample))
	i := 0
	err := c.catalog.EachItem(ctx, func(it *mediarec.Item) error {
		if i%stride == 0 {
			texts = append(texts, ItemText(it))
		}
		i++
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read the catalog: %w", err)
	}
	return texts, nil
}

// Observe takes note of an embedding result, so that items that failed in
// the target do not hold up the switch (unless too many did), and an item
// embedded there after all no longer counts as failed. A result delivered
// twice counts once.
func (c *Coordinator) Observe(r mediarec.EmbedResult) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch r.Status {
	case mediarec.EmbeddingFailed:
		f := c.failed[r.Collection]
		if f == nil {
			f = map[int64]struct{}{}
			c.failed[r.Collection] = f
		}
		f[r.ItemID] = struct{}{}
	case mediarec.EmbeddingDone:
		delete(c.failed[r.Collection], r.ItemID)
	}
}

// Run checks every interval whether the target is complete (then switches)
// or, with the local embedder, whether the catalog has grown enough since
// the last fit (then starts a refit), until ctx ends. A check counts the
// catalog by status, a third of a second at a million items: it runs at
// most a twentieth of the time, so it never takes much from the embedding
// it waits for.
func (c *Coordinator) Run(ctx context.Context, interval time.Duration) error {
	c.mu.Lock()
	c.base = ctx
	c.mu.Unlock()
	defer c.builds.Wait()
	t := time.NewTicker(interval)
	defer t.Stop()
	var last time.Time
	var cost time.Duration
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if time.Since(last) < 20*cost {
			continue
		}
		last = time.Now()
		if err := c.step(ctx); err != nil && ctx.Err() == nil {
			c.log.Warn("re-embedding check failed", "error", err)
		}
		cost = time.Since(last)
	}
}

// retiredGrace is how long a replaced collection is kept after the switch:
// a search that read the alias just before goes on reading it, and on
// Qdrant an alias change reaches the other nodes a moment later. At a
// million items the hashing generation's vectors are a gigabyte.
const retiredGrace = time.Minute

func (c *Coordinator) step(ctx context.Context) error {
	s, err := c.reg.State(ctx)
	if err != nil {
		return err
	}
	if s.Retired != "" && time.Since(s.RetiredAt) >= retiredGrace {
		// A failed drop is tried again at the next check; the switch and
		// the refits do not wait for it.
		if err := c.dropRetired(ctx, s.Retired); err != nil {
			c.log.Warn("could not delete a retired collection", "error", err)
		}
	}
	stats, err := c.catalog.EmbeddingStats(ctx)
	if err != nil {
		return err
	}
	c.mu.Lock()
	fitting := c.fitting != ""
	c.mu.Unlock()
	if s.Target != nil {
		if s.Total == 0 && !fitting {
			// A process stopped between creating the target and queueing
			// the catalog into it: queue it now.
			return c.enqueue(ctx, *s.Target)
		}
		return c.switchIfComplete(ctx, s, total(stats))
	}
	if c.growth == 0 || c.reg.Remote() || fitting || total(stats) == 0 || stats[mediarec.EmbeddingPending] > 0 {
		return nil
	}
	// The first settled catalog gets a fitted model; later ones when they
	// have grown enough.
	if strings.HasPrefix(s.Live.Model, "hashing-") || float64(total(stats)) >= float64(s.FittedOn)*(1+c.growth) {
		jobID, n, err := c.Start(ctx)
		if err != nil {
			return err
		}
		c.log.Info("refitting the local model", "job_id", jobID, "items", n, "fitted_on", s.FittedOn)
	}
	return nil
}

func (c *Coordinator) switchIfComplete(ctx context.Context, s mediarec.EmbeddingState, items int) error {
	if s.Total == 0 {
		return nil // still queueing
	}
	info, err := c.vectors.CollectionInfo(ctx, s.Target.Collection)
	if err != nil {
		return fmt.Errorf("target collection: %w", err)
	}
	c.mu.Lock()
	failed := len(c.failed[s.Target.Collection])
	c.mu.Unlock()
	if info.Points+failed < items {
		return nil
	}
	target := *s.Target
	if blocked := c.blockedReason(target.Model, info.Points, failed, items); blocked != "" {
		if blocked == s.Blocked {
			return nil
		}
		c.log.Warn("re-embedding complete but not switched to: too many items failed", "model", target.Model, "collection", target.Collection,
			"vectors", info.Points, "failed", failed, "items", items, "max_failed_share", c.MaxFailedShare)
		return c.reg.Update(ctx, func(s *mediarec.EmbeddingState) error {
			if s.Target != nil && s.Target.Collection == target.Collection {
				s.Blocked = blocked
			}
			return nil
		})
	}
	err = c.reg.Update(ctx, func(s *mediarec.EmbeddingState) error {
		if s.Target == nil || s.Target.Collection != target.Collection {
			return nil // another replica switched first
		}
		s.Retired, s.RetiredAt, s.Live, s.Target, s.JobID, s.Total, s.Blocked = s.Live.Collection, time.Now(), target, nil, "", 0, ""
		return nil
	})
	if err != nil {
		return err
	}
	if err := c.vectors.SetAlias(ctx, LiveAlias, target.Collection); err != nil {
		return fmt.Errorf("point %s at %s: %w", LiveAlias, target.Collection, err)
	}
	c.mu.Lock()
	delete(c.failed, target.Collection)
	c.mu.Unlock()
	c.log.Info("re-embedding complete: switched the live generation", "model", target.Model, "collection", target.Collection, "vectors", info.Points, "failed", failed)
	return nil
}

// blockedReason tells why a complete target of model, with points vectors
// and failed items of a catalog of items, must not be switched to, or ""
// when it may be: a target without vectors never is, and one with more
// failed items than MaxFailedShare allows waits. The failures are items'
// own (an endpoint failure fails none: the workers wait it out), so it
// takes a fix (of the items, or a setting) and a new re-embedding.
func (c *Coordinator) blockedReason(model string, points, failed, items int) string {
	if points > 0 && float64(failed) <= c.MaxFailedShare*float64(items) {
		return ""
	}
	share := 100.0
	if items > 0 {
		share = 100 * float64(failed) / float64(items)
	}
	return fmt.Sprintf("%s of %s items (%.1f%%) failed to embed in %s; the switch waits until at most %s fail: "+
		"fix the cause (see the items' embedding errors), then start a new re-embedding (POST /v1/admin/reembed), which replaces this one.",
		humanize.Comma(int64(failed)), humanize.Comma(int64(items)), share, model, strconv.FormatFloat(100*max(c.MaxFailedShare, 0), 'f', -1, 64)+"%")
}

// dropRetired deletes a retired collection and forgets it.
func (c *Coordinator) dropRetired(ctx context.Context, coll string) error {
	if err := c.vectors.DeleteCollection(ctx, coll); err != nil && mediarec.ErrorCode(err) != mediarec.ENOTFOUND {
		return fmt.Errorf("delete the retired collection %s: %w", coll, err)
	}
	c.log.Info("deleted the retired collection", "collection", coll)
	return c.reg.Update(ctx, func(s *mediarec.EmbeddingState) error {
		if s.Retired == coll {
			s.Retired, s.RetiredAt = "", time.Time{}
		}
		return nil
	})
}

func total(stats map[mediarec.EmbeddingStatus]int) int {
	n := 0
	for _, v := range stats {
		n += v
	}
	return n
}

func newJobID() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return time.Now().UTC().Format("20060102t150405") + hex.EncodeToString(b[:])
}
