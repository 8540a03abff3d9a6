package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"mediarec"
)

// UserStore keeps the users service's accounts, feedback and outbox.
type UserStore struct {
	db *DB
}

// NewUserStore applies the users migrations and returns the store.
func NewUserStore(ctx context.Context, db *DB) (*UserStore, error) {
	if err := db.migrate(ctx, "users"); err != nil {
		return nil, err
	}
	return &UserStore{db: db}, nil
}

// userColumns never include password_hash: only FindCredentials reads it.
const userColumns = `id, email, display_name, role, tags, media_types, created_at`

// CreateUser sets u.ID and u.CreatedAt; ECONFLICT when the email is taken.
func (s *UserStore) CreateUser(ctx context.Context, u *mediarec.User, passwordHash string) error {
	now := time.Now().UTC().Truncate(time.Microsecond)
	tags, types := jsonList(u.Preferences.Tags), jsonList(typeStrings(u.Preferences.MediaTypes))
	err := s.db.write.QueryRowContext(ctx, `INSERT INTO users (email, email_fold, display_name, password_hash, role, tags, media_types, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		u.Email, strings.ToLower(u.Email), u.DisplayName, passwordHash, string(u.Role), tags, types, now.UnixMicro()).Scan(&u.ID)
	if isConstraint(err, sqlite3.SQLITE_CONSTRAINT_UNIQUE) {
		return mediarec.Errorf(mediarec.ECONFLICT, "An account with this email already exists.")
	} else if err != nil {
		return fmt.Errorf("create user: %w", err)
	}
	u.CreatedAt = now
	return nil
}

// FindUserByID returns ENOTFOUND for an unknown id.
func (s *UserStore) FindUserByID(ctx context.Context, id int64) (*mediarec.User, error) {
	return findUser(ctx, preparedReads{s.db}, id)
}

// queryRower is what findUser needs of a pool or a transaction.
type queryRower interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func findUser(ctx context.Context, q queryRower, id int64) (*mediarec.User, error) {
	u, err := scanUser(q.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
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
	err := s.db.read.QueryRowContext(ctx, `SELECT id, password_hash FROM users WHERE email_fold = ?`, strings.ToLower(email)).Scan(&id, &hash)
	if errors.Is(err, sql.ErrNoRows) {
		// The message never names the email: it is not ours to echo.
		return 0, "", mediarec.Errorf(mediarec.ENOTFOUND, "No account with this email.")
	} else if err != nil {
		return 0, "", fmt.Errorf("find credentials: %w", err)
	}
	return id, hash, nil
}

// UpdatePreferences replaces a user's preferences and writes ev.
func (s *UserStore) UpdatePreferences(ctx context.Context, userID int64, p mediarec.Preferences, ev mediarec.OutboxEvent) (*mediarec.User, error) {
	tx, err := s.db.write.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("update preferences of user %d: %w", userID, err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `UPDATE users SET tags = ?, media_types = ? WHERE id = ?`,
		jsonList(p.Tags), jsonList(typeStrings(p.MediaTypes)), userID)
	if err != nil {
		return nil, fmt.Errorf("update preferences of user %d: %w", userID, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return nil, fmt.Errorf("update preferences of user %d: %w", userID, err)
	} else if n == 0 {
		return nil, userNotFound(userID)
	}
	if err := writeEvent(ctx, tx, ev); err != nil {
		return nil, err
	}
	u, err := findUser(ctx, tx, userID)
	if err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("update preferences of user %d: %w", userID, err)
	}
	return u, nil
}

// SetFeedback upserts f and writes ev unless nothing changed.
func (s *UserStore) SetFeedback(ctx context.Context, f *mediarec.Feedback, ev mediarec.OutboxEvent) (bool, error) {
	tx, err := s.db.write.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("set feedback: %w", err)
	}
	defer tx.Rollback()
	now := time.Now().UTC().Truncate(time.Microsecond).UnixMicro()
	// The WHERE makes a repeated judgement a no-op that returns no row.
	var created int64
	err = tx.QueryRowContext(ctx, `INSERT INTO feedback (user_id, item_id, kind, rating, created_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (user_id, item_id) DO UPDATE SET kind = excluded.kind, rating = excluded.rating, created_at = excluded.created_at
		WHERE feedback.kind IS NOT excluded.kind OR feedback.rating IS NOT excluded.rating
		RETURNING created_at`, f.UserID, f.ItemID, string(f.Kind), f.Rating, now).Scan(&created)
	changed := err == nil
	switch {
	case errors.Is(err, sql.ErrNoRows):
		err = tx.QueryRowContext(ctx, `SELECT created_at FROM feedback WHERE user_id = ? AND item_id = ?`, f.UserID, f.ItemID).Scan(&created)
	case isConstraint(err, sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY):
		return false, userNotFound(f.UserID)
	}
	if err != nil {
		return false, fmt.Errorf("set feedback of user %d on item %d: %w", f.UserID, f.ItemID, err)
	}
	if changed {
		if err := writeEvent(ctx, tx, ev); err != nil {
			return false, err
		}
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("set feedback: %w", err)
	}
	f.CreatedAt = time.UnixMicro(created).UTC()
	return changed, nil
}

// FindFeedback returns a user's feedback, most recent first.
func (s *UserStore) FindFeedback(ctx context.Context, userID int64) ([]*mediarec.Feedback, error) {
	rows, err := s.db.query(ctx, `SELECT user_id, item_id, kind, rating, created_at FROM feedback
		WHERE user_id = ? ORDER BY created_at DESC, item_id`, userID)
	if err != nil {
		return nil, fmt.Errorf("find feedback of user %d: %w", userID, err)
	}
	defer rows.Close()
	out := []*mediarec.Feedback{}
	for rows.Next() {
		var f mediarec.Feedback
		var created int64
		if err := rows.Scan(&f.UserID, &f.ItemID, &f.Kind, &f.Rating, &created); err != nil {
			return nil, fmt.Errorf("find feedback of user %d: %w", userID, err)
		}
		f.CreatedAt = time.UnixMicro(created).UTC()
		out = append(out, &f)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("find feedback of user %d: %w", userID, err)
	}
	return out, nil
}

// DeleteFeedback removes a user's feedback on an item and writes ev, or
// returns ENOTFOUND.
func (s *UserStore) DeleteFeedback(ctx context.Context, userID, itemID int64, ev mediarec.OutboxEvent) error {
	tx, err := s.db.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("delete feedback: %w", err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `DELETE FROM feedback WHERE user_id = ? AND item_id = ?`, userID, itemID)
	if err != nil {
		return fmt.Errorf("delete feedback of user %d on item %d: %w", userID, itemID, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("delete feedback of user %d on item %d: %w", userID, itemID, err)
	} else if n == 0 {
		return mediarec.Errorf(mediarec.ENOTFOUND, "No feedback on item %d.", itemID)
	}
	if err := writeEvent(ctx, tx, ev); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("delete feedback: %w", err)
	}
	return nil
}

// FindEvents returns up to limit outbox events, oldest first.
func (s *UserStore) FindEvents(ctx context.Context, limit int) ([]mediarec.OutboxEvent, error) {
	rows, err := s.db.read.QueryContext(ctx, `SELECT id, subject, payload FROM user_outbox ORDER BY id LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("find events: %w", err)
	}
	defer rows.Close()
	var out []mediarec.OutboxEvent
	for rows.Next() {
		var e mediarec.OutboxEvent
		if err := rows.Scan(&e.Seq, &e.Subject, &e.Payload); err != nil {
			return nil, fmt.Errorf("find events: %w", err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("find events: %w", err)
	}
	return out, nil
}

// CountEvents returns how many outbox events wait.
func (s *UserStore) CountEvents(ctx context.Context) (int, error) {
	var n int
	if err := s.db.read.QueryRowContext(ctx, `SELECT count(*) FROM user_outbox`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count events: %w", err)
	}
	return n, nil
}

// DeleteEvents removes published outbox events.
func (s *UserStore) DeleteEvents(ctx context.Context, seqs []int64) error {
	if len(seqs) == 0 {
		return nil
	}
	if _, err := s.db.write.ExecContext(ctx, `DELETE FROM user_outbox WHERE id IN (`+placeholders(len(seqs))+`)`, int64Args(seqs)...); err != nil {
		return fmt.Errorf("delete %d events: %w", len(seqs), err)
	}
	return nil
}

// writeEvent records ev in the caller's transaction.
func writeEvent(ctx context.Context, tx *sql.Tx, ev mediarec.OutboxEvent) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO user_outbox (subject, payload, created_at) VALUES (?, ?, ?)`,
		ev.Subject, ev.Payload, time.Now().UnixMicro()); err != nil {
		return fmt.Errorf("write %s event: %w", ev.Subject, err)
	}
	return nil
}

func scanUser(row scanner) (*mediarec.User, error) {
	var (
		u            mediarec.User
		tags, types  string
		createdMicro int64
	)
	if err := row.Scan(&u.ID, &u.Email, &u.DisplayName, &u.Role, &tags, &types, &createdMicro); err != nil {
		return nil, err
	}
	u.Preferences = mediarec.Preferences{Tags: []string{}, MediaTypes: []mediarec.ItemType{}}
	if err := json.Unmarshal([]byte(tags), &u.Preferences.Tags); err != nil {
		return nil, fmt.Errorf("decode tags of user %d: %w", u.ID, err)
	}
	if err := json.Unmarshal([]byte(types), &u.Preferences.MediaTypes); err != nil {
		return nil, fmt.Errorf("decode media types of user %d: %w", u.ID, err)
	}
	u.CreatedAt = time.UnixMicro(createdMicro).UTC()
	return &u, nil
}

func typeStrings(types []mediarec.ItemType) []string {
	out := make([]string, len(types))
	for i, t := range types {
		out[i] = string(t)
	}
	return out
}

func isConstraint(err error, code int) bool {
	var serr *sqlite.Error
	return errors.As(err, &serr) && serr.Code() == code
}

func userNotFound(id int64) error {
	return mediarec.Errorf(mediarec.ENOTFOUND, "User %d not found.", id)
}
