package main

import (
	"bytes"
	"compress/gzip"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"

	"mediarec/internal/natsbus/natstest"
)

// busTap records the messages of some subjects as the bus carries them,
// headers included.
type busTap struct {
	mu   sync.Mutex
	msgs []*nats.Msg
}

func tapBus(t *testing.T, url string, subjects ...string) *busTap {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	tap := &busTap{}
	for _, s := range subjects {
		if _, err := nc.Subscribe(s, func(m *nats.Msg) {
			tap.mu.Lock()
			defer tap.mu.Unlock()
			tap.msgs = append(tap.msgs, m)
		}); err != nil {
			t.Fatal(err)
		}
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	return tap
}

// traced returns the messages on subject whose traceparent names trace.
func (b *busTap) traced(subject, trace string) []*nats.Msg {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []*nats.Msg
	for _, m := range b.msgs {
		if m.Subject == subject && traceOf(m.Header.Get("traceparent")) == trace {
			out = append(out, m)
		}
	}
	return out
}

// traceOf is the trace id of a W3C traceparent.
func traceOf(traceparent string) string {
	parts := strings.Split(traceparent, "-")
	if len(parts) != 4 {
		return ""
	}
	return parts[1]
}

// logRecords decodes the JSON log lines written so far.
func logRecords(t *testing.T, logs *syncBuffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	dec := json.NewDecoder(strings.NewReader(logs.String()))
	for dec.More() {
		var rec map[string]any
		if err := dec.Decode(&rec); err != nil {
			t.Fatalf("log line: %v", err)
		}
		out = append(out, rec)
	}
	return out
}

// TestTraceFollowsAnItem follows an item from POST /v1/items through the
// outbox, JetStream and the embed worker to the vector store and back: the
// access log line, the item's event and embed job on the bus, the worker's
// log line about the item, the worker's result and the catalog's event of
// the new embedding status all carry the request's trace id, the caller's
// when it sent a traceparent.
func TestTraceFollowsAnItem(t *testing.T) {
	ns := mustRunNATS(t, -1, t.TempDir())
	const namespace = "traced"
	logs := &syncBuffer{}
	m := mustRunCommand(t, "serve", map[string]string{"NATS_URL": ns.URL(), "NATS_NAMESPACE": namespace}, logs)
	pre := namespace + "_"
	tap := tapBus(t, ns.URL(), pre+"embed.jobs.v1", pre+"embed.results.v1", pre+"catalog.items.v1.>")

	requests := []struct {
		name        string
		traceparent string // sent by the client
		wantTrace   string // "" for one the server starts
	}{
		{"the caller's trace", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "0af7651916cd43dd8448eb211c80319c"},
		{"a trace of the server's", "", ""},
	}
	for i, rq := range requests {
		t.Run(rq.name, func(t *testing.T) {
			body := fmt.Sprintf(`{"type":"movie","title":"Solaris %d","tags":["space"]}`, i)
			req, err := http.NewRequest(http.MethodPost, m.URL()+"/v1/items", bytes.NewReader([]byte(body)))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			if rq.traceparent != "" {
				req.Header.Set("traceparent", rq.traceparent)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var item struct{ ID int64 }
			err = json.NewDecoder(res.Body).Decode(&item)
			res.Body.Close()
			if res.StatusCode != http.StatusCreated || err != nil {
				t.Fatalf("POST /v1/items: %d %v", res.StatusCode, err)
			}

			// The access log line is written before the answer.
			var access map[string]any
			for _, rec := range logRecords(t, logs) {
				if rec["msg"] == "request" && rec["method"] == "POST" && rec["path"] == "/v1/items" {
					access = rec
				}
			}
			trace, _ := access["trace_id"].(string)
			if len(trace) != 32 || (rq.wantTrace != "" && trace != rq.wantTrace) {
				t.Fatalf("access log line %v: trace id %q, want %q", access, trace, rq.wantTrace)
			}
			if rq.traceparent != "" && strings.Contains(rq.traceparent, fmt.Sprint(access["span_id"])) {
				t.Fatalf("the server's span %v is the caller's, not its child", access["span_id"])
			}

			itemSubject := fmt.Sprintf("%scatalog.items.v1.%d", pre, item.ID)
			hops := []struct {
				name string
				seen func() error
			}{
				{"the item's event, relayed from the outbox", func() error {
					if len(tap.traced(itemSubject, trace)) == 0 {
						return fmt.Errorf("no message on %s in trace %s", itemSubject, trace)
					}
					return nil
				}},
				{"the embed job, relayed from the outbox", func() error {
					for _, msg := range tap.traced(pre+"embed.jobs.v1", trace) {
						var job struct {
							ItemID int64 `json:"item_id"`
						}
						if json.Unmarshal(msg.Data, &job) == nil && job.ItemID == item.ID {
							return nil
						}
					}
					return fmt.Errorf("no embed job of item %d in trace %s", item.ID, trace)
				}},
				{"the worker's log line", func() error {
					for _, rec := range logRecords(t, logs) {
						ids, _ := rec["item_ids"].([]any)
						if rec["msg"] == "embed jobs settled" && rec["trace_id"] == trace && slices.Contains(ids, any(float64(item.ID))) && rec["done"] == float64(1) {
							return nil
						}
					}
					return fmt.Errorf("no worker log line about item %d in trace %s", item.ID, trace)
				}},
				{"the worker's result", func() error {
					if len(tap.traced(pre+"embed.results.v1", trace)) == 0 {
						return fmt.Errorf("no embed result in trace %s", trace)
					}
					return nil
				}},
				{"the event of the new embedding status", func() error {
					for _, msg := range tap.traced(itemSubject, trace) {
						var ev struct {
							Item struct {
								EmbeddingStatus string `json:"embedding_status"`
							} `json:"item"`
						}
						if json.Unmarshal(msg.Data, &ev) == nil && ev.Item.EmbeddingStatus == "done" {
							return nil
						}
					}
					return fmt.Errorf("no event of item %d embedded in trace %s", item.ID, trace)
				}},
			}
			for _, hop := range hops {
				t.Run(hop.name, func(t *testing.T) { natstest.CheckFor(t, 30*time.Second, hop.seen) })
			}
		})
	}
}

// collector is an OTLP/HTTP trace receiver: it keeps the name of every
// span it is sent, by trace id, and the services that sent them.
type collector struct {
	mu       sync.Mutex
	spans    map[string][]string // trace id → span names
	services map[string]bool
}

func (c *collector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		body = zr
	}
	data, err := io.ReadAll(body)
	var req collectortrace.ExportTraceServiceRequest
	if err == nil {
		err = proto.Unmarshal(data, &req)
	}
	if r.URL.Path != "/v1/traces" || err != nil {
		http.Error(w, fmt.Sprintf("%s: %v", r.URL.Path, err), http.StatusBadRequest)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, rs := range req.GetResourceSpans() {
		for _, a := range rs.GetResource().GetAttributes() {
			if a.GetKey() == "service.name" {
				c.services[a.GetValue().GetStringValue()] = true
			}
		}
		for _, ss := range rs.GetScopeSpans() {
			for _, s := range ss.GetSpans() {
				id := hex.EncodeToString(s.GetTraceId())
				c.spans[id] = append(c.spans[id], s.GetName())
			}
		}
	}
	w.Header().Set("Content-Type", "application/x-protobuf")
	out, _ := proto.Marshal(&collectortrace.ExportTraceServiceResponse{})
	_, _ = w.Write(out)
}

// TestTraceExported: with OTEL_EXPORTER_OTLP_ENDPOINT set, the spans go
// to the collector, and the trace of a POST /v1/items holds the request,
// the relay's publishes, the worker's processing, the write to the vector
// store and the catalog's processing of the result.
func TestTraceExported(t *testing.T) {
	col := &collector{spans: map[string][]string{}, services: map[string]bool{}}
	srv := httptest.NewServer(col)
	t.Cleanup(srv.Close)
	m, stop := startCommand(t, "serve", "127.0.0.1:0", t.TempDir(), map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": srv.URL}, io.Discard)

	const trace = "4bf92f3577b34da6a3ce929d0e0e4736"
	req, err := http.NewRequest(http.MethodPost, m.URL()+"/v1/items", strings.NewReader(`{"type":"book","title":"Solaris"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("traceparent", "00-"+trace+"-00f067aa0ba902b7-01")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("POST /v1/items: %d", res.StatusCode)
	}
	waitEmbedded(t, m.URL(), 1, 30*time.Second)
	// Shutting down flushes the spans still batched.
	stop()

	col.mu.Lock()
	defer col.mu.Unlock()
	if !col.services["mediarec-serve"] {
		t.Errorf("spans came from %v, want mediarec-serve", slices.Sorted(maps.Keys(col.services)))
	}
	got := col.spans[trace]
	for _, want := range []string{
		"POST /v1/items",
		"publish catalog.items.v1", "publish embed.jobs.v1", "process embed.jobs.v1",
		"upsert local",
		"publish embed.results.v1", "process embed.results.v1",
	} {
		if !slices.Contains(got, want) {
			t.Errorf("trace %s lacks a span %q; has %v", trace, want, got)
		}
	}
}
