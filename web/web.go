// Package web serves the browser UI: static pages that call the JSON API.
package web

import (
	"embed"
	"io/fs"
	"mime"
	"path"

	"github.com/gofiber/fiber/v2"
)

//go:embed static
var static embed.FS

// Register serves the UI's files on r: index.html at / and every other file
// at its name. Each gets its own route so that API paths never reach here.
func Register(r fiber.Router) {
	entries, _ := fs.ReadDir(static, "static") // embedded above, always readable
	for _, e := range entries {
		body, _ := fs.ReadFile(static, "static/"+e.Name())
		route := "/" + e.Name()
		if e.Name() == "index.html" {
			route = "/"
		}
		ctype := mime.TypeByExtension(path.Ext(e.Name()))
		r.Get(route, func(c *fiber.Ctx) error {
			c.Set(fiber.HeaderContentType, ctype)
			c.Set(fiber.HeaderCacheControl, "public, max-age=300")
			return c.Send(body)
		})
	}
}
