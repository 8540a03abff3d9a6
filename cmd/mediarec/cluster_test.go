package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"mediarec/ingest"
	"mediarec/internal/datatest"
	"mediarec/internal/natsbus/natstest"
	"mediarec/internal/postgres/pgtest"
	"mediarec/internal/vectordb/qdranttest"
)

// This file runs the services as separate processes of the built binary,
// as a deployment does: what they share is PostgreSQL, NATS and their HTTP
// APIs, nothing in memory.

// buildBinary builds mediarec once per test run.
var buildBinary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "mediarec-bin-*")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "mediarec")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

// proc is one service process.
type proc struct {
	name string
	cmd  *exec.Cmd
	url  string
	log  string // its stderr, a file
	done chan struct{}
}

// cluster starts service processes sharing env, and stops them when the
// test ends, showing their logs if it failed.
type cluster struct {
	t     *testing.T
	bin   string
	env   map[string]string
	dir   string // the processes' dirs, removed after their logs are shown
	procs []*proc
}

func newCluster(t *testing.T, env map[string]string) *cluster {
	t.Helper()
	bin, err := buildBinary()
	if err != nil {
		t.Fatal(err)
	}
	// Made before the cleanup below is registered, so removed after it.
	c := &cluster{t: t, bin: bin, env: env, dir: t.TempDir()}
	t.Cleanup(func() {
		for _, p := range c.procs {
			p.stop()
		}
		if t.Failed() {
			for _, p := range c.procs {
				b, _ := os.ReadFile(p.log)
				t.Logf("--- %s log (last 4 KB, readiness polls left out):\n%s", p.name, tail(withoutPolls(b), 4096))
			}
		}
	})
	return c
}

// withoutPolls drops the log lines of failed readiness checks, which a
// wait for readiness writes many times a second.
func withoutPolls(b []byte) []byte {
	var out []byte
	for line := range bytes.Lines(b) {
		if !bytes.Contains(line, []byte(`"readiness check failed"`)) {
			out = append(out, line...)
		}
	}
	return out
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// start runs `mediarec command` as name with the cluster's env and extra,
// and returns once it listens.
func (c *cluster) start(name, command string, extra map[string]string) *proc {
	c.t.Helper()
	dir, err := os.MkdirTemp(c.dir, name+"-*")
	if err != nil {
		c.t.Fatal(err)
	}
	p := &proc{name: name, log: filepath.Join(dir, "stderr.log"), done: make(chan struct{})}
	logFile, err := os.Create(p.log)
	if err != nil {
		c.t.Fatal(err)
	}
	p.cmd = exec.Command(c.bin, command)
	p.cmd.Env = append(os.Environ(), "MEDIAREC_ADDR=127.0.0.1:0", "MEDIAREC_DATA_DIR="+dir)
	for k, v := range c.env {
		p.cmd.Env = append(p.cmd.Env, k+"="+v)
	}
	for k, v := range extra {
		p.cmd.Env = append(p.cmd.Env, k+"="+v)
	}
	p.cmd.Stderr = logFile
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		c.t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	c.procs = append(c.procs, p)
	listening := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if _, u, ok := strings.Cut(sc.Text(), " listening on "); ok {
				listening <- u
			}
		}
	}()
	go func() { p.cmd.Wait(); logFile.Close(); close(p.done) }()
	select {
	case p.url = <-listening:
	case <-p.done:
		b, _ := os.ReadFile(p.log)
		c.t.Fatalf("%s exited at start: %s", name, tail(b, 2048))
	case <-time.After(90 * time.Second):
		c.t.Fatalf("%s did not listen within 90s", name)
	}
	return p
}

// stop ends the process gracefully, or kills it after a while.
func (p *proc) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
	}
}

// kill ends the process at once, as a crash or an evicted pod does.
func (p *proc) kill() {
	p.cmd.Process.Kill()
	<-p.done
}

// waitReady waits until every process answers /readyz with 200.
func waitReady(t *testing.T, within time.Duration, ps ...*proc) {
	t.Helper()
	for _, p := range ps {
		natstest.CheckFor(t, within, func() error {
			code, body := httpGet(p.url+"/readyz", "")
			if code != http.StatusOK {
				return fmt.Errorf("%s not ready: %d %s", p.name, code, body)
			}
			return nil
		})
	}
}

var client = &http.Client{Timeout: 30 * time.Second}

// get returns the status and body of a GET; status 0 when the request
// failed.
func httpGet(u, token string) (int, []byte) {
	return do(http.MethodGet, u, token, nil)
}

func do(method, u, token string, body any) (int, []byte) {
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, u, r)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := client.Do(req)
	if err != nil {
		return 0, []byte(err.Error())
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

func mustJSON[T any](t *testing.T, method, u, token string, body any, want int) T {
	t.Helper()
	code, b := do(method, u, token, body)
	if code != want {
		t.Fatalf("%s %s: %d %s, want %d", method, u, code, b, want)
	}
	var out T
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("%s %s: %v in %s", method, u, err, b)
	}
	return out
}

type recsAnswer struct {
	Items []struct {
		Item struct {
			ID    int64  `json:"id"`
			Title string `json:"title"`
			Type  string `json:"type"`
		} `json:"item"`
		Reason struct {
			Kind   string `json:"kind"`
			ItemID int64  `json:"item_id"`
			Text   string `json:"text"`
		} `json:"reason"`
	} `json:"items"`
}

func (a recsAnswer) ids() []int64 {
	out := make([]int64, len(a.Items))
	for i, it := range a.Items {
		out[i] = it.Item.ID
	}
	return out
}

// register signs a new user up through base and returns the token.
func register(t *testing.T, base, email string) string {
	t.Helper()
	out := mustJSON[struct {
		Token string `json:"token"`
	}](t, http.MethodPost, base+"/v1/auth/register", "", map[string]string{"email": email, "password": "a long enough password", "display_name": "Ada"}, http.StatusCreated)
	return out.Token
}

// findItem returns the id of the first item whose title matches q.
func findItem(t *testing.T, base, q string) int64 {
	t.Helper()
	out := mustJSON[struct {
		Items []struct {
			ID int64 `json:"id"`
		} `json:"items"`
	}](t, http.MethodGet, base+"/v1/items?limit=1&q="+url.QueryEscape(q), "", nil, http.StatusOK)
	if len(out.Items) == 0 {
		t.Fatalf("no item titled %q", q)
	}
	return out.Items[0].ID
}

func like(t *testing.T, base, token string, id int64) {
	t.Helper()
	if code, b := do(http.MethodPost, base+"/v1/me/feedback", token, map[string]any{"item_id": id, "kind": "like"}); code != http.StatusCreated {
		t.Fatalf("like %d: %d %s", id, code, b)
	}
}

func percentile(ds []time.Duration, p float64) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, int(p*float64(len(s))))]
}

// waitAllEmbedded waits until the catalog reports every item embedded.
func waitAllEmbedded(t *testing.T, base, token string, within time.Duration) {
	t.Helper()
	natstest.CheckFor(t, within, func() error {
		code, b := httpGet(base+"/v1/admin/embedding", token)
		var st struct {
			Pending int `json:"pending"`
			Done    int `json:"done"`
		}
		if code != http.StatusOK || json.Unmarshal(b, &st) != nil || st.Pending > 0 || st.Done == 0 {
			return fmt.Errorf("embedding: %d %s", code, b)
		}
		return nil
	})
}

// ctxFor returns a context ending with the test.
func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	return ctx
}

// TestServicesApart runs users, catalog, two recs replicas, two embed
// workers and web as processes of the built binary on PostgreSQL (a
// database per service) and the machine's NATS, and uses them as a person
// does, all through web's one origin; then measures how soon a like shows,
// and breaks things: a recs replica killed under load, the catalog killed.
// The processes share their vectors through the vector log on NATS (a
// machine without Qdrant), or through Qdrant: the stand-in, listening as
// a server of its own, or a real one at TEST_QDRANT_URL.
func TestServicesApart(t *testing.T) {
	if testing.Short() {
		t.Skip("starts seven processes")
	}
	movielens := datatest.Dir(t, datatest.MovieLens)
	t.Run("vector log", func(t *testing.T) { testServicesApart(t, movielens, nil) })
	t.Run("qdrant stand-in", func(t *testing.T) {
		testServicesApart(t, movielens, map[string]string{"QDRANT_URL": qdranttest.Start(t).URL()})
	})
	if u := os.Getenv("TEST_QDRANT_URL"); u != "" {
		t.Run("qdrant", func(t *testing.T) { testServicesApart(t, movielens, map[string]string{"QDRANT_URL": u}) })
	}
}

func testServicesApart(t *testing.T, movielens string, vectors map[string]string) {
	natsURL, ns := natstest.ExternalConfig(t)
	const admin = "cluster-admin-token"
	env := map[string]string{
		"NATS_URL": natsURL, "NATS_NAMESPACE": ns, "MEDIAREC_ADMIN_TOKEN": admin,
		// The hashing model throughout: a refit would re-embed the catalog
		// in the middle of the test's comparisons.
		"MEDIAREC_REFIT_GROWTH": "0",
		"MEDIAREC_LOG_LEVEL":    "warn",
	}
	maps.Copy(env, vectors)
	c := newCluster(t, env)
	catalog := c.start("catalog", "catalog", map[string]string{"CATALOG_DATABASE_URL": pgtest.NewDatabase(t)})
	users := c.start("users", "users", map[string]string{"USERS_DATABASE_URL": pgtest.NewDatabase(t), "CATALOG_URL": catalog.url})
	recsDB := pgtest.NewDatabase(t) // both replicas share the read model's database
	recs1 := c.start("recs-1", "recs", map[string]string{"RECS_DATABASE_URL": recsDB, "USERS_URL": users.url})
	recs2 := c.start("recs-2", "recs", map[string]string{"RECS_DATABASE_URL": recsDB, "USERS_URL": users.url})
	w1 := c.start("embed-worker-1", "embed-worker", nil)
	w2 := c.start("embed-worker-2", "embed-worker", nil)
	web := c.start("web", "web", map[string]string{
		"CATALOG_URL": catalog.url, "USERS_URL": users.url, "RECS_URL": recs1.url + "," + recs2.url,
	})
	waitReady(t, 60*time.Second, catalog, users, recs1, recs2, w1, w2, web)
	base := web.url

	ctx := ctxFor(t)
	report, err := ingest.Run(ctx, ingest.Options{Server: base, Token: admin}, "movielens", []string{movielens})
	if err != nil || report.Created < 9000 {
		t.Fatalf("ingest through web: %+v, %v", report, err)
	}
	waitAllEmbedded(t, base, admin, 3*time.Minute)

	token := register(t, base, "ada@example.com")
	liked := []int64{findItem(t, base, "Toy Story"), findItem(t, base, "Finding Nemo"), findItem(t, base, "Monsters, Inc.")}
	for _, id := range liked {
		like(t, base, token, id)
	}
	var first recsAnswer
	natstest.CheckFor(t, 30*time.Second, func() error {
		first = mustJSON[recsAnswer](t, http.MethodGet, base+"/v1/recommendations?types=movie&limit=10", token, nil, http.StatusOK)
		for _, r := range first.Items {
			if r.Reason.Kind != "liked_item" || !slices.Contains(liked, r.Reason.ItemID) {
				return fmt.Errorf("recommendation %q for reason %+v, want one of the likes", r.Item.Title, r.Reason)
			}
		}
		if len(first.Items) != 10 {
			return fmt.Errorf("%d recommendations", len(first.Items))
		}
		return nil
	})
	found := mustJSON[struct {
		recsAnswer
		Parsed struct {
			Types []string `json:"types"`
		} `json:"parsed"`
	}](t, http.MethodGet, base+"/v1/search?q="+url.QueryEscape("a documentary about space"), "", nil, http.StatusOK)
	if len(found.Items) == 0 || !slices.Equal(found.Parsed.Types, []string{"documentary"}) {
		t.Fatalf("search: %+v", found)
	}
	for _, it := range found.Items {
		if it.Item.Type != "documentary" {
			t.Errorf("search for a documentary found %s %q", it.Item.Type, it.Item.Title)
		}
	}

	t.Run("replicas answer alike", func(t *testing.T) {
		// A third replica, started now from nothing (a database of its
		// own), learns everything from the streams before it is ready.
		started := time.Now()
		recs3 := c.start("recs-3", "recs", map[string]string{"RECS_DATABASE_URL": pgtest.NewDatabase(t), "USERS_URL": users.url})
		waitReady(t, 2*time.Minute, recs3)
		t.Logf("a new recs replica was ready %s after it started", time.Since(started).Round(time.Millisecond))
		defer recs3.stop()
		natstest.CheckFor(t, 30*time.Second, func() error {
			var answers [][]int64
			for _, p := range []*proc{recs1, recs2, recs3} {
				a := mustJSON[recsAnswer](t, http.MethodGet, p.url+"/v1/recommendations?types=movie&limit=10", token, nil, http.StatusOK)
				answers = append(answers, a.ids())
			}
			if !slices.Equal(answers[0], answers[1]) || !slices.Equal(answers[0], answers[2]) {
				return fmt.Errorf("recs-1 %v, recs-2 %v, recs-3 %v", answers[0], answers[1], answers[2])
			}
			return nil
		})
		// Ready means caught up with what the streams held at start: under
		// load the new replica may still be applying what came since.
		q := "/v1/search?q=" + url.QueryEscape("something like Toy Story")
		natstest.CheckFor(t, 30*time.Second, func() error {
			a := mustJSON[recsAnswer](t, http.MethodGet, recs1.url+q, "", nil, http.StatusOK)
			b := mustJSON[recsAnswer](t, http.MethodGet, recs3.url+q, "", nil, http.StatusOK)
			if !slices.Equal(a.ids(), b.ids()) || len(a.ids()) == 0 {
				return fmt.Errorf("search: recs-1 %v, recs-3 %v", a.ids(), b.ids())
			}
			return nil
		})
	})

	t.Run("a like shows in the next recommendations", func(t *testing.T) {
		// Like the top recommendation, then ask again until it is gone
		// (judged items are never recommended): the delay from the like's
		// 201 to the first answer that reflects it, through web, whichever
		// replica answers.
		const likes = 200
		delays := make([]time.Duration, 0, likes)
		for range likes {
			top := mustJSON[recsAnswer](t, http.MethodGet, base+"/v1/recommendations?types=movie&limit=5", token, nil, http.StatusOK)
			if len(top.Items) == 0 {
				t.Fatal("no recommendations")
			}
			id := top.Items[0].Item.ID
			like(t, base, token, id)
			liked := time.Now()
			for {
				got := mustJSON[recsAnswer](t, http.MethodGet, base+"/v1/recommendations?types=movie&limit=5", token, nil, http.StatusOK)
				if !slices.Contains(got.ids(), id) {
					delays = append(delays, time.Since(liked))
					break
				}
				if time.Since(liked) > 10*time.Second {
					t.Fatalf("item %d still recommended 10s after the like", id)
				}
			}
		}
		t.Logf("like to recommendation, %d likes through web: p50 %s, p99 %s, max %s",
			likes, percentile(delays, 0.5).Round(100*time.Microsecond), percentile(delays, 0.99).Round(100*time.Microsecond), percentile(delays, 1).Round(100*time.Microsecond))
	})

	t.Run("a recs replica killed under load", func(t *testing.T) {
		// Four clients ask through web while one replica dies: web sends
		// what the dead one cannot answer to the other.
		var (
			mu       sync.Mutex
			answered int
			failed   []string
		)
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for i := range 4 {
			wg.Go(func() {
				paths := []string{"/v1/recommendations?limit=10", "/v1/search?q=" + url.QueryEscape("a film about toys that come alive")}
				for n := 0; ; n++ {
					select {
					case <-stop:
						return
					default:
					}
					code, b := httpGet(base+paths[(i+n)%2], token)
					mu.Lock()
					if answered++; code != http.StatusOK {
						failed = append(failed, fmt.Sprintf("%d %s", code, b))
					}
					mu.Unlock()
				}
			})
		}
		count := func() int { mu.Lock(); defer mu.Unlock(); return answered }
		natstest.CheckFor(t, 30*time.Second, func() error {
			if n := count(); n < 100 {
				return fmt.Errorf("%d answers so far", n)
			}
			return nil
		})
		recs2.kill()
		killedAt := count()
		// Enough answers that every client has been sent to the dead
		// replica's address many times; the bound is loose because the
		// whole suite may share the machine's two cores.
		natstest.CheckFor(t, 2*time.Minute, func() error {
			if n := count(); n < killedAt+200 {
				return fmt.Errorf("%d answers since the kill", n-killedAt)
			}
			return nil
		})
		close(stop)
		wg.Wait()
		if len(failed) > 0 {
			t.Fatalf("%d of %d requests failed, first: %s", len(failed), answered, failed[0])
		}
		t.Logf("%d answers, %d after recs-2 was killed, none failed", answered, answered-killedAt)
	})

	t.Run("the catalog killed", func(t *testing.T) {
		catalog.kill()
		// recs answers from its own read model, and stays ready.
		if code, b := httpGet(base+"/v1/search?q="+url.QueryEscape("something like Toy Story"), ""); code != http.StatusOK {
			t.Fatalf("search without the catalog: %d %s", code, b)
		}
		if code, b := httpGet(base+"/v1/recommendations?limit=10", token); code != http.StatusOK {
			t.Fatalf("recommendations without the catalog: %d %s", code, b)
		}
		if code, b := httpGet(recs1.url+"/readyz", ""); code != http.StatusOK {
			t.Fatalf("recs /readyz without the catalog: %d %s", code, b)
		}
		// web is not ready, says which service is missing, and nothing of
		// why.
		code, b := httpGet(base+"/readyz", "")
		var ready struct {
			Failed map[string]string `json:"failed"`
		}
		if code != http.StatusServiceUnavailable || json.Unmarshal(b, &ready) != nil || ready.Failed["catalog"] != "unavailable" || len(ready.Failed) != 1 {
			t.Fatalf("web /readyz without the catalog: %d %s", code, b)
		}
		if code, b := httpGet(base+"/v1/items?limit=1", ""); code != http.StatusServiceUnavailable || bytes.Contains(b, []byte("refused")) {
			t.Fatalf("catalog route without the catalog: %d %s, want 503 without the cause", code, b)
		}
	})
}

// TestNATSRestartLosesNoLike stops the bus under running services and
// starts it again: while it is away recs keeps answering from what it knew,
// marked stale, and the users service keeps taking likes; once it is back,
// every like made meanwhile reaches recs.
func TestNATSRestartLosesNoLike(t *testing.T) {
	if testing.Short() {
		t.Skip("starts four processes")
	}
	bus := mustRunNATS(t, freePort(t), t.TempDir())
	c := newCluster(t, map[string]string{"NATS_URL": bus.URL(), "MEDIAREC_REFIT_GROWTH": "0", "MEDIAREC_LOG_LEVEL": "warn"})
	catalog := c.start("catalog", "catalog", nil)
	users := c.start("users", "users", map[string]string{"CATALOG_URL": catalog.url})
	recs := c.start("recs", "recs", map[string]string{"USERS_URL": users.url})
	worker := c.start("embed-worker", "embed-worker", nil)
	waitReady(t, 60*time.Second, catalog, users, recs, worker)
	postItems(t, catalog.url, itemLines("restart", 0, 60, "Voyage"), 60, 0)
	waitAllEmbedded(t, catalog.url, "", time.Minute)

	token := register(t, users.url, "ada@example.com")
	like(t, users.url, token, findItem(t, catalog.url, "Voyage 7"))
	var before recsAnswer
	natstest.CheckFor(t, 30*time.Second, func() error {
		before = mustJSON[recsAnswer](t, http.MethodGet, recs.url+"/v1/recommendations?limit=10", token, nil, http.StatusOK)
		if len(before.Items) < 5 || before.Items[0].Reason.Kind != "liked_item" {
			return fmt.Errorf("recommendations before the outage: %+v", before)
		}
		return nil
	})

	bus.Stop()
	natstest.CheckFor(t, 30*time.Second, func() error {
		res, err := client.Do(mustRequest(t, recs.url+"/v1/recommendations?limit=10", token))
		if err != nil {
			return err
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK || res.Header.Get("X-Mediarec-Stale") == "" {
			return fmt.Errorf("during the outage: %d, stale header %q", res.StatusCode, res.Header.Get("X-Mediarec-Stale"))
		}
		return nil
	})
	// Still ready: a Service keeps sending it requests.
	for _, p := range []*proc{recs, users, catalog} {
		if code, b := httpGet(p.url+"/readyz", ""); code != http.StatusOK {
			t.Errorf("%s /readyz during the outage: %d %s", p.name, code, b)
		}
	}
	during := before.ids()[:5]
	for _, id := range during {
		like(t, users.url, token, id)
	}

	bus.Restart()
	natstest.CheckFor(t, 60*time.Second, func() error {
		res, err := client.Do(mustRequest(t, recs.url+"/v1/recommendations?limit=10", token))
		if err != nil {
			return err
		}
		defer res.Body.Close()
		var after recsAnswer
		if err := json.NewDecoder(res.Body).Decode(&after); err != nil {
			return err
		}
		if res.Header.Get("X-Mediarec-Stale") != "" {
			return errors.New("still marked stale")
		}
		for _, id := range during {
			if slices.Contains(after.ids(), id) {
				return fmt.Errorf("item %d, liked during the outage, is still recommended", id)
			}
		}
		return nil
	})
}

func mustRequest(t *testing.T, u, token string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	return req
}
