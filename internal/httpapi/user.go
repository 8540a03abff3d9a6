package httpapi

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/limiter"

	"mediarec"
	"mediarec/internal/auth"
	"mediarec/internal/users"
)

// UserService is what the user routes need of the users service.
type UserService interface {
	Register(ctx context.Context, r users.Registration) (*mediarec.User, error)
	Login(ctx context.Context, email, password string) (*mediarec.User, error)
	FindUserByID(ctx context.Context, id int64) (*mediarec.User, error)
	UpdatePreferences(ctx context.Context, userID int64, p mediarec.Preferences) (*mediarec.User, error)
	SetFeedback(ctx context.Context, f *mediarec.Feedback) error
	ListFeedback(ctx context.Context, userID int64) ([]*mediarec.Feedback, error)
	DeleteFeedback(ctx context.Context, userID, itemID int64) error
}

// TokenIssuer signs the tokens the users service hands out.
type TokenIssuer interface {
	Issue(userID int64, role mediarec.Role) (string, time.Time, error)
	JWKS() []byte
}

// TokenVerifier checks a bearer token.
type TokenVerifier interface {
	Verify(token string) (auth.Claims, error)
}

// AuthLimits bound the attempts at register and login.
type AuthLimits struct {
	PerIP      int // attempts per IP per Window
	PerAccount int // login attempts per email per Window
	Window     time.Duration
}

// RegisterUserRoutes mounts accounts, login, the profile and feedback.
func RegisterUserRoutes(r fiber.Router, svc UserService, issuer TokenIssuer, verifier TokenVerifier, limits AuthLimits) {
	h := userHandler{svc: svc, issuer: issuer}
	perIP := rateLimit(limits.PerIP, limits.Window, func(c *fiber.Ctx) string { return "ip:" + strings.Clone(c.IP()) })
	perAccount := rateLimit(limits.PerAccount, limits.Window, accountKey)
	r.Get("/.well-known/jwks.json", func(c *fiber.Ctx) error {
		c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
		return c.Send(issuer.JWKS())
	})
	r.Post("/v1/auth/register", perIP, h.register)
	r.Post("/v1/auth/login", perIP, perAccount, h.login)

	me := RequireUser(verifier, svc)
	r.Get("/v1/me", me, h.me)
	r.Put("/v1/me/preferences", me, h.preferences)
	// Feedback is the hot write path: the store refuses feedback of an
	// unknown user by itself, so the account is looked up only when the
	// write fails (see addFeedback) instead of on every request.
	r.Post("/v1/me/feedback", RequireToken(verifier), h.addFeedback)
	r.Get("/v1/me/feedback", me, h.listFeedback)
	r.Delete("/v1/me/feedback/:item_id", me, h.deleteFeedback)
}

func rateLimit(max int, window time.Duration, key func(*fiber.Ctx) string) fiber.Handler {
	return limiter.New(limiter.Config{
		Max: max, Expiration: window, KeyGenerator: key,
		LimitReached: func(c *fiber.Ctx) error {
			return fiber.NewError(fiber.StatusTooManyRequests, "Too many attempts; try again after the time in Retry-After.")
		},
	})
}

// accountKey limits login attempts per account, whatever the IP, so that a
// distributed guess at one password is slowed too.
func accountKey(c *fiber.Ctx) string {
	var body struct {
		Email string `json:"email"`
	}
	_ = json.Unmarshal(c.Body(), &body) // a bad body fails in the handler
	return "acct:" + strings.ToLower(strings.TrimSpace(body.Email))
}

// userIDKey is where RequireUser leaves the caller's id.
const userIDKey = "user_id"

// RequireUser admits requests with a valid token of a user that still
// exists, and records the user's id for the handler.
func RequireUser(verifier TokenVerifier, svc UserService) fiber.Handler {
	return func(c *fiber.Ctx) error {
		userID, err := verifyBearer(c, verifier)
		if err != nil {
			return err
		}
		// A token outlives nothing: a deleted account's tokens stop working.
		if err := accountGone(c.UserContext(), svc, userID, nil); err != nil {
			return err
		}
		c.Locals(userIDKey, userID)
		return c.Next()
	}
}

// RequireToken admits requests with a valid token and records the user's
// id, without looking the account up: how a service other than users
// admits a user, on the token alone. Within the users service the handler
// must refuse a deleted account itself (accountGone).
func RequireToken(verifier TokenVerifier) fiber.Handler {
	return func(c *fiber.Ctx) error {
		userID, err := verifyBearer(c, verifier)
		if err != nil {
			return err
		}
		c.Locals(userIDKey, userID)
		return c.Next()
	}
}

func verifyBearer(c *fiber.Ctx, verifier TokenVerifier) (int64, error) {
	tok, ok := bearer(c)
	if !ok {
		return 0, mediarec.Errorf(mediarec.EUNAUTHORIZED, "This route needs an Authorization: Bearer token.")
	}
	claims, err := verifier.Verify(tok)
	if err != nil {
		return 0, err
	}
	return claims.UserID, nil
}

// accountGone returns the answer to a token whose account no longer exists,
// "Invalid or expired token.", when the account of userID is gone; else it
// returns cause, which is nil when the caller only wants the check. Called
// with the ENOTFOUND of a write, it tells an unknown account from an
// unknown item.
func accountGone(ctx context.Context, svc UserService, userID int64, cause error) error {
	_, err := svc.FindUserByID(ctx, userID)
	switch mediarec.ErrorCode(err) {
	case "":
		return cause
	case mediarec.ENOTFOUND:
		return mediarec.Errorf(mediarec.EUNAUTHORIZED, "Invalid or expired token.")
	}
	return err
}

func currentUser(c *fiber.Ctx) int64 {
	id, _ := c.Locals(userIDKey).(int64)
	return id
}

type userHandler struct {
	svc    UserService
	issuer TokenIssuer
}

func (h userHandler) register(c *fiber.Ctx) error {
	var r users.Registration
	if err := decodeJSON(c.Body(), &r); err != nil {
		return err
	}
	u, err := h.svc.Register(c.UserContext(), r)
	if err != nil {
		return err
	}
	tok, _, err := h.issuer.Issue(u.ID, u.Role)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(fiber.Map{"user": fiber.Map{"id": u.ID, "email": u.Email, "display_name": u.DisplayName}, "token": tok})
}

func (h userHandler) login(c *fiber.Ctx) error {
	var body struct {
		Email    string `json:"email"`
		Password string `json:"password"`
	}
	if err := decodeJSON(c.Body(), &body); err != nil {
		return err
	}
	u, err := h.svc.Login(c.UserContext(), body.Email, body.Password)
	if err != nil {
		return err
	}
	tok, exp, err := h.issuer.Issue(u.ID, u.Role)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"token": tok, "expires_at": exp})
}

func (h userHandler) me(c *fiber.Ctx) error {
	u, err := h.svc.FindUserByID(c.UserContext(), currentUser(c))
	if err != nil {
		return err
	}
	return c.JSON(u)
}

func (h userHandler) preferences(c *fiber.Ctx) error {
	var p mediarec.Preferences
	if err := decodeJSON(c.Body(), &p); err != nil {
		return err
	}
	u, err := h.svc.UpdatePreferences(c.UserContext(), currentUser(c), p)
	if err != nil {
		return err
	}
	return c.JSON(u)
}

func (h userHandler) addFeedback(c *fiber.Ctx) error {
	var f mediarec.Feedback
	if err := decodeJSON(c.Body(), &f); err != nil {
		return err
	}
	f.UserID = currentUser(c)
	if err := h.svc.SetFeedback(c.UserContext(), &f); mediarec.ErrorCode(err) == mediarec.ENOTFOUND {
		// The route skipped the account check (RequireToken).
		return accountGone(c.UserContext(), h.svc, f.UserID, err)
	} else if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(&f)
}

func (h userHandler) listFeedback(c *fiber.Ctx) error {
	items, err := h.svc.ListFeedback(c.UserContext(), currentUser(c))
	if err != nil {
		return err
	}
	if items == nil {
		items = []*mediarec.Feedback{}
	}
	return c.JSON(fiber.Map{"items": items})
}

func (h userHandler) deleteFeedback(c *fiber.Ctx) error {
	itemID, err := strconv.ParseInt(c.Params("item_id"), 10, 64)
	if err != nil || itemID < 1 {
		return invalidField("item_id", "must be a positive whole number")
	}
	if err := h.svc.DeleteFeedback(c.UserContext(), currentUser(c), itemID); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}
