package httpapi

import (
	"context"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"mediarec"
	"mediarec/internal/recs"
)

// SearchService is what the search routes need of the recs service.
type SearchService interface {
	Search(ctx context.Context, q recs.SearchQuery) (*recs.SearchResult, error)
	Similar(ctx context.Context, id int64, types []mediarec.ItemType, limit int) ([]recs.ScoredItem, error)
}

// RegisterSearchRoutes mounts natural-language search and similar items,
// each behind the handlers in before (and nothing else: a Fiber group's Use
// would run on every path of the app).
func RegisterSearchRoutes(r fiber.Router, svc SearchService, before ...fiber.Handler) {
	h := searchHandler{svc: svc}
	r.Get("/v1/search", append(before, h.search)...)
	r.Get("/v1/items/:id/similar", append(before, h.similar)...)
}

type searchHandler struct{ svc SearchService }

func (h searchHandler) search(c *fiber.Ctx) error {
	limit, err := queryLimit(c)
	if err != nil {
		return err
	}
	res, err := h.svc.Search(c.UserContext(), recs.SearchQuery{
		Text: c.Query("q"), Types: queryTypes(c, "types"), Limit: limit, Ignore: splitList(c.Query("ignore")),
	})
	if err != nil {
		return err
	}
	return c.JSON(res)
}

func (h searchHandler) similar(c *fiber.Ctx) error {
	id, err := itemID(c)
	if err != nil {
		return err
	}
	limit, err := queryLimit(c)
	if err != nil {
		return err
	}
	items, err := h.svc.Similar(c.UserContext(), id, queryTypes(c, "types"), limit)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"items": items})
}

// queryLimit reads ?limit=; 0 (absent) lets the service choose.
func queryLimit(c *fiber.Ctx) (int, error) {
	s := c.Query("limit")
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n == 0 {
		return 0, invalidField("limit", "must be a positive whole number")
	}
	return n, nil
}

func queryTypes(c *fiber.Ctx, name string) []mediarec.ItemType {
	var types []mediarec.ItemType
	for _, t := range splitList(c.Query(name)) {
		types = append(types, mediarec.ItemType(t))
	}
	return types
}

// RecommendService is what the recommendation route needs.
type RecommendService interface {
	Recommend(ctx context.Context, q recs.RecommendQuery) ([]recs.Recommendation, error)
}

// RegisterRecommendationRoutes mounts the signed-in user's recommendations
// behind the handlers in before (requiring a user among them).
func RegisterRecommendationRoutes(r fiber.Router, svc RecommendService, before ...fiber.Handler) {
	r.Get("/v1/recommendations", append(before, func(c *fiber.Ctx) error {
		limit, err := queryLimit(c)
		if err != nil {
			return err
		}
		var diversity float64
		if s := c.Query("diversity"); s != "" {
			if diversity, err = strconv.ParseFloat(s, 64); err != nil {
				return invalidField("diversity", "must be a number between 0 and 1")
			}
		}
		items, err := svc.Recommend(c.UserContext(), recs.RecommendQuery{
			UserID: currentUser(c), Types: queryTypes(c, "types"), Limit: limit, Diversity: diversity,
		})
		if err != nil {
			return err
		}
		return c.JSON(fiber.Map{"items": items})
	})...)
}

// HeaderStale marks an answer built from state that may be behind: the
// service has lost its message bus, and answers from what it knew last.
const HeaderStale = "X-Mediarec-Stale"

// MarkStale sets HeaderStale on the answers of the route it guards while
// fresh reports false.
func MarkStale(fresh func() bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if !fresh() {
			c.Set(HeaderStale, "events")
		}
		return c.Next()
	}
}
