package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"mediarec/internal/recs"
)

// benchReport is what a bench prints at the end: the runs, and what
// answered them on what.
type benchReport struct {
	results   []loadResult
	embedding embeddingStatus
	items     int
	real      int
	users     int
	ratings   int
	heaviest  int
	queries   int
	phases    *phaseClock
}

func printBenchReport(w io.Writer, r *benchReport) error {
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "route\tclients\trequests\terrors\treq/s\tp50 ms\tp99 ms\thybrid\tcached\t\n")
	share := func(s float64) string {
		if s < 0 {
			return "-"
		}
		return fmt.Sprintf("%.0f%%", 100*s)
	}
	for _, res := range r.results {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%.0f\t%.2f\t%.2f\t%s\t%s\t\n", res.route, res.clients, res.requests, res.errors,
			float64(res.requests)/res.elapsed.Seconds(), ms(res.p50), ms(res.p99), share(res.hybrid), share(res.cached))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, res := range r.results {
		if res.errors > 0 {
			fmt.Fprintf(w, "%s with %d clients: %d errors, the first: %v\n", res.route, res.clients, res.errors, res.firstErr)
		}
	}
	e := r.embedding
	fmt.Fprintf(w, "\nmodel:    %s (%d dimensions), collection %s\n", e.Model, e.Dimensions, e.Collection)
	fmt.Fprintf(w, "vectors:  in-process HNSW (vectordb.Local in the server); recommendations of users the\n")
	fmt.Fprintf(w, "          collaborative model knows also search the hybrid index (in-process HNSW, inner product)\n")
	fmt.Fprintf(w, "          \"hybrid\" is the share of recommendation answers by that path (mediarec_recommendations_total)\n")
	fmt.Fprintf(w, "          \"cached\" the share given again from the answer cache (mediarec_cache_hits_total{cache=\"recommendations\"}),\n")
	fmt.Fprintf(w, "          kept while the user's tastes, the item model and the question are unchanged, at most %s\n", recs.AnswerTTL)
	fmt.Fprintf(w, "catalog:  %d items (%d real, %d synth mixes)\n", r.items, r.real, r.items-r.real)
	fmt.Fprintf(w, "users:    %d MovieLens users drawn uniformly, %d ratings replayed (the heaviest has %d)\n", r.users, r.ratings, r.heaviest)
	fmt.Fprintf(w, "queries:  %d distinct, from the real items' titles, tags, genres and creators\n", r.queries)
	fmt.Fprintf(w, "machine:  %d CPUs shared by the server and the clients; %s\n", cpus(), rssLine())
	fmt.Fprintf(w, "setup:    %s: %s\n", r.phases.total(), strings.Join(r.phases.lines, ", "))
	return nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// rssLine reports the resident memory of the bench process, which holds
// the server and the load generator alike.
func rssLine() string {
	now, peak, ok := readRSS()
	if !ok {
		return "RSS not available here (no /proc)"
	}
	return fmt.Sprintf("RSS now %d MiB, peak %d MiB (the whole bench process: server and load generator)", now>>20, peak>>20)
}

// readRSS returns the resident set of this process now and at its peak
// (VmRSS and VmHWM), in bytes; ok is false where /proc is not.
func readRSS() (now, peak int64, ok bool) {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, 0, false
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		name, value, _ := strings.Cut(line, ":")
		var kb int64
		if _, err := fmt.Sscanf(strings.TrimSpace(value), "%d kB", &kb); err != nil {
			continue
		}
		switch name {
		case "VmRSS":
			now = kb << 10
		case "VmHWM":
			peak = kb << 10
		}
	}
	return now, peak, now > 0
}
