package main

import (
	"cmp"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jackc/pgx/v5"

	"mediarec/internal/auth"
	"mediarec/internal/auth/authtest"
	"mediarec/internal/postgres/pgtest"
)

// The security tests drive the all-in-one server over HTTP the way an
// attacker would, and check that every refusal is the documented status
// with an application/problem+json body, never a 500.

// lastClientIP numbers the loopback addresses clients send from.
var lastClientIP atomic.Int32

// apiClient talks to one server from its own loopback address (127.0.0.x):
// register and login are rate limited per IP (30 a minute), so each group
// of requests gets a bucket of its own instead of sharing 127.0.0.1's.
type apiClient struct {
	tb   testing.TB
	base string
	http *http.Client
	// seen, when not nil, receives every response body.
	seen *[]string
}

func newClient(tb testing.TB, base string) *apiClient {
	tb.Helper()
	n := lastClientIP.Add(1)
	ip := net.IPv4(127, 0, byte(1+n/250), byte(2+n%250))
	dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: ip}, Timeout: 10 * time.Second}
	tr := &http.Transport{DialContext: dialer.DialContext}
	tb.Cleanup(tr.CloseIdleConnections)
	return &apiClient{tb: tb, base: base, http: &http.Client{Transport: tr, Timeout: time.Minute}}
}

// response is one answer of the server.
type response struct {
	status int
	header http.Header
	body   []byte
}

// do sends a request with the Authorization header set to authorization
// as is (nothing when empty).
func (c *apiClient) do(method, path, authorization, body string) response {
	c.tb.Helper()
	r, err := c.try(method, path, authorization, body)
	if err != nil {
		c.tb.Fatal(err)
	}
	return r
}

// try is do that returns the transport's error.
func (c *apiClient) try(method, path, authorization, body string) (response, error) {
	req, err := http.NewRequest(method, c.base+path, strings.NewReader(body))
	if err != nil {
		return response{}, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	res, err := c.http.Do(req)
	if err != nil {
		return response{}, err
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		return response{}, err
	}
	if c.seen != nil {
		*c.seen = append(*c.seen, string(data))
	}
	return response{status: res.StatusCode, header: res.Header, body: data}, nil
}

// call sends a request with a bearer token (none when empty).
func (c *apiClient) call(method, path, token, body string) response {
	c.tb.Helper()
	if token == "" {
		return c.do(method, path, "", body)
	}
	return c.do(method, path, "Bearer "+token, body)
}

// decode unmarshals a successful response.
func (r response) decode(tb testing.TB, out any) {
	tb.Helper()
	if err := json.Unmarshal(r.body, out); err != nil {
		tb.Fatalf("decode %s: %v", r.body, err)
	}
}

// problemBody is an RFC 9457 problem as the API writes it.
type problemBody struct {
	Type     string `json:"type"`
	Title    string `json:"title"`
	Status   int    `json:"status"`
	Detail   string `json:"detail"`
	Instance string `json:"instance"`
	Errors   []struct {
		Field   string `json:"field"`
		Message string `json:"message"`
	} `json:"errors"`
}

// wantProblem checks that r is a problem+json answer with status and, when
// field is not empty, a validation error naming field.
func wantProblem(tb testing.TB, r response, status int, field string) problemBody {
	tb.Helper()
	if r.status != status {
		tb.Fatalf("status %d, want %d: %.500s", r.status, status, r.body)
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
		tb.Fatalf("Content-Type %q, want application/problem+json: %.500s", ct, r.body)
	}
	var p problemBody
	if err := json.Unmarshal(r.body, &p); err != nil {
		tb.Fatalf("problem body %.500s: %v", r.body, err)
	}
	if p.Status != status || p.Type == "" || p.Title == "" || p.Detail == "" {
		tb.Fatalf("incomplete problem: %+v", p)
	}
	if field == "" {
		return p
	}
	for _, fe := range p.Errors {
		if fe.Field == field {
			return p
		}
	}
	tb.Fatalf("problem %+v names no field %q", p, field)
	return p
}

// wantStatus checks r's status and that an error answer is problem+json.
func wantStatus(tb testing.TB, r response, status int) {
	tb.Helper()
	if r.status >= 400 {
		wantProblem(tb, r, status, "")
		return
	}
	if r.status != status {
		tb.Fatalf("status %d, want %d: %.500s", r.status, status, r.body)
	}
}

// account is a registered user.
type account struct {
	id              int64
	email, password string
	token           string
}

func mustRegister(tb testing.TB, c *apiClient, email, password string) account {
	tb.Helper()
	body, _ := json.Marshal(map[string]string{"email": email, "password": password, "display_name": "Tester"})
	r := c.call("POST", "/v1/auth/register", "", string(body))
	if r.status != 201 {
		tb.Fatalf("register %s: %d %s", email, r.status, r.body)
	}
	var reg struct {
		User struct {
			ID int64 `json:"id"`
		} `json:"user"`
		Token string `json:"token"`
	}
	r.decode(tb, &reg)
	return account{id: reg.User.ID, email: email, password: password, token: reg.Token}
}

func mustCreateItem(tb testing.TB, c *apiClient, title string) int64 {
	tb.Helper()
	r := c.call("POST", "/v1/items", "", `{"type":"movie","title":"`+title+`"}`)
	if r.status != 201 {
		tb.Fatalf("create item: %d %s", r.status, r.body)
	}
	var item struct {
		ID int64 `json:"id"`
	}
	r.decode(tb, &item)
	return item.ID
}

// feedbackItems lists the item ids of a user's feedback.
func feedbackItems(tb testing.TB, c *apiClient, token string) []int64 {
	tb.Helper()
	r := c.call("GET", "/v1/me/feedback", token, "")
	if r.status != 200 {
		tb.Fatalf("list feedback: %d %s", r.status, r.body)
	}
	var list struct {
		Items []struct {
			ItemID int64 `json:"item_id"`
		} `json:"items"`
	}
	r.decode(tb, &list)
	ids := []int64{}
	for _, it := range list.Items {
		ids = append(ids, it.ItemID)
	}
	slices.Sort(ids)
	return ids
}

// mustSigningKey reads the key the server signs with from its data dir.
func mustSigningKey(tb testing.TB, m *Main) ed25519.PrivateKey {
	tb.Helper()
	key, err := auth.LoadOrCreateKey(cmp.Or(m.Config.SigningKey, filepath.Join(m.Config.DataDir, "auth", "ed25519.pem")))
	if err != nil {
		tb.Fatal(err)
	}
	return key
}

// mustDeleteUser removes an account behind the API's back, as an operator
// (or a future account deletion) would: the API has no route for it.
func mustDeleteUser(tb testing.TB, m *Main, id int64) {
	tb.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(m.Config.DataDir, "users.db")+"?_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)")
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	res, err := db.Exec(`DELETE FROM users WHERE id = ?`, id)
	if err != nil {
		tb.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		tb.Fatalf("deleted %d users, want 1", n)
	}
}

func TestTokenAttacks(t *testing.T) {
	m := MustRunMain(t, nil)
	c := newClient(t, m.URL())
	victim := mustRegister(t, c, "victim@example.com", "victim-passphrase")
	gone := mustRegister(t, c, "gone@example.com", "gone-passphrase")
	item := mustCreateItem(t, c, "Alien")
	if r := c.call("POST", "/v1/me/feedback", gone.token, fmt.Sprintf(`{"item_id":%d,"kind":"like"}`, item)); r.status != 201 {
		t.Fatalf("feedback before the account is deleted: %d %s", r.status, r.body)
	}
	mustDeleteUser(t, m, gone.id)

	key := mustSigningKey(t, m)
	kid := auth.KeyID(key.Public().(ed25519.PublicKey))
	// The public key is public: an attacker reads it from the JWKS.
	pub, err := auth.FetchJWKS(context.Background(), m.URL()+"/.well-known/jwks.json", nil)
	if err != nil {
		t.Fatal(err)
	}
	pubPEM, err := auth.PublicKeyPEM(pub)
	if err != nil {
		t.Fatal(err)
	}
	_, otherKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	hour := int64(time.Hour / time.Second)
	now := time.Now().Unix()
	claims := func(userID int64, changes map[string]any) jwt.MapClaims {
		return authtest.Claims(userID, tokenIssuer, changes)
	}

	// The controls prove that a token made the way the cases below make
	// theirs works, so each case fails for the one thing it changes.
	for name, tok := range map[string]string{
		"issued token":      victim.token,
		"hand-signed token": authtest.MustSign(t, jwt.SigningMethodEdDSA, key, kid, claims(victim.id, nil)),
	} {
		t.Run("control/"+name, func(t *testing.T) {
			wantStatus(t, c.call("GET", "/v1/me", tok, ""), 200)
		})
	}

	valid := victim.token
	parts := strings.Split(valid, ".")
	tests := []struct {
		name          string
		authorization string
	}{
		{"signed by another key", "Bearer " + authtest.MustSign(t, jwt.SigningMethodEdDSA, otherKey, kid, claims(victim.id, nil))},
		{"signature of another token", "Bearer " + parts[0] + "." + parts[1] + "." + strings.Split(gone.token, ".")[2]},
		{"alg none", "Bearer " + authtest.MustSign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, kid, claims(victim.id, nil))},
		{"alg none, signature kept", "Bearer " + strings.Split(authtest.MustSign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, kid, claims(victim.id, nil)), ".")[0] + "." + parts[1] + "." + parts[2]},
		{"HS256 keyed with the public key", "Bearer " + authtest.MustSign(t, jwt.SigningMethodHS256, []byte(pub), kid, claims(victim.id, nil))},
		{"HS256 keyed with the public key PEM", "Bearer " + authtest.MustSign(t, jwt.SigningMethodHS256, pubPEM, kid, claims(victim.id, nil))},
		{"expired", "Bearer " + authtest.MustSign(t, jwt.SigningMethodEdDSA, key, kid, claims(victim.id, map[string]any{"iat": now - 2*hour, "exp": now - hour}))},
		{"no expiry", "Bearer " + authtest.MustSign(t, jwt.SigningMethodEdDSA, key, kid, claims(victim.id, map[string]any{"exp": nil}))},
		{"wrong issuer", "Bearer " + authtest.MustSign(t, jwt.SigningMethodEdDSA, key, kid, claims(victim.id, map[string]any{"iss": "someone-else"}))},
		{"deleted user", "Bearer " + gone.token},
		{"user that never existed", "Bearer " + authtest.MustSign(t, jwt.SigningMethodEdDSA, key, kid, claims(999999, nil))},
		{"garbage", "Bearer garbage"},
		{"garbage in three parts", "Bearer a.b.c"},
		{"bytes that are not text", "Bearer \xff\xfe\xfd"},
		{"token of 3 KB", "Bearer " + strings.Repeat("A", 3000)},
		{"SQL for a token", "Bearer ' OR 1=1 --"},
		{"missing Bearer", valid},
		{"Basic scheme", "Basic dmljdGltQGV4YW1wbGUuY29tOnZpY3RpbS1wYXNzcGhyYXNl"},
		{"Bearer without a token", "Bearer "},
		{"no Authorization header", ""},
	}
	routes := []struct{ method, path, body string }{
		{"GET", "/v1/me", ""},
		{"PUT", "/v1/me/preferences", `{"tags":["hacked"],"media_types":[]}`},
		{"POST", "/v1/me/feedback", fmt.Sprintf(`{"item_id":%d,"kind":"dislike"}`, item)},
		{"GET", "/v1/me/feedback", ""},
		{"DELETE", fmt.Sprintf("/v1/me/feedback/%d", item), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, rt := range routes {
				r := c.do(rt.method, rt.path, tt.authorization, rt.body)
				wantProblem(t, r, 401, "")
				if got := r.header.Get("WWW-Authenticate"); !strings.HasPrefix(got, "Bearer") {
					t.Fatalf("%s %s: WWW-Authenticate %q", rt.method, rt.path, got)
				}
			}
		})
	}
	// A header past the server's 4 KB read buffer never reaches the
	// routes: the server refuses the request itself, still as a problem.
	// It answers and closes before the rest of the header has arrived, so
	// the client may meet a reset instead of the answer: refused all the
	// same.
	t.Run("token of 8 KB", func(t *testing.T) {
		big := newClient(t, m.URL())
		for _, rt := range routes {
			r, err := big.try(rt.method, rt.path, "Bearer "+strings.Repeat("A", 8<<10), rt.body)
			if errors.Is(err, syscall.ECONNRESET) {
				continue
			} else if err != nil {
				t.Fatalf("%s %s: %v", rt.method, rt.path, err)
			}
			wantProblem(t, r, 431, "")
		}
	})
	// None of the attacks changed the victim's profile.
	var me struct {
		Preferences struct {
			Tags []string `json:"tags"`
		} `json:"preferences"`
	}
	r := c.call("GET", "/v1/me", victim.token, "")
	wantStatus(t, r, 200)
	if r.decode(t, &me); len(me.Preferences.Tags) != 0 {
		t.Fatalf("the victim's tags changed: %v", me.Preferences.Tags)
	}
}

func TestOneUserCannotTouchAnothersData(t *testing.T) {
	m := MustRunMain(t, nil)
	c := newClient(t, m.URL())
	ada := mustRegister(t, c, "ada@example.com", "ada-passphrase")
	bob := mustRegister(t, c, "bob@example.com", "bob-passphrase")
	liked, rated := mustCreateItem(t, c, "Solaris"), mustCreateItem(t, c, "Stalker")
	for _, body := range []string{
		fmt.Sprintf(`{"item_id":%d,"kind":"like"}`, liked),
		fmt.Sprintf(`{"item_id":%d,"kind":"rating","rating":4.5}`, rated),
	} {
		wantStatus(t, c.call("POST", "/v1/me/feedback", ada.token, body), 201)
	}
	wantStatus(t, c.call("PUT", "/v1/me/preferences", ada.token, `{"tags":["tarkovsky"],"media_types":["movie"]}`), 200)

	// Bob has no feedback yet: any item in his list would be Ada's.
	tests := []struct {
		name, method, path, body string
		want                     int
		wantBody                 string // when not empty
	}{
		{"list sees only its own feedback", "GET", "/v1/me/feedback", "", 200, `{"items":[]}`},
		{"list ignores a user_id parameter", "GET", fmt.Sprintf("/v1/me/feedback?user_id=%d", ada.id), "", 200, `{"items":[]}`},
		{"delete another's like", "DELETE", fmt.Sprintf("/v1/me/feedback/%d", liked), "", 404, ""},
		{"delete another's rating", "DELETE", fmt.Sprintf("/v1/me/feedback/%d", rated), "", 404, ""},
		{"delete with a user_id parameter", "DELETE", fmt.Sprintf("/v1/me/feedback/%d?user_id=%d", liked, ada.id), "", 404, ""},
		{"feedback with a user_id field", "POST", "/v1/me/feedback", fmt.Sprintf(`{"item_id":%d,"kind":"dislike","user_id":%d}`, liked, ada.id), 201, ""},
		{"profile is its own", "GET", fmt.Sprintf("/v1/me?user_id=%d", ada.id), "", 200, ""},
		{"preferences change its own", "PUT", "/v1/me/preferences", `{"tags":["bob's"],"media_types":[]}`, 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := c.call(tt.method, tt.path, bob.token, tt.body)
			wantStatus(t, r, tt.want)
			if tt.wantBody != "" && string(r.body) != tt.wantBody {
				t.Fatalf("body %s, want %s", r.body, tt.wantBody)
			}
		})
	}

	// Bob's writes landed on Bob; Ada's data is as she left it.
	if got := feedbackItems(t, c, bob.token); !slices.Equal(got, []int64{liked}) {
		t.Fatalf("bob's feedback: %v, want [%d]", got, liked)
	}
	if got := feedbackItems(t, c, ada.token); !slices.Equal(got, []int64{liked, rated}) {
		t.Fatalf("ada's feedback: %v, want [%d %d]", got, liked, rated)
	}
	var me struct {
		Email       string `json:"email"`
		Preferences struct {
			Tags []string `json:"tags"`
		} `json:"preferences"`
	}
	c.call("GET", "/v1/me", ada.token, "").decode(t, &me)
	if me.Email != ada.email || !slices.Equal(me.Preferences.Tags, []string{"tarkovsky"}) {
		t.Fatalf("ada's profile: %+v", me)
	}
	c.call("GET", fmt.Sprintf("/v1/me?user_id=%d", ada.id), bob.token, "").decode(t, &me)
	if me.Email != bob.email {
		t.Fatalf("bob's /v1/me shows %s", me.Email)
	}
}

func TestDuplicateEmail(t *testing.T) {
	m := MustRunMain(t, nil)
	c := newClient(t, m.URL())
	first := mustRegister(t, c, "dup@example.com", "first-passphrase")
	tests := []struct{ name, email string }{
		{"same email", "dup@example.com"},
		{"upper case", "DUP@EXAMPLE.COM"},
		{"mixed case", "Dup@Example.Com"},
		{"surrounding spaces", "  dup@example.com "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, _ := json.Marshal(map[string]string{"email": tt.email, "password": "second-passphrase", "display_name": "Second"})
			wantProblem(t, c.call("POST", "/v1/auth/register", "", string(body)), 409, "")
		})
	}
	// The first account is untouched: its password still works, the
	// others' does not.
	wantStatus(t, c.call("POST", "/v1/auth/login", "", `{"email":"dup@example.com","password":"`+first.password+`"}`), 200)
	wantProblem(t, c.call("POST", "/v1/auth/login", "", `{"email":"dup@example.com","password":"second-passphrase"}`), 401, "")
}

// sqlLooking are inputs that break a query built by concatenation.
var sqlLooking = []struct{ name, input string }{
	{"quote OR 1=1", `' OR 1=1 --`},
	{"DROP TABLE users", `"; DROP TABLE users; --`},
	{"DELETE FROM feedback", `'; DELETE FROM feedback; --`},
	{"unquoted OR", `1 OR 1=1`},
}

func TestSQLLookingInput(t *testing.T) {
	m := MustRunMain(t, nil)
	c := newClient(t, m.URL())
	owner := mustRegister(t, c, "owner@example.com", "owner-passphrase")
	item := mustCreateItem(t, c, "Brazil")
	wantStatus(t, c.call("POST", "/v1/me/feedback", owner.token, fmt.Sprintf(`{"item_id":%d,"kind":"like"}`, item)), 201)

	for i, sl := range sqlLooking {
		input := sl.input
		t.Run(sl.name, func(t *testing.T) {
			// Each input registers accounts: a client of its own keeps
			// them under the per-IP limit.
			c := newClient(t, m.URL())
			q := url.QueryEscape(input)
			jsonStr := func(s string) string { b, _ := json.Marshal(s); return string(b) }
			register := func(email, password, name string) string {
				b, _ := json.Marshal(map[string]string{"email": email, "password": password, "display_name": name})
				return string(b)
			}
			emailLike := strings.NewReplacer(" ", "", "\"", "", ";", "").Replace(input) + fmt.Sprintf("-%d@example.com", i)

			t.Run("as the email", func(t *testing.T) {
				wantProblem(t, c.call("POST", "/v1/auth/register", "", register(input, "long-enough-pass", "X")), 400, "email")
			})
			t.Run("inside an email", func(t *testing.T) {
				// Quotes and dashes are legal in an address: either refused
				// or stored exactly.
				r := c.call("POST", "/v1/auth/register", "", register(emailLike, "long-enough-pass", "X"))
				if r.status == 400 {
					wantProblem(t, r, 400, "email")
					return
				}
				wantStatus(t, r, 201)
				var reg struct {
					User  struct{ Email string } `json:"user"`
					Token string                 `json:"token"`
				}
				r.decode(t, &reg)
				if reg.User.Email != strings.ToLower(emailLike) {
					t.Fatalf("email stored as %q, sent %q", reg.User.Email, emailLike)
				}
			})
			t.Run("as password and display name", func(t *testing.T) {
				email := fmt.Sprintf("sql%d@example.com", i)
				password := input + " padding"
				r := c.call("POST", "/v1/auth/register", "", register(email, password, input))
				wantStatus(t, r, 201)
				var reg struct {
					User struct {
						DisplayName string `json:"display_name"`
					} `json:"user"`
				}
				if r.decode(t, &reg); reg.User.DisplayName != input {
					t.Fatalf("display name stored as %q, sent %q", reg.User.DisplayName, input)
				}
				// Stored verbatim: the same string logs in, a near one
				// does not.
				wantStatus(t, c.call("POST", "/v1/auth/login", "", `{"email":"`+email+`","password":`+jsonStr(password)+`}`), 200)
				wantProblem(t, c.call("POST", "/v1/auth/login", "", `{"email":"`+email+`","password":`+jsonStr(input)+`}`), 401, "")
			})
			t.Run("as login email and password", func(t *testing.T) {
				wantProblem(t, c.call("POST", "/v1/auth/login", "", `{"email":`+jsonStr(input)+`,"password":`+jsonStr(input)+`}`), 401, "")
				wantProblem(t, c.call("POST", "/v1/auth/login", "", `{"email":`+jsonStr(owner.email+input)+`,"password":"x"}`), 401, "")
			})
			t.Run("as preference tags", func(t *testing.T) {
				r := c.call("PUT", "/v1/me/preferences", owner.token, `{"tags":[`+jsonStr(input)+`,"noir"],"media_types":[]}`)
				wantStatus(t, r, 200)
				var me struct {
					Preferences struct {
						Tags []string `json:"tags"`
					} `json:"preferences"`
				}
				if r.decode(t, &me); !slices.Equal(me.Preferences.Tags, []string{input, "noir"}) {
					t.Fatalf("tags stored as %q", me.Preferences.Tags)
				}
			})
			t.Run("as a media type", func(t *testing.T) {
				wantProblem(t, c.call("PUT", "/v1/me/preferences", owner.token, `{"tags":[],"media_types":[`+jsonStr(input)+`]}`), 400, "media_types[0]")
			})
			t.Run("as feedback fields", func(t *testing.T) {
				wantProblem(t, c.call("POST", "/v1/me/feedback", owner.token, `{"item_id":`+jsonStr(input)+`,"kind":"like"}`), 400, "item_id")
				wantProblem(t, c.call("POST", "/v1/me/feedback", owner.token, fmt.Sprintf(`{"item_id":%d,"kind":%s}`, item, jsonStr(input))), 400, "kind")
			})
			params := []struct {
				name, method, path string
				want               int
			}{
				{"feedback item in the path", "DELETE", "/v1/me/feedback/" + url.PathEscape(input), 400},
				{"feedback list parameter", "GET", "/v1/me/feedback?item_id=" + q, 200},
				{"profile parameter", "GET", "/v1/me?id=" + q, 200},
				{"item search", "GET", "/v1/items?q=" + q, 200},
				{"item genre", "GET", "/v1/items?genre=" + q, 200},
				{"item type", "GET", "/v1/items?type=" + q, 400},
				{"item cursor", "GET", "/v1/items?cursor=" + q, 400},
				{"item limit", "GET", "/v1/items?limit=" + q, 400},
				{"item in the path", "GET", "/v1/items/" + url.PathEscape(input), 400},
				{"natural-language search", "GET", "/v1/search?q=" + q, 200},
			}
			for _, p := range params {
				t.Run(p.name, func(t *testing.T) {
					wantStatus(t, c.call(p.method, p.path, owner.token, ""), p.want)
				})
			}
		})
	}

	// The database is intact: the owner logs in, keeps the like, and a new
	// account can register.
	wantStatus(t, c.call("POST", "/v1/auth/login", "", `{"email":"owner@example.com","password":"owner-passphrase"}`), 200)
	if got := feedbackItems(t, c, owner.token); !slices.Equal(got, []int64{item}) {
		t.Fatalf("owner's feedback after the inputs: %v", got)
	}
	mustRegister(t, newClient(t, m.URL()), "after@example.com", "after-passphrase")
	var page struct {
		Items []json.RawMessage `json:"items"`
	}
	c.call("GET", "/v1/items", "", "").decode(t, &page)
	if len(page.Items) != 1 {
		t.Fatalf("catalog holds %d items after the inputs, want 1", len(page.Items))
	}
}

func TestOverlongFields(t *testing.T) {
	m := MustRunMain(t, nil)
	c := newClient(t, m.URL())
	owner := mustRegister(t, c, "owner@example.com", "owner-passphrase")
	register := func(email, password, name string) string {
		b, _ := json.Marshal(map[string]string{"email": email, "password": password, "display_name": name})
		return string(b)
	}
	preferences := func(tags []string) string {
		b, _ := json.Marshal(map[string]any{"tags": tags, "media_types": []string{}})
		return string(b)
	}
	manyTags := make([]string, 1000)
	for i := range manyTags {
		manyTags[i] = "tag" + strconv.Itoa(i)
	}
	// 254 characters, the most an address may have, in labels of legal
	// length: 64 before the @, 63 at most per label after it.
	atBound := strings.Repeat("a", 64) + "@" + strings.Repeat("b", 61) + "." + strings.Repeat("c", 61) + "." + strings.Repeat("d", 61) + ".com"
	longEmail := "a" + atBound
	tests := []struct {
		name, method, path, body string
		field                    string
	}{
		{"email of 255 characters", "POST", "/v1/auth/register", register(longEmail, "long-enough-pass", "X"), "email"},
		{"email of 10 KB", "POST", "/v1/auth/register", register(strings.Repeat("a", 10<<10)+"@example.com", "long-enough-pass", "X"), "email"},
		{"display name of 10,000 characters", "POST", "/v1/auth/register", register("name@example.com", "long-enough-pass", strings.Repeat("n", 10000)), "display_name"},
		{"password of 100 KB", "POST", "/v1/auth/register", register("pass@example.com", strings.Repeat("p", 100<<10), "X"), "password"},
		{"1,000 preference tags", "PUT", "/v1/me/preferences", preferences(manyTags), "tags"},
		{"preference tag of 10 KB", "PUT", "/v1/me/preferences", preferences([]string{strings.Repeat("t", 10<<10)}), "tags[0]"},
		{"1,000 media types", "PUT", "/v1/me/preferences", `{"tags":[],"media_types":["` + strings.Join(manyTags, `","`) + `"]}`, "media_types"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantProblem(t, c.call(tt.method, tt.path, owner.token, tt.body), 400, tt.field)
		})
	}
	// Login answers over-long input as any failed login: 401, the same for
	// every cause, and without spending a hash on it.
	t.Run("login with a password of 100 KB", func(t *testing.T) {
		wantProblem(t, c.call("POST", "/v1/auth/login", "", `{"email":"owner@example.com","password":"`+strings.Repeat("p", 100<<10)+`"}`), 401, "")
	})
	t.Run("login with an email of 10 KB", func(t *testing.T) {
		wantProblem(t, c.call("POST", "/v1/auth/login", "", `{"email":"`+strings.Repeat("a", 10<<10)+`@example.com","password":"owner-passphrase"}`), 401, "")
	})
	// The bounds themselves are accepted.
	t.Run("at the bounds", func(t *testing.T) {
		wantStatus(t, c.call("POST", "/v1/auth/register", "", register(atBound, strings.Repeat("p", 256), strings.Repeat("n", 100))), 201)
		tags := make([]string, 50)
		for i := range tags {
			tags[i] = fmt.Sprintf("%03d", i) + strings.Repeat("t", 97)
		}
		wantStatus(t, c.call("PUT", "/v1/me/preferences", owner.token, preferences(tags)), 200)
	})
}

func TestLoginDoesNotRevealAccounts(t *testing.T) {
	if testing.Short() {
		t.Skip("hashes with the real parameters")
	}
	m := MustRunMain(t, nil)
	// One client for the whole test: 1 registration and 16 logins stay
	// under the 30 a minute per IP, and each email gets at most 8 of its 10
	// attempts a minute.
	c := newClient(t, m.URL())
	known := mustRegister(t, c, "known@example.com", "the-right-passphrase")
	const unknownEmail = "nobody@example.com"
	login := func(email string) (response, time.Duration) {
		start := time.Now()
		r := c.call("POST", "/v1/auth/login", "", `{"email":"`+email+`","password":"a-wrong-passphrase"}`)
		return r, time.Since(start)
	}
	// Warm up both paths: the first unknown email makes the placeholder
	// hash the server verifies against.
	login(unknownEmail)
	login(known.email)

	comparable := func(r response) map[string]any {
		var body map[string]any
		if err := json.Unmarshal(r.body, &body); err != nil {
			t.Fatalf("body %s: %v", r.body, err)
		}
		delete(body, "instance")
		return body
	}
	var wrongPassword, unknown []time.Duration
	const attempts = 7
	for range attempts {
		// Alternate, so both paths see the same load on the machine.
		r1, d1 := login(known.email)
		r2, d2 := login(unknownEmail)
		wantProblem(t, r1, 401, "")
		wantProblem(t, r2, 401, "")
		if b1, b2 := comparable(r1), comparable(r2); !reflect.DeepEqual(b1, b2) {
			t.Fatalf("answers differ:\nwrong password: %s\nunknown email:  %s", r1.body, r2.body)
		}
		for _, h := range []string{"Content-Type", "WWW-Authenticate"} {
			if r1.header.Get(h) != r2.header.Get(h) {
				t.Fatalf("%s differs: %q and %q", h, r1.header.Get(h), r2.header.Get(h))
			}
		}
		wrongPassword, unknown = append(wrongPassword, d1), append(unknown, d2)
	}
	median := func(d []time.Duration) time.Duration {
		slices.Sort(d)
		return d[len(d)/2]
	}
	mw, mu := median(wrongPassword), median(unknown)
	ratio := float64(mu) / float64(mw)
	t.Logf("median login: wrong password %v, unknown email %v (ratio %.2f)", mw, mu, ratio)
	if ratio < 0.5 || ratio > 2 {
		t.Fatalf("an unknown email takes %v, a wrong password %v: ratio %.2f outside 0.5–2", mu, mw, ratio)
	}
}

// runUntilStopped starts the all-in-one server in dataDir and returns it with
// a function that stops it and closes its stores, so a test can read what
// the server left on disk once it is all written.
func runUntilStopped(tb testing.TB, dataDir string, env map[string]string, logs io.Writer) (*Main, func()) {
	tb.Helper()
	return startCommand(tb, "serve", "127.0.0.1:0", dataDir, env, logs)
}

// TestPasswordNeverLeaks uses an account the ways a client does, with a
// distinctive password, and then looks for the password everywhere the
// server writes: its logs, every response, every file in its data dir
// (SQLite databases with their -wal and -shm files, the NATS store, the
// vector index) and, with PostgreSQL, every row of every table.
func TestPasswordNeverLeaks(t *testing.T) {
	const password = "Quartz-Plover-7719-Zebra"
	// Forms the password could take on the way: as sent, and as PostgreSQL
	// prints bytea.
	forms := []string{password, fmt.Sprintf("%x", password)}
	for _, store := range []string{"sqlite", "postgres"} {
		t.Run(store, func(t *testing.T) {
			env := map[string]string{"MEDIAREC_LOG_LEVEL": "debug"}
			dsn := ""
			if store == "postgres" {
				dsn = pgtest.NewDatabase(t)
				env["USERS_DATABASE_URL"] = dsn
			}
			logs := &syncBuffer{}
			dataDir := t.TempDir()
			m, stop := runUntilStopped(t, dataDir, env, logs)

			var seen []string
			c := newClient(t, m.URL())
			c.seen = &seen
			item := mustCreateItem(t, c, "Paris, Texas")
			reg := func(email, name string) string {
				b, _ := json.Marshal(map[string]string{"email": email, "password": password, "display_name": name})
				return string(b)
			}
			login := func(email, password string) string {
				b, _ := json.Marshal(map[string]string{"email": email, "password": password})
				return string(b)
			}
			r := c.call("POST", "/v1/auth/register", "", reg("leak@example.com", "Leak"))
			wantStatus(t, r, 201)
			var account struct{ Token string }
			r.decode(t, &account)
			steps := []struct {
				name, method, path, token, body string
				want                            int
			}{
				{"register again", "POST", "/v1/auth/register", "", reg("LEAK@example.com", "Again"), 409},
				{"register invalid", "POST", "/v1/auth/register", "", reg("leak2@example.com", ""), 400},
				{"register malformed", "POST", "/v1/auth/register", "", `{"email":"leak3@example.com","password":"` + password + `"`, 400},
				{"login", "POST", "/v1/auth/login", "", login("leak@example.com", password), 200},
				{"login with a longer password", "POST", "/v1/auth/login", "", login("leak@example.com", password+"-and-more"), 401},
				{"login as someone else", "POST", "/v1/auth/login", "", login("nobody@example.com", password), 401},
				{"preferences", "PUT", "/v1/me/preferences", account.Token, `{"tags":["neo-noir"],"media_types":["movie"]}`, 200},
				{"profile", "GET", "/v1/me", account.Token, "", 200},
				{"feedback", "POST", "/v1/me/feedback", account.Token, fmt.Sprintf(`{"item_id":%d,"kind":"like"}`, item), 201},
				{"feedback list", "GET", "/v1/me/feedback", account.Token, "", 200},
			}
			for _, s := range steps {
				wantStatus(t, c.call(s.method, s.path, s.token, s.body), s.want)
			}
			where := map[string]string{}
			// Read the files while the server runs, when the SQLite -wal
			// files hold the latest writes, and again once it has stopped
			// and checkpointed them into the databases.
			readFiles := func(when string) {
				err := filepath.WalkDir(dataDir, func(path string, d fs.DirEntry, err error) error {
					if err != nil || d.IsDir() {
						return err
					}
					b, err := os.ReadFile(path)
					if errors.Is(err, fs.ErrNotExist) {
						return nil // removed by the running server meanwhile
					}
					where[path+" "+when] = string(b)
					return err
				})
				if err != nil {
					t.Fatal(err)
				}
			}
			readFiles("while running")
			stop()
			readFiles("after stopping")
			where["the logs"] = logs.String()
			for i, body := range seen {
				where[fmt.Sprintf("response %d", i)] = body
			}
			if store == "sqlite" {
				// Control: the account is in the files read, so they are
				// the right ones.
				var users strings.Builder
				for name, text := range where {
					if strings.HasPrefix(name, filepath.Join(dataDir, "users.db")) {
						users.WriteString(text)
					}
				}
				if !strings.Contains(users.String(), "leak@example.com") || !strings.Contains(users.String(), "$argon2id$") {
					t.Fatal("the users.db files hold neither the account nor its hash")
				}
			}
			if dsn != "" {
				maps.Copy(where, dumpTables(t, dsn))
				if !strings.Contains(where["table users"], "leak@example.com") || !strings.Contains(where["table users"], "$argon2id$") {
					t.Fatalf("the dump of users lacks the account or its hash: %.300s", where["table users"])
				}
			}
			for name, text := range where {
				for _, f := range forms {
					if strings.Contains(text, f) {
						t.Errorf("%s contains the password", name)
					}
				}
			}
			if !strings.Contains(where["the logs"], `"path":"/v1/auth/login"`) {
				t.Fatal("the logs miss the requests: nothing was checked")
			}
		})
	}
}

// dumpTables returns the text of every row of every table in the public
// schema of the database at dsn, by table ("table users").
func dumpTables(tb testing.TB, dsn string) map[string]string {
	tb.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		tb.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, _ := conn.Query(ctx, `SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename`)
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		tb.Fatal(err)
	}
	for _, want := range []string{"users", "feedback", "user_outbox"} {
		if !slices.Contains(tables, want) {
			tb.Fatalf("tables %v lack %s", tables, want)
		}
	}
	out := map[string]string{}
	for _, table := range tables {
		rows, _ := conn.Query(ctx, `SELECT t::text FROM `+pgx.Identifier{"public", table}.Sanitize()+` t`)
		text, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			tb.Fatalf("dump %s: %v", table, err)
		}
		out["table "+table] = strings.Join(text, "\n")
	}
	return out
}
