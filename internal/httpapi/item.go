package httpapi

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"mediarec"
	"mediarec/internal/catalog"
)

// ItemService is what the item routes need of the catalog.
type ItemService interface {
	FindItemByID(ctx context.Context, id int64) (*mediarec.Item, error)
	FindItems(ctx context.Context, q catalog.ListQuery) (*catalog.Page, error)
	FindItemsByIDs(ctx context.Context, ids []int64) ([]*mediarec.Item, error)
	FindTopTags(ctx context.Context, types []mediarec.ItemType, limit int) ([]mediarec.TagCount, error)
	CreateItem(ctx context.Context, item *mediarec.Item) error
	UpdateItem(ctx context.Context, id int64, upd mediarec.ItemUpdate) (*mediarec.Item, error)
	DeleteItem(ctx context.Context, id int64) error
	UpsertItem(ctx context.Context, externalID string, item *mediarec.Item) (mediarec.UpsertOutcome, error)
	IngestBatch(ctx context.Context, lines []catalog.BatchLine) (*mediarec.BatchResult, error)
}

// RegisterItemRoutes mounts the catalog routes, the tag counts among them;
// admin guards the writes.
func RegisterItemRoutes(r fiber.Router, svc ItemService, admin fiber.Handler) {
	h := itemHandler{svc: svc}
	r.Get("/v1/items", h.list)
	r.Get("/v1/tags", h.tags)
	r.Post("/v1/items/batch", admin, h.batch)
	r.Put("/v1/items/by-external-id/:external_id", admin, h.upsert)
	r.Get("/v1/items/:id", h.get)
	r.Post("/v1/items", admin, h.create)
	r.Patch("/v1/items/:id", admin, h.update)
	r.Delete("/v1/items/:id", admin, h.delete)
}

type itemHandler struct{ svc ItemService }

func (h itemHandler) list(c *fiber.Ctx) error {
	if c.Context().QueryArgs().Has("ids") {
		return h.listByIDs(c)
	}
	limit, err := queryLimit(c)
	if err != nil {
		return err
	}
	page, err := h.svc.FindItems(c.UserContext(), catalog.ListQuery{
		Types: queryTypes(c, "type"), Genre: c.Query("genre"), Query: c.Query("q"),
		EmbeddingStatus: mediarec.EmbeddingStatus(c.Query("embedding_status")),
		Cursor:          c.Query("cursor"), Limit: limit,
	})
	if err != nil {
		return err
	}
	return c.JSON(page)
}

// listByIDs answers GET /v1/items?ids=3,1,2: the items named, in that
// order, without the unknown ones. It is a lookup, not a listing, so it
// takes no filter, limit or cursor.
func (h itemHandler) listByIDs(c *fiber.Ctx) error {
	args := c.Context().QueryArgs()
	for _, name := range []string{"type", "genre", "q", "embedding_status", "limit", "cursor"} {
		if args.Has(name) {
			return invalidField(name, "cannot be combined with ids")
		}
	}
	list := splitList(c.Query("ids"))
	if len(list) > catalog.MaxIDs {
		return invalidField("ids", fmt.Sprintf("must list at most %d ids; this lists %d", catalog.MaxIDs, len(list)))
	}
	ids := make([]int64, len(list))
	for i, s := range list {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil || id < 1 {
			return invalidField("ids", fmt.Sprintf("%q is not an item id", s))
		}
		ids[i] = id
	}
	items, err := h.svc.FindItemsByIDs(c.UserContext(), ids)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"items": items})
}

func (h itemHandler) get(c *fiber.Ctx) error {
	id, err := itemID(c)
	if err != nil {
		return err
	}
	item, err := h.svc.FindItemByID(c.UserContext(), id)
	if err != nil {
		return err
	}
	return c.JSON(item)
}

func (h itemHandler) create(c *fiber.Ctx) error {
	var item mediarec.Item
	if err := decodeJSON(c.Body(), &item); err != nil {
		return err
	}
	if err := h.svc.CreateItem(c.UserContext(), &item); err != nil {
		return err
	}
	c.Location(fmt.Sprintf("/v1/items/%d", item.ID))
	return c.Status(fiber.StatusCreated).JSON(&item)
}

func (h itemHandler) upsert(c *fiber.Ctx) error {
	ext, err := url.PathUnescape(c.Params("external_id"))
	if err != nil {
		return invalidField("external_id", "is not a valid path segment")
	}
	var item mediarec.Item
	if err := decodeJSON(c.Body(), &item); err != nil {
		return err
	}
	outcome, err := h.svc.UpsertItem(c.UserContext(), ext, &item)
	if err != nil {
		return err
	}
	stored, err := h.svc.FindItemByID(c.UserContext(), item.ID)
	if err != nil {
		return err
	}
	if outcome == mediarec.Created {
		c.Status(fiber.StatusCreated)
	}
	return c.JSON(stored)
}

func (h itemHandler) update(c *fiber.Ctx) error {
	id, err := itemID(c)
	if err != nil {
		return err
	}
	var upd mediarec.ItemUpdate
	if err := decodeJSON(c.Body(), &upd); err != nil {
		return err
	}
	item, err := h.svc.UpdateItem(c.UserContext(), id, upd)
	if err != nil {
		return err
	}
	return c.JSON(item)
}

func (h itemHandler) delete(c *fiber.Ctx) error {
	id, err := itemID(c)
	if err != nil {
		return err
	}
	if err := h.svc.DeleteItem(c.UserContext(), id); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

// batch takes JSON Lines. Each line is decoded on its own so one bad line is
// reported by number and never blocks the others.
func (h itemHandler) batch(c *fiber.Ctx) error {
	lines, err := parseBatch(c.Body())
	if err != nil {
		return err
	}
	res, err := h.svc.IngestBatch(c.UserContext(), lines)
	if err != nil {
		return err
	}
	return c.JSON(res)
}

// parseBatch splits a JSON Lines body into decoded lines numbered from 1;
// blank lines are skipped but still counted.
func parseBatch(body []byte) ([]catalog.BatchLine, error) {
	var lines []catalog.BatchLine
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(nil, len(body)+1)
	for n := 1; sc.Scan(); n++ {
		raw := bytes.TrimSpace(sc.Bytes())
		if len(raw) == 0 {
			continue
		}
		var item mediarec.Item
		if err := decodeJSON(raw, &item); err != nil {
			lines = append(lines, catalog.BatchLine{Line: n, Err: err})
			continue
		}
		lines = append(lines, catalog.BatchLine{Line: n, Item: &item})
	}
	if err := sc.Err(); err != nil {
		return nil, mediarec.Errorf(mediarec.EINVALID, "Unreadable batch body: %s.", err)
	}
	if len(lines) == 0 {
		return nil, mediarec.Errorf(mediarec.EINVALID, "The batch is empty: send one JSON item per line.")
	}
	return lines, nil
}

// decodeJSON decodes exactly one JSON value into dst, refusing unknown
// fields so that a misspelt field is reported rather than silently dropped.
func decodeJSON(body []byte, dst any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	err := dec.Decode(dst)
	if err == nil {
		if _, extra := dec.Token(); extra != io.EOF {
			return mediarec.Errorf(mediarec.EINVALID, "Malformed JSON: unexpected data after the first value.")
		}
		return nil
	}
	var (
		syntaxErr *json.SyntaxError
		typeErr   *json.UnmarshalTypeError
	)
	switch {
	case errors.Is(err, io.EOF):
		return mediarec.Errorf(mediarec.EINVALID, "Malformed JSON: the body is empty.")
	case errors.As(err, &syntaxErr):
		return mediarec.Errorf(mediarec.EINVALID, "Malformed JSON at byte %d: %s.", syntaxErr.Offset, syntaxErr.Error())
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			return mediarec.Errorf(mediarec.EINVALID, "Malformed JSON: expected an object.")
		}
		return invalidField(field, fmt.Sprintf("must be a %s, not a JSON %s", jsonKind(typeErr.Type.Kind().String()), typeErr.Value))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return invalidField(name, "is not a field of this resource")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return mediarec.Errorf(mediarec.EINVALID, "Malformed JSON: the value ends early.")
	}
	return mediarec.Errorf(mediarec.EINVALID, "Malformed JSON: %s.", err.Error())
}

func jsonKind(goKind string) string {
	switch goKind {
	case "slice", "array":
		return "list"
	case "int", "int64", "float64":
		return "number"
	case "struct", "map":
		return "object"
	}
	return goKind
}

func invalidField(field, msg string) error {
	return &mediarec.Error{Code: mediarec.EINVALID, Message: "Invalid input.", Fields: []mediarec.FieldError{{Field: field, Message: msg}}}
}

func itemID(c *fiber.Ctx) (int64, error) {
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil || id < 1 {
		return 0, invalidField("id", "must be a positive whole number")
	}
	return id, nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
