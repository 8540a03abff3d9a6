// Package recs answers the read paths on the vectors: natural-language
// search and similar items (and, on top of them, recommendations).
package recs

import (
	"context"
	"fmt"

	"mediarec"
	"mediarec/internal/embed"
	"mediarec/internal/keyword"
)

// Live gives the live generation: the embedder for queries and the
// collection they search, always a matching pair.
type Live interface {
	Live(ctx context.Context) (embed.Embedder, string, error)
}

// Vectors is what recs needs of the vector store.
type Vectors interface {
	Search(ctx context.Context, collection string, vector []float32, k int, f mediarec.VectorFilter) ([]mediarec.VectorHit, error)
	Get(ctx context.Context, collection string, ids []int64) ([]mediarec.VectorPoint, error)
}

// VectorStore is a vector store that recs also writes: the private store
// of the hybrid index, and the shared one where profiles live beside the
// items.
type VectorStore interface {
	Vectors
	CreateCollection(ctx context.Context, name string, dim int) error
	DeleteCollection(ctx context.Context, name string) error
	Upsert(ctx context.Context, collection string, points []mediarec.VectorPoint) error
	Delete(ctx context.Context, collection string, ids []int64) error
}

// Items is what recs needs of the catalog.
type Items interface {
	FindItemsByIDs(ctx context.Context, ids []int64) ([]*mediarec.Item, error)
	FindItemByID(ctx context.Context, id int64) (*mediarec.Item, error)
}

// Result limits.
const (
	DefaultLimit = 10
	MaxLimit     = 100
)

// Keywords is the keyword side of search: BM25 over the catalog's text,
// the titles it knows, and the year and genres of every item, which
// filter searches.
type Keywords interface {
	SearchFilter(query string, k int, f keyword.Filter) []keyword.Hit
	NewQuery(f keyword.Filter) *keyword.Query
	FindTitles(query string) []keyword.TitleMatch
	Select(f keyword.Filter, max int) (ids []int64, n int)
	Keep(ids []int64, f keyword.Filter) []int64
}

// Service answers search and similar-item queries.
type Service struct {
	live     Live
	vectors  Vectors
	items    Items
	keywords Keywords
}

// New returns a service searching the live generation and the keywords.
func New(live Live, v Vectors, items Items, keywords Keywords) *Service {
	return &Service{live: live, vectors: v, items: items, keywords: keywords}
}

// ScoredItem is an item with its score for the query.
type ScoredItem struct {
	Item  *mediarec.Item `json:"item"`
	Score float32        `json:"score"`
}

// Similar returns the items nearest to item id.
func (s *Service) Similar(ctx context.Context, id int64, types []mediarec.ItemType, limit int) ([]ScoredItem, error) {
	limit, err := checkQuery(types, limit)
	if err != nil {
		return nil, err
	}
	if _, err := s.items.FindItemByID(ctx, id); err != nil {
		return nil, err
	}
	_, coll, err := s.live.Live(ctx)
	if err != nil {
		return nil, fmt.Errorf("live generation: %w", err)
	}
	pts, err := s.vectors.Get(ctx, coll, []int64{id})
	if err != nil {
		return nil, fmt.Errorf("vector of item %d: %w", id, err)
	}
	if len(pts) == 0 {
		return nil, mediarec.Errorf(mediarec.ECONFLICT, "Item %d is not embedded yet; try again shortly.", id)
	}
	return s.nearest(ctx, coll, pts[0].Vector, limit, mediarec.VectorFilter{Types: types, ExcludeIDs: []int64{id}})
}

// nearest searches the vectors and joins the hits with the catalog.
func (s *Service) nearest(ctx context.Context, coll string, v []float32, limit int, f mediarec.VectorFilter) ([]ScoredItem, error) {
	hits, err := s.vectors.Search(ctx, coll, v, limit, f)
	if err != nil {
		return nil, fmt.Errorf("search vectors: %w", err)
	}
	scores := make(map[int64]float32, len(hits))
	for _, h := range hits {
		scores[h.ID] = h.Score
	}
	return s.hydrate(ctx, hitIDs(hits), scores)
}

// hydrate joins ranked ids with the catalog, in order, dropping ids whose
// item was deleted since it was indexed.
func (s *Service) hydrate(ctx context.Context, ids []int64, scores map[int64]float32) ([]ScoredItem, error) {
	byID, err := s.itemsByID(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make([]ScoredItem, 0, len(ids))
	for _, id := range ids {
		if it, ok := byID[id]; ok {
			out = append(out, ScoredItem{Item: it, Score: scores[id]})
		}
	}
	return out, nil
}

// itemsByID reads the items of ids from the catalog; deleted ones are
// missing from the map.
func (s *Service) itemsByID(ctx context.Context, ids []int64) (map[int64]*mediarec.Item, error) {
	items, err := s.items.FindItemsByIDs(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("find items: %w", err)
	}
	byID := make(map[int64]*mediarec.Item, len(items))
	for _, it := range items {
		byID[it.ID] = it
	}
	return byID, nil
}

func checkQuery(types []mediarec.ItemType, limit int) (int, error) {
	for _, t := range types {
		if !t.Valid() {
			return 0, invalid("types", fmt.Sprintf("unknown type %q: want book, movie, documentary or podcast", t))
		}
	}
	switch {
	case limit == 0:
		return DefaultLimit, nil
	case limit < 1 || limit > MaxLimit:
		return 0, invalid("limit", fmt.Sprintf("must be between 1 and %d", MaxLimit))
	}
	return limit, nil
}

func invalid(field, msg string) error {
	return &mediarec.Error{Code: mediarec.EINVALID, Message: "Invalid query.", Fields: []mediarec.FieldError{{Field: field, Message: msg}}}
}
