package httpapi

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/gofiber/fiber/v2"

	"mediarec"
)

// codes maps application error codes to HTTP status codes.
var codes = map[string]int{
	mediarec.EINVALID:      fiber.StatusBadRequest,
	mediarec.ENOTFOUND:     fiber.StatusNotFound,
	mediarec.ECONFLICT:     fiber.StatusConflict,
	mediarec.EUNAUTHORIZED: fiber.StatusUnauthorized,
	mediarec.EFORBIDDEN:    fiber.StatusForbidden,
	mediarec.EUNAVAILABLE:  fiber.StatusServiceUnavailable,
	mediarec.EINTERNAL:     fiber.StatusInternalServerError,
}

// Problem is an RFC 9457 problem detail.
type Problem struct {
	Type     string                `json:"type"`
	Title    string                `json:"title"`
	Status   int                   `json:"status"`
	Detail   string                `json:"detail"`
	Instance string                `json:"instance,omitempty"`
	Errors   []mediarec.FieldError `json:"errors,omitempty"`
}

// problemType is a stable identifier per code that clients can switch on.
func problemType(code string) string { return "urn:mediarec:problem:" + code }

// errorHandler renders every error as problem+json. It is the only place
// where errors become HTTP statuses; handlers just return them.
func errorHandler(log *slog.Logger) fiber.ErrorHandler {
	return func(c *fiber.Ctx, err error) error {
		p := problemFor(err)
		if p.Status >= 500 && p.Status != fiber.StatusServiceUnavailable {
			log.ErrorContext(c.UserContext(), "request failed", "request_id", requestID(c), "method", c.Method(), "path", c.Path(), "error", err.Error())
		}
		p.Instance = c.Path()
		if p.Status == fiber.StatusUnauthorized {
			c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="mediarec"`)
		}
		c.Status(p.Status)
		return c.JSON(p, "application/problem+json")
	}
}

func problemFor(err error) Problem {
	// Errors raised by Fiber itself (unknown route, body too large, ...)
	// carry their own status.
	var ferr *fiber.Error
	if errors.As(err, &ferr) {
		code := mediarec.EINVALID
		switch ferr.Code {
		case fiber.StatusNotFound:
			code = mediarec.ENOTFOUND
		case fiber.StatusRequestEntityTooLarge:
			code = "too_large"
		case fiber.StatusMethodNotAllowed:
			code = "method_not_allowed"
		case fiber.StatusRequestTimeout:
			code = "timeout"
		case fiber.StatusTooManyRequests:
			code = "rate_limited"
		}
		if ferr.Code == fiber.StatusServiceUnavailable {
			code = mediarec.EUNAVAILABLE
		} else if ferr.Code >= 500 {
			code = mediarec.EINTERNAL
		}
		return Problem{Type: problemType(code), Status: ferr.Code, Detail: detailOf(ferr)}.withTitle()
	}
	code := mediarec.ErrorCode(err)
	status, ok := codes[code]
	if !ok {
		status = fiber.StatusInternalServerError
	}
	return Problem{
		Type: problemType(code), Status: status,
		Detail: mediarec.ErrorMessage(err), Errors: mediarec.ErrorFields(err),
	}.withTitle()
}

func (p Problem) withTitle() Problem {
	p.Title = http.StatusText(p.Status)
	return p
}

func detailOf(ferr *fiber.Error) string {
	switch ferr.Code {
	case fiber.StatusNotFound:
		return "No such route."
	case fiber.StatusRequestEntityTooLarge:
		return "The request body is larger than the server accepts."
	case fiber.StatusInternalServerError:
		return "Internal error."
	}
	return ferr.Message
}
