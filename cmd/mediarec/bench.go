package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"mediarec/internal/synth"
)

// benchConfig is what one run of mediarec bench builds and measures.
type benchConfig struct {
	items      int           // catalog size: the real items first, then synth mixes
	dataDir    string        // the shared data sets (../shared/data)
	seed       uint64        // of the mixes, the queries and the clients' draws
	users      int           // MovieLens users replayed, the first by id; 0 = all 610
	duration   time.Duration // load time per route and client count
	clients    []int         // clients in flight, one run per count and route
	cpuProfile string        // CPU profile of the load runs, when set
	memProfile string        // heap profile after the load runs, when set
}

// runBench measures the read paths over HTTP on loopback, on a server set
// up as an operator would: a catalog of --items distinct items (the shared
// data sets, then synth mixes) loaded through the batch API and embedded by
// the default pipeline up to the fitted local model, and the MovieLens
// users' whole rating histories replayed as feedback, so that
// recommendations take the collaborative (hybrid) path.
func runBench(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("mediarec bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := benchConfig{}
	fs.IntVar(&cfg.items, "items", 1_000_000, "catalog size: the real items of the data sets first, then distinct synth mixes")
	fs.StringVar(&cfg.dataDir, "data", "../shared/data", "directory holding the shared data sets")
	fs.Uint64Var(&cfg.seed, "seed", 1, "seed of the mixes, the queries and the clients' draws")
	fs.IntVar(&cfg.users, "users", 0, "MovieLens users to replay, the first by id; 0 = all 610")
	fs.DurationVar(&cfg.duration, "duration", 20*time.Second, "load time per route and client count")
	clients := fs.String("clients", "4,8", "clients in flight: one run per count and route, comma-separated")
	fs.StringVar(&cfg.cpuProfile, "cpuprofile", "", "write a CPU profile of the load runs to this file")
	fs.StringVar(&cfg.memProfile, "memprofile", "", "write a heap profile to this file after the load runs")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: mediarec bench [flags]\n\nServing benchmark of /v1/recommendations and /v1/search on a catalog\nbuilt, embedded and rated as in production (see BENCHMARKS.md).\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return configError(stderr, "bench", err)
	}
	var err error
	cfg.clients, err = parseClients(*clients)
	if err != nil || cfg.items < 100 || cfg.users < 0 || cfg.duration <= 0 || fs.NArg() > 0 {
		if err != nil {
			fmt.Fprintf(stderr, "mediarec bench: %v\n", err)
		}
		fs.Usage()
		return 2
	}
	if _, err := bench(ctx, cfg, stdout, stderr); err != nil {
		fmt.Fprintf(stderr, "mediarec bench: %v\n", err)
		return 1
	}
	return 0
}

// parseClients reads "4,8" into [4 8].
func parseClients(s string) ([]int, error) {
	var out []int
	for f := range strings.SplitSeq(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("--clients %q: want positive counts separated by commas", s)
		}
		out = append(out, n)
	}
	return out, nil
}

// bench sets the server up phase by phase, printing each with its
// duration (the pipeline time is a result too), then measures, prints the
// report and returns it.
func bench(ctx context.Context, cfg benchConfig, stdout, stderr io.Writer) (*benchReport, error) {
	phases := newPhaseClock(stdout)
	src, err := synth.Load(cfg.dataDir)
	if err != nil {
		return nil, fmt.Errorf("read the data sets: %w", err)
	}
	phases.done("read data sets", "%d real items, %d MovieLens ratings", len(src.Items), len(src.MovieLens.Ratings))

	srv, err := startBenchServer(ctx, stderr)
	if err != nil {
		return nil, err
	}
	defer srv.stop()

	cat, err := writeBenchCatalog(filepath.Join(srv.dir, "catalog.jsonl"), src, cfg.items, cfg.seed)
	if err != nil {
		return nil, fmt.Errorf("write the catalog: %w", err)
	}
	phases.done("catalog written", "%d items (%d real, %d mixes)", cfg.items, len(cat.real), cfg.items-len(cat.real))
	if err := srv.ingest(ctx, cat.path, stderr); err != nil {
		return nil, err
	}
	phases.done("ingest", "%d items through POST /v1/items/batch", cfg.items)
	st, err := srv.waitEmbedded(ctx, cfg.items)
	if err != nil {
		return nil, err
	}
	phases.done("embedded", "%d items embedded by the first model, %d failed", st.Done, st.Failed)
	emb, err := srv.waitFitted(ctx)
	if err != nil {
		return nil, err
	}
	phases.done("refit done", "live model %s, collection %s", emb.Model, emb.Collection)

	replay, err := replayMovieLens(ctx, srv, src.MovieLens, cfg.users)
	if err != nil {
		return nil, err
	}
	phases.done("feedback", "%d users, %d ratings replayed (%d skipped: not in the catalog)", len(replay.tokens), replay.ratings, replay.skipped)
	if err := srv.waitHybrid(ctx, replay.sentinelToken); err != nil {
		return nil, err
	}
	phases.done("hybrid ready", "the collaborative model and its index include every replayed rating")

	queries := benchQueries(cat.real, benchQueryCount, cfg.seed)
	if len(queries) < benchQueryCount {
		fmt.Fprintf(stdout, "note: only %d distinct queries: the catalog's real items allow no more\n", len(queries))
	}
	results, err := measure(ctx, srv, cfg, replay.tokens, queries)
	if err != nil {
		return nil, err
	}
	// Read the model again: the report names the one that answered, and
	// nothing should have replaced it during the runs.
	after, err := srv.embedding(ctx)
	if err != nil {
		return nil, err
	}
	if after.Collection != emb.Collection {
		fmt.Fprintf(stdout, "warning: the live collection changed during the runs, from %s to %s\n", emb.Collection, after.Collection)
	}
	emb = after
	rep := &benchReport{
		results: results, embedding: emb, items: cfg.items, real: len(cat.real),
		users: len(replay.tokens), ratings: replay.ratings, heaviest: replay.heaviest,
		queries: len(queries), phases: phases,
	}
	return rep, printBenchReport(stdout, rep)
}

// measure runs each route at each client count, under the CPU profile when
// one is asked for.
func measure(ctx context.Context, srv *benchServer, cfg benchConfig, tokens, queries []string) ([]loadResult, error) {
	if cfg.cpuProfile != "" {
		f, err := os.Create(cfg.cpuProfile)
		if err != nil {
			return nil, fmt.Errorf("cpu profile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return nil, fmt.Errorf("cpu profile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	var out []loadResult
	for _, rt := range benchRoutes(srv.url, tokens, queries) {
		for _, n := range cfg.clients {
			r, err := srv.run(ctx, rt, n, cfg.duration, cfg.seed)
			if err != nil {
				return nil, err
			}
			out = append(out, r)
		}
	}
	if cfg.memProfile != "" {
		if err := writeHeapProfile(cfg.memProfile); err != nil {
			return nil, fmt.Errorf("heap profile: %w", err)
		}
	}
	return out, nil
}

// writeHeapProfile writes what the server holds after a collection, as
// go tool pprof -sample_index=inuse_space reads it.
func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	runtime.GC()
	return errors.Join(pprof.WriteHeapProfile(f), f.Close())
}

// phaseClock prints each setup phase as it ends, with its duration, and
// keeps them for the report.
type phaseClock struct {
	w     io.Writer
	last  time.Time
	start time.Time
	lines []string
}

func newPhaseClock(w io.Writer) *phaseClock {
	now := time.Now()
	return &phaseClock{w: w, last: now, start: now}
}

func (p *phaseClock) done(name, format string, args ...any) {
	now := time.Now()
	d := now.Sub(p.last).Round(100 * time.Millisecond)
	p.last = now
	p.lines = append(p.lines, fmt.Sprintf("%s %s", name, d))
	fmt.Fprintf(p.w, "%-16s %8s  %s\n", name, d, fmt.Sprintf(format, args...))
}

// total is the setup time so far.
func (p *phaseClock) total() time.Duration { return p.last.Sub(p.start).Round(100 * time.Millisecond) }

// cpus is the parallelism the server and the clients share.
func cpus() int { return runtime.GOMAXPROCS(0) }

// errNoSuccess is a run in which no request succeeded.
var errNoSuccess = errors.New("no request succeeded")
