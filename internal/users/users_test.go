package users_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"mediarec"
	"mediarec/internal/sqlite"
	"mediarec/internal/users"
)

// fastHash keeps tests quick; TestLoginTiming uses the real defaults.
var fastHash = users.HashParams{Memory: 64, Time: 1, Threads: 1}

// ItemChecker is a fake catalog.
type ItemChecker struct {
	ItemExistsFn func(ctx context.Context, id int64) (bool, error)
}

func (c *ItemChecker) ItemExists(ctx context.Context, id int64) (bool, error) {
	return c.ItemExistsFn(ctx, id)
}

// knownItems accepts item ids below 100.
var knownItems = &ItemChecker{ItemExistsFn: func(_ context.Context, id int64) (bool, error) { return id < 100, nil }}

type fixture struct {
	svc   *users.Service
	store *sqlite.UserStore
	dir   string
}

// mustService returns a service over a fresh SQLite store.
func mustService(tb testing.TB, params users.HashParams) *fixture {
	tb.Helper()
	dir := tb.TempDir()
	db, err := sqlite.Open(filepath.Join(dir, "users.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	store, err := sqlite.NewUserStore(context.Background(), db)
	if err != nil {
		tb.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	return &fixture{svc: users.New(store, knownItems, log, users.Config{Hash: params}), store: store, dir: dir}
}

func (f *fixture) mustRegister(tb testing.TB, email, password string) *mediarec.User {
	tb.Helper()
	u, err := f.svc.Register(context.Background(), users.Registration{Email: email, Password: password, DisplayName: "Ada"})
	if err != nil {
		tb.Fatalf("register %s: %v", email, err)
	}
	return u
}

func wantInvalid(t *testing.T, err error, field string) {
	t.Helper()
	if mediarec.ErrorCode(err) != mediarec.EINVALID {
		t.Fatalf("error = %v, want EINVALID", err)
	}
	for _, fe := range mediarec.ErrorFields(err) {
		if fe.Field == field {
			return
		}
	}
	t.Fatalf("fields = %+v, want one for %q", mediarec.ErrorFields(err), field)
}

func TestRegisterValidation(t *testing.T) {
	f := mustService(t, fastHash)
	tests := []struct {
		name  string
		reg   users.Registration
		field string
	}{
		{"no email", users.Registration{Password: "password1", DisplayName: "A"}, "email"},
		{"bad email", users.Registration{Email: "not-an-email", Password: "password1", DisplayName: "A"}, "email"},
		{"long email", users.Registration{Email: strings.Repeat("a", 250) + "@x.io", Password: "password1", DisplayName: "A"}, "email"},
		{"short password", users.Registration{Email: "a@x.io", Password: "1234567", DisplayName: "A"}, "password"},
		{"long password", users.Registration{Email: "a@x.io", Password: strings.Repeat("p", 257), DisplayName: "A"}, "password"},
		{"blank name", users.Registration{Email: "a@x.io", Password: "password1", DisplayName: "   "}, "display_name"},
		{"long name", users.Registration{Email: "a@x.io", Password: "password1", DisplayName: strings.Repeat("n", 101)}, "display_name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.svc.Register(context.Background(), tt.reg)
			wantInvalid(t, err, tt.field)
		})
	}
	// The bounds themselves are fine; 8 multi-byte characters count as 8.
	_, err := f.svc.Register(context.Background(), users.Registration{
		Email: "edge@x.io", Password: "пароль12", DisplayName: strings.Repeat("n", 100)})
	if err != nil {
		t.Fatalf("register at the bounds: %v", err)
	}
}

func TestRegisterNormalizesEmail(t *testing.T) {
	f := mustService(t, fastHash)
	u := f.mustRegister(t, "  Ada@Example.COM ", "password1")
	if u.Email != "ada@example.com" || u.Role != mediarec.RoleUser || u.ID == 0 {
		t.Fatalf("registered user = %+v", u)
	}
	_, err := f.svc.Register(context.Background(), users.Registration{Email: "ADA@example.com", Password: "password2", DisplayName: "B"})
	if mediarec.ErrorCode(err) != mediarec.ECONFLICT {
		t.Fatalf("duplicate in another case: %v, want ECONFLICT", err)
	}
}

func TestLogin(t *testing.T) {
	f := mustService(t, fastHash)
	u := f.mustRegister(t, "ada@example.com", "correct horse")
	ctx := context.Background()
	got, err := f.svc.Login(ctx, " ADA@example.com", "correct horse")
	if err != nil || got.ID != u.ID {
		t.Fatalf("login = %+v, %v; want user %d", got, err, u.ID)
	}
	tests := []struct {
		name, email, password string
	}{
		{"wrong password", "ada@example.com", "correct horsE"},
		{"unknown email", "bob@example.com", "correct horse"},
		{"empty", "", ""},
		{"long password", "ada@example.com", strings.Repeat("x", 10000)},
		{"sql", "' OR '1'='1", "' OR '1'='1"},
	}
	var first *mediarec.Error
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.svc.Login(ctx, tt.email, tt.password)
			e, ok := err.(*mediarec.Error)
			if !ok || e.Code != mediarec.EUNAUTHORIZED {
				t.Fatalf("login error = %v, want EUNAUTHORIZED", err)
			}
			// Every failure is the same error, so a client cannot tell
			// which part was wrong.
			if first == nil {
				first = e
			} else if e.Message != first.Message || len(e.Fields) != 0 {
				t.Fatalf("login error %+v differs from %+v", e, first)
			}
		})
	}
}

func TestLoginTiming(t *testing.T) {
	if testing.Short() {
		t.Skip("hashes with the real parameters")
	}
	f := mustService(t, users.DefaultHashParams)
	f.mustRegister(t, "ada@example.com", "correct horse")
	ctx := context.Background()
	median := func(email string) time.Duration {
		var d []time.Duration
		for range 5 {
			start := time.Now()
			_, _ = f.svc.Login(ctx, email, "wrong password")
			d = append(d, time.Since(start))
		}
		slices.Sort(d)
		return d[len(d)/2]
	}
	median("warm@example.com") // the first unknown email computes the dummy hash
	known, unknown := median("ada@example.com"), median("nobody@example.com")
	// Both paths hash once; a missing hash would make unknown emails tens
	// of times faster. The bound is loose so a busy machine does not flake.
	if unknown < known/3 || known < unknown/3 {
		t.Fatalf("login takes %v for a wrong password but %v for an unknown email", known, unknown)
	}
}

func TestPasswordNeverReturned(t *testing.T) {
	f := mustService(t, fastHash)
	const password = "Sup3r-Secret-Passphrase"
	ctx := context.Background()
	u := f.mustRegister(t, "ada@example.com", password)
	byID, err := f.svc.FindUserByID(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	login, err := f.svc.Login(ctx, "ada@example.com", password)
	if err != nil {
		t.Fatal(err)
	}
	prefs, err := f.svc.UpdatePreferences(ctx, u.ID, mediarec.Preferences{Tags: []string{"noir"}})
	if err != nil {
		t.Fatal(err)
	}
	_, loginErr := f.svc.Login(ctx, "ada@example.com", password+"x")
	for _, v := range []any{u, byID, login, prefs, loginErr, loginErr.Error()} {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		for _, secret := range []string{password, "argon2", "hash"} {
			if bytes.Contains(bytes.ToLower(b), []byte(strings.ToLower(secret))) {
				t.Fatalf("%s contains %q", b, secret)
			}
		}
	}
	// Nor does the database hold it in clear: grep every file SQLite wrote.
	files, _ := filepath.Glob(filepath.Join(f.dir, "users.db*"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(password)) {
			t.Fatalf("%s contains the password", filepath.Base(name))
		}
	}
}

func TestUpdatePreferences(t *testing.T) {
	f := mustService(t, fastHash)
	u := f.mustRegister(t, "ada@example.com", "password1")
	ctx := context.Background()
	got, err := f.svc.UpdatePreferences(ctx, u.ID, mediarec.Preferences{
		Tags:       []string{" noir ", "Noir", "", "space opera"},
		MediaTypes: []mediarec.ItemType{"movie", "Book", "movie"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Preferences.Tags, []string{"noir", "space opera"}) ||
		!slices.Equal(got.Preferences.MediaTypes, []mediarec.ItemType{mediarec.TypeMovie, mediarec.TypeBook}) {
		t.Fatalf("preferences = %+v", got.Preferences)
	}
	evs, err := f.store.FindEvents(ctx, 10)
	if err != nil || len(evs) != 1 || evs[0].Subject != mediarec.PreferencesSubject(u.ID) {
		t.Fatalf("events = %+v, %v; want one preferences event", evs, err)
	}
	var ev mediarec.UserPreferencesEvent
	if err := json.Unmarshal(evs[0].Payload, &ev); err != nil {
		t.Fatal(err)
	}
	if ev.SchemaVersion != 1 || ev.UserID != u.ID || !slices.Equal(ev.Preferences.Tags, got.Preferences.Tags) {
		t.Fatalf("event = %+v", ev)
	}

	many := make([]string, 51)
	for i := range many {
		many[i] = "tag" + strings.Repeat("x", i)
	}
	tests := []struct {
		name  string
		prefs mediarec.Preferences
		field string
	}{
		{"too many tags", mediarec.Preferences{Tags: many}, "tags"},
		{"long tag", mediarec.Preferences{Tags: []string{strings.Repeat("t", 101)}}, "tags[0]"},
		{"bad type", mediarec.Preferences{MediaTypes: []mediarec.ItemType{"movie", "vinyl"}}, "media_types[1]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.svc.UpdatePreferences(ctx, u.ID, tt.prefs)
			wantInvalid(t, err, tt.field)
		})
	}
	_, err = f.svc.UpdatePreferences(ctx, 999, mediarec.Preferences{})
	if mediarec.ErrorCode(err) != mediarec.ENOTFOUND {
		t.Fatalf("unknown user: %v, want ENOTFOUND", err)
	}
}

func TestFeedback(t *testing.T) {
	f := mustService(t, fastHash)
	u := f.mustRegister(t, "ada@example.com", "password1")
	ctx := context.Background()
	tests := []struct {
		name string
		fb   mediarec.Feedback
		code string
	}{
		{"like", mediarec.Feedback{ItemID: 1, Kind: mediarec.FeedbackLike}, ""},
		{"like again", mediarec.Feedback{ItemID: 1, Kind: mediarec.FeedbackLike}, ""},
		{"dislike replaces", mediarec.Feedback{ItemID: 1, Kind: mediarec.FeedbackDislike}, ""},
		{"rating", mediarec.Feedback{ItemID: 2, Kind: mediarec.FeedbackRating, Rating: 4.5}, ""},
		{"lowest rating", mediarec.Feedback{ItemID: 3, Kind: mediarec.FeedbackRating, Rating: 0.5}, ""},
		{"rating off step", mediarec.Feedback{ItemID: 2, Kind: mediarec.FeedbackRating, Rating: 4.3}, mediarec.EINVALID},
		{"rating too high", mediarec.Feedback{ItemID: 2, Kind: mediarec.FeedbackRating, Rating: 5.5}, mediarec.EINVALID},
		{"rating zero", mediarec.Feedback{ItemID: 2, Kind: mediarec.FeedbackRating}, mediarec.EINVALID},
		{"like with rating", mediarec.Feedback{ItemID: 2, Kind: mediarec.FeedbackLike, Rating: 3}, mediarec.EINVALID},
		{"bad kind", mediarec.Feedback{ItemID: 2, Kind: "love"}, mediarec.EINVALID},
		{"no item", mediarec.Feedback{Kind: mediarec.FeedbackLike}, mediarec.EINVALID},
		{"unknown item", mediarec.Feedback{ItemID: 404, Kind: mediarec.FeedbackLike}, mediarec.ENOTFOUND},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fb := tt.fb
			fb.UserID = u.ID
			if err := f.svc.SetFeedback(ctx, &fb); mediarec.ErrorCode(err) != tt.code {
				t.Fatalf("set feedback: %v, want code %q", err, tt.code)
			}
		})
	}
	list, err := f.svc.ListFeedback(ctx, u.ID)
	if err != nil || len(list) != 3 {
		t.Fatalf("feedback = %+v, %v; want 3 entries", list, err)
	}
	if err := f.svc.DeleteFeedback(ctx, u.ID, 1); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.DeleteFeedback(ctx, u.ID, 1); mediarec.ErrorCode(err) != mediarec.ENOTFOUND {
		t.Fatalf("second delete: %v, want ENOTFOUND", err)
	}
	// like, dislike, two ratings and the delete; the repeated like is no
	// change and announces nothing.
	evs, err := f.store.FindEvents(ctx, 100)
	if err != nil || len(evs) != 5 {
		t.Fatalf("events = %d, %v; want 5", len(evs), err)
	}
	var last mediarec.UserFeedbackEvent
	if err := json.Unmarshal(evs[4].Payload, &last); err != nil {
		t.Fatal(err)
	}
	if !last.Deleted || last.ItemID != 1 || last.UserID != u.ID || last.SchemaVersion != 1 {
		t.Fatalf("delete event = %+v", last)
	}
}

// BenchmarkLogin measures a login with the default argon2id parameters
// (19 MiB, 2 passes, 1 lane) on SQLite; the hash is nearly all of it.
func BenchmarkLogin(b *testing.B) {
	f := mustService(b, users.DefaultHashParams)
	f.mustRegister(b, "bench@example.com", "benchmark-pass")
	for b.Loop() {
		if _, err := f.svc.Login(context.Background(), "bench@example.com", "benchmark-pass"); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/login")
}
