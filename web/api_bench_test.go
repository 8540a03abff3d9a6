package web_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

// uiCall is one kind of API call a page makes, with varied arguments.
type uiCall struct {
	page, route string
	admin       bool
	request     func(i int) (method, path string, body any)
}

// searches are sentences of the kind people type into the search box.
var searches = []string{
	"a podcast about history", "find me something like Interstellar but a documentary", "romantic comedies from the 90s",
	"books like The Hunger Games", "horror movies before 1980", "documentaries about the ocean", "space", "the godfather",
	"funny animated films for kids", "a book about artificial intelligence", "true crime podcasts", "war films from the 60s",
	"something like Amelie", "dystopian novels", "a documentary about music", "science fiction books from the 2000s",
}

// BenchmarkUIAPI times every API call the pages make, one after another
// as a browser makes them, on "mediarec demo" (built without the race
// detector) once its catalog is embedded by the fitted model, and reports
// each route's p50 and p99:
//
//	go test -run '^$' -bench UIAPI -benchtime 200x ./web/
func BenchmarkUIAPI(b *testing.B) {
	demo := startDemo(b, buildMediarec(b))
	waitEmbedded(b, demo.url)
	base := demo.url
	user := apiToken(b, base, "POST", "/v1/auth/register", map[string]string{
		"email": fmt.Sprintf("timer-%d@example.com", time.Now().UnixNano()), "password": "correct horse battery", "display_name": "Timer",
	})
	admin := apiToken(b, base, "POST", "/v1/auth/login", map[string]string{"email": "demo@mediarec.local", "password": "demo-password"})
	rng := rand.New(rand.NewPCG(1, 2))
	item := func() int { return 1 + rng.IntN(11000) }
	typeSets := []string{"", "movie", "book", "podcast", "documentary", "movie,book", "movie,documentary,book,podcast"}
	calls := []uiCall{
		{"welcome", "GET /v1/tags", false, func(i int) (string, string, any) {
			return "GET", "/v1/tags?" + url.Values{"limit": {"24"}, "types": {typeSets[i%len(typeSets)]}}.Encode(), nil
		}},
		{"welcome", "PUT /v1/me/preferences", false, func(i int) (string, string, any) {
			tags := [][]string{{"space", "atmospheric"}, {"history"}, {"funny", "dark comedy", "twist ending"}}[i%3]
			return "PUT", "/v1/me/preferences", map[string]any{"tags": tags, "media_types": []string{"movie", "book"}}
		}},
		{"every page", "GET /v1/me", false, func(int) (string, string, any) { return "GET", "/v1/me", nil }},
		{"for you", "GET /v1/recommendations", false, func(i int) (string, string, any) {
			v := url.Values{"limit": {"20"}, "diversity": {fmt.Sprint(float64(i%11) / 10)}}
			if ts := typeSets[i%len(typeSets)]; ts != "" {
				v.Set("types", ts)
			}
			return "GET", "/v1/recommendations?" + v.Encode(), nil
		}},
		{"for you, item", "POST /v1/me/feedback", false, func(i int) (string, string, any) {
			f := map[string]any{"item_id": item(), "kind": []string{"like", "dislike", "rating"}[i%3]}
			if f["kind"] == "rating" {
				f["rating"] = 4
			}
			return "POST", "/v1/me/feedback", f
		}},
		{"library", "DELETE /v1/me/feedback/{id}", false, func(int) (string, string, any) {
			return "DELETE", fmt.Sprintf("/v1/me/feedback/%d", item()), nil
		}},
		{"search", "GET /v1/search", false, func(i int) (string, string, any) {
			v := url.Values{"q": {searches[i%len(searches)]}, "limit": {"20"}}
			if i%4 == 3 {
				v.Set("ignore", "types")
			}
			return "GET", "/v1/search?" + v.Encode(), nil
		}},
		{"search, item, library", "GET /v1/me/feedback", false, func(int) (string, string, any) { return "GET", "/v1/me/feedback", nil }},
		{"item", "GET /v1/items/{id}", false, func(int) (string, string, any) { return "GET", fmt.Sprintf("/v1/items/%d", item()), nil }},
		{"item", "GET /v1/items/{id}/similar", false, func(i int) (string, string, any) {
			types := []string{"movie", "documentary,book,podcast", "book", "movie,documentary,podcast"}[i%4]
			return "GET", fmt.Sprintf("/v1/items/%d/similar?limit=6&types=%s", item(), types), nil
		}},
		{"library", "GET /v1/items?ids=", false, func(int) (string, string, any) {
			ids := make([]string, 50)
			for j := range ids {
				ids[j] = fmt.Sprint(item())
			}
			return "GET", "/v1/items?ids=" + url.QueryEscape(strings.Join(ids, ",")), nil
		}},
		{"operator", "GET /v1/admin/embedding", true, func(int) (string, string, any) { return "GET", "/v1/admin/embedding", nil }},
		{"operator", "GET /v1/items?embedding_status=failed", true, func(int) (string, string, any) {
			return "GET", "/v1/items?embedding_status=failed&limit=20", nil
		}},
	}
	client := &http.Client{Timeout: 10 * time.Second}
	for _, c := range calls {
		token := user
		if c.admin {
			token = admin
		}
		b.Run(c.page+": "+c.route, func(b *testing.B) {
			var took []time.Duration
			for i := 0; b.Loop(); i++ {
				method, path, body := c.request(i)
				start := time.Now()
				status := apiCall(b, client, base, method, path, token, body)
				took = append(took, time.Since(start))
				if status >= 300 && !(status == 404 && method == "DELETE") {
					b.Fatalf("%s %s: status %d", method, path, status)
				}
			}
			slices.Sort(took)
			b.ReportMetric(ms(took[len(took)/2]), "p50-ms")
			b.ReportMetric(ms(took[len(took)*99/100]), "p99-ms")
		})
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func apiCall(t testing.TB, client *http.Client, base, method, path, token string, body any) int {
	t.Helper()
	var rd *bytes.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, err := http.NewRequest(method, base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, res.Body)
	return res.StatusCode
}

func apiToken(t testing.TB, base, method, path string, body any) string {
	t.Helper()
	b, _ := json.Marshal(body)
	res, err := http.Post(base+path, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out struct{ Token string }
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil || out.Token == "" {
		t.Fatalf("%s %s: %d %v", method, path, res.StatusCode, err)
	}
	return out.Token
}

// waitEmbedded waits until every item of the demo catalog is embedded by
// the model fitted on it: the demo embeds first by feature hashing, then
// refits once the catalog has settled.
func waitEmbedded(t testing.TB, base string) {
	t.Helper()
	admin := apiToken(t, base, "POST", "/v1/auth/login", map[string]string{"email": "demo@mediarec.local", "password": "demo-password"})
	client := &http.Client{Timeout: 10 * time.Second}
	deadline := time.Now().Add(3 * time.Minute)
	for {
		req, _ := http.NewRequest("GET", base+"/v1/admin/embedding", nil)
		req.Header.Set("Authorization", "Bearer "+admin)
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var s struct {
			Pending, Done int
			Model         string
			Reembed       any
		}
		err = json.NewDecoder(res.Body).Decode(&s)
		res.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if s.Pending == 0 && s.Done > 0 && s.Reembed == nil && !strings.HasPrefix(s.Model, "hashing-") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the demo catalog is not embedded after 3 minutes: %+v", s)
		}
		time.Sleep(100 * time.Millisecond) // polling a condition, with the deadline above
	}
}
