package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"mediarec/internal/natsbus/natstest"
)

// TestRecommendationsRoute follows a user from a cold start to
// recommendations explained by a like, through the all-in-one server.
func TestRecommendationsRoute(t *testing.T) {
	m := MustRunMain(t, nil)
	u := m.URL()
	var lines strings.Builder
	for i, it := range []struct {
		typ, title, tags string
		popularity       int
	}{
		{"movie", "Voyage to the Stars", "space,astronauts", 10},
		{"movie", "Orbit of Silence", "space,astronauts", 0},
		{"movie", "The Kitchen Wars", "cooking,comedy", 900},
		{"documentary", "Astronauts at Work", "space,astronauts", 0},
		{"book", "Letters from Orbit", "space,astronauts", 5},
		{"podcast", "Space Hour", "space,astronomy", 0},
		{"podcast", "Baking Hour", "cooking", 0},
	} {
		tags := `"` + strings.ReplaceAll(it.tags, ",", `","`) + `"`
		fmt.Fprintf(&lines, `{"external_id":"r-%d","type":%q,"title":%q,"tags":[%s],"popularity":%d}`+"\n", i, it.typ, it.title, tags, it.popularity)
	}
	postItems(t, u, lines.String(), 7, 0)
	waitEmbedded(t, u, 7, time.Minute)

	var reg struct{ Token string }
	if st := call(t, "POST", u+"/v1/auth/register", "", `{"email":"fan@example.com","password":"long enough","display_name":"Fan"}`, &reg); st != 201 {
		t.Fatalf("register: %d", st)
	}
	type recsPage struct {
		Items []struct {
			Item struct {
				ID          int64
				Type, Title string
			}
			Reason struct {
				Kind   string
				ItemID int64 `json:"item_id"`
				Text   string
			}
		}
	}
	var cold recsPage
	if st := call(t, "GET", u+"/v1/recommendations?limit=3", reg.Token, "", &cold); st != 200 || len(cold.Items) != 3 || cold.Items[0].Reason.Kind != "popular" {
		t.Fatalf("cold start: %d %+v", st, cold)
	}
	// The catalog's popularity reaches the cold start through the item
	// events: films by their counts, then the book, in turns.
	if st := call(t, "GET", u+"/v1/recommendations?types=movie,book&limit=3", reg.Token, "", &cold); st != 200 || len(cold.Items) != 3 ||
		cold.Items[0].Item.Title != "The Kitchen Wars" || cold.Items[1].Item.Title != "Letters from Orbit" ||
		cold.Items[2].Item.Title != "Voyage to the Stars" || cold.Items[0].Reason.Text != "Among the most rated films" {
		t.Fatalf("cold start by popularity: %d %+v", st, cold)
	}

	var page struct {
		Items []struct {
			ID    int64
			Title string
		}
	}
	if st := call(t, "GET", u+"/v1/items?q=Voyage", "", "", &page); st != 200 || len(page.Items) != 1 {
		t.Fatalf("find the liked film: %d %+v", st, page)
	}
	liked := page.Items[0].ID
	if st := call(t, "POST", u+"/v1/me/feedback", reg.Token, fmt.Sprintf(`{"item_id":%d,"kind":"like"}`, liked), nil); st != 201 {
		t.Fatalf("like: %d", st)
	}
	// The like reaches recommendations as an event, within moments.
	natstest.CheckFor(t, 10*time.Second, func() error {
		var warm recsPage
		if st := call(t, "GET", u+"/v1/recommendations?limit=4", reg.Token, "", &warm); st != 200 || len(warm.Items) != 4 {
			return fmt.Errorf("after a like: %d %+v", st, warm)
		}
		for _, r := range warm.Items {
			if r.Item.ID == liked || r.Reason.Kind != "liked_item" || r.Reason.ItemID != liked {
				return fmt.Errorf("after a like: %+v", warm)
			}
		}
		return nil
	})
	var podcasts recsPage
	if st := call(t, "GET", u+"/v1/recommendations?types=podcast", reg.Token, "", &podcasts); st != 200 || len(podcasts.Items) != 2 || podcasts.Items[0].Item.Title != "Space Hour" {
		t.Fatalf("types=podcast: %d %+v", st, podcasts)
	}

	var found struct {
		Items  []struct{ Item struct{ Title string } }
		Parsed struct {
			Types []string
			Text  string
		}
	}
	if st := call(t, "GET", u+"/v1/search?q=a+podcast+about+astronauts", "", "", &found); st != 200 ||
		len(found.Items) != 2 || found.Items[0].Item.Title != "Space Hour" || len(found.Parsed.Types) != 1 || found.Parsed.Types[0] != "podcast" {
		t.Fatalf("search: %d %+v", st, found)
	}

	commands := []struct {
		args []string
		want string
	}{
		{[]string{"recommend", "--server", u, "--token", reg.Token, "--types", "podcast"}, "Because you liked \"Voyage to the Stars\""},
		{[]string{"search", "--server", u, "astronauts", "podcast"}, "Space Hour"},
	}
	for _, c := range commands {
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), c.args, func(string) string { return "" }, &stdout, &stderr); code != 0 || !strings.Contains(stdout.String(), c.want) {
			t.Errorf("mediarec %s: exit %d, want %q in:\n%s%s", c.args[0], code, c.want, stdout.String(), stderr.String())
		}
	}

	for _, tt := range []struct {
		query, token string
		want         int
	}{
		{"", "", 401},
		{"?diversity=2", reg.Token, 400},
		{"?diversity=lots", reg.Token, 400},
		{"?types=vinyl", reg.Token, 400},
		{"?limit=0", reg.Token, 400},
	} {
		if st := call(t, "GET", u+"/v1/recommendations"+tt.query, tt.token, "", nil); st != tt.want {
			t.Errorf("GET /v1/recommendations%s: %d, want %d", tt.query, st, tt.want)
		}
	}
}

// TestHybridFollowsTheBus: feedback travels from the users service over
// NATS into the recommendations' ledger, and the refitted collaborative
// model brings what similar users liked, which content alone would not;
// the same events refresh every user's stored profile.
func TestHybridFollowsTheBus(t *testing.T) {
	logs := &syncBuffer{}
	m := mustRunCommand(t, "serve", map[string]string{"MEDIAREC_HYBRID_REFIT": "100ms", "MEDIAREC_LOG_LEVEL": "debug"}, logs)
	defer func() {
		if t.Failed() {
			t.Log(logs.String())
		}
	}()
	u := m.URL()
	postItems(t, u, `{"external_id":"h-1","type":"movie","title":"Voyage to the Stars","tags":["space","astronauts"]}
{"external_id":"h-2","type":"movie","title":"Orbit of Silence","tags":["space","astronauts"]}
{"external_id":"h-3","type":"movie","title":"The Kitchen Wars","tags":["cooking","comedy"]}
`, 3, 0)
	waitEmbedded(t, u, 3, time.Minute)
	ids := map[string]int64{}
	var page struct {
		Items []struct {
			ID    int64
			Title string
		}
	}
	if st := call(t, "GET", u+"/v1/items", "", "", &page); st != 200 {
		t.Fatalf("items: %d", st)
	}
	for _, it := range page.Items {
		ids[it.Title] = it.ID
	}
	like := func(token string, title string) {
		t.Helper()
		if st := call(t, "POST", u+"/v1/me/feedback", token, fmt.Sprintf(`{"item_id":%d,"kind":"like"}`, ids[title]), nil); st != 201 {
			t.Fatalf("like %s: %d", title, st)
		}
	}
	register := func(email string) string {
		t.Helper()
		var reg struct{ Token string }
		if st := call(t, "POST", u+"/v1/auth/register", "", `{"email":"`+email+`","password":"long enough","display_name":"x"}`, &reg); st != 201 {
			t.Fatalf("register: %d", st)
		}
		return reg.Token
	}
	for i := range 5 {
		tok := register(fmt.Sprintf("cook%d@example.com", i))
		like(tok, "Voyage to the Stars")
		like(tok, "The Kitchen Wars")
	}
	fan := register("fan@example.com")
	like(fan, "Voyage to the Stars")
	natstest.CheckFor(t, 30*time.Second, func() error {
		var recs struct {
			Items []struct {
				Item   struct{ Title string }
				Reason struct {
					ItemID int64 `json:"item_id"`
				}
			}
		}
		if st := call(t, "GET", u+"/v1/recommendations?limit=1", fan, "", &recs); st != 200 || len(recs.Items) != 1 {
			return fmt.Errorf("recommendations: %d %+v", st, recs)
		}
		if top := recs.Items[0]; top.Item.Title != "The Kitchen Wars" || top.Reason.ItemID != ids["Voyage to the Stars"] {
			return fmt.Errorf("top recommendation %+v", top)
		}
		return nil
	})
	natstest.CheckFor(t, 30*time.Second, func() error {
		stored := map[int64]bool{}
		for line := range strings.Lines(logs.String()) {
			var rec struct {
				Msg  string
				User int64
			}
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "profile stored" {
				stored[rec.User] = true
			}
		}
		if len(stored) != 6 {
			return fmt.Errorf("profiles stored for %d users, want the 6 who liked something", len(stored))
		}
		return nil
	})
}
