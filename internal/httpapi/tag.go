package httpapi

import (
	"github.com/gofiber/fiber/v2"
)

// tags answers GET /v1/tags?types=movie,book&limit=24: the most common tags
// of the items of those types, for onboarding to suggest.
func (h itemHandler) tags(c *fiber.Ctx) error {
	limit, err := queryLimit(c)
	if err != nil {
		return err
	}
	tags, err := h.svc.FindTopTags(c.UserContext(), queryTypes(c, "types"), limit)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"tags": tags})
}
