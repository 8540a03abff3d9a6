package ingest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"mediarec"
)

// request is what the fake server saw of one POST.
type request struct {
	Auth        string
	ContentType string
	Lines       []map[string]any
}

// fakeServer is a batch endpoint whose answers come from a func field.
type fakeServer struct {
	*httptest.Server
	// answer returns the status and body for the call-th request (0-based);
	// status 0 hangs up without answering.
	answer func(call int, lines []map[string]any) (int, string)
	// before, if set, runs before answering, outside the lock.
	before func()

	mu       sync.Mutex
	requests []request
}

func MustFakeServer(tb testing.TB, answer func(call int, lines []map[string]any) (int, string)) *fakeServer {
	tb.Helper()
	s := &fakeServer{answer: answer}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	tb.Cleanup(s.Close)
	return s
}

func (s *fakeServer) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/v1/items/batch" {
		http.Error(w, "wrong route", http.StatusNotFound)
		return
	}
	req := request{Auth: r.Header.Get("Authorization"), ContentType: r.Header.Get("Content-Type")}
	sc := bufio.NewScanner(r.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var line map[string]any
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			http.Error(w, "bad JSON line", http.StatusBadRequest)
			return
		}
		req.Lines = append(req.Lines, line)
	}
	s.mu.Lock()
	call := len(s.requests)
	s.requests = append(s.requests, req)
	s.mu.Unlock()
	if s.before != nil {
		s.before()
	}
	status, body := s.answer(call, req.Lines)
	if status == 0 {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
		return
	}
	if status != http.StatusOK {
		w.Header().Set("Content-Type", "application/problem+json")
	}
	w.WriteHeader(status)
	fmt.Fprint(w, body)
}

func (s *fakeServer) Requests() []request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]request(nil), s.requests...)
}

// acceptAll creates every line except those whose title starts with
// "reject", which fail on the title.
func acceptAll(_ int, lines []map[string]any) (int, string) {
	var res mediarec.BatchResult
	for i, l := range lines {
		if title, _ := l["title"].(string); strings.HasPrefix(title, "reject") {
			res.Failed = append(res.Failed, mediarec.BatchFailure{
				Line: i + 1, Errors: []mediarec.FieldError{{Field: "title", Message: "is rejected"}},
			})
			continue
		}
		res.Created++
	}
	b, _ := json.Marshal(res)
	return http.StatusOK, string(b)
}

func problem(status int, detail string) string {
	b, _ := json.Marshal(map[string]any{
		"type": "about:blank", "title": http.StatusText(status), "status": status, "detail": detail,
	})
	return string(b)
}

// fastOptions keeps retries quick; the client, not the test, waits.
func fastOptions(server, token string) Options {
	return Options{Server: server, Token: token, BatchSize: 2, Concurrency: 2, RetryWait: time.Millisecond}
}

const fixtureJSONL = `{"external_id": "t:1", "type": "book", "title": "One", "genres": ["a"], "id": 99, "embedding_status": "done"}
{"external_id": "t:2", "type": "movie", "title": "Two", "year": 2001}
{"type": "movie", "title": 
{"external_id": "t:4", "type": "podcast", "title": "Four"}

{"external_id": "t:6", "type": "book", "title": "reject me"}
{"external_id": "t:7", "type": "book", "title": "Seven", "language": "en"}
`

func TestRun(t *testing.T) {
	tests := []struct {
		name     string
		token    string
		wantAuth string
	}{
		{name: "with token", token: "secret", wantAuth: "Bearer secret"},
		{name: "without token", token: "", wantAuth: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := MustFakeServer(t, acceptAll)
			path := filepath.Join(MustWriteFiles(t, map[string]string{"items.jsonl": fixtureJSONL}), "items.jsonl")
			var progress bytes.Buffer
			opts := fastOptions(srv.URL+"/", tt.token)
			opts.Progress = &progress
			rep, err := Run(context.Background(), opts, "jsonl", []string{path})
			if err != nil {
				t.Fatal(err)
			}
			want := &Report{
				Items:   6,
				Created: 4,
				Failed: []Failure{
					{Source: path, Line: 3, Errors: []mediarec.FieldError{{Message: "invalid JSON: unexpected end of JSON input"}}},
					{Source: path, Line: 6, Errors: []mediarec.FieldError{{Field: "title", Message: "is rejected"}}},
				},
			}
			if diff := cmp.Diff(want, rep, cmpopts.IgnoreFields(Report{}, "Elapsed")); diff != "" {
				t.Errorf("report mismatch (-want +got):\n%s", diff)
			}

			reqs := srv.Requests()
			var sizes []int
			var titles []string
			for _, r := range reqs {
				if r.Auth != tt.wantAuth || r.ContentType != "application/x-ndjson" {
					t.Errorf("Authorization %q, Content-Type %q; want %q, application/x-ndjson", r.Auth, r.ContentType, tt.wantAuth)
				}
				sizes = append(sizes, len(r.Lines))
				for _, l := range r.Lines {
					titles = append(titles, l["title"].(string))
					for _, key := range []string{"id", "embedding_status", "created_at", "updated_at"} {
						if _, ok := l[key]; ok {
							t.Errorf("line %v sends server-owned field %q", l, key)
						}
					}
				}
			}
			sort.Ints(sizes)
			sort.Strings(titles)
			if diff := cmp.Diff([]int{1, 2, 2}, sizes); diff != "" {
				t.Errorf("batch sizes mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{"Four", "One", "Seven", "Two", "reject me"}, titles); diff != "" {
				t.Errorf("sent titles mismatch (-want +got):\n%s", diff)
			}
			// The bar counts records, the one the reader rejects included.
			if !strings.Contains(progress.String(), "6/6") {
				t.Errorf("progress output %q does not show 6/6", progress.String())
			}
		})
	}
}

func TestRunWireFormat(t *testing.T) {
	srv := MustFakeServer(t, acceptAll)
	path := filepath.Join(MustWriteFiles(t, map[string]string{"items.jsonl": `{"type": "book", "title": "Bare"}` + "\n"}), "items.jsonl")
	if _, err := Run(context.Background(), fastOptions(srv.URL, ""), "jsonl", []string{path}); err != nil {
		t.Fatal(err)
	}
	// Lists go out as [] and unset optional fields are left out.
	want := []map[string]any{{
		"type": "book", "title": "Bare", "description": "",
		"genres": []any{}, "tags": []any{}, "creators": []any{},
	}}
	if diff := cmp.Diff(want, srv.Requests()[0].Lines); diff != "" {
		t.Errorf("wire item mismatch (-want +got):\n%s", diff)
	}
}

func TestRunErrors(t *testing.T) {
	// statuses answers call i with statuses[i], then accepts everything.
	statuses := func(codes ...int) func(int, []map[string]any) (int, string) {
		return func(call int, lines []map[string]any) (int, string) {
			if call < len(codes) {
				return codes[call], problem(codes[call], "try later")
			}
			return acceptAll(call, lines)
		}
	}
	tests := []struct {
		name      string
		answer    func(int, []map[string]any) (int, string)
		retries   int
		wantCalls int
		wantErr   string // "" for success
	}{
		{name: "503 then success", answer: statuses(503), wantCalls: 2},
		{name: "429 then success", answer: statuses(429), wantCalls: 2},
		{name: "hang-up then success", answer: statuses(0), wantCalls: 2},
		{name: "two 500s then success", answer: statuses(500, 502), wantCalls: 3},
		{name: "retries exhausted", answer: statuses(503, 503, 503, 503), retries: 2, wantCalls: 3, wantErr: "503 Service Unavailable: try later"},
		{name: "no retries", answer: statuses(503), retries: -1, wantCalls: 1, wantErr: "503"},
		{
			name: "401 is fatal",
			answer: func(int, []map[string]any) (int, string) {
				return http.StatusUnauthorized, problem(http.StatusUnauthorized, "A valid admin token is required.")
			},
			wantCalls: 1, wantErr: "items.jsonl:1: server answered 401 Unauthorized: A valid admin token is required.",
		},
		{
			name: "400 shows field errors",
			answer: func(int, []map[string]any) (int, string) {
				return http.StatusBadRequest, `{"title":"Bad Request","status":400,"detail":"Invalid batch.","errors":[{"field":"body","message":"too large"}]}`
			},
			wantCalls: 1, wantErr: "400 Bad Request: Invalid batch.; body: too large",
		},
		{
			name: "line out of range",
			answer: func(int, []map[string]any) (int, string) {
				return http.StatusOK, `{"created":0,"failed":[{"line":7,"errors":[]}]}`
			},
			wantCalls: 1, wantErr: "server reported line 7 of a 1-line batch",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := MustFakeServer(t, tt.answer)
			path := filepath.Join(MustWriteFiles(t, map[string]string{"items.jsonl": `{"external_id": "t:1", "type": "book", "title": "One"}` + "\n"}), "items.jsonl")
			opts := fastOptions(srv.URL, "t")
			opts.Retries = tt.retries
			rep, err := Run(context.Background(), opts, "jsonl", []string{path})
			if tt.wantErr == "" {
				if err != nil || rep.Created != 1 {
					t.Errorf("Run() = %+v, %v; want 1 created", rep, err)
				}
			} else if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Run() error = %v, want %q", err, tt.wantErr)
			}
			if got := len(srv.Requests()); got != tt.wantCalls {
				t.Errorf("server got %d requests, want %d", got, tt.wantCalls)
			}
		})
	}
}

func TestRunConcurrency(t *testing.T) {
	srv := MustFakeServer(t, acceptAll)
	var (
		mu       sync.Mutex
		inflight int
		peak     int
		both     = make(chan struct{})
		once     sync.Once
	)
	// Each request waits until two are in flight at once, which only
	// happens if the client really sends two batches concurrently.
	srv.before = func() {
		mu.Lock()
		inflight++
		peak = max(peak, inflight)
		if inflight == 2 {
			once.Do(func() { close(both) })
		}
		mu.Unlock()
		select {
		case <-both:
		case <-time.After(10 * time.Second): // a failing client must not hang the test
		}
		mu.Lock()
		inflight--
		mu.Unlock()
	}
	var lines strings.Builder
	for i := range 8 {
		fmt.Fprintf(&lines, `{"external_id": "t:%d", "type": "book", "title": "B%d"}`+"\n", i, i)
	}
	path := filepath.Join(MustWriteFiles(t, map[string]string{"items.jsonl": lines.String()}), "items.jsonl")
	rep, err := Run(context.Background(), fastOptions(srv.URL, ""), "jsonl", []string{path})
	if err != nil || rep.Created != 8 {
		t.Fatalf("Run() = %+v, %v; want 8 created", rep, err)
	}
	if len(srv.Requests()) != 4 || peak != 2 {
		t.Errorf("%d requests with up to %d in flight, want 4 with up to 2", len(srv.Requests()), peak)
	}
}

func TestRunKeepsFirstFailures(t *testing.T) {
	srv := MustFakeServer(t, acceptAll)
	var lines strings.Builder
	for i := range 20 {
		title := fmt.Sprintf("B%d", i)
		if i%2 == 1 {
			title = "reject " + title
		}
		fmt.Fprintf(&lines, `{"external_id": "t:%d", "type": "book", "title": %q}`+"\n", i, title)
	}
	lines.WriteString("{broken\n")
	path := filepath.Join(MustWriteFiles(t, map[string]string{"items.jsonl": lines.String()}), "items.jsonl")
	opts := fastOptions(srv.URL, "")
	opts.MaxFailures = 3
	rep, err := Run(context.Background(), opts, "jsonl", []string{path})
	if err != nil {
		t.Fatal(err)
	}
	var got []int
	for _, f := range rep.Failed {
		got = append(got, f.Line)
	}
	// Batches finish in any order; the report still keeps the first lines.
	if diff := cmp.Diff([]int{2, 4, 6}, got); diff != "" {
		t.Errorf("kept failures' lines (-want +got):\n%s", diff)
	}
	if rep.Items != 21 || rep.Created != 10 || rep.MoreFailed != 8 {
		t.Errorf("report %+v, want 21 items, 10 created, 8 more failed", rep)
	}
}

// TestRunStreams checks that the client holds batches, not the source: the
// live heap stays small while 200,000 records, about 100 MB of items if they
// were all kept, go through.
func TestRunStreams(t *testing.T) {
	if testing.Short() {
		t.Skip("sends 200,000 items")
	}
	const records = 200_000
	var sent atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Count the lines without keeping them, so that the server's
		// memory does not blur the client's.
		n, err := countNewlines(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		sent.Add(int64(n))
		fmt.Fprintf(w, `{"created": %d}`, n)
	}))
	t.Cleanup(srv.Close)

	description := strings.Repeat("A long description that would add up if the client kept it. ", 8)
	var peak uint64
	sample := func() {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		peak = max(peak, m.HeapInuse)
	}
	sample()
	base := peak
	read := func(fn func(Record) error) error {
		for i := range records {
			if i%20_000 == 0 {
				sample()
			}
			item := &mediarec.Item{
				ExternalID: fmt.Sprintf("gen:%d", i), Type: mediarec.TypeBook, Title: fmt.Sprintf("Book %d", i),
				Description: description + strconv.Itoa(i), Genres: []string{"Fiction"}, Tags: []string{"generated"},
			}
			if err := fn(Record{Source: "generated", Line: i + 1, Item: item}); err != nil {
				return err
			}
		}
		return nil
	}
	opts, err := Options{Server: srv.URL}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	rep, err := run(context.Background(), opts, nil, time.Now(), read)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Items != records || rep.Created != records || sent.Load() != records {
		t.Fatalf("report %+v, server got %d lines; want %d items created", rep, sent.Load(), records)
	}
	if grown := peak - min(base, peak); grown > 64<<20 {
		t.Errorf("heap in use grew by %d MB while streaming, want < 64 MB", grown>>20)
	}
}

func countNewlines(r io.Reader) (int, error) {
	buf := make([]byte, 64<<10)
	n := 0
	for {
		k, err := r.Read(buf)
		n += bytes.Count(buf[:k], []byte("\n"))
		if errors.Is(err, io.EOF) {
			return n, nil
		} else if err != nil {
			return n, err
		}
	}
}

func TestRunBadInput(t *testing.T) {
	tests := []struct {
		name    string
		server  string
		format  string
		wantErr string
	}{
		{name: "no server", server: "", format: "jsonl", wantErr: "not an http(s) URL"},
		{name: "unknown format", server: "http://127.0.0.1:1", format: "xml", wantErr: "unknown format"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Run(context.Background(), Options{Server: tt.server}, tt.format, nil)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Run() error = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestReportPrint(t *testing.T) {
	many := make([]Failure, 52)
	for i := range many {
		many[i] = Failure{Source: "b.csv", Line: i + 2, Errors: []mediarec.FieldError{{Field: "type", Message: "is invalid"}}}
	}
	tests := []struct {
		name string
		rep  Report
		want string
	}{
		{
			name: "clean run",
			rep:  Report{Items: 9742, Created: 9742, Elapsed: 1200 * time.Millisecond},
			want: "9742 items: 9742 created, 0 updated, 0 unchanged, 0 failed in 1.2s (8,118 items/s)\n",
		},
		{
			name: "failures",
			rep: Report{
				Items: 3, Created: 1, Updated: 0, Unchanged: 0, Elapsed: 250 * time.Millisecond,
				Failed: []Failure{
					{Source: "a.jsonl", Line: 2, Errors: []mediarec.FieldError{{Message: "invalid JSON: unexpected end of JSON input"}}},
					{Source: "a.jsonl", Line: 3, Errors: []mediarec.FieldError{{Field: "title", Message: "is required"}, {Field: "type", Message: "is invalid"}}},
				},
			},
			want: "3 items: 1 created, 0 updated, 0 unchanged, 2 failed in 250ms (12 items/s)\n" +
				"a.jsonl:2: invalid JSON: unexpected end of JSON input\n" +
				"a.jsonl:3: title: is required\n" +
				"a.jsonl:3: type: is invalid\n",
		},
		{
			name: "failures past those kept",
			rep:  Report{Items: 9, Failed: many[:2], MoreFailed: 5},
			want: "9 items: 0 created, 0 updated, 0 unchanged, 7 failed in 0s\n" +
				"b.csv:2: type: is invalid\nb.csv:3: type: is invalid\n… and 5 more failed rows\n",
		},
		{
			name: "capped listing",
			rep:  Report{Items: 52, Failed: many},
			want: "52 items: 0 created, 0 updated, 0 unchanged, 52 failed in 0s\n" +
				func() string {
					var b strings.Builder
					for i := range 50 {
						fmt.Fprintf(&b, "b.csv:%d: type: is invalid\n", i+2)
					}
					return b.String()
				}() + "… and 2 more failed rows\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			tt.rep.Print(&b)
			if diff := cmp.Diff(tt.want, b.String()); diff != "" {
				t.Errorf("Print() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
