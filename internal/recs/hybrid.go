package recs

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"sync/atomic"
	"time"

	"mediarec"
	"mediarec/internal/collab"
	"mediarec/internal/linalg"
)

// Hybrid keeps the collaborative model fitted on the ledger and an index of
// the hybrid vectors (content and collaborative factors, see package
// collab) of the items someone judged: what recommendations search once
// users have judged items that others judged too. It is refitted as feedback accumulates and
// when the content generation changes; searches keep using the previous
// index until the new one is complete.
type Hybrid struct {
	live   Live
	source Vectors     // the content vectors
	store  HybridStore // private: this process writes and reads it
	ledger *Ledger
	opts   collab.Options
	log    *slog.Logger

	cur    atomic.Pointer[hybridIndex]
	fitted uint64 // ledger version of the last fit
	seq    int
}

// hybridIndex is one fit and the collection holding its item vectors.
type hybridIndex struct {
	model      *collab.Model
	store      Vectors
	collection string
	content    string // the content collection it was built from
}

// HybridStore keeps the hybrid index: an inner-product collection, which
// the model's vectors need (see package collab).
type HybridStore interface {
	Vectors
	CreateDotCollection(ctx context.Context, name string, dim int) error
	DeleteCollection(ctx context.Context, name string) error
	Upsert(ctx context.Context, collection string, points []mediarec.VectorPoint) error
}

// NewHybrid returns a hybrid reading content vectors from source and
// keeping its index in store, which it owns.
func NewHybrid(live Live, source Vectors, store HybridStore, ledger *Ledger, opts collab.Options, log *slog.Logger) *Hybrid {
	return &Hybrid{live: live, source: source, store: store, ledger: ledger, opts: opts, log: log}
}

// current returns the index built on content collection coll, or nil.
func (h *Hybrid) current(coll string) *hybridIndex {
	if h == nil {
		return nil
	}
	if x := h.cur.Load(); x != nil && x.content == coll {
		return x
	}
	return nil
}

// Run refits every interval when the ledger or the content generation
// changed since the last fit, until ctx ends.
func (h *Hybrid) Run(ctx context.Context, interval time.Duration) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		_, coll, err := h.live.Live(ctx)
		if err != nil {
			h.log.Warn("hybrid: live generation", "error", err)
			continue
		}
		if h.ledger.Version() == h.fitted && h.current(coll) != nil {
			continue
		}
		if err := h.Refit(ctx); err != nil && ctx.Err() == nil {
			h.log.Error("hybrid refit failed", "error", err)
		}
	}
}

// upsertBatch bounds the points of one read and one write.
const upsertBatch = 1000

// Refit fits the model on the ledger as it is now, writes the judged items'
// hybrid vectors into a new collection, then switches to it and drops the
// previous one. With no judgement yet there is nothing to fit.
func (h *Hybrid) Refit(ctx context.Context) error {
	start := time.Now()
	interactions, version := h.ledger.Interactions()
	if len(interactions) == 0 {
		h.fitted = version
		return nil
	}
	model, err := collab.Fit(interactions, h.opts)
	if err != nil {
		return fmt.Errorf("fit: %w", err)
	}
	_, content, err := h.live.Live(ctx)
	if err != nil {
		return fmt.Errorf("live generation: %w", err)
	}
	h.seq++
	next := &hybridIndex{model: model, store: h.store, collection: fmt.Sprintf("hybrid_%d", h.seq), content: content}
	created := false
	items := 0
	// Only the items someone judged: the others have no collaborative part,
	// and so many equal parts would crowd the index's graph.
	// Recommendations find them by content and score them here.
	fill := func(ids []int64) error {
		pts, err := h.source.Get(ctx, content, ids)
		if err != nil {
			return fmt.Errorf("content vectors: %w", err)
		}
		if len(pts) == 0 {
			return nil // deleted from the catalog, or not embedded yet
		}
		if !created {
			if err := h.store.CreateDotCollection(ctx, next.collection, model.Dim(len(pts[0].Vector))); err != nil {
				return err
			}
			created = true
		}
		for i := range pts {
			pts[i].Vector = model.ItemVector(pts[i].ID, pts[i].Vector)
		}
		items += len(pts)
		return h.store.Upsert(ctx, next.collection, pts)
	}
	known := model.Items()
	for lo := 0; lo < len(known) && err == nil; lo += upsertBatch {
		err = fill(known[lo:min(lo+upsertBatch, len(known))])
	}
	if err != nil {
		if created {
			err = fmt.Errorf("%w (dropping the partial index: %v)", err, h.store.DeleteCollection(context.WithoutCancel(ctx), next.collection))
		}
		return fmt.Errorf("hybrid index: %w", err)
	}
	h.fitted = version
	if !created {
		return nil // nothing embedded yet
	}
	if prev := h.cur.Swap(next); prev != nil {
		if err := h.store.DeleteCollection(ctx, prev.collection); err != nil {
			h.log.Warn("hybrid: drop the previous index", "collection", prev.collection, "error", err)
		}
	}
	h.log.Info("hybrid refitted", "interactions", len(interactions), "items", items, "factors", model.Factors(), "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// merge joins the candidates from the hybrid index (known) with content
// candidates, which it scores in the hybrid space against the unit query
// q, best first. An item in both lists keeps its hybrid entry. Relevance
// is the inner product over the longest item vector's length: a score in
// [−1, 1], on the scale of the similarities MMR weighs it against.
func (x *hybridIndex) merge(q []float32, known, content []candidate) []candidate {
	scale := float32(1 / x.model.MaxNorm())
	seen := make(map[int64]bool, len(known))
	for i, c := range known {
		seen[c.id] = true
		known[i].relevance *= scale
	}
	out := known
	for _, c := range content {
		if seen[c.id] {
			continue
		}
		v := x.model.ItemVector(c.id, c.vector)
		out = append(out, candidate{id: c.id, typ: c.typ, relevance: scale * linalg.Dot(q, v), vector: unit(v), genres: c.genres})
	}
	slices.SortStableFunc(out, func(a, b candidate) int { return cmp.Compare(b.relevance, a.relevance) })
	return out
}

// hybridProfile recasts a content profile in the hybrid space of x: the
// judged items' query vectors and the tags' vectors, weighed as before; the
// liked items carry their hybrid item vectors, so that reasons name the
// liked item nearest in the space the candidates came from. It returns
// false when no judged item is known to the model: there is no
// collaborative signal to add.
func (x *hybridIndex) hybridProfile(p profile) (profile, bool) {
	known := false
	qs := make([][]float32, len(p.judged))
	weights := make([]float64, len(p.judged))
	for i, j := range p.judged {
		known = known || x.model.Known(j.id)
		qs[i], weights[i] = x.model.QueryVector(j.id, j.vector), float64(j.relevance)
	}
	if !known {
		return p, false
	}
	out := profile{tags: p.tags, judged: p.judged}
	for _, t := range p.tagVec {
		out.tagVec = append(out.tagVec, unit(x.model.TagVector(t)))
	}
	tagQueries := make([][]float32, len(p.tagVec))
	for i, t := range p.tagVec {
		tagQueries[i] = x.model.TagVector(t)
	}
	out.vector = Profile(qs, weights, tagQueries)
	for _, l := range p.liked {
		out.liked = append(out.liked, candidate{id: l.id, relevance: l.relevance, vector: unit(x.model.ItemVector(l.id, l.vector))})
	}
	return out, out.vector != nil
}

// unit returns v scaled to length 1 (v itself when it is zero).
func unit(v []float32) []float32 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	if s == 0 {
		return v
	}
	inv := float32(1 / math.Sqrt(s))
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = x * inv
	}
	return out
}
