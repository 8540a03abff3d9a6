package vectordb_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/qdrant/go-client/qdrant"

	"mediarec"
	"mediarec/internal/vectordb"
	"mediarec/internal/vectordb/vectordbtest"
)

// TestQdrantRealRecall measures the adapter's searches on a real Qdrant
// against an exact search in Go, once Qdrant has built its HNSW graph: the
// conformance suite's collections are too small for Qdrant to build one, so
// it never sees an approximate answer. Opt in with TEST_QDRANT_URL (as
// TestQdrantReal); .github/workflows/qdrant.yml runs it.
func TestQdrantRealRecall(t *testing.T) {
	endpoint := cmp.Or(os.Getenv("TEST_QDRANT_URL"), os.Getenv("QDRANT_URL"))
	if endpoint == "" {
		t.Skip("set TEST_QDRANT_URL to a Qdrant gRPC endpoint, e.g. http://127.0.0.1:6334, to run")
	}
	apiKey := cmp.Or(os.Getenv("TEST_QDRANT_API_KEY"), os.Getenv("QDRANT_API_KEY"))
	const (
		n, nq, dim, k = 20_000, 100, 128, 10
		coll          = "recall"
	)
	prefix := realPrefix("recall")
	q := mustQdrant(t, vectordb.QdrantConfig{
		URL:              endpoint,
		APIKey:           apiKey,
		CollectionPrefix: prefix,
		// 1 KB: every segment of two vectors or more gets its graph as
		// soon as the optimiser reaches it, instead of past Qdrant's
		// default of 10 MB (20,000 of these vectors) per segment.
		IndexingThreshold: 1,
		HNSWEf:            128,
		// Upserts of 4,096 vectors race the optimiser for the runner's
		// two cores.
		Timeout: time.Minute,
	})
	realReachable(t, q, endpoint)
	first, _, _ := strings.Cut(endpoint, ",")
	raw := realRawClient(t, first, apiKey)
	full := prefix + coll
	ctx := t.Context()

	if err := q.CreateCollection(ctx, coll, dim); err != nil {
		t.Fatalf("create collection: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := q.DeleteCollection(ctx, coll); err != nil {
			t.Errorf("drop collection %s: %v", full, err)
		}
	})
	info, err := raw.GetCollectionInfo(ctx, full)
	if err != nil {
		t.Fatalf("collection info: %v", err)
	}
	if got := info.GetConfig().GetOptimizerConfig().GetIndexingThreshold(); got != 1 {
		t.Fatalf("indexing threshold %d KB, want the 1 of QdrantConfig.IndexingThreshold", got)
	}
	// Qdrant scans a segment instead of walking its graph while the
	// segment holds fewer vectors than full_scan_threshold (10 MB by
	// default, so every segment here): without this the recall below would
	// be an exact search's. The adapter has no setting for it (production
	// collections are larger), so the raw client lowers it to Qdrant's
	// minimum before any point arrives.
	err = raw.UpdateCollection(ctx, &qdrant.UpdateCollection{
		CollectionName: full,
		HnswConfig:     &qdrant.HnswConfigDiff{FullScanThreshold: qdrant.PtrOf(uint64(10))},
	})
	if err != nil {
		t.Fatalf("lower full_scan_threshold: %v", err)
	}

	pts, queries := realRecallData(42, n, nq, dim)
	start := time.Now()
	if err := q.Upsert(ctx, coll, pts); err != nil {
		t.Fatalf("upsert %d points: %v", n, err)
	}
	t.Logf("upserted %d points in %v", n, time.Since(start).Round(time.Millisecond))

	// The adapter sends the points in requests of thousands, each applied
	// to one segment, so no segment is left under the 1 KB threshold, and
	// every point ends up in a graph.
	start = time.Now()
	realCheckFor(t, 5*time.Minute, 250*time.Millisecond, func() error {
		info, err = raw.GetCollectionInfo(ctx, full)
		switch {
		case err != nil:
			return err
		case info.GetStatus() != qdrant.CollectionStatus_Green || info.GetPointsCount() != n || info.GetIndexedVectorsCount() != info.GetPointsCount():
			return fmt.Errorf("collection %s: status %s, %d of %d points indexed, want green and all %d",
				full, info.GetStatus(), info.GetIndexedVectorsCount(), info.GetPointsCount(), n)
		}
		return nil
	})
	t.Logf("indexed in %v: %d segments, %d vectors in graphs", time.Since(start).Round(time.Millisecond), info.GetSegmentsCount(), info.GetIndexedVectorsCount())
	if info.GetIndexedVectorsCount() == 0 {
		t.Fatalf("no graph was built: %d indexed vectors", info.GetIndexedVectorsCount())
	}

	vecs := make(map[int64][]float32, n)
	types := make(map[int64]mediarec.ItemType, n)
	for _, p := range pts {
		vecs[p.ID], types[p.ID] = p.Vector, p.Payload.Type
	}
	books := mediarec.VectorFilter{Types: []mediarec.ItemType{mediarec.TypeBook}}
	for _, tt := range []struct {
		name   string
		filter mediarec.VectorFilter
		min    float64
	}{
		{"all", mediarec.VectorFilter{}, 0.95},
		// A quarter of the points: Qdrant walks the graph with the extra
		// links it builds per indexed keyword, so recall is a little lower.
		{"books", books, 0.90},
	} {
		t.Run(tt.name, func(t *testing.T) {
			found := 0
			for i, qv := range queries {
				hits, err := q.Search(ctx, coll, qv, k, tt.filter)
				if err != nil {
					t.Fatalf("query %d: %v", i, err)
				}
				if len(hits) != k {
					t.Fatalf("query %d: %d hits, want %d", i, len(hits), k)
				}
				for j, h := range hits {
					if len(tt.filter.Types) > 0 && !slices.Contains(tt.filter.Types, types[h.ID]) {
						t.Fatalf("query %d: hit %d is a %s, outside the filter %v", i, h.ID, types[h.ID], tt.filter.Types)
					}
					if want := realDot(vecs[h.ID], qv); math.Abs(float64(h.Score)-want) > 1e-3 {
						t.Fatalf("query %d: hit %d scores %v, its cosine similarity is %v", i, h.ID, h.Score, want)
					}
					if j > 0 && h.Score > hits[j-1].Score {
						t.Fatalf("query %d: hits out of order: %v", i, hitIDs(hits))
					}
				}
				exact := vectordbtest.ExactSearch(pts, qv, k, tt.filter)
				for _, h := range hits {
					if slices.Contains(exact, h.ID) {
						found++
					}
				}
			}
			recall := float64(found) / float64(k*len(queries))
			t.Logf("recall@%d = %.4f over %d queries (hnsw_ef 128)", k, recall, len(queries))
			if recall < tt.min {
				t.Errorf("recall@%d = %.4f, want at least %.2f", k, recall, tt.min)
			}
		})
	}
}

// realRecallData draws points and queries from one distribution: 40 topics
// in a 24-dimensional subspace whose directions carry falling variance (as
// the spectrum of real embeddings falls), each point its topic's centre
// plus a spread wider than the gaps between centres, plus noise in all
// dimensions. Neighbours are thus neither well separated clusters (easy
// for a graph) nor isotropic noise. The type follows the topic 70% of the
// time, so a type filter cuts across neighbourhoods.
func realRecallData(seed uint64, n, nq, dim int) ([]mediarec.VectorPoint, [][]float32) {
	const latent, topics, noise = 24, 40, 0.15
	rng := rand.New(rand.NewPCG(seed, seed+1))
	basis := make([][]float64, latent)
	scale := make([]float64, latent)
	for j := range basis {
		basis[j] = make([]float64, dim)
		for i := range basis[j] {
			basis[j][i] = rng.NormFloat64() / math.Sqrt(float64(dim))
		}
		scale[j] = 1 / math.Sqrt(1+float64(j)/4)
	}
	centres := make([][]float64, topics)
	for c := range centres {
		centres[c] = make([]float64, latent)
		for j := range centres[c] {
			centres[c][j] = 0.8 * scale[j] * rng.NormFloat64()
		}
	}
	kinds := []mediarec.ItemType{mediarec.TypeMovie, mediarec.TypeBook, mediarec.TypePodcast, mediarec.TypeDocumentary}
	draw := func() ([]float32, int) {
		c := rng.IntN(topics)
		v := make([]float32, dim)
		for i := range v {
			v[i] = float32(noise * rng.NormFloat64())
		}
		for j, b := range basis {
			z := centres[c][j] + scale[j]*rng.NormFloat64()
			for i := range v {
				v[i] += float32(z * b[i])
			}
		}
		return annUnit(v), c
	}
	pts := make([]mediarec.VectorPoint, n)
	for i := range pts {
		v, c := draw()
		typ := kinds[c%len(kinds)]
		if rng.Float64() < 0.3 {
			typ = kinds[rng.IntN(len(kinds))]
		}
		pts[i] = mediarec.VectorPoint{
			ID:     int64(i),
			Vector: v,
			Payload: mediarec.VectorPayload{
				Type:   typ,
				Genres: []string{"topic-" + strconv.Itoa(c)},
				Tags:   []string{},
				Year:   1950 + rng.IntN(75),
			},
		}
	}
	queries := make([][]float32, nq)
	for i := range queries {
		queries[i], _ = draw()
	}
	return pts, queries
}

// TestQdrantCluster checks that a 3-peer Qdrant keeps answering the adapter
// when a peer stops: collections made with 2 replicas of each shard, an
// adapter given every peer's URL. Opt in with TEST_QDRANT_CLUSTER_URLS
// (the peers' gRPC URLs, comma-separated) and TEST_QDRANT_STOP_NODE (a
// shell command, run from the module root, that stops one peer for good);
// .github/workflows/qdrant.yml runs it on docker/qdrant-cluster.yaml:
//
//	docker compose -f docker/qdrant-cluster.yaml up -d --wait
//	TEST_QDRANT_CLUSTER_URLS=http://127.0.0.1:6354,http://127.0.0.1:6334,http://127.0.0.1:6344 \
//	TEST_QDRANT_STOP_NODE='docker compose -f docker/qdrant-cluster.yaml stop qdrant-3' \
//	go test -count=1 -run '^TestQdrantCluster$' ./internal/vectordb/
//	docker compose -f docker/qdrant-cluster.yaml down -v
//
// The peer stopped there is the adapter's first URL, so the test also shows
// that the adapter leaves it for the others. It is qdrant-3, the last to
// join, because compose also stops the services that depend on the one it
// stops.
func TestQdrantCluster(t *testing.T) {
	urls, stop := os.Getenv("TEST_QDRANT_CLUSTER_URLS"), os.Getenv("TEST_QDRANT_STOP_NODE")
	if urls == "" || stop == "" {
		t.Skip("set TEST_QDRANT_CLUSTER_URLS (the peers' gRPC URLs, comma-separated) and TEST_QDRANT_STOP_NODE (a command that stops one peer) to run")
	}
	var endpoints []string
	for u := range strings.SplitSeq(urls, ",") {
		if u = strings.TrimSpace(u); u != "" {
			endpoints = append(endpoints, u)
		}
	}
	if len(endpoints) < 3 {
		t.Fatalf("TEST_QDRANT_CLUSTER_URLS names %d peers, want 3: with 2 replicas, losing one of 2 peers loses the consensus majority", len(endpoints))
	}
	apiKey := os.Getenv("TEST_QDRANT_API_KEY")
	const (
		coll           = "points"
		dim, n, extra  = 32, 3000, 100
		shards, copies = 3, 2
	)
	prefix := realPrefix("cluster")
	q := mustQdrant(t, vectordb.QdrantConfig{
		URL:                    urls,
		APIKey:                 apiKey,
		CollectionPrefix:       prefix,
		ShardNumber:            shards,
		ReplicationFactor:      copies,
		WriteConsistencyFactor: 1,
		// Short, so that an attempt on the stopped peer gives up soon and
		// the adapter moves on to the next URL.
		Timeout: 5 * time.Second,
	})
	realReachable(t, q, urls)
	raws := make([]*qdrant.Client, len(endpoints))
	for i, e := range endpoints {
		raws[i] = realRawClient(t, e, apiKey)
	}
	full := prefix + coll
	ctx := t.Context()

	if err := q.CreateCollection(ctx, coll, dim); err != nil {
		t.Fatalf("create collection: %v", err)
	}
	t.Cleanup(func() {
		// Best effort: the remaining peers hold the majority, but a
		// failed run may have left them without it.
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := q.DeleteCollection(ctx, coll); err != nil {
			t.Logf("drop collection %s: %v", full, err)
		}
	})

	info, err := raws[0].GetCollectionInfo(ctx, full)
	if err != nil {
		t.Fatalf("collection info: %v", err)
	}
	params := info.GetConfig().GetParams()
	if params.GetReplicationFactor() != copies || params.GetShardNumber() != shards || params.GetWriteConsistencyFactor() != 1 {
		t.Fatalf("collection has %d shards, replication factor %d, write consistency %d; want %d, %d, 1",
			params.GetShardNumber(), params.GetReplicationFactor(), params.GetWriteConsistencyFactor(), shards, copies)
	}
	// Each shard's replicas on distinct peers, every peer holding some:
	// otherwise stopping one proves nothing.
	realCheckFor(t, time.Minute, 250*time.Millisecond, func() error {
		peers, active, err := realReplicas(ctx, raws[0], full)
		switch {
		case err != nil:
			return err
		case len(peers) != len(endpoints) || active != shards*copies:
			return fmt.Errorf("%d of %d replicas active, on peers %v; want them on all %d peers", active, shards*copies, peers, len(endpoints))
		}
		t.Logf("replicas per peer: %v", peers)
		return nil
	})

	rng := rand.New(rand.NewPCG(7, 8))
	pts := make([]mediarec.VectorPoint, n+extra)
	for i := range pts {
		v := make([]float32, dim)
		for j := range v {
			v[j] = float32(rng.NormFloat64())
		}
		pts[i] = mediarec.VectorPoint{ID: int64(i), Vector: annUnit(v), Payload: mediarec.VectorPayload{Type: mediarec.TypeMovie, Genres: []string{}, Tags: []string{}}}
	}
	before, after := pts[:n], pts[n:]
	if err := q.Upsert(ctx, coll, before); err != nil {
		t.Fatalf("upsert %d points: %v", n, err)
	}
	// everything checks that every point is stored and that searches reach
	// every shard: a sample of points, spread over the ids and so over the
	// shards, each finds itself first.
	everything := func(ctx context.Context, want []mediarec.VectorPoint) error {
		ids := make([]int64, len(want))
		for i, p := range want {
			ids[i] = p.ID
		}
		got, err := q.Get(ctx, coll, ids)
		if err != nil {
			return fmt.Errorf("get: %w", err)
		}
		if len(got) != len(want) {
			return fmt.Errorf("get %d points: %d came back", len(want), len(got))
		}
		for i := 0; i < len(want); i += len(want)/60 + 1 {
			hits, err := q.Search(ctx, coll, want[i].Vector, 3, mediarec.VectorFilter{})
			if err != nil {
				return fmt.Errorf("search point %d: %w", want[i].ID, err)
			}
			if len(hits) == 0 || hits[0].ID != want[i].ID {
				return fmt.Errorf("search point %d: hits %v, want itself first", want[i].ID, hitIDs(hits))
			}
		}
		return nil
	}
	if err := everything(ctx, before); err != nil {
		t.Fatalf("before the stop: %v", err)
	}

	t.Logf("stopping a peer: %s", stop)
	stopCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(stopCtx, "sh", "-c", stop)
	cmd.Dir = filepath.Join("..", "..") // the module root, where the README's commands run
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("TEST_QDRANT_STOP_NODE: %v\n%s", err, out)
	}
	var live *qdrant.Client
	realCheckFor(t, time.Minute, 500*time.Millisecond, func() error {
		var down []string
		for i, raw := range raws {
			ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
			_, err := raw.HealthCheck(ctx)
			cancel()
			if err != nil {
				down = append(down, endpoints[i])
			} else {
				live = raw
			}
		}
		if len(down) != 1 {
			return fmt.Errorf("peers down: %v, want one after TEST_QDRANT_STOP_NODE", down)
		}
		t.Logf("peer down: %s (the adapter's first URL: %v)", down[0], down[0] == endpoints[0])
		return nil
	})

	// Qdrant takes a moment to mark the stopped peer's replicas dead; until
	// then a write may wait on them. The adapter must route around the
	// stopped peer itself.
	start := time.Now()
	realCheckFor(t, 2*time.Minute, time.Second, func() error {
		ctx, cancel := context.WithTimeout(ctx, 45*time.Second)
		defer cancel()
		if err := everything(ctx, before); err != nil {
			return fmt.Errorf("read after the stop: %w", err)
		}
		if err := q.Upsert(ctx, coll, after); err != nil {
			return fmt.Errorf("upsert after the stop: %w", err)
		}
		return everything(ctx, pts)
	})
	t.Logf("reads and writes through the remaining peers after %v", time.Since(start).Round(time.Millisecond))
	c, err := q.CollectionInfo(ctx, coll)
	if err != nil {
		t.Fatalf("collection info after the stop: %v", err)
	}
	if c.Points != n+extra {
		t.Errorf("%d points after the stop, want %d", c.Points, n+extra)
	}
	if peers, active, err := realReplicas(ctx, live, full); err == nil {
		t.Logf("after the stop: %d replicas active, replicas per peer %v", active, peers)
	}
}

// realReplicas reports, as seen by the peer raw is connected to, how many
// replicas of the collection's shards each peer holds, and how many of all
// are active.
func realReplicas(ctx context.Context, raw *qdrant.Client, collection string) (map[uint64]int, int, error) {
	ci, err := raw.GetCollectionClusterInfo(ctx, collection)
	if err != nil {
		return nil, 0, fmt.Errorf("cluster info of %s: %w", collection, err)
	}
	peers := map[uint64]int{}
	active := 0
	for _, s := range ci.GetLocalShards() {
		peers[ci.GetPeerId()]++
		if s.GetState() == qdrant.ReplicaState_Active {
			active++
		}
	}
	for _, s := range ci.GetRemoteShards() {
		peers[s.GetPeerId()]++
		if s.GetState() == qdrant.ReplicaState_Active {
			active++
		}
	}
	return peers, active, nil
}

// realPrefix returns a collection prefix of its own for one run of a test,
// so that runs against a shared server cannot meet.
func realPrefix(test string) string {
	return fmt.Sprintf("mediarec_test_%s_%08x_", test, rand.Uint32())
}

// realReachable pings the server of q; when it does not answer, the test is
// skipped, or fails under CI=true: the environment asked for it.
func realReachable(t *testing.T, q *vectordb.Qdrant, endpoint string) {
	t.Helper()
	ci := os.Getenv("CI") == "true"
	// A cluster that just started may take a few seconds to answer; a
	// developer's forgotten server need not keep the run waiting.
	wait := 5 * time.Second
	if ci {
		wait = 30 * time.Second
	}
	var err error
	ctx, cancel := context.WithTimeout(t.Context(), wait)
	defer cancel()
	for err = q.Ping(ctx); err != nil && ctx.Err() == nil; err = q.Ping(ctx) {
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
	if err == nil {
		return
	}
	if ci {
		t.Fatalf("Qdrant at %s: %v", endpoint, err)
	}
	t.Skipf("Qdrant at %s does not answer: %v", endpoint, err)
}

// realRawClient opens Qdrant's own client on one gRPC endpoint, for what
// the adapter does not report: indexing progress, replicas, peers.
func realRawClient(tb testing.TB, endpoint, apiKey string) *qdrant.Client {
	tb.Helper()
	if !strings.Contains(endpoint, "://") {
		endpoint = "http://" + endpoint
	}
	u, err := url.Parse(endpoint)
	if err != nil {
		tb.Fatalf("qdrant url %q: %v", endpoint, err)
	}
	port := 6334
	if p := u.Port(); p != "" {
		if port, err = strconv.Atoi(p); err != nil {
			tb.Fatalf("qdrant url %q: port: %v", endpoint, err)
		}
	}
	c, err := qdrant.NewClient(&qdrant.Config{
		Host:                   u.Hostname(),
		Port:                   port,
		APIKey:                 apiKey,
		UseTLS:                 u.Scheme == "https",
		SkipCompatibilityCheck: true,
	})
	if err != nil {
		tb.Fatalf("qdrant client for %s: %v", endpoint, err)
	}
	tb.Cleanup(func() { c.Close() })
	return c
}

// realCheckFor calls f at every tick of interval until it returns nil, and
// fails the test with f's last error once timeout has passed.
func realCheckFor(tb testing.TB, timeout, interval time.Duration, f func() error) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) || errors.Is(err, context.Canceled) {
			tb.Fatalf("after %v: %v", timeout, err)
		}
		<-tick.C
	}
}

// realDot is the cosine similarity of two unit vectors.
func realDot(a, b []float32) float64 {
	var s float64
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}
