package httpapi_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/go-cmp/cmp"

	"mediarec/internal/httpapi"
)

// syncBuffer collects log output written from server goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// records returns the JSON log records written so far.
func (b *syncBuffer) records(t *testing.T) []map[string]any {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	for line := range bytes.Lines(b.buf.Bytes()) {
		var rec map[string]any
		if err := json.Unmarshal(line, &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		out = append(out, rec)
	}
	return out
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// MustUpstream returns an upstream over baseURLs that logs to log.
func MustUpstream(tb testing.TB, baseURLs []string, timeout time.Duration, log *slog.Logger) *httpapi.Upstream {
	tb.Helper()
	u, err := httpapi.NewUpstream("catalog", baseURLs, timeout)
	if err != nil {
		tb.Fatal(err)
	}
	u.Logger = log
	return u
}

// MustServe serves app on a real 127.0.0.1 listener and returns its URL.
func MustServe(tb testing.TB, app *fiber.App) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	go func() { _ = app.Listener(ln) }()
	tb.Cleanup(func() { _ = app.Shutdown() })
	return "http://" + ln.Addr().String()
}

// MustFront serves a web-like app forwarding /v1/* to u and returns its URL.
func MustFront(tb testing.TB, u *httpapi.Upstream, log *slog.Logger) string {
	tb.Helper()
	app := httpapi.NewApp(httpapi.Options{
		Name: "web", BodyLimit: 1 << 20, RequestTimeout: 5 * time.Second, Logger: log,
		Checks: map[string]func(context.Context) error{u.Name(): u.Ready},
	})
	app.All("/v1/*", httpapi.Forward(u))
	httpapi.NotFound(app)
	return MustServe(tb, app)
}

// MustClient returns an HTTP client whose connections close with the test.
func MustClient(tb testing.TB) *http.Client {
	tb.Helper()
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	tb.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// deadAddr returns the URL of a port nothing listens on any more.
func deadAddr(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

type result struct {
	status int
	header http.Header
	body   string
}

func send(t *testing.T, client *http.Client, req *http.Request) result {
	t.Helper()
	res, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return result{status: res.StatusCode, header: res.Header, body: string(b)}
}

func newRequest(t *testing.T, method, url, body string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func TestNewUpstream(t *testing.T) {
	tests := []struct {
		name    string
		urls    []string
		wantErr string // a substring of the error; "" for success
	}{
		{"one replica", []string{"http://127.0.0.1:8080"}, ""},
		{"replicas and a trailing slash", []string{"http://catalog-0:8080/", "http://[::1]:8081"}, ""},
		{"https", []string{"https://catalog:8443"}, `"https://catalog:8443"`},
		{"no scheme", []string{"catalog:8080"}, `"catalog:8080"`},
		{"no port", []string{"http://catalog"}, `"http://catalog"`},
		{"bad port", []string{"http://catalog:99999"}, `"http://catalog:99999"`},
		{"path", []string{"http://catalog:8080/api"}, `"http://catalog:8080/api"`},
		{"query", []string{"http://catalog:8080?x=1"}, `"http://catalog:8080?x=1"`},
		{"user", []string{"http://u:p@catalog:8080"}, `"http://u:p@catalog:8080"`},
		{"no host", []string{"http://:8080"}, `"http://:8080"`},
		{"comma", []string{"http://a,b:8080"}, `"http://a,b:8080"`},
		{"one bad of two", []string{"http://a:1", "ftp://b:2"}, `"ftp://b:2"`},
		{"empty", []string{""}, `""`},
		{"none", nil, "no base URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := httpapi.NewUpstream("catalog", tt.urls, time.Second)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("NewUpstream(%q): %v", tt.urls, err)
			case tt.wantErr != "" && err == nil:
				t.Fatalf("NewUpstream(%q) accepted", tt.urls)
			case tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr):
				t.Fatalf("error %q does not name %s", err, tt.wantErr)
			}
		})
	}
}

// seen is what an upstream received.
type seen struct {
	method, path, query, body string
	header                    http.Header
}

func TestForward(t *testing.T) {
	got := make(chan seen, 1)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got <- seen{r.Method, r.URL.Path, r.URL.RawQuery, string(body), r.Header.Clone()}
		w.Header().Set("X-Upstream", "catalog")
		w.Header().Set("Content-Type", "application/json")
		w.Header().Add("Set-Cookie", "a=1; Path=/")
		w.Header().Add("Set-Cookie", "b=2; Path=/")
		w.Header().Set("X-Request-ID", r.Header.Get("X-Request-ID"))
		w.WriteHeader(http.StatusCreated)
		if r.Method != http.MethodHead {
			_, _ = w.Write([]byte(`{"echo":` + string(body) + `}`))
		}
	}))
	t.Cleanup(backend.Close)
	front := MustFront(t, MustUpstream(t, []string{backend.URL}, 5*time.Second, slog.New(slog.DiscardHandler)), slog.New(slog.DiscardHandler))
	client := MustClient(t)

	tests := []struct {
		name, method, target, body string
		header                     map[string]string
		wantPath, wantQuery        string
		wantXFF                    string
	}{
		{
			name: "GET with a query", method: "GET", target: "/v1/items?q=star+wars&limit=5&x=%2F",
			wantPath: "/v1/items", wantQuery: "q=star+wars&limit=5&x=%2F", wantXFF: "127.0.0.1",
		},
		{
			name: "POST with a body", method: "POST", target: "/v1/items", body: `{"title":"Alien"}`,
			header:   map[string]string{"Authorization": "Bearer tok", "Content-Type": "application/json"},
			wantPath: "/v1/items", wantXFF: "127.0.0.1",
		},
		{
			name: "PUT behind another proxy", method: "PUT", target: "/v1/items/7", body: `{"year":1979}`,
			header:   map[string]string{"Content-Type": "application/json", "X-Forwarded-For": "203.0.113.9"},
			wantPath: "/v1/items/7", wantXFF: "203.0.113.9, 127.0.0.1",
		},
		{
			name: "DELETE", method: "DELETE", target: "/v1/items/7", header: map[string]string{"Authorization": "Bearer tok"},
			wantPath: "/v1/items/7", wantXFF: "127.0.0.1",
		},
		{
			name: "HEAD", method: "HEAD", target: "/v1/items/7",
			wantPath: "/v1/items/7", wantXFF: "127.0.0.1",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := newRequest(t, tt.method, front+tt.target, tt.body)
			req.Host = "mediarec.example"
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			r := send(t, client, req)
			up := <-got

			if diff := cmp.Diff([]string{tt.method, tt.wantPath, tt.wantQuery, tt.body},
				[]string{up.method, up.path, up.query, up.body}); diff != "" {
				t.Errorf("upstream request (method, path, query, body) differs (-want +got):\n%s", diff)
			}
			for k, v := range tt.header {
				if k == "X-Forwarded-For" {
					continue
				}
				if up.header.Get(k) != v {
					t.Errorf("upstream %s = %q, want %q", k, up.header.Get(k), v)
				}
			}
			for k, want := range map[string]string{
				"X-Forwarded-For": tt.wantXFF, "X-Forwarded-Proto": "http", "X-Forwarded-Host": "mediarec.example",
			} {
				if got := up.header.Values(k); len(got) != 1 || got[0] != want {
					t.Errorf("upstream %s = %q, want %q", k, got, want)
				}
			}
			id := r.header.Get("X-Request-ID")
			if ids := up.header.Values("X-Request-ID"); id == "" || len(ids) != 1 || ids[0] != id {
				t.Errorf("upstream X-Request-ID %q, front answered %q", ids, id)
			}

			if r.status != http.StatusCreated || r.header.Get("X-Upstream") != "catalog" ||
				r.header.Get("Content-Type") != "application/json" {
				t.Errorf("answer %d %v", r.status, r.header)
			}
			if diff := cmp.Diff([]string{"a=1; Path=/", "b=2; Path=/"}, r.header.Values("Set-Cookie")); diff != "" {
				t.Errorf("Set-Cookie differs (-want +got):\n%s", diff)
			}
			if got := r.header.Values("X-Request-ID"); len(got) != 1 {
				t.Errorf("front answered X-Request-ID %q, want one", got)
			}
			wantBody := `{"echo":` + tt.body + `}`
			if tt.method == "HEAD" {
				wantBody = ""
			}
			if r.body != wantBody {
				t.Errorf("body %q, want %q", r.body, wantBody)
			}
		})
	}
}

// TestForwardKeepsRequestID follows one request through web and a service
// built by NewApp: both must log and answer the same id.
func TestForwardKeepsRequestID(t *testing.T) {
	var upLog syncBuffer
	service := httpapi.NewApp(httpapi.Options{
		Name: "catalog", BodyLimit: 1 << 20, RequestTimeout: 5 * time.Second,
		Logger: slog.New(slog.NewJSONHandler(&upLog, nil)),
	})
	service.Get("/v1/items/:id", func(c *fiber.Ctx) error { return c.JSON(fiber.Map{"id": c.Params("id")}) })
	front := MustFront(t, MustUpstream(t, []string{MustServe(t, service)}, 5*time.Second, slog.New(slog.DiscardHandler)), slog.New(slog.DiscardHandler))
	client := MustClient(t)

	tests := []struct {
		name, incoming, path string
	}{
		{"generated by web", "", "/v1/items/1"},
		{"from the browser", "trace-4f2a-0001", "/v1/items/2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := newRequest(t, "GET", front+tt.path, "")
			if tt.incoming != "" {
				req.Header.Set("X-Request-ID", tt.incoming)
			}
			r := send(t, client, req)
			id := r.header.Get("X-Request-ID")
			if r.status != 200 || id == "" || (tt.incoming != "" && id != tt.incoming) {
				t.Fatalf("answer %d with id %q, sent %q", r.status, id, tt.incoming)
			}
			// The service logs before it answers, so the line is there.
			var logged []any
			for _, rec := range upLog.records(t) {
				if rec["msg"] == "request" && rec["path"] == tt.path {
					logged = append(logged, rec["request_id"])
				}
			}
			if diff := cmp.Diff([]any{id}, logged); diff != "" {
				t.Fatalf("service access log ids differ (-want +got):\n%s", diff)
			}
		})
	}
}

// rawUpstream answers every request on each connection with answer and
// sends the request headers it read to heads.
func rawUpstream(t *testing.T, answer string, heads chan<- http.Header) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				br := bufio.NewReader(conn)
				for {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					_, _ = io.Copy(io.Discard, req.Body)
					heads <- req.Header
					if _, err := io.WriteString(conn, answer); err != nil {
						return
					}
				}
			}()
		}
	}()
	return "http://" + ln.Addr().String()
}

func TestForwardStripsHopByHop(t *testing.T) {
	heads := make(chan http.Header, 1)
	answer := "HTTP/1.1 200 OK\r\n" +
		"Content-Type: text/plain\r\nContent-Length: 2\r\n" +
		"Connection: X-Conn-Only\r\nX-Conn-Only: 1\r\nKeep-Alive: timeout=5\r\n" +
		"Proxy-Authenticate: Basic\r\nProxy-Foo: 1\r\nUpgrade: h2c\r\nX-Kept: yes\r\n\r\nok"
	front := MustFront(t, MustUpstream(t, []string{rawUpstream(t, answer, heads)}, 5*time.Second, slog.New(slog.DiscardHandler)), slog.New(slog.DiscardHandler))

	req := newRequest(t, "GET", front+"/v1/items", "")
	for k, v := range map[string]string{
		"Connection": "keep-alive, X-Conn-Only", "X-Conn-Only": "1", "Keep-Alive": "timeout=5",
		"Proxy-Authorization": "Basic eA==", "Proxy-Connection": "keep-alive", "Te": "trailers",
		"Upgrade": "websocket", "X-Kept": "yes",
	} {
		req.Header.Set(k, v)
	}
	r := send(t, MustClient(t), req)
	up := <-heads

	hop := []string{"Connection", "X-Conn-Only", "Keep-Alive", "Proxy-Authorization", "Proxy-Connection",
		"Proxy-Authenticate", "Proxy-Foo", "Te", "Trailer", "Transfer-Encoding", "Upgrade"}
	for _, k := range hop {
		if v := up.Values(k); len(v) > 0 {
			t.Errorf("upstream received %s: %q", k, v)
		}
		if k == "Connection" {
			continue // the front's own connection management may answer it
		}
		if v := r.header.Values(k); len(v) > 0 {
			t.Errorf("client received %s: %q", k, v)
		}
	}
	if up.Get("X-Kept") != "yes" || r.header.Get("X-Kept") != "yes" || r.status != 200 || r.body != "ok" {
		t.Fatalf("end-to-end headers lost: upstream %v, answer %d %v %q", up, r.status, r.header, r.body)
	}
}

// replica is an upstream that can hold its first request until released,
// so that a test can kill it while that request is in flight.
type replica struct {
	srv     *httptest.Server
	served  atomic.Int64
	held    atomic.Bool
	arrived chan struct{} // receives once the first request is held
	release chan struct{} // closed to let the held request answer
	once    sync.Once
}

func newReplica(t *testing.T, name string, hold bool) *replica {
	t.Helper()
	r := &replica{arrived: make(chan struct{}, 1), release: make(chan struct{})}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.URL.Path == "/readyz" {
			return
		}
		// Read it all, so that a kill closes the connection with a FIN and
		// the client sees EOF: the case fasthttp resends even a POST on.
		_, _ = io.ReadAll(req.Body)
		r.served.Add(1)
		if hold && r.held.CompareAndSwap(false, true) {
			r.arrived <- struct{}{}
			<-r.release
		}
		_, _ = io.WriteString(w, name)
	}))
	t.Cleanup(func() { r.Release(); r.srv.Close() })
	return r
}

func (r *replica) URL() string { return r.srv.URL }

// Release lets the held request answer.
func (r *replica) Release() { r.once.Do(func() { close(r.release) }) }

// Kill stops accepting and drops every connection, in flight or idle.
func (r *replica) Kill() {
	r.srv.Listener.Close()
	r.srv.CloseClientConnections()
	r.Release()
	r.srv.Close()
}

// waitFor receives from ch; the timeout only turns a hang into a failure.
func waitFor[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatal("timed out waiting")
		panic("unreachable")
	}
}

var discard = slog.New(slog.DiscardHandler)

func TestForwardFailsOverGETs(t *testing.T) {
	t.Run("a replica down from the start", func(t *testing.T) {
		live := newReplica(t, "live", false)
		// The dead replica comes first: the client's very first dial goes there.
		front := MustFront(t, MustUpstream(t, []string{deadAddr(t), live.URL()}, 5*time.Second, discard), discard)
		client := MustClient(t)
		for i := range 200 {
			if r := send(t, client, newRequest(t, "GET", front+"/v1/items", "")); r.status != 200 || r.body != "live" {
				t.Fatalf("GET %d: %d %s", i, r.status, r.body)
			}
		}
		if n := live.served.Load(); n != 200 {
			t.Fatalf("live replica served %d, want 200", n)
		}
	})

	t.Run("a replica killed under load", func(t *testing.T) {
		a, b := newReplica(t, "a", true), newReplica(t, "b", true)
		front := MustFront(t, MustUpstream(t, []string{a.URL(), b.URL()}, 5*time.Second, discard), discard)
		client := MustClient(t)
		const workers, each = 64, 20
		var failures atomic.Int64
		var firstFailure sync.Once
		var wg sync.WaitGroup
		for range workers {
			wg.Go(func() {
				for range each {
					res, err := client.Get(front + "/v1/items")
					if err != nil {
						failures.Add(1)
						firstFailure.Do(func() { t.Errorf("GET: %v", err) })
						continue
					}
					body, _ := io.ReadAll(res.Body)
					res.Body.Close()
					if res.StatusCode != 200 {
						failures.Add(1)
						firstFailure.Do(func() { t.Errorf("GET: %d %s", res.StatusCode, body) })
					}
				}
			})
		}
		// While a holds its first request, the next one needs a second
		// connection, which round-robin dials to b: both are in use.
		waitFor(t, a.arrived)
		waitFor(t, b.arrived)
		b.Kill() // b's held GET loses its connection before the answer
		a.Release()
		wg.Wait()
		if n := failures.Load(); n != 0 {
			t.Fatalf("%d of %d GETs failed", n, workers*each)
		}
		// Every GET succeeded once; the one b held was served twice.
		if total := a.served.Load() + b.served.Load(); total < workers*each+1 {
			t.Fatalf("replicas served %d requests, want at least %d", total, workers*each+1)
		}
	})
}

// problem decodes a problem+json answer.
func problem(t *testing.T, r result) httpapi.Problem {
	t.Helper()
	if r.header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("answer %d %s: %s, want problem+json", r.status, r.header.Get("Content-Type"), r.body)
	}
	var p httpapi.Problem
	if err := json.Unmarshal([]byte(r.body), &p); err != nil {
		t.Fatal(err)
	}
	return p
}

// failedForward returns the log record of the failed forward with id.
func failedForward(t *testing.T, log *syncBuffer, id string) map[string]any {
	t.Helper()
	for _, rec := range log.records(t) {
		if rec["msg"] == "upstream request failed" && rec["request_id"] == id {
			return rec
		}
	}
	t.Fatalf("no failure logged for request %q:\n%s", id, log)
	return nil
}

func TestForwardUnavailable(t *testing.T) {
	const detail = "The catalog service is unavailable; try again shortly."

	t.Run("POST to a dead upstream", func(t *testing.T) {
		var log syncBuffer
		dead := deadAddr(t)
		front := MustFront(t, MustUpstream(t, []string{dead}, 5*time.Second, slog.New(slog.NewJSONHandler(&log, nil))), discard)
		req := newRequest(t, "POST", front+"/v1/items", `{"title":"Alien"}`)
		req.Header.Set("Content-Type", "application/json")
		r := send(t, MustClient(t), req)
		if p := problem(t, r); r.status != 503 || p.Status != 503 || p.Detail != detail {
			t.Fatalf("answer %d %+v", r.status, p)
		}
		port := dead[strings.LastIndex(dead, ":")+1:]
		for _, leak := range []string{"dial", "refused", "127.0.0.1", port} {
			if strings.Contains(r.body, leak) {
				t.Fatalf("answer leaks %q: %s", leak, r.body)
			}
		}
		rec := failedForward(t, &log, r.header.Get("X-Request-ID"))
		if msg, _ := rec["error"].(string); !strings.Contains(msg, "refused") || rec["level"] != "WARN" {
			t.Fatalf("logged %v, want the dial error at WARN", rec)
		}
	})

	t.Run("POST not resent after its replica died", func(t *testing.T) {
		var log syncBuffer
		b, a := newReplica(t, "b", true), newReplica(t, "a", false)
		// b comes first, so the first connection, and the POST, go to b.
		front := MustFront(t, MustUpstream(t, []string{b.URL(), a.URL()}, 5*time.Second, slog.New(slog.NewJSONHandler(&log, nil))), discard)
		client := MustClient(t)
		done := make(chan *http.Response, 1)
		go func() {
			res, err := client.Post(front+"/v1/items", "application/json", strings.NewReader(`{"title":"Alien"}`))
			if err != nil {
				t.Errorf("POST: %v", err)
			}
			done <- res
		}()
		waitFor(t, b.arrived)
		b.Kill() // after b read the whole POST, before it answered
		res := waitFor(t, done)
		if res == nil {
			t.FailNow()
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		r := result{status: res.StatusCode, header: res.Header, body: string(body)}
		if p := problem(t, r); r.status != 503 || p.Detail != detail {
			t.Fatalf("answer %d %+v", r.status, p)
		}
		if n := a.served.Load(); n != 0 {
			t.Fatalf("the POST was resent to the other replica (%d)", n)
		}
		failedForward(t, &log, r.header.Get("X-Request-ID"))
	})

	t.Run("timeout", func(t *testing.T) {
		slow := newReplica(t, "slow", true) // holds until the test ends
		front := MustFront(t, MustUpstream(t, []string{slow.URL()}, 100*time.Millisecond, discard), discard)
		r := send(t, MustClient(t), newRequest(t, "GET", front+"/v1/items", ""))
		if p := problem(t, r); r.status != 503 || p.Detail != detail {
			t.Fatalf("answer %d %+v", r.status, p)
		}
	})
}

func TestUpstreamReady(t *testing.T) {
	live := newReplica(t, "live", false).URL()
	notReady := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	t.Cleanup(notReady.Close)
	tests := []struct {
		name    string
		urls    []string
		wantErr bool
	}{
		{"all up", []string{live, live}, false},
		{"one of two down", []string{deadAddr(t), live}, false},
		{"one down, one not ready", []string{deadAddr(t), notReady.URL}, true},
		{"all down", []string{deadAddr(t), deadAddr(t)}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := MustUpstream(t, tt.urls, 2*time.Second, discard)
			if err := u.Ready(t.Context()); (err != nil) != tt.wantErr {
				t.Fatalf("Ready = %v, want error %v", err, tt.wantErr)
			}
		})
	}
}

// TestReadyzHidesCauses checks that web's /readyz names a failed upstream but
// keeps its error, with addresses, in the log.
func TestReadyzHidesCauses(t *testing.T) {
	var log syncBuffer
	dead := deadAddr(t)
	front := MustFront(t, MustUpstream(t, []string{dead}, 2*time.Second, discard), slog.New(slog.NewJSONHandler(&log, nil)))
	r := send(t, MustClient(t), newRequest(t, "GET", front+"/readyz", ""))
	if r.status != 503 || r.body != `{"failed":{"catalog":"unavailable"},"status":"unavailable"}` {
		t.Fatalf("readyz: %d %s", r.status, r.body)
	}
	for _, rec := range log.records(t) {
		if rec["msg"] == "readiness check failed" {
			msg, _ := rec["error"].(string)
			if rec["level"] != "WARN" || rec["check"] != "catalog" || !strings.Contains(msg, dead[len("http://"):]) {
				t.Fatalf("logged %v", rec)
			}
			return
		}
	}
	t.Fatalf("no readiness failure logged:\n%s", &log)
}
