package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"sync"
	"text/tabwriter"
	"time"

	"mediarec"
	"mediarec/demo"
	"mediarec/ingest"
)

// runBench measures the read paths over HTTP on loopback: an all-in-one
// server on a temporary data dir with a catalog of --items items (the demo
// catalog, repeated with numbered titles), users who liked a few items
// each, and --concurrency clients per route for --duration.
func runBench(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("mediarec bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	items := fs.Int("items", 100_000, "catalog size")
	duration := fs.Duration("duration", 10*time.Second, "load time per route")
	concurrency := fs.Int("concurrency", 4, "clients in flight per route")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the load phase to this file")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: mediarec bench [flags]\n\nServing benchmark of /v1/recommendations and /v1/search.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return configError(stderr, "bench", err)
	}
	if *items < 100 || *concurrency < 1 || *duration <= 0 || fs.NArg() > 0 {
		fs.Usage()
		return 2
	}
	if err := bench(ctx, *items, *duration, *concurrency, *cpuProfile, stdout, stderr); err != nil {
		fmt.Fprintf(stderr, "mediarec bench: %v\n", err)
		return 1
	}
	return 0
}

func bench(ctx context.Context, n int, duration time.Duration, concurrency int, cpuProfile string, stdout, stderr io.Writer) error {
	dir, err := os.MkdirTemp("", "mediarec-bench-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	// The local model stays the hashing one: a refit would re-embed the
	// catalog during the measurement. Vectors have the same size either way.
	env := func(key string) string {
		switch key {
		case "MEDIAREC_DATA_DIR":
			return dir
		case "MEDIAREC_REFIT_GROWTH":
			return "0"
		case "MEDIAREC_LOG_LEVEL":
			return "error"
		}
		return ""
	}
	m := NewMain("serve", io.Discard)
	if err := m.ParseConfig([]string{"--addr", "127.0.0.1:0"}, env, stderr); err != nil {
		return err
	}
	defer m.Close()
	if err := m.Open(ctx); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- m.Run(ctx) }()
	defer func() { cancel(); <-served }()

	file := filepath.Join(dir, "catalog.jsonl")
	if err := writeBenchCatalog(file, n); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Loading %d items into %s …\n", n, m.URL())
	if _, err := ingest.Run(ctx, ingest.Options{Server: m.URL(), Progress: stderr}, "jsonl", []string{file}); err != nil {
		return fmt.Errorf("load the catalog: %w", err)
	}
	if err := waitForEmbedding(ctx, m.URL(), n, 15*time.Minute); err != nil {
		return err
	}
	// Fewer users than the per-IP register limit allows in a minute.
	tokens, err := benchUsers(ctx, m.URL(), n, 25)
	if err != nil {
		return err
	}

	queries := []string{
		"a documentary about the ocean", "find me something like Interstellar", "space travel",
		"podcast about history", "a funny book about wizards", "crime thriller movie", "astronauts",
		"I want a novel about love and war", "nature documentary", "science podcast",
	}
	routes := []struct {
		name string
		req  func(r *rand.Rand) (string, string)
	}{
		{"GET /v1/recommendations", func(r *rand.Rand) (string, string) {
			return m.URL() + "/v1/recommendations?limit=10&diversity=0.3", tokens[r.IntN(len(tokens))]
		}},
		{"GET /v1/search", func(r *rand.Rand) (string, string) {
			return m.URL() + "/v1/search?limit=10&q=" + url.QueryEscape(queries[r.IntN(len(queries))]), ""
		}},
	}
	if cpuProfile != "" {
		f, err := os.Create(cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: concurrency}, Timeout: 10 * time.Second}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "route\trequests\terrors\treq/s\tp50 ms\tp99 ms\t\n")
	for _, rt := range routes {
		lat, errs := load(ctx, client, rt.req, duration, concurrency)
		if len(lat) == 0 {
			return fmt.Errorf("%s: no request succeeded", rt.name)
		}
		slices.Sort(lat)
		pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))]) / float64(time.Millisecond) }
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.0f\t%.2f\t%.2f\t\n", rt.name, len(lat), errs, float64(len(lat))/duration.Seconds(), pct(0.5), pct(0.99))
	}
	fmt.Fprintf(tw, "(%d items, %d clients per route, %s per route, %d CPUs)\t\t\t\t\t\t\n", n, concurrency, duration, runtime.GOMAXPROCS(0))
	return tw.Flush()
}

// load sends requests from concurrency clients for d and returns the
// latencies of the successful ones and the number of failures.
func load(ctx context.Context, client *http.Client, next func(*rand.Rand) (string, string), d time.Duration, concurrency int) ([]time.Duration, int) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var (
		mu   sync.Mutex
		all  []time.Duration
		errs int
		wg   sync.WaitGroup
	)
	for w := range concurrency {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 7))
			var lat []time.Duration
			failed := 0
			for ctx.Err() == nil {
				u, token := next(r)
				start := time.Now()
				if err := benchGet(ctx, client, u, token); err != nil {
					if ctx.Err() == nil {
						failed++
					}
					continue
				}
				lat = append(lat, time.Since(start))
			}
			mu.Lock()
			all, errs = append(all, lat...), errs+failed
			mu.Unlock()
		})
	}
	wg.Wait()
	return all, errs
}

func benchGet(ctx context.Context, client *http.Client, u, token string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := client.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if _, err := io.Copy(io.Discard, res.Body); err != nil {
		return err
	}
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", res.StatusCode)
	}
	return nil
}

// writeBenchCatalog writes n items: the demo catalog, repeated with
// numbered titles and external ids until there are n.
func writeBenchCatalog(path string, n int) error {
	src, err := demo.Catalog()
	if err != nil {
		return err
	}
	defer src.Close()
	var base []mediarec.Item
	sc := bufio.NewScanner(src)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var it mediarec.Item
		if err := json.Unmarshal(sc.Bytes(), &it); err != nil {
			return err
		}
		base = append(base, it)
	}
	if err := sc.Err(); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	enc := json.NewEncoder(w)
	for i := range n {
		it := base[i%len(base)]
		if round := i / len(base); round > 0 {
			it.ExternalID = fmt.Sprintf("%s#%d", it.ExternalID, round)
			it.Title = fmt.Sprintf("%s, part %d", it.Title, round+1)
		}
		if err := enc.Encode(it); err != nil {
			f.Close()
			return err
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// waitForEmbedding polls the embedding stats until n items are done.
func waitForEmbedding(ctx context.Context, server string, n int, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		var s struct{ Pending, Done, Failed int }
		if err := getJSON(ctx, server+"/v1/admin/embedding", "", &s); err != nil {
			return err
		}
		if s.Done+s.Failed >= n {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("embedding: %d of %d items done after %s", s.Done, n, within)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// benchUsers registers users who each like five random items and follow a
// tag, and returns their tokens.
func benchUsers(ctx context.Context, server string, items, users int) ([]string, error) {
	r := rand.New(rand.NewPCG(1, 2))
	tags := []string{"space", "ocean", "history", "comedy", "crime"}
	tokens := make([]string, users)
	for i := range users {
		var reg struct{ Token string }
		body := fmt.Sprintf(`{"email":"bench%d@example.com","password":"bench-password","display_name":"Bench %d"}`, i, i)
		if err := doJSON(ctx, http.MethodPost, server+"/v1/auth/register", "", body, &reg); err != nil {
			return nil, fmt.Errorf("register: %w", err)
		}
		tokens[i] = reg.Token
		if err := doJSON(ctx, http.MethodPut, server+"/v1/me/preferences", reg.Token, fmt.Sprintf(`{"tags":[%q]}`, tags[i%len(tags)]), nil); err != nil {
			return nil, fmt.Errorf("preferences: %w", err)
		}
		for range 5 {
			body := fmt.Sprintf(`{"item_id":%d,"kind":"like"}`, 1+r.IntN(items))
			if err := doJSON(ctx, http.MethodPost, server+"/v1/me/feedback", reg.Token, body, nil); err != nil {
				return nil, fmt.Errorf("feedback: %w", err)
			}
		}
	}
	return tokens, nil
}
