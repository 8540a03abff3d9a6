package httpapi

import (
	"context"

	"github.com/gofiber/fiber/v2"

	"mediarec"
)

// EmbeddingStats is what the admin routes need of the catalog.
type EmbeddingStats interface {
	EmbeddingStats(ctx context.Context) (map[mediarec.EmbeddingStatus]int, error)
}

// Model names the embedding model a process serves; empty when it runs no
// embedder (the catalog alone).
type Model struct {
	Name       string
	Dimensions int
}

// RegisterAdminRoutes mounts the operator's views of the embedding.
func RegisterAdminRoutes(r fiber.Router, stats EmbeddingStats, model Model, admin fiber.Handler) {
	r.Get("/v1/admin/embedding", admin, func(c *fiber.Ctx) error {
		counts, err := stats.EmbeddingStats(c.UserContext())
		if err != nil {
			return err
		}
		return c.JSON(fiber.Map{
			"model": model.Name, "dimensions": model.Dimensions,
			"pending": counts[mediarec.EmbeddingPending], "done": counts[mediarec.EmbeddingDone], "failed": counts[mediarec.EmbeddingFailed],
		})
	})
}
