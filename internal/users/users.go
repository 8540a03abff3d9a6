// Package users holds the business rules of the users service: accounts,
// password login, profile preferences and feedback on catalog items.
package users

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"mediarec"
	"mediarec/internal/validate"
)

// Store persists accounts and feedback. Implementations: internal/sqlite and
// internal/postgres. Every method that changes preferences or feedback writes
// its event to the outbox in the same transaction.
type Store interface {
	// CreateUser stores u with the password hash and sets u.ID and
	// u.CreatedAt. ECONFLICT when the email is taken in any letter case.
	CreateUser(ctx context.Context, u *mediarec.User, passwordHash string) error
	// FindUserByID returns ENOTFOUND for an unknown id.
	FindUserByID(ctx context.Context, id int64) (*mediarec.User, error)
	// FindCredentials returns the id and password hash of the account with
	// this email, in any letter case. ENOTFOUND for an unknown email. It is
	// the only way a hash leaves the store.
	FindCredentials(ctx context.Context, email string) (userID int64, hash string, err error)
	// UpdatePreferences replaces a user's preferences and writes ev.
	// ENOTFOUND for an unknown user.
	UpdatePreferences(ctx context.Context, userID int64, p mediarec.Preferences, ev mediarec.OutboxEvent) (*mediarec.User, error)
	// SetFeedback inserts or replaces the feedback of f.UserID on f.ItemID
	// and sets f.CreatedAt. When the stored kind and rating already equal
	// f's, it changes nothing, writes no event and reports false.
	// ENOTFOUND for an unknown user.
	SetFeedback(ctx context.Context, f *mediarec.Feedback, ev mediarec.OutboxEvent) (changed bool, err error)
	// FindFeedback returns a user's feedback, most recent first.
	FindFeedback(ctx context.Context, userID int64) ([]*mediarec.Feedback, error)
	// DeleteFeedback removes a user's feedback on an item and writes ev.
	// ENOTFOUND when there is none.
	DeleteFeedback(ctx context.Context, userID, itemID int64, ev mediarec.OutboxEvent) error
}

// EventStore is the outbox side of a store, read by the relay that publishes
// the events.
type EventStore interface {
	// FindEvents returns up to limit outbox events, oldest first.
	FindEvents(ctx context.Context, limit int) ([]mediarec.OutboxEvent, error)
	// DeleteEvents removes published events.
	DeleteEvents(ctx context.Context, seqs []int64) error
	// CountEvents returns how many events wait: the outbox's depth, which
	// the relay reports.
	CountEvents(ctx context.Context) (int, error)
}

// ItemChecker tells whether a catalog item exists; feedback on an unknown
// item is refused.
type ItemChecker interface {
	ItemExists(ctx context.Context, id int64) (bool, error)
}

// Config tunes a Service. The zero value is usable.
type Config struct {
	// Hash are the argon2id parameters of new passwords; zero means
	// DefaultHashParams.
	Hash HashParams
	// Changed, if not nil, is called after every write that left outbox
	// events, to wake the relay.
	Changed func()
	// AdminEmails get the admin role when they register: how an operator
	// makes the first administrator.
	AdminEmails []string
	// ItemCache, if not nil, counts the hits and misses of the cache of
	// items known to exist.
	ItemCache CacheCounter
}

// CacheCounter counts the lookups of a cache (internal/metrics.Cache).
type CacheCounter interface {
	Lookup(hits, misses int)
}

// MaxPasswordLen bounds passwords, in characters: long enough for any
// passphrase, short enough that hashing one is not a denial of service.
const MaxPasswordLen = 256

// Service enforces the users' rules on top of a Store.
type Service struct {
	store   Store
	items   ItemChecker
	log     *slog.Logger
	hash    HashParams
	changed func()
	admins  map[string]bool
	now     func() time.Time
	// dummyHash is verified against when an email is unknown, so that a
	// failed login costs one hash either way.
	dummyHash func() string
}

// New returns a users service over store, checking feedback items with items.
// Items found to exist are remembered for a minute (see itemCacheTTL).
func New(store Store, items ItemChecker, log *slog.Logger, cfg Config) *Service {
	if cfg.Hash == (HashParams{}) {
		cfg.Hash = DefaultHashParams
	}
	if cfg.Changed == nil {
		cfg.Changed = func() {}
	}
	cache := newItemCache(items, itemCacheTTL, itemCacheSize)
	if cfg.ItemCache != nil {
		cache.count = cfg.ItemCache
	}
	s := &Service{store: store, items: cache, log: log, hash: cfg.Hash, changed: cfg.Changed, admins: map[string]bool{}, now: time.Now}
	for _, e := range cfg.AdminEmails {
		s.admins[normalizeEmail(e)] = true
	}
	s.dummyHash = sync.OnceValue(func() string {
		// The password is irrelevant: nothing can match a key no one knows.
		h, err := hashPassword("unknown account placeholder", s.hash)
		if err != nil {
			panic(fmt.Sprintf("users: dummy hash: %v", err)) // crypto/rand never fails on supported platforms
		}
		return h
	})
	return s
}

// Registration is what a new account is created from.
type Registration struct {
	Email       string `json:"email" validate:"required,max=254,email"`
	Password    string `json:"password" validate:"required,min=8,max=256"`
	DisplayName string `json:"display_name" validate:"required,max=100"`
}

// Register creates an account with the user role, or the admin role for
// an email of Config.AdminEmails. EINVALID for invalid
// input, ECONFLICT when the email is taken in any letter case.
func (s *Service) Register(ctx context.Context, r Registration) (*mediarec.User, error) {
	// Normalise before validating, so " A@B.io" is valid and equals a@b.io.
	r.Email = normalizeEmail(r.Email)
	r.DisplayName = strings.TrimSpace(r.DisplayName)
	if err := validate.Struct(r, "Invalid registration."); err != nil {
		return nil, err
	}
	hash, err := hashPassword(r.Password, s.hash)
	if err != nil {
		return nil, err
	}
	u := &mediarec.User{
		Email: r.Email, DisplayName: r.DisplayName, Role: mediarec.RoleUser,
		Preferences: mediarec.Preferences{Tags: []string{}, MediaTypes: []mediarec.ItemType{}},
	}
	if s.admins[r.Email] {
		u.Role = mediarec.RoleAdmin
	}
	if err := s.store.CreateUser(ctx, u, hash); err != nil {
		return nil, err
	}
	return u, nil
}

// errBadCredentials is the one answer to every failed login, so a client
// cannot tell an unknown email from a wrong password.
func errBadCredentials() error {
	return mediarec.Errorf(mediarec.EUNAUTHORIZED, "Wrong email or password.")
}

// Login returns the account whose email and password match. Every mismatch
// is the same EUNAUTHORIZED and costs one password hash.
func (s *Service) Login(ctx context.Context, email, password string) (*mediarec.User, error) {
	// Refusing over-long input before hashing depends on the password alone,
	// so it reveals nothing about the account.
	if utf8.RuneCountInString(password) > MaxPasswordLen || len(email) > 254 {
		return nil, errBadCredentials()
	}
	id, hash, err := s.store.FindCredentials(ctx, normalizeEmail(email))
	if mediarec.ErrorCode(err) == mediarec.ENOTFOUND {
		// Spend the time of a real check so timing does not reveal that the
		// email is unknown.
		_, _ = verifyPassword(password, s.dummyHash())
		return nil, errBadCredentials()
	} else if err != nil {
		return nil, fmt.Errorf("login: %w", err)
	}
	ok, err := verifyPassword(password, hash)
	if err != nil {
		return nil, fmt.Errorf("login user %d: %w", id, err)
	} else if !ok {
		return nil, errBadCredentials()
	}
	return s.store.FindUserByID(ctx, id)
}

// FindUserByID returns one account or ENOTFOUND.
func (s *Service) FindUserByID(ctx context.Context, id int64) (*mediarec.User, error) {
	return s.store.FindUserByID(ctx, id)
}

// UpdatePreferences replaces a user's preferences and announces them.
// Tags are trimmed and de-duplicated; EINVALID for too many or too long tags
// or an unknown media type.
func (s *Service) UpdatePreferences(ctx context.Context, userID int64, p mediarec.Preferences) (*mediarec.User, error) {
	p.Tags, p.MediaTypes = validate.CleanList(p.Tags), cleanTypes(p.MediaTypes)
	if err := validate.Struct(p, "Invalid preferences."); err != nil {
		return nil, err
	}
	ev, err := outboxEvent(mediarec.PreferencesSubject(userID), mediarec.UserPreferencesEvent{
		SchemaVersion: mediarec.UserEventSchemaVersion, UserID: userID, Preferences: p, OccurredAt: s.now().UTC(),
	})
	if err != nil {
		return nil, err
	}
	u, err := s.store.UpdatePreferences(ctx, userID, p, ev)
	if err != nil {
		return nil, err
	}
	s.changed()
	return u, nil
}

// SetFeedback records f (for f.UserID) and announces it if it changed
// anything: liking twice stores one like; a dislike replaces a like.
// EINVALID for a bad kind or rating, ENOTFOUND for an unknown item.
func (s *Service) SetFeedback(ctx context.Context, f *mediarec.Feedback) error {
	if err := validateFeedback(f); err != nil {
		return err
	}
	exists, err := s.items.ItemExists(ctx, f.ItemID)
	if err != nil {
		return fmt.Errorf("check item %d: %w", f.ItemID, err)
	} else if !exists {
		return mediarec.Errorf(mediarec.ENOTFOUND, "Item %d not found.", f.ItemID)
	}
	ev, err := outboxEvent(mediarec.FeedbackSubject(f.UserID, f.ItemID), mediarec.UserFeedbackEvent{
		SchemaVersion: mediarec.UserEventSchemaVersion, UserID: f.UserID, ItemID: f.ItemID,
		Kind: f.Kind, Rating: f.Rating, OccurredAt: s.now().UTC(),
	})
	if err != nil {
		return err
	}
	changed, err := s.store.SetFeedback(ctx, f, ev)
	if err != nil {
		return err
	}
	if changed {
		s.changed()
	}
	return nil
}

func validateFeedback(f *mediarec.Feedback) error {
	if err := validate.Struct(f, "Invalid feedback."); err != nil {
		return err
	}
	// Cross-field rule the tags cannot state: only a rating carries a value.
	if f.Kind == mediarec.FeedbackRating && !mediarec.ValidRating(f.Rating) {
		return &mediarec.Error{Code: mediarec.EINVALID, Message: "Invalid feedback.", Fields: []mediarec.FieldError{{
			Field: "rating", Message: "must be between 0.5 and 5 in steps of 0.5",
		}}}
	}
	if f.Kind != mediarec.FeedbackRating && f.Rating != 0 {
		return &mediarec.Error{Code: mediarec.EINVALID, Message: "Invalid feedback.", Fields: []mediarec.FieldError{{
			Field: "rating", Message: "is allowed only for kind rating",
		}}}
	}
	return nil
}

// ListFeedback returns a user's feedback, most recent first.
func (s *Service) ListFeedback(ctx context.Context, userID int64) ([]*mediarec.Feedback, error) {
	return s.store.FindFeedback(ctx, userID)
}

// DeleteFeedback removes a user's feedback on an item and announces it.
// ENOTFOUND when there is none.
func (s *Service) DeleteFeedback(ctx context.Context, userID, itemID int64) error {
	ev, err := outboxEvent(mediarec.FeedbackSubject(userID, itemID), mediarec.UserFeedbackEvent{
		SchemaVersion: mediarec.UserEventSchemaVersion, UserID: userID, ItemID: itemID,
		Deleted: true, OccurredAt: s.now().UTC(),
	})
	if err != nil {
		return err
	}
	if err := s.store.DeleteFeedback(ctx, userID, itemID, ev); err != nil {
		return err
	}
	s.changed()
	return nil
}

func outboxEvent(subject string, payload any) (mediarec.OutboxEvent, error) {
	b, err := json.Marshal(payload)
	if err != nil {
		return mediarec.OutboxEvent{}, fmt.Errorf("encode %s event: %w", subject, err)
	}
	return mediarec.OutboxEvent{Subject: subject, Payload: b}, nil
}

// normalizeEmail makes the form under which emails are unique and looked up.
func normalizeEmail(email string) string {
	return strings.ToLower(strings.TrimSpace(email))
}
