package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"mediarec/ingest"
	"mediarec/internal/auth"
)

// benchServer is the all-in-one server a bench measures, in this process
// on a temporary data dir, with the default configuration but for what
// the bench needs to drive it (see startBenchServer).
type benchServer struct {
	m          *Main
	dir        string
	url        string
	keyPath    string // the users service's signing key
	adminToken string
	stop       func()
}

// benchHybridRefit is how often recommendations refit the collaborative
// model on new feedback during the bench (30s by default). Shorter only
// ends the wait for the model sooner: no feedback arrives while the bench
// measures, so the model is not refitted then either way.
const benchHybridRefit = 5 * time.Second

// startBenchServer opens and runs the server. Refits of the local model
// keep their default: the catalog is measured with the fitted model it
// gets in production, not the hashing one it starts with.
func startBenchServer(ctx context.Context, stderr io.Writer) (*benchServer, error) {
	dir, err := os.MkdirTemp("", "mediarec-bench-*")
	if err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	s := &benchServer{dir: dir}
	ok := false
	defer func() {
		if !ok {
			os.RemoveAll(dir)
		}
	}()
	if s.keyPath, s.adminToken, err = newBenchSecrets(dir); err != nil {
		return nil, err
	}
	env := map[string]string{
		"MEDIAREC_DATA_DIR":     dir,
		"MEDIAREC_ADMIN_TOKEN":  s.adminToken,
		"MEDIAREC_SIGNING_KEY":  s.keyPath,
		"MEDIAREC_HYBRID_REFIT": benchHybridRefit.String(),
		"MEDIAREC_LOG_LEVEL":    "error",
	}
	m := NewMain("serve", io.Discard)
	if err := m.ParseConfig([]string{"--addr", "127.0.0.1:0"}, func(k string) string { return env[k] }, stderr); err != nil {
		return nil, fmt.Errorf("server config: %w", err)
	}
	if err := m.Open(ctx); err != nil {
		m.Close()
		return nil, fmt.Errorf("open the server: %w", err)
	}
	if m.Users == nil {
		m.Close()
		return nil, fmt.Errorf("the all-in-one server runs no users service")
	}
	runCtx, cancel := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- m.Run(runCtx) }()
	s.m, s.url = m, m.URL()
	s.stop = func() {
		cancel()
		if err := <-served; err != nil {
			fmt.Fprintf(stderr, "mediarec bench: server: %v\n", err)
		}
		m.Close()
		os.RemoveAll(dir)
	}
	ok = true
	return s, nil
}

// newBenchSecrets writes the users service's signing key into dir and
// returns its path and an admin token: the bench signs its users' tokens
// with the key, as the users service does, and writes the catalog as an
// operator with the token.
func newBenchSecrets(dir string) (keyPath, adminToken string, _ error) {
	keyPath = filepath.Join(dir, "signing-key.pem")
	if _, err := auth.LoadOrCreateKey(keyPath); err != nil {
		return "", "", fmt.Errorf("signing key: %w", err)
	}
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", "", fmt.Errorf("admin token: %w", err)
	}
	return keyPath, hex.EncodeToString(b), nil
}

// ingest loads the JSON Lines catalog through the batch API, as an
// operator would with mediarec ingest.
func (s *benchServer) ingest(ctx context.Context, path string, progress io.Writer) error {
	rep, err := ingest.Run(ctx, ingest.Options{Server: s.url, Token: s.adminToken, Progress: progress}, "jsonl", []string{path})
	if err != nil {
		return fmt.Errorf("load the catalog: %w", err)
	}
	if failed := len(rep.Failed) + rep.MoreFailed; failed > 0 {
		return fmt.Errorf("load the catalog: %d of %d items failed", failed, rep.Items)
	}
	return nil
}

// embeddingStatus is GET /v1/admin/embedding.
type embeddingStatus struct {
	Model      string `json:"model"`
	Dimensions int    `json:"dimensions"`
	Collection string `json:"collection"`
	Pending    int    `json:"pending"`
	Done       int    `json:"done"`
	Failed     int    `json:"failed"`
	// Reembed is present while a re-embedding fits or fills its target.
	Reembed *struct {
		Fitting bool `json:"fitting"`
		Done    int  `json:"done"`
		Total   int  `json:"total"`
	} `json:"reembed"`
}

func (s *benchServer) embedding(ctx context.Context) (embeddingStatus, error) {
	var st embeddingStatus
	if err := getJSON(ctx, s.url+"/v1/admin/embedding", s.adminToken, &st); err != nil {
		return st, fmt.Errorf("embedding status: %w", err)
	}
	return st, nil
}

// waitEmbedded waits until every item has been through the first model,
// and returns the counts. A failed item is reported, not fatal: it is one
// the catalog serves without a vector, as in production.
func (s *benchServer) waitEmbedded(ctx context.Context, items int) (embeddingStatus, error) {
	var last embeddingStatus
	err := waitFor(ctx, "embedding", func() (bool, string, error) {
		st, err := s.embedding(ctx)
		if err != nil {
			return false, "", err
		}
		last = st
		return st.Done+st.Failed >= items && st.Pending == 0, fmt.Sprintf("%d of %d items embedded", st.Done+st.Failed, items), nil
	})
	return last, err
}

// waitFitted waits until the refit that a settled catalog triggers has
// replaced the hashing model: the live model is a fitted one and no
// re-embedding is under way. It returns that status.
func (s *benchServer) waitFitted(ctx context.Context) (embeddingStatus, error) {
	var last embeddingStatus
	err := waitFor(ctx, "refit of the local model", func() (bool, string, error) {
		st, err := s.embedding(ctx)
		if err != nil {
			return false, "", err
		}
		last = st
		progress := "model " + st.Model
		if st.Reembed != nil {
			progress += fmt.Sprintf(", re-embedding %d of %d (fitting %t)", st.Reembed.Done, st.Reembed.Total, st.Reembed.Fitting)
		}
		fitted := !strings.HasPrefix(st.Model, "hashing-") && st.Reembed == nil && st.Pending == 0
		return fitted, progress, nil
	})
	return last, err
}

// waitHybrid waits until a recommendation for the sentinel user takes the
// hybrid path. Its one rating, on an item no one else rated, was written
// after every replayed rating; the outbox, the stream and the ledger keep
// that order, so a collaborative model that knows the item was fitted on
// all of them.
func (s *benchServer) waitHybrid(ctx context.Context, sentinelToken string) error {
	u := s.url + "/v1/recommendations?limit=10"
	return waitFor(ctx, "hybrid index with the replayed ratings", func() (bool, string, error) {
		before, err := s.recsCounters(ctx)
		if err != nil {
			return false, "", err
		}
		if err := getJSON(ctx, u, sentinelToken, nil); err != nil {
			return false, "", fmt.Errorf("probe recommendation: %w", err)
		}
		after, err := s.recsCounters(ctx)
		if err != nil {
			return false, "", err
		}
		return after["hybrid"] > before["hybrid"], "not yet", nil
	})
}

// recsCounters reads from /metrics the recommendation answers by path
// (mediarec_recommendations_total) and, as "hits", those given again from
// the answer cache (mediarec_cache_hits_total).
func (s *benchServer) recsCounters(ctx context.Context) (map[string]float64, error) {
	body, err := send(ctx, http.MethodGet, s.url+"/metrics", "", "")
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	paths, err := parseSamples(body, "mediarec_recommendations_total", "path")
	if err != nil {
		return nil, err
	}
	hits, err := parseSamples(body, "mediarec_cache_hits_total", "cache")
	if err != nil {
		return nil, err
	}
	paths[cacheHits] = hits["recommendations"]
	return paths, nil
}

// cacheHits is recsCounters' key of the answer cache's hits.
const cacheHits = "hits"

// parseSamples picks the samples of the counter metric out of the
// Prometheus text format, summed by the value of label.
func parseSamples(body []byte, metric, label string) (map[string]float64, error) {
	name := metric + "{"
	out := map[string]float64{}
	sc := bufio.NewScanner(bytes.NewReader(body))
	for sc.Scan() {
		line := sc.Text()
		rest, ok := strings.CutPrefix(line, name)
		if !ok {
			continue
		}
		labels, value, ok := strings.Cut(rest, "} ")
		_, key, found := strings.Cut(labels, label+`="`)
		key, _, closed := strings.Cut(key, `"`)
		if !ok || !found || !closed {
			return nil, fmt.Errorf("metrics: unexpected line %q", line)
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil {
			return nil, fmt.Errorf("metrics: line %q: %w", line, err)
		}
		out[key] += v
	}
	return out, sc.Err()
}

// benchStall is how long a setup phase may show no progress before the
// bench gives up. Fitting the local model at a million items shows none
// for minutes.
const benchStall = 30 * time.Minute

// waitFor polls check until it reports done, fails, or its progress text
// stays the same for benchStall.
func waitFor(ctx context.Context, what string, check func() (done bool, progress string, err error)) error {
	last, since := "", time.Now()
	for {
		done, progress, err := check()
		if err != nil {
			return fmt.Errorf("wait for %s: %w", what, err)
		}
		if done {
			return nil
		}
		if progress != last {
			last, since = progress, time.Now()
		} else if time.Since(since) > benchStall {
			return fmt.Errorf("wait for %s: no progress in %s (%s)", what, benchStall, progress)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}
