package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The fake API's answers, as the real one gives them.
const (
	fakeToken    = "good-token"
	fakeEmail    = "ada@example.com"
	fakePassword = "correct horse battery"
	fakeItems    = `{"items":[{"id":1,"external_id":"ml-1","type":"movie","title":"Interstellar","description":"","genres":["Sci-Fi","Drama"],"tags":[],"creators":[],"year":2014,"embedding_status":"done"},` +
		`{"id":2,"type":"book","title":"The Extraordinarily Long and Winding Title of a Book That Goes On and On","description":"","genres":["History"],"tags":[],"creators":[],"embedding_status":"pending"}],"next_cursor":"Mg"}`
	fakeScored = `{"items":[{"item":{"id":7,"type":"documentary","title":"Blue Planet","genres":[],"tags":[],"creators":[],"year":2001,"embedding_status":"done"},"score":0.912,"reason":{"kind":"liked_item","item_id":1,"text":"Because you liked Interstellar"}}]}`
	fakeSearch = `{"items":[{"item":{"id":7,"type":"documentary","title":"Blue Planet","genres":[],"tags":[],"creators":[],"year":2001,"embedding_status":"done"},"score":0.5}],` +
		`"parsed":{"types":["documentary"],"text":"the ocean","year_from":1990,"year_to":1999}}`
	fakeFeedback = `{"user_id":3,"item_id":1,"kind":"like","created_at":"2026-01-02T03:04:05Z"}`
)

func problem(w http.ResponseWriter, status int, detail, errors string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	body := `{"type":"urn:mediarec:problem:x","title":"` + http.StatusText(status) + `","status":` + strconv.Itoa(status) + `,"detail":"` + detail + `"`
	if errors != "" {
		body += `,"errors":` + errors
	}
	w.Write([]byte(body + "}"))
}

// newFakeAPI serves the routes of the user commands as the API contract
// says they answer, and records the last request's URL.
func newFakeAPI(t *testing.T) (*httptest.Server, *string) {
	t.Helper()
	var last string
	authed := func(h http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") != "Bearer "+fakeToken {
				problem(w, 401, "Sign in first.", "")
				return
			}
			h(w, r)
		}
	}
	answer := func(status int, body string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			w.Write([]byte(body))
		}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/auth/login", func(w http.ResponseWriter, r *http.Request) {
		var b struct{ Email, Password string }
		if json.NewDecoder(r.Body).Decode(&b) != nil || b.Email != fakeEmail || b.Password != fakePassword {
			problem(w, 401, "Wrong email or password.", "")
			return
		}
		answer(200, `{"token":"`+fakeToken+`","expires_at":"2099-01-02T03:04:05Z"}`)(w, r)
	})
	mux.HandleFunc("GET /v1/items", answer(200, fakeItems))
	mux.HandleFunc("GET /v1/items/{id}/similar", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") == "99999" {
			problem(w, 404, "Item 99999 not found.", "")
			return
		}
		answer(200, fakeScored)(w, r)
	})
	mux.HandleFunc("GET /v1/search", answer(200, fakeSearch))
	mux.HandleFunc("GET /v1/recommendations", authed(answer(200, fakeScored)))
	mux.HandleFunc("POST /v1/me/feedback", authed(func(w http.ResponseWriter, r *http.Request) {
		var f struct {
			ItemID int64   `json:"item_id"`
			Kind   string  `json:"kind"`
			Rating float64 `json:"rating"`
		}
		json.NewDecoder(r.Body).Decode(&f)
		switch {
		case f.ItemID == 99999:
			problem(w, 404, "Item 99999 not found.", "")
		case f.ItemID == 500:
			problem(w, 500, "Internal error.", "")
		case f.Kind == "rating" && f.Rating != 4.5:
			problem(w, 400, "Invalid feedback.", `[{"field":"rating","message":"must be 4.5 in this fake"}]`)
		default:
			answer(201, fakeFeedback)(w, r)
		}
	}))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		last = r.Method + " " + r.URL.RequestURI()
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, &last
}

// runCLI runs a command line with stdin and the environment env, and
// returns its exit code and output.
func runCLI(t *testing.T, env map[string]string, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := runStdin(context.Background(), args, func(k string) string { return env[k] }, strings.NewReader(stdin), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// mustSignIn stores credentials for server in a new config dir and
// returns the environment that finds them.
func mustSignIn(t *testing.T, server string, expires time.Time) map[string]string {
	t.Helper()
	env := map[string]string{"XDG_CONFIG_HOME": t.TempDir()}
	if err := saveCredentials(func(k string) string { return env[k] }, &credentials{Server: server, Token: fakeToken, ExpiresAt: expires, Email: fakeEmail}); err != nil {
		t.Fatal(err)
	}
	return env
}

func TestCLICommands(t *testing.T) {
	srv, last := newFakeAPI(t)
	signedIn := mustSignIn(t, srv.URL, time.Now().Add(time.Hour))
	tests := []struct {
		name     string
		args     []string
		wantURL  string   // the request the server got
		wantOut  []string // in the table
		wantJSON string   // the answer --json prints unchanged
	}{
		{"items", []string{"items", "--type", "movie", "--genre", "Sci-Fi", "--q", "space", "--limit", "2"},
			"GET /v1/items?genre=Sci-Fi&limit=2&q=space&type=movie",
			[]string{"ID  TYPE   YEAR  TITLE", "1   movie  2014  Interstellar", "2   book", "The Extraordinarily Long and Winding Title of a…  History", "History", "--cursor Mg"}, fakeItems},
		{"similar", []string{"similar", "1", "--limit", "5", "--types", "documentary"},
			"GET /v1/items/1/similar?limit=5&types=documentary",
			[]string{"#  ID  SCORE  TYPE", "1  7   0.912  documentary  Blue Planet (2001)"}, fakeScored},
		{"search", []string{"search", "a", "documentary", "about", "the", "ocean", "from", "the", "nineties"},
			"GET /v1/search?limit=10&q=a+documentary+about+the+ocean+from+the+nineties",
			[]string{`Understood: types documentary; years 1990–1999; about "the ocean"`, "Blue Planet (2001)"}, fakeSearch},
		{"recommend with the stored token and server", []string{"recommend", "--types", "book"},
			"GET /v1/recommendations?diversity=0.3&limit=10&types=book",
			[]string{"WHY", "Because you liked Interstellar"}, fakeScored},
		{"like", []string{"like", "1"}, "POST /v1/me/feedback", []string{"Liked item 1."}, fakeFeedback},
		{"dislike", []string{"dislike", "1"}, "POST /v1/me/feedback", []string{"Disliked item 1."}, fakeFeedback},
		{"rate", []string{"rate", "1", "4.5"}, "POST /v1/me/feedback", []string{"Rated item 1: 4.5/5."}, fakeFeedback},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, signedIn, "", tt.args...)
			if code != 0 || errOut != "" {
				t.Fatalf("exit %d, stderr %q", code, errOut)
			}
			if *last != tt.wantURL {
				t.Errorf("server got %q, want %q", *last, tt.wantURL)
			}
			for _, want := range tt.wantOut {
				if !strings.Contains(out, want) {
					t.Errorf("table lacks %q:\n%s", want, out)
				}
			}
			code, out, errOut = runCLI(t, signedIn, "", append(tt.args, "--json")...)
			if code != 0 || errOut != "" || out != tt.wantJSON+"\n" {
				t.Errorf("--json: exit %d, stderr %q, stdout\n%s\nwant\n%s", code, errOut, out, tt.wantJSON)
			}
		})
	}
}

func TestCLIExitCodes(t *testing.T) {
	srv, _ := newFakeAPI(t)
	signedIn := mustSignIn(t, srv.URL, time.Now().Add(time.Hour))
	expired := mustSignIn(t, srv.URL, time.Now().Add(-time.Minute))
	nobody := map[string]string{"XDG_CONFIG_HOME": t.TempDir(), "MEDIAREC_SERVER": srv.URL}
	tests := []struct {
		name     string
		env      map[string]string
		args     []string
		wantCode int
		wantErr  string // the whole of stderr
	}{
		{"not found", signedIn, []string{"like", "99999"}, 4, "mediarec like: item 99999 not found\n"},
		{"similar not found", signedIn, []string{"similar", "99999"}, 4, "mediarec similar: item 99999 not found\n"},
		{"invalid", signedIn, []string{"rate", "1", "3"}, 1, "mediarec rate: invalid feedback: rating: must be 4.5 in this fake\n"},
		{"server error", signedIn, []string{"like", "500"}, 1, "mediarec like: internal error\n"},
		{"token refused", map[string]string{"XDG_CONFIG_HOME": t.TempDir()}, []string{"recommend", "--server", srv.URL, "--token", "stolen"}, 3,
			"mediarec recommend: sign in first (run \"mediarec login\")\n"},
		{"not signed in", nobody, []string{"like", "1"}, 3, "mediarec like: not signed in: run \"mediarec login\" or pass --token\n"},
		{"token expired", expired, []string{"recommend"}, 3, "mediarec recommend: the sign-in to " + srv.URL + " expired at "},
		{"signed in elsewhere", signedIn, []string{"recommend", "--server", "http://127.0.0.1:1"}, 3,
			"mediarec recommend: signed in to " + srv.URL + ", not http://127.0.0.1:1: run \"mediarec login --server http://127.0.0.1:1\"\n"},
		{"connection refused", nobody, []string{"items", "--server", "http://127.0.0.1:1"}, 1, "mediarec items: cannot reach http://127.0.0.1:1: dial tcp 127.0.0.1:1: connect: connection refused\n"},
		{"wrong password", nobody, []string{"login", "--email", fakeEmail}, 3, "mediarec login: wrong email or password\n"},
		{"bad id", signedIn, []string{"like", "x"}, 2, `mediarec like: ID "x" is not an item id`},
		{"bad stars", signedIn, []string{"rate", "1", "4.2"}, 2, `mediarec rate: STARS "4.2" is not 0.5 to 5 in steps of 0.5`},
		{"missing stars", signedIn, []string{"rate", "1"}, 2, "mediarec rate: want 2 argument(s), got 1"},
		{"bad flag", signedIn, []string{"items", "--nope"}, 2, "mediarec items: flag provided but not defined: -nope"},
		{"empty search", signedIn, []string{"search", "--json"}, 2, "mediarec search: say what to search for"},
		{"help", signedIn, []string{"similar", "-h"}, 0, ""},
		{"logout when signed out", nobody, []string{"logout"}, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, tt.env, "wrong password\n", tt.args...)
			if code != tt.wantCode || !strings.HasPrefix(errOut, tt.wantErr) || strings.Count(errOut, "\n") > 1 {
				t.Fatalf("exit %d, stderr %q; want %d and %q", code, errOut, tt.wantCode, tt.wantErr)
			}
			if code != 0 && out != "" {
				t.Errorf("stdout on failure: %q", out)
			}
		})
	}
}

func TestLoginCredentialsFile(t *testing.T) {
	srv, _ := newFakeAPI(t)
	config := t.TempDir()
	env := map[string]string{"XDG_CONFIG_HOME": config}
	path := filepath.Join(config, "mediarec", "credentials.json")

	// A script pipes the email and the password.
	code, out, errOut := runCLI(t, env, fakeEmail+"\n"+fakePassword+"\n", "login", "--server", srv.URL+"/")
	if code != 0 || !strings.HasPrefix(out, "Signed in as "+fakeEmail+" on "+srv.URL+" (token valid until 2099-01-0") {
		t.Fatalf("login: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	mustMode(t, filepath.Dir(path), 0o700)
	mustMode(t, path, 0o600)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var c credentials
	if err := json.Unmarshal(data, &c); err != nil || c.Server != srv.URL || c.Token != fakeToken || c.Email != fakeEmail || c.ExpiresAt.Year() != 2099 {
		t.Fatalf("credentials %s: %v", data, err)
	}
	if strings.Contains(string(data)+out+errOut, fakePassword) {
		t.Fatalf("the password leaked: %s %s %s", data, out, errOut)
	}
	if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
		t.Errorf("left behind: %v", entries)
	}

	// Signing in again keeps a narrower mode, and the stored server.
	if err := os.Chmod(path, 0o400); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := runCLI(t, env, fakePassword, "login", "--email", fakeEmail); code != 0 {
		t.Fatalf("login again: exit %d: %s", code, errOut)
	}
	mustMode(t, path, 0o400)
	if code, _, errOut := runCLI(t, env, "", "like", "1"); code != 0 {
		t.Fatalf("like after login: exit %d: %s", code, errOut)
	}

	if code, out, _ := runCLI(t, env, "", "logout"); code != 0 || out != "Signed out of "+srv.URL+" ("+fakeEmail+").\n" {
		t.Fatalf("logout: exit %d: %q", code, out)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("credentials after logout: %v", err)
	}
	if code, _, _ := runCLI(t, env, "", "like", "1"); code != 3 {
		t.Fatalf("like after logout: exit %d, want 3", code)
	}
}

func mustMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != want {
		t.Errorf("%s: mode %v, want %v", path, fi.Mode().Perm(), want)
	}
}
