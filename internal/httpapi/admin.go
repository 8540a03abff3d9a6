package httpapi

import (
	"context"

	"github.com/gofiber/fiber/v2"

	"mediarec"
	"mediarec/internal/catalog"
	"mediarec/internal/embed"
)

// EmbeddingStats is what the admin routes need of the catalog.
type EmbeddingStats interface {
	// EmbeddingCounts counts items per status, in all and per type.
	EmbeddingCounts(ctx context.Context) (*catalog.EmbeddingCounts, error)
}

// Reembedder runs re-embeddings.
type Reembedder interface {
	Start(ctx context.Context) (jobID string, items int, err error)
	Progress(ctx context.Context) (*embed.Progress, error)
}

// RegisterAdminRoutes mounts the operator's views and controls of the
// embedding. re is nil in a process that cannot re-embed.
//
// GET /v1/admin/embedding answers {pending, done, failed, by_type} and,
// with re, {model, dimensions, collection} of the live generation and,
// while a re-embedding is under way, reembed: embed.Progress ({live,
// target, job_id, fitting, total, done, failed, blocked}); blocked, when
// set, says why a complete re-embedding is not switched to (too many of
// its items failed) and what to do.
func RegisterAdminRoutes(r fiber.Router, stats EmbeddingStats, re Reembedder, admin fiber.Handler) {
	r.Get("/v1/admin/embedding", admin, func(c *fiber.Ctx) error {
		counts, err := stats.EmbeddingCounts(c.UserContext())
		if err != nil {
			return err
		}
		total := counts.Total
		out := fiber.Map{
			"pending": total[mediarec.EmbeddingPending], "done": total[mediarec.EmbeddingDone], "failed": total[mediarec.EmbeddingFailed],
			"by_type": counts.ByType,
		}
		if re != nil {
			p, err := re.Progress(c.UserContext())
			if err != nil {
				return err
			}
			out["model"], out["dimensions"], out["collection"] = p.Live.Model, p.Live.Dimensions, p.Live.Collection
			if p.Target != nil || p.Fitting {
				out["reembed"] = p
			}
		}
		return c.JSON(out)
	})
	r.Post("/v1/admin/reembed", admin, func(c *fiber.Ctx) error {
		if re == nil {
			return mediarec.Errorf(mediarec.EUNAVAILABLE, "This process cannot re-embed: it has no shared vector store.")
		}
		jobID, n, err := re.Start(c.UserContext())
		if err != nil {
			return err
		}
		return c.Status(fiber.StatusAccepted).JSON(fiber.Map{"job_id": jobID, "items": n})
	})
}
