package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"

	"github.com/jackc/pgx/v5"

	"mediarec"
)

//go:embed migrations/users/*.sql
var usersMigrations embed.FS

// userColumns never include password_hash: only FindCredentials reads it.
const userColumns = `id, email, display_name, role, tags, media_types, created_at`

// UserStore stores the users service's accounts, feedback and outbox in
// PostgreSQL.
type UserStore struct {
	db       *DB
	feedback *feedbackWriter
}

// NewUserStore applies the users migrations to db and returns a store over it.
func NewUserStore(ctx context.Context, db *DB) (*UserStore, error) {
	migrations, err := fs.Sub(usersMigrations, "migrations/users")
	if err != nil {
		return nil, fmt.Errorf("users migrations: %w", err)
	}
	if err := db.Migrate(ctx, "users", migrations); err != nil {
		return nil, err
	}
	return &UserStore{db: db, feedback: newFeedbackWriter(db)}, nil
}

// CreateUser sets u.ID and u.CreatedAt; ECONFLICT when the email is taken in
// any letter case.
func (s *UserStore) CreateUser(ctx context.Context, u *mediarec.User, passwordHash string) error {
	err := s.db.Pool.QueryRow(ctx, `INSERT INTO users (email, display_name, password_hash, role, tags, media_types)
		VALUES ($1, $2, $3, $4, $5, $6) RETURNING id, created_at`,
		u.Email, u.DisplayName, passwordHash, string(u.Role), nonNil(u.Preferences.Tags), typeStrings(u.Preferences.MediaTypes),
	).Scan(&u.ID, &u.CreatedAt)
	if isUniqueViolation(err) {
		return mediarec.Errorf(mediarec.ECONFLICT, "An account with this email already exists.")
	} else if err != nil {
		return fmt.Errorf("create user: %w", err)
	}
	return nil
}

// FindUserByID returns ENOTFOUND for an unknown id.
func (s *UserStore) FindUserByID(ctx context.Context, id int64) (*mediarec.User, error) {
	rows, _ := s.db.Pool.Query(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1`, id)
	u, err := pgx.CollectExactlyOneRow(rows, scanUser)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, userNotFound(id)
	} else if err != nil {
		return nil, fmt.Errorf("find user %d: %w", id, err)
	}
	return u, nil
}

// FindCredentials returns the id and password hash of the account with this
// email in any letter case, or ENOTFOUND.
func (s *UserStore) FindCredentials(ctx context.Context, email string) (int64, string, error) {
	var id int64
	var hash string
	err := s.db.Pool.QueryRow(ctx, `SELECT id, password_hash FROM users WHERE lower(email) = lower($1)`, email).Scan(&id, &hash)
	if errors.Is(err, pgx.ErrNoRows) {
		// The message never names the email: it is not ours to echo.
		return 0, "", mediarec.Errorf(mediarec.ENOTFOUND, "No account with this email.")
	} else if err != nil {
		return 0, "", fmt.Errorf("find credentials: %w", err)
	}
	return id, hash, nil
}

// UpdatePreferences replaces a user's preferences and writes ev, in one
// statement so both or neither happen.
func (s *UserStore) UpdatePreferences(ctx context.Context, userID int64, p mediarec.Preferences, ev mediarec.OutboxEvent) (*mediarec.User, error) {
	rows, _ := s.db.Pool.Query(ctx, `WITH up AS (
			UPDATE users SET tags = $2, media_types = $3 WHERE id = $1 RETURNING `+userColumns+`
		), out AS (INSERT INTO user_outbox (subject, payload) SELECT $4, $5 FROM up)
		SELECT `+userColumns+` FROM up`,
		userID, nonNil(p.Tags), typeStrings(p.MediaTypes), ev.Subject, ev.Payload)
	u, err := pgx.CollectExactlyOneRow(rows, scanUser)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, userNotFound(userID)
	} else if err != nil {
		return nil, fmt.Errorf("update preferences of user %d: %w", userID, err)
	}
	return u, nil
}

// SetFeedback upserts f and writes ev unless nothing changed. Concurrent
// calls are written together, in one transaction per batch (see
// feedbackWriter).
func (s *UserStore) SetFeedback(ctx context.Context, f *mediarec.Feedback, ev mediarec.OutboxEvent) (bool, error) {
	return s.feedback.write(ctx, f, ev)
}

// FindFeedback returns a user's feedback, most recent first.
func (s *UserStore) FindFeedback(ctx context.Context, userID int64) ([]*mediarec.Feedback, error) {
	rows, _ := s.db.Pool.Query(ctx, `SELECT user_id, item_id, kind, rating, created_at FROM feedback
		WHERE user_id = $1 ORDER BY created_at DESC, item_id`, userID)
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*mediarec.Feedback, error) {
		var f mediarec.Feedback
		err := row.Scan(&f.UserID, &f.ItemID, &f.Kind, &f.Rating, &f.CreatedAt)
		return &f, err
	})
	if err != nil {
		return nil, fmt.Errorf("find feedback of user %d: %w", userID, err)
	}
	if out == nil {
		out = []*mediarec.Feedback{}
	}
	return out, nil
}

// DeleteFeedback removes a user's feedback on an item and writes ev, or
// returns ENOTFOUND.
func (s *UserStore) DeleteFeedback(ctx context.Context, userID, itemID int64, ev mediarec.OutboxEvent) error {
	var n int
	err := s.db.Pool.QueryRow(ctx, `WITH del AS (
			DELETE FROM feedback WHERE user_id = $1 AND item_id = $2 RETURNING 1
		), out AS (INSERT INTO user_outbox (subject, payload) SELECT $3, $4 FROM del)
		SELECT count(*) FROM del`, userID, itemID, ev.Subject, ev.Payload).Scan(&n)
	if err != nil {
		return fmt.Errorf("delete feedback of user %d on item %d: %w", userID, itemID, err)
	} else if n == 0 {
		return mediarec.Errorf(mediarec.ENOTFOUND, "No feedback on item %d.", itemID)
	}
	return nil
}

// FindEvents returns up to limit outbox events, oldest first.
func (s *UserStore) FindEvents(ctx context.Context, limit int) ([]mediarec.OutboxEvent, error) {
	rows, _ := s.db.Pool.Query(ctx, `SELECT id, subject, payload FROM user_outbox ORDER BY id LIMIT $1`, limit)
	evs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (mediarec.OutboxEvent, error) {
		var e mediarec.OutboxEvent
		err := row.Scan(&e.Seq, &e.Subject, &e.Payload)
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("find events: %w", err)
	}
	return evs, nil
}

// CountEvents returns how many outbox events wait.
func (s *UserStore) CountEvents(ctx context.Context) (int, error) {
	var n int
	if err := s.db.Pool.QueryRow(ctx, `SELECT count(*) FROM user_outbox`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count events: %w", err)
	}
	return n, nil
}

// DeleteEvents removes published outbox events.
func (s *UserStore) DeleteEvents(ctx context.Context, seqs []int64) error {
	if len(seqs) == 0 {
		return nil
	}
	if _, err := s.db.Pool.Exec(ctx, `DELETE FROM user_outbox WHERE id = ANY($1)`, seqs); err != nil {
		return fmt.Errorf("delete %d events: %w", len(seqs), err)
	}
	return nil
}

func scanUser(row pgx.CollectableRow) (*mediarec.User, error) {
	var (
		u     mediarec.User
		types []string
	)
	if err := row.Scan(&u.ID, &u.Email, &u.DisplayName, &u.Role, &u.Preferences.Tags, &types, &u.CreatedAt); err != nil {
		return nil, err
	}
	u.Preferences.Tags = nonNil(u.Preferences.Tags)
	u.Preferences.MediaTypes = make([]mediarec.ItemType, len(types))
	for i, t := range types {
		u.Preferences.MediaTypes[i] = mediarec.ItemType(t)
	}
	u.CreatedAt = u.CreatedAt.UTC()
	return &u, nil
}

// typeStrings converts media types for a text[] column; never nil, since
// the columns are NOT NULL and pgx sends a nil slice as NULL.
func typeStrings(types []mediarec.ItemType) []string {
	out := make([]string, len(types))
	for i, t := range types {
		out[i] = string(t)
	}
	return out
}

func userNotFound(id int64) error {
	return mediarec.Errorf(mediarec.ENOTFOUND, "User %d not found.", id)
}
