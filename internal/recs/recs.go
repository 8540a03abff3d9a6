// Package recs answers the read paths on the vectors: natural-language
// search and similar items (and, on top of them, recommendations).
package recs

import (
	"context"
	"fmt"
	"strings"

	"mediarec"
	"mediarec/internal/embed"
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

// Service answers search and similar-item queries.
type Service struct {
	live    Live
	vectors Vectors
	items   Items
}

// New returns a service searching the live generation.
func New(live Live, v Vectors, items Items) *Service {
	return &Service{live: live, vectors: v, items: items}
}

// ScoredItem is an item with its similarity to the query.
type ScoredItem struct {
	Item  *mediarec.Item `json:"item"`
	Score float32        `json:"score"`
}

// SearchQuery is a natural-language search as a client states it.
type SearchQuery struct {
	Text  string
	Types []mediarec.ItemType
	Limit int
}

// Parsed is how the service read a query.
type Parsed struct {
	Types []mediarec.ItemType `json:"types"`
	Text  string              `json:"text"`
}

// SearchResult is the answer to a search.
type SearchResult struct {
	Items  []ScoredItem `json:"items"`
	Parsed Parsed       `json:"parsed"`
}

// Search embeds the query and returns the nearest items.
func (s *Service) Search(ctx context.Context, q SearchQuery) (*SearchResult, error) {
	q.Text = strings.TrimSpace(q.Text)
	limit, err := checkQuery(q.Types, q.Limit)
	if err != nil {
		return nil, err
	}
	if q.Text == "" {
		return nil, invalid("q", "is required: say what you are looking for")
	}
	e, coll, err := s.live.Live(ctx)
	if err != nil {
		return nil, fmt.Errorf("live generation: %w", err)
	}
	vecs, err := e.Embed(ctx, []string{q.Text})
	if err != nil {
		return nil, fmt.Errorf("embed query: %w", err)
	}
	items, err := s.nearest(ctx, coll, vecs[0], limit, mediarec.VectorFilter{Types: q.Types})
	if err != nil {
		return nil, err
	}
	types := q.Types
	if types == nil {
		types = []mediarec.ItemType{}
	}
	return &SearchResult{Items: items, Parsed: Parsed{Types: types, Text: q.Text}}, nil
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

// nearest searches the vectors and joins the hits with the catalog,
// dropping hits whose item was deleted since.
func (s *Service) nearest(ctx context.Context, coll string, v []float32, limit int, f mediarec.VectorFilter) ([]ScoredItem, error) {
	hits, err := s.vectors.Search(ctx, coll, v, limit, f)
	if err != nil {
		return nil, fmt.Errorf("search vectors: %w", err)
	}
	ids := make([]int64, len(hits))
	for i, h := range hits {
		ids[i] = h.ID
	}
	items, err := s.items.FindItemsByIDs(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("find hits: %w", err)
	}
	byID := make(map[int64]*mediarec.Item, len(items))
	for _, it := range items {
		byID[it.ID] = it
	}
	out := make([]ScoredItem, 0, len(hits))
	for _, h := range hits {
		if it, ok := byID[h.ID]; ok {
			out = append(out, ScoredItem{Item: it, Score: h.Score})
		}
	}
	return out, nil
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
