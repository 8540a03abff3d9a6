// Package web serves the browser UI: a small ES-module app, with no build
// step, that calls the JSON API of the same origin.
package web

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"path"

	"github.com/gofiber/fiber/v2"
)

//go:embed static
var static embed.FS

// contentSecurityPolicy allows the app's own scripts, styles and API calls
// only: injected markup can neither run script nor send data elsewhere.
// Covers are the one thing loaded from other origins: the catalogs' image
// hosts, over https or, on an operator's own network, http.
const contentSecurityPolicy = "default-src 'self'; img-src 'self' https: http: data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// Register serves the UI's files on r: index.html at / and every other file
// at its path. Each gets its own route so that API paths never reach here.
func Register(r fiber.Router) {
	// The files are embedded above, so walking them cannot fail.
	_ = fs.WalkDir(static, "static", func(name string, d fs.DirEntry, _ error) error {
		if d.IsDir() {
			return nil
		}
		body, _ := fs.ReadFile(static, name)
		route := name[len("static"):]
		if route == "/index.html" {
			route = "/"
		}
		ctype := mime.TypeByExtension(path.Ext(name))
		sum := sha256.Sum256(body)
		etag := `"` + hex.EncodeToString(sum[:8]) + `"`
		r.Get(route, func(c *fiber.Ctx) error {
			// Revalidating each load keeps a new release from meeting an
			// old module in the cache; the ETag makes that a 304.
			c.Set(fiber.HeaderCacheControl, "no-cache")
			c.Set(fiber.HeaderETag, etag)
			c.Set(fiber.HeaderContentSecurityPolicy, contentSecurityPolicy)
			c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
			c.Set(fiber.HeaderReferrerPolicy, "same-origin")
			if c.Get(fiber.HeaderIfNoneMatch) == etag {
				return c.SendStatus(fiber.StatusNotModified)
			}
			c.Set(fiber.HeaderContentType, ctype)
			return c.Send(body)
		})
		return nil
	})
}
