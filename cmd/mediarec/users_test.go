package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"mediarec/internal/postgres/pgtest"
)

// call sends a JSON request with an optional bearer token and decodes the
// answer into out (when not nil).
func call(t testing.TB, method, url, token, body string, out any) int {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: decode %s: %v", method, url, data, err)
		}
	}
	return res.StatusCode
}

func TestUserFlow(t *testing.T) {
	for name, env := range stores(t) {
		t.Run(name, func(t *testing.T) {
			e := env(t)
			if dsn, ok := e["CATALOG_DATABASE_URL"]; ok {
				e = map[string]string{"DATABASE_URL": dsn}
			}
			logs := &syncBuffer{}
			m := mustRunCommand(t, "serve", e, logs)
			u := m.URL()
			var item struct{ ID int64 }
			if st := call(t, "POST", u+"/v1/items", "", `{"type":"movie","title":"Interstellar"}`, &item); st != 201 {
				t.Fatalf("create item: %d", st)
			}
			const password = "s3cret-passphrase"
			var reg struct {
				User  struct{ ID int64 }
				Token string
			}
			if st := call(t, "POST", u+"/v1/auth/register", "", `{"email":"Ada@Example.com","password":"`+password+`","display_name":"Ada"}`, &reg); st != 201 || reg.Token == "" {
				t.Fatalf("register: %d %+v", st, reg)
			}
			if st := call(t, "POST", u+"/v1/auth/register", "", `{"email":"ada@example.COM","password":"another-one","display_name":"Ada 2"}`, nil); st != 409 {
				t.Fatalf("duplicate email in another case: %d, want 409", st)
			}
			var login struct{ Token string }
			if st := call(t, "POST", u+"/v1/auth/login", "", `{"email":"ada@example.com","password":"`+password+`"}`, &login); st != 200 || login.Token == "" {
				t.Fatalf("login: %d", st)
			}
			tok := login.Token
			if st := call(t, "PUT", u+"/v1/me/preferences", tok, `{"tags":["space opera"],"media_types":["movie","book"]}`, nil); st != 200 {
				t.Fatalf("preferences: %d", st)
			}
			steps := []struct {
				method, path, body string
				want               int
			}{
				{"POST", "/v1/me/feedback", fmt.Sprintf(`{"item_id":%d,"kind":"like"}`, item.ID), 201},
				{"POST", "/v1/me/feedback", fmt.Sprintf(`{"item_id":%d,"kind":"like"}`, item.ID), 201},
				{"POST", "/v1/me/feedback", `{"item_id":987654,"kind":"like"}`, 404},
				{"POST", "/v1/me/feedback", fmt.Sprintf(`{"item_id":%d,"kind":"rating","rating":7}`, item.ID), 400},
			}
			for _, s := range steps {
				if st := call(t, s.method, u+s.path, tok, s.body, nil); st != s.want {
					t.Fatalf("%s %s %s: %d, want %d", s.method, s.path, s.body, st, s.want)
				}
			}
			var me struct {
				Email       string
				Preferences struct{ Tags []string }
			}
			if st := call(t, "GET", u+"/v1/me", tok, "", &me); st != 200 || me.Email != "ada@example.com" || len(me.Preferences.Tags) != 1 {
				t.Fatalf("me: %d %+v", st, me)
			}
			var fb struct {
				Items []struct {
					ItemID int64 `json:"item_id"`
				}
			}
			if st := call(t, "GET", u+"/v1/me/feedback", tok, "", &fb); st != 200 || len(fb.Items) != 1 {
				t.Fatalf("liking twice stores one like: %d %+v", st, fb)
			}
			if st := call(t, "DELETE", fmt.Sprintf("%s/v1/me/feedback/%d", u, item.ID), tok, "", nil); st != 204 {
				t.Fatalf("delete feedback: %d", st)
			}
			if st := call(t, "GET", u+"/v1/me", "", "", nil); st != 401 {
				t.Fatalf("me without a token: %d", st)
			}
			if strings.Contains(logs.String(), password) {
				t.Fatal("the password appears in the logs")
			}
		})
	}
}

// TestUsersAndCatalogApart runs the users service and the catalog as separate
// processes on PostgreSQL, as Kubernetes does: feedback is checked against
// the catalog over HTTP, and the catalog takes writes from an admin
// account's token, verified with the users service's published key.
func TestUsersAndCatalogApart(t *testing.T) {
	ns := mustRunNATS(t, -1, t.TempDir())
	catalogAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	users := mustRunCommand(t, "users", map[string]string{
		"NATS_URL": ns.URL(), "USERS_DATABASE_URL": pgtest.NewDatabase(t),
		"CATALOG_URL": "http://" + catalogAddr, "MEDIAREC_ADMIN_EMAILS": "ops@example.com",
	}, io.Discard)
	cat := mustRunCommand(t, "catalog", map[string]string{
		"NATS_URL": ns.URL(), "CATALOG_DATABASE_URL": pgtest.NewDatabase(t), "MEDIAREC_ADDR": catalogAddr,
		"USERS_URL": users.URL(), "MEDIAREC_ADMIN_TOKEN": "operator-secret",
	}, io.Discard)

	register := func(email string) string {
		var reg struct{ Token string }
		if st := call(t, "POST", users.URL()+"/v1/auth/register", "", `{"email":"`+email+`","password":"long enough","display_name":"x"}`, &reg); st != 201 {
			t.Fatalf("register %s: %d", email, st)
		}
		return reg.Token
	}
	admin, ada := register("ops@example.com"), register("ada@example.com")
	item := `{"type":"movie","title":"Solaris"}`
	if st := call(t, "POST", cat.URL()+"/v1/items", ada, item, nil); st != 403 {
		t.Fatalf("catalog write with a user's token: %d, want 403", st)
	}
	var created struct{ ID int64 }
	if st := call(t, "POST", cat.URL()+"/v1/items", admin, item, &created); st != 201 {
		t.Fatalf("catalog write with an admin's token: %d, want 201", st)
	}
	if st := call(t, "POST", cat.URL()+"/v1/items", "operator-secret", `{"type":"book","title":"Solaris"}`, nil); st != 201 {
		t.Fatalf("catalog write with the admin token: %d, want 201", st)
	}

	feedback := []struct {
		body string
		want int
	}{
		{fmt.Sprintf(`{"item_id":%d,"kind":"like"}`, created.ID), 201},
		{fmt.Sprintf(`{"item_id":%d,"kind":"like"}`, created.ID+1000), 404},
	}
	for _, f := range feedback {
		if st := call(t, "POST", users.URL()+"/v1/me/feedback", ada, f.body, nil); st != f.want {
			t.Fatalf("feedback %s: %d, want %d", f.body, st, f.want)
		}
	}
	var fb struct {
		Items []struct {
			ItemID int64 `json:"item_id"`
		}
	}
	if st := call(t, "GET", users.URL()+"/v1/me/feedback", ada, "", &fb); st != 200 || len(fb.Items) != 1 || fb.Items[0].ItemID != created.ID {
		t.Fatalf("feedback list: %d %+v", st, fb)
	}
	for _, svc := range []*Main{users, cat} {
		if status, body := get(t, svc.URL()+"/readyz"); status != 200 {
			t.Fatalf("%s /readyz: %d %s", svc.name, status, body)
		}
	}
}
