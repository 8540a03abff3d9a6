// Package recs answers the read paths on the vectors: natural-language
// search and similar items (and, on top of them, recommendations).
package recs

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"

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
// and the titles it knows.
type Keywords interface {
	Search(query string, k int, types []mediarec.ItemType) []keyword.Hit
	FindTitle(query string) (id int64, ok bool)
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

// candidatesPerList is how many items each ranking contributes to the
// fusion, per item asked for.
const candidatesPerList = 3

// Search reads media types out of the query's words, then fuses three
// rankings by reciprocal rank: the items nearest to the query's embedding,
// the best BM25 matches of its words, and, when it names a title ("like
// Interstellar"), that item's nearest neighbours. Scores are the fused
// ones.
func (s *Service) Search(ctx context.Context, q SearchQuery) (*SearchResult, error) {
	limit, err := checkQuery(q.Types, q.Limit)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(q.Text) == "" {
		return nil, invalid("q", "is required: say what you are looking for")
	}
	if len(q.Text) > maxQueryLen {
		return nil, invalid("q", fmt.Sprintf("must be at most %d bytes", maxQueryLen))
	}
	p := ParseQuery(q.Text)
	types := q.Types
	for _, t := range p.Types {
		if !slices.Contains(types, t) {
			types = append(types, t)
		}
	}
	text := p.Text
	if text == "" {
		text = q.Text // only media-type words: the nearest to "documentaries"
	}
	e, coll, err := s.live.Live(ctx)
	if err != nil {
		return nil, fmt.Errorf("live generation: %w", err)
	}
	vecs, err := e.Embed(ctx, []string{text})
	if err != nil {
		return nil, fmt.Errorf("embed query: %w", err)
	}
	k := limit * candidatesPerList
	named, neighbours, err := s.namedNeighbours(ctx, coll, q.Text, p.Text, types, k)
	if err != nil {
		return nil, err
	}
	// "like Interstellar" asks for other items than Interstellar.
	var exclude []int64
	if named != 0 && likeQuery.MatchString(q.Text) {
		exclude = []int64{named}
	}
	byVector, err := s.vectors.Search(ctx, coll, vecs[0], k, mediarec.VectorFilter{Types: types, ExcludeIDs: exclude})
	if err != nil {
		return nil, fmt.Errorf("search vectors: %w", err)
	}
	var byWords []int64
	for _, h := range s.keywords.Search(text, k+1, types) {
		if !slices.Contains(exclude, h.ID) {
			byWords = append(byWords, h.ID)
		}
	}
	// A named item leads its neighbours' list, unless it is excluded.
	if named != 0 && exclude == nil {
		neighbours = append([]int64{named}, neighbours...)
	}
	lists := [][]int64{hitIDs(byVector), byWords, neighbours}
	fused := FuseRanks(limit, lists...)
	ids := make([]int64, len(fused))
	scores := make(map[int64]float32, len(fused))
	for i, f := range fused {
		ids[i], scores[f.ID] = f.ID, float32(f.Score)
	}
	items, err := s.hydrate(ctx, ids, scores)
	if err != nil {
		return nil, err
	}
	if types == nil {
		types = []mediarec.ItemType{}
	}
	return &SearchResult{Items: items, Parsed: Parsed{Types: types, Text: p.Text}}, nil
}

// maxQueryLen bounds a search query; a sentence is far shorter.
const maxQueryLen = 1000

// namedNeighbours finds the item whose title the query names, if any, and
// the items nearest to it (never itself).
func (s *Service) namedNeighbours(ctx context.Context, coll, query, text string, types []mediarec.ItemType, k int) (int64, []int64, error) {
	id, ok := s.keywords.FindTitle(query)
	if !ok {
		if id, ok = s.keywords.FindTitle(text); !ok {
			return 0, nil, nil
		}
	}
	pts, err := s.vectors.Get(ctx, coll, []int64{id})
	if err != nil || len(pts) == 0 {
		return id, nil, err // not embedded yet: the other rankings answer
	}
	hits, err := s.vectors.Search(ctx, coll, pts[0].Vector, k, mediarec.VectorFilter{Types: types, ExcludeIDs: []int64{id}})
	if err != nil {
		return id, nil, fmt.Errorf("search neighbours of item %d: %w", id, err)
	}
	return id, hitIDs(hits), nil
}

// likeQuery spots queries for items like a named one rather than for it.
var likeQuery = regexp.MustCompile(`(?i)\b(like|similar|resembl|in the vein of|fans? of)`)

func hitIDs(hits []mediarec.VectorHit) []int64 {
	ids := make([]int64, len(hits))
	for i, h := range hits {
		ids[i] = h.ID
	}
	return ids
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
