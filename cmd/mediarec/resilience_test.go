package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"mediarec"
	"mediarec/internal/embed"
	"mediarec/internal/natsbus"
	"mediarec/internal/natsbus/natstest"
	"mediarec/internal/vectordb"
)

// TestKilledWorkerLosesNoJob kills an embed worker while it holds an unacked
// batch: a second worker on the same durable consumer gets the jobs once
// their ack wait passes, and every item ends done.
func TestKilledWorkerLosesNoJob(t *testing.T) {
	ns := mustRunNATS(t, -1, t.TempDir())
	// No automatic refit: its new collection would live in the catalog's
	// own vector store, which the test's workers do not share.
	env := map[string]string{"NATS_URL": ns.URL(), "MEDIAREC_REFIT_GROWTH": "0"}
	m := mustRunCommand(t, "catalog", env, io.Discard)
	discard := slog.New(slog.DiscardHandler)
	jobs := natsbus.ConsumerConfig{Stream: natsbus.StreamEmbedJobs, Durable: "embed-workers", Batch: 32, MaxDeliver: jobAttempts, AckWait: time.Second}

	// Worker A hangs in its first write, as a process does just before it
	// dies, and tells the test which items it holds.
	held := make(chan []int64, 1)
	release := make(chan struct{})
	stuck := &fakeVectorWriter{upsert: func(ctx context.Context, _ string, points []mediarec.VectorPoint) error {
		ids := make([]int64, len(points))
		for i, p := range points {
			ids[i] = p.ID
		}
		select {
		case held <- ids:
		default:
		}
		<-release
		return errors.New("the worker was killed")
	}}
	busA, err := natsbus.Open(context.Background(), natsbus.Options{URL: ns.URL()}, discard)
	if err != nil {
		t.Fatal(err)
	}
	ctxA, killA := context.WithCancel(context.Background())
	stoppedA := runWorker(ctxA, busA, jobs, embed.NewWorker(mustRegistry(t, busA), stuck, busA, jobAttempts, nil, discard))
	t.Cleanup(func() {
		killA()
		busA.Close() // a second close only reports the connection closed
		close(release)
		<-stoppedA
	})

	const n = 300
	postItems(t, m.URL(), itemLines("killed", 0, n, "first"), n, 0)

	var inHand []int64
	select {
	case inHand = <-held:
	case <-time.After(30 * time.Second):
		t.Fatal("worker A took no batch within 30s")
	}
	if len(inHand) == 0 {
		t.Fatal("worker A held no item when it was killed")
	}

	// Worker B is healthy; it starts now so that A surely took a batch.
	vectors, err := vectordb.OpenLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { vectors.Close() })
	busB, err := natsbus.Open(context.Background(), natsbus.Options{URL: ns.URL()}, discard)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { busB.Close() })
	regB := mustRegistry(t, busB)
	live := mustCreateLive(t, regB, vectors)
	ctxB, stopB := context.WithCancel(context.Background())
	stoppedB := runWorker(ctxB, busB, jobs, embed.NewWorker(regB, vectors, busB, jobAttempts, nil, discard))
	t.Cleanup(func() { stopB(); <-stoppedB })

	// Kill A: it never acks, never writes, never reports again.
	killA()
	if err := busA.Close(); err != nil {
		t.Fatalf("close worker A's connection: %v", err)
	}

	waitEmbedded(t, m.URL(), n, 60*time.Second)
	points, err := vectors.Get(context.Background(), live, inHand)
	if err != nil || len(points) != len(inHand) {
		t.Fatalf("worker B wrote %d of the %d vectors A held (%v)", len(points), len(inHand), err)
	}
	for _, id := range inHand {
		status, body := get(t, fmt.Sprintf("%s/v1/items/%d", m.URL(), id))
		if status != 200 || !strings.Contains(body, `"embedding_status":"done"`) {
			t.Fatalf("item %d that A held: %d %s", id, status, body)
		}
	}
	t.Logf("worker A held %d items when killed", len(inHand))
}

// TestNATSOutageLosesNoJob stops the NATS server under a running server: the
// API keeps taking writes, the outbox keeps them, and once NATS is back the
// relay publishes them and the consumers embed them.
func TestNATSOutageLosesNoJob(t *testing.T) {
	ns := mustRunNATS(t, freePort(t), t.TempDir())
	logs := &syncBuffer{}
	m := mustRunCommand(t, "serve", map[string]string{"NATS_URL": ns.URL()}, logs)

	const first = 200
	postItems(t, m.URL(), itemLines("outage", 0, first, "first"), first, 0)
	waitEmbedded(t, m.URL(), first, 60*time.Second)

	logsBefore := len(logs.String())
	ns.Stop()
	// Should the test fail during the outage, the server still closes on a
	// live bus.
	t.Cleanup(func() {
		if ns.srv == nil {
			ns.Restart()
		}
	})
	// During the outage: 100 new items and 50 changed ones. The statuses
	// are read from the item list: the admin stats also read the shared
	// embedding state, which lives in NATS.
	const added, changed = 100, 50
	postItems(t, m.URL(), itemLines("outage", first, added, "added"), added, 0)
	postItems(t, m.URL(), itemLines("outage", 0, changed, "changed"), 0, changed)
	want := map[mediarec.EmbeddingStatus]int{mediarec.EmbeddingDone: first - changed, mediarec.EmbeddingPending: added + changed}
	if got := itemStatuses(t, m.URL()); !maps.Equal(got, want) {
		t.Fatalf("while NATS is down: %v, want %v", got, want)
	}
	// Keep NATS away until the relay has really failed to publish.
	natstest.CheckFor(t, 30*time.Second, func() error {
		if !strings.Contains(logs.String()[logsBefore:], "outbox relay failed") {
			return errors.New("the relay has not yet met the outage")
		}
		return nil
	})
	if got := itemStatuses(t, m.URL()); !maps.Equal(got, want) {
		t.Fatalf("after the relay failed: %v, want %v", got, want)
	}

	ns.Restart()
	waitEmbedded(t, m.URL(), first+added, 60*time.Second)
}

// testNATS is a NATS server with JetStream on disk, listening on loopback.
type testNATS struct {
	tb   testing.TB
	port int
	dir  string
	srv  *server.Server
}

// mustRunNATS starts a server on port (-1 for any) storing under dir, and
// stops whichever one is running when the test ends.
func mustRunNATS(tb testing.TB, port int, dir string) *testNATS {
	tb.Helper()
	n := &testNATS{tb: tb, port: port, dir: dir}
	n.Restart()
	tb.Cleanup(n.Stop)
	return n
}

// URL is the client URL of the running server.
func (n *testNATS) URL() string { return n.srv.ClientURL() }

// Stop shuts the server down and waits until it is gone.
func (n *testNATS) Stop() {
	if n.srv != nil {
		n.srv.Shutdown()
		n.srv.WaitForShutdown()
		n.srv = nil
	}
}

// Restart starts a server on the same port and store.
func (n *testNATS) Restart() {
	n.tb.Helper()
	srv, err := server.NewServer(&server.Options{
		ServerName: "mediarec-test", Host: "127.0.0.1", Port: n.port,
		JetStream: true, StoreDir: n.dir, NoLog: true, NoSigs: true,
	})
	if err != nil {
		n.tb.Fatal(err)
	}
	go srv.Start()
	// A restart recovers the streams from disk, which under the race
	// detector, beside the rest of the suite on two cores, took over 10 s.
	if !srv.ReadyForConnections(time.Minute) {
		srv.Shutdown()
		n.tb.Fatal("NATS did not start within a minute")
	}
	n.srv = srv
}

// freePort returns a loopback port that was free a moment ago.
func freePort(tb testing.TB) int {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// mustRegistry returns the embedding registry of a worker process on bus.
func mustRegistry(tb testing.TB, bus *natsbus.Bus) *embed.Registry {
	tb.Helper()
	states, err := bus.EmbeddingStore(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	return embed.NewRegistry(states, nil)
}

// mustCreateLive creates in vectors the live collection that the catalog
// recorded in the shared state (the catalog made it in its own store), as
// a shared Qdrant would hold it, and returns its name.
func mustCreateLive(tb testing.TB, reg *embed.Registry, vectors *vectordb.Local) string {
	tb.Helper()
	ctx := context.Background()
	s, err := reg.State(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	if err := vectors.CreateCollection(ctx, s.Live.Collection, s.Live.Dimensions); err != nil {
		tb.Fatal(err)
	}
	return s.Live.Collection
}

// runWorker consumes jobs with w until ctx ends; the channel closes then.
func runWorker(ctx context.Context, bus *natsbus.Bus, jobs natsbus.ConsumerConfig, w *embed.Worker) <-chan struct{} {
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		_ = bus.Consume(ctx, jobs, natsbus.JSONBatch(w.Handle))
	}()
	return stopped
}

// itemLines is a JSON Lines batch of n items with external ids
// prefix-from … prefix-(from+n-1), titled with title.
func itemLines(prefix string, from, n int, title string) string {
	var b strings.Builder
	for i := from; i < from+n; i++ {
		fmt.Fprintf(&b, `{"external_id":"%s-%d","type":"movie","title":"%s %d","description":"A story about travel number %d.","genres":["drama"],"tags":["space"],"year":2001}`+"\n", prefix, i, title, i, i)
	}
	return b.String()
}

// postItems sends a batch and checks the counts the API reports.
func postItems(t *testing.T, url, lines string, created, updated int) {
	t.Helper()
	res, err := http.Post(url+"/v1/items/batch", "application/x-ndjson", strings.NewReader(lines))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	var r mediarec.BatchResult
	if err := json.Unmarshal(body, &r); res.StatusCode != 200 || err != nil || r.Created != created || r.Updated != updated || len(r.Failed) != 0 {
		t.Fatalf("POST /v1/items/batch = %d %s; want %d created, %d updated", res.StatusCode, body, created, updated)
	}
}

func fetchEmbeddingStats(url string) (embeddingStats, error) {
	var s embeddingStats
	res, err := http.Get(url + "/v1/admin/embedding")
	if err != nil {
		return s, err
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if err := json.Unmarshal(body, &s); res.StatusCode != 200 || err != nil {
		return s, fmt.Errorf("embedding stats %d: %s", res.StatusCode, body)
	}
	return s, nil
}

// itemStatuses counts the catalog's items per embedding status, from the
// item list alone.
func itemStatuses(t *testing.T, url string) map[mediarec.EmbeddingStatus]int {
	t.Helper()
	status, body := get(t, url+"/v1/items?limit=500")
	var page struct {
		Items      []mediarec.Item `json:"items"`
		NextCursor string          `json:"next_cursor"`
	}
	if err := json.Unmarshal([]byte(body), &page); status != 200 || err != nil || page.NextCursor != "" {
		t.Fatalf("GET /v1/items = %d (%v): %.300s", status, err, body)
	}
	counts := map[mediarec.EmbeddingStatus]int{}
	for _, it := range page.Items {
		counts[it.EmbeddingStatus]++
	}
	return counts
}

// waitEmbedded waits until all n items are done and none pending or failed.
func waitEmbedded(t *testing.T, url string, n int, within time.Duration) {
	t.Helper()
	natstest.CheckFor(t, within, func() error {
		s, err := fetchEmbeddingStats(url)
		if err != nil {
			return err
		}
		if s.Done != n || s.Pending != 0 || s.Failed != 0 {
			return fmt.Errorf("embedding stats %+v, want %d done", s, n)
		}
		return nil
	})
}

// fakeVectorWriter is an embed.VectorWriter whose methods call its fields.
type fakeVectorWriter struct {
	upsert func(ctx context.Context, collection string, points []mediarec.VectorPoint) error
	delete func(ctx context.Context, collection string, ids []int64) error
}

func (f *fakeVectorWriter) Upsert(ctx context.Context, collection string, points []mediarec.VectorPoint) error {
	return f.upsert(ctx, collection, points)
}

func (f *fakeVectorWriter) Delete(ctx context.Context, collection string, ids []int64) error {
	if f.delete == nil {
		return nil
	}
	return f.delete(ctx, collection, ids)
}

// syncBuffer is a bytes.Buffer safe for the server's goroutines to log to.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
