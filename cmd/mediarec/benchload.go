package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"

	"mediarec/internal/recs"
)

// benchRoute is one route under load and how a client draws its next
// request.
type benchRoute struct {
	name string
	// recommendations is whether answers are counted by path in
	// mediarec_recommendations_total.
	recommendations bool
	// uncached turns the recommender's answer cache off for the run, so
	// that every answer is computed.
	uncached bool
	next     func(r *rand.Rand) (url, token string)
}

// benchRoutes are the two read paths: recommendations for users drawn
// uniformly from the replayed ones, the heaviest raters among them, as
// served (a returning user's list comes from the answer cache while their
// tastes are unchanged) and with every answer computed (a user's first
// visit of the day, or the list after a like); and searches drawn from the
// distinct queries.
func benchRoutes(server string, tokens, queries []string) []benchRoute {
	recommend := func(r *rand.Rand) (string, string) {
		return server + "/v1/recommendations?limit=10&diversity=0.3", tokens[r.IntN(len(tokens))]
	}
	return []benchRoute{
		{name: "GET /v1/recommendations", recommendations: true, next: recommend},
		{name: "GET /v1/recommendations, uncached", recommendations: true, uncached: true, next: recommend},
		{name: "GET /v1/search", next: func(r *rand.Rand) (string, string) {
			return server + "/v1/search?limit=10&q=" + url.QueryEscape(queries[r.IntN(len(queries))]), ""
		}},
	}
}

// loadResult is one route at one client count.
type loadResult struct {
	route    string
	clients  int
	requests int // answered 200
	errors   int
	firstErr error
	elapsed  time.Duration
	p50, p99 time.Duration
	// hybrid is the share of recommendation answers that took the hybrid
	// path during the run, cached the share given again from the answer
	// cache; both -1 for a route that is not recommendations.
	hybrid, cached float64
}

// run loads rt with clients for d and reads the answers' paths from
// /metrics before and after.
func (s *benchServer) run(ctx context.Context, rt benchRoute, clients int, d time.Duration, seed uint64) (loadResult, error) {
	res := loadResult{route: rt.name, clients: clients, hybrid: -1, cached: -1}
	var before map[string]float64
	if rt.recommendations {
		var err error
		if before, err = s.recsCounters(ctx); err != nil {
			return res, err
		}
	}
	if rt.uncached {
		s.m.Recommender.CacheAnswers(0)
		defer s.m.Recommender.CacheAnswers(s.m.Config.RecsCache)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}, Timeout: 10 * time.Second}
	defer client.CloseIdleConnections()
	start := time.Now()
	lat, errs, firstErr := load(ctx, client, rt.next, d, clients, seed)
	res.elapsed = time.Since(start)
	res.requests, res.errors, res.firstErr = len(lat), errs, firstErr
	if len(lat) == 0 {
		return res, fmt.Errorf("%s with %d clients: %w (first error: %w)", rt.name, clients, errNoSuccess, firstErr)
	}
	slices.Sort(lat)
	res.p50, res.p99 = latencyAt(lat, 0.50), latencyAt(lat, 0.99)
	if rt.recommendations {
		after, err := s.recsCounters(ctx)
		if err != nil {
			return res, err
		}
		res.hybrid, res.cached = shares(before, after)
	}
	return res, nil
}

// latencyAt reads the p-quantile of sorted latencies.
func latencyAt(sorted []time.Duration, p float64) time.Duration {
	return sorted[int(p*float64(len(sorted)-1))]
}

// shares are the shares of the answers between two scrapes of
// recsCounters that took the hybrid path and that came from the cache.
func shares(before, after map[string]float64) (hybrid, cached float64) {
	var all float64
	for path, n := range after {
		if path != cacheHits {
			all += n - before[path]
		}
	}
	if all == 0 {
		return 0, 0
	}
	return (after[recs.PathHybrid] - before[recs.PathHybrid]) / all, (after[cacheHits] - before[cacheHits]) / all
}

// load sends requests from clients goroutines for d and returns the
// latencies of the successful ones, the number of failures and the first.
func load(ctx context.Context, client *http.Client, next func(*rand.Rand) (string, string), d time.Duration, clients int, seed uint64) ([]time.Duration, int, error) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var (
		mu       sync.Mutex
		all      []time.Duration
		errs     int
		firstErr error
		wg       sync.WaitGroup
	)
	for w := range clients {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(seed, uint64(w)))
			var lat []time.Duration
			failed, first := 0, error(nil)
			for ctx.Err() == nil {
				u, token := next(r)
				start := time.Now()
				if err := benchGet(ctx, client, u, token); err != nil {
					if ctx.Err() == nil { // not the end of the run
						failed++
						first = cmpErr(first, err)
					}
					continue
				}
				lat = append(lat, time.Since(start))
			}
			mu.Lock()
			all, errs, firstErr = append(all, lat...), errs+failed, cmpErr(firstErr, first)
			mu.Unlock()
		})
	}
	wg.Wait()
	return all, errs, firstErr
}

// cmpErr keeps the first error seen.
func cmpErr(first, err error) error {
	if first != nil {
		return first
	}
	return err
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
		return fmt.Errorf("read the answer: %w", err)
	}
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: status %d", req.URL.Path, res.StatusCode)
	}
	return nil
}
