// Package eval measures recommenders offline on a ratings data set, the
// baselines side by side with what the service serves.
//
// The protocol: each user's ratings, sorted by time, are split into the
// earlier 80% (train) and the latest 20% (test, rounded up, at least one
// rating); test ratings of 4 stars or more are the positives, and users
// without a positive are skipped. Every method ranks the whole catalog
// but the user's train items, with no sampled negatives, and is scored on
// its top k.
package eval

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"mediarec"
	"mediarec/internal/collab"
	"mediarec/internal/recs"
)

// DefaultK is the default cut-off of the ranking metrics.
const DefaultK = 10

// Options are the parameters of a run; the zero value of a field means
// its default.
type Options struct {
	K          int      // cut-off, default DefaultK
	Methods    []string // methods to run, in order; default Methods()
	ContentDim int      // dimension of the content vectors, default DefaultContentDim
	Hybrid     collab.Options
	Seed       uint64       // of the random baseline
	Log        *slog.Logger // progress, one line per method; nil for none
	// Store is the vector store the served methods read the content
	// vectors from, as requests do (a Qdrant collection, say); nil means
	// the in-process index, the default of the service. The hybrid index
	// is always in-process: each recs process keeps its own.
	Store recs.VectorStore
}

// Summary describes the data a run evaluated.
type Summary struct {
	Items     int // catalog size
	Ratings   int
	Users     int // users with ratings
	Evaluated int // users with at least one test positive
	Train     int // train ratings
	Positives int // test positives of the evaluated users
}

// Result is one method's metrics.
type Result struct {
	Method  string
	Metrics Metrics
	Elapsed time.Duration // fit and rank
	// Exact names the exact counterpart of a served method, when it ran;
	// Agreement is then the mean share of the served top k that the exact
	// top k holds too.
	Exact     string
	Agreement float64
	lists     [][]int
}

// Report is the outcome of a run.
type Report struct {
	K       int
	Data    Summary
	Results []Result
}

// Run splits the data set in time and evaluates every method on it.
// Errors: EINVALID for an unknown method or a K below 1.
func Run(ctx context.Context, ds *Dataset, opts Options) (*Report, error) {
	if opts.K == 0 {
		opts.K = DefaultK
	}
	if opts.K < 1 {
		return nil, mediarec.Errorf(mediarec.EINVALID, "k must be at least 1, got %d.", opts.K)
	}
	if opts.Methods == nil {
		opts.Methods = Methods()
	}
	if opts.ContentDim == 0 {
		opts.ContentDim = DefaultContentDim
	}
	for _, name := range opts.Methods {
		if methodFit(name) == nil {
			return nil, mediarec.Errorf(mediarec.EINVALID, "Unknown method %q: want one of %v.", name, Methods())
		}
	}
	tr := &trainSet{ds: ds, users: TemporalSplit(ds.Ratings), counts: make([]int, len(ds.Items)),
		seed: opts.Seed, dim: opts.ContentDim, hybrid: opts.Hybrid, store: opts.Store}
	defer tr.closeServed()
	rep := &Report{K: opts.K, Data: Summary{Items: len(ds.Items), Ratings: len(ds.Ratings), Users: len(tr.users)}}
	var eval []int
	for i, u := range tr.users {
		for _, r := range u.Train {
			tr.counts[r.Item]++
		}
		tr.total += len(u.Train)
		if len(u.Positives) > 0 {
			eval = append(eval, i)
			rep.Data.Positives += len(u.Positives)
		}
	}
	rep.Data.Train, rep.Data.Evaluated = tr.total, len(eval)
	genres := genreIDs(ds)
	for _, name := range opts.Methods {
		start := time.Now()
		m, lists, err := evaluate(ctx, tr, methodFit(name), eval, opts.K, genres)
		if err != nil {
			return nil, fmt.Errorf("evaluate %s: %w", name, err)
		}
		res := Result{Method: name, Metrics: m, Elapsed: time.Since(start), lists: lists}
		if opts.Log != nil {
			opts.Log.Info("evaluated", "method", name, "ndcg", m.NDCG, "recall", m.Recall, "took", res.Elapsed.Round(time.Millisecond))
		}
		rep.Results = append(rep.Results, res)
	}
	for i, res := range rep.Results {
		for _, other := range rep.Results {
			if other.Method == exactOf(res.Method) {
				rep.Results[i].Exact = other.Method
				rep.Results[i].Agreement = agreement(res.lists, other.lists, opts.K)
			}
		}
	}
	return rep, nil
}

// genreIDs returns every item's genres as sorted ids.
func genreIDs(ds *Dataset) [][]int {
	ids := make(map[string]int)
	out := make([][]int, len(ds.Items))
	for i, it := range ds.Items {
		for _, g := range it.Genres {
			id, ok := ids[g]
			if !ok {
				id = len(ids)
				ids[g] = id
			}
			out[i] = append(out[i], id)
		}
		slices.Sort(out[i])
		out[i] = slices.Compact(out[i])
	}
	return out
}

// evaluate fits a method and scores its top k for every evaluated user,
// the users spread over all processors. It returns each user's list too.
func evaluate(ctx context.Context, tr *trainSet, fit fitFunc, eval []int, k int, genres [][]int) (Metrics, [][]int, error) {
	rank, err := fit(ctx, tr, eval)
	if err != nil {
		return Metrics{}, nil, err
	}
	n := len(tr.ds.Items)
	type userResult struct {
		ndcg, recall, diversity, novelty float64
		list                             []int
	}
	results := make([]userResult, len(eval))
	var next atomic.Int64
	var failed atomic.Pointer[error]
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(eval) || ctx.Err() != nil || failed.Load() != nil {
					return
				}
				u := tr.users[eval[i]]
				list, err := rank(ctx, eval[i], k)
				if err != nil {
					failed.CompareAndSwap(nil, &err)
					return
				}
				results[i] = userResult{
					ndcg:      ndcg(list, u.Positives, k),
					recall:    recall(list, u.Positives, k),
					diversity: diversity(list, genres),
					novelty:   novelty(list, tr.counts, tr.total),
					list:      list,
				}
			}
		})
	}
	wg.Wait()
	if err := failed.Load(); err != nil {
		return Metrics{}, nil, *err
	}
	if err := ctx.Err(); err != nil {
		return Metrics{}, nil, err
	}
	var m Metrics
	seen := make([]bool, n)
	distinct := 0
	lists := make([][]int, len(results))
	for i, r := range results {
		m.NDCG += r.ndcg
		m.Recall += r.recall
		m.Diversity += r.diversity
		m.Novelty += r.novelty
		lists[i] = r.list
		for _, it := range r.list {
			if !seen[it] {
				seen[it] = true
				distinct++
			}
		}
	}
	if len(results) > 0 {
		users := float64(len(results))
		m.NDCG /= users
		m.Recall /= users
		m.Diversity /= users
		m.Novelty /= users
	}
	if n > 0 {
		m.Coverage = float64(distinct) / float64(n)
	}
	return m, lists, nil
}

// agreement is the mean share of a's top k that b's top k holds too.
func agreement(a, b [][]int, k int) float64 {
	if len(a) == 0 {
		return 0
	}
	var sum float64
	for i := range a {
		shared := 0
		for _, it := range a[i] {
			if slices.Contains(b[i], it) {
				shared++
			}
		}
		sum += float64(shared) / float64(k)
	}
	return sum / float64(len(a))
}

// topK returns the indices of the k highest scores that are not excluded,
// best first, ties to the lower index. NaN scores rank last.
func topK(scores []float64, excluded []bool, k int) []int {
	top := make([]int, 0, k)
	better := func(a, b int) bool {
		sa, sb := scores[a], scores[b]
		return sa > sb || sa == sb && a < b
	}
	for i, s := range scores {
		if excluded[i] {
			continue
		}
		if math.IsNaN(s) {
			scores[i] = math.Inf(-1)
		}
		if len(top) == k && !better(i, top[k-1]) {
			continue
		}
		if len(top) < k {
			top = append(top, i)
		} else {
			top[k-1] = i
		}
		for j := len(top) - 1; j > 0 && better(top[j], top[j-1]); j-- {
			top[j], top[j-1] = top[j-1], top[j]
		}
	}
	return top
}
