package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"time"

	"mediarec/internal/eval"
	"mediarec/internal/vectordb"
)

func runEval(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("mediarec eval", flag.ContinueOnError)
	fs.SetOutput(stderr)
	ratings := fs.String("ratings", "", "ratings directory: MovieLens ml-latest (ratings.csv, movies.csv, tags.csv, links.csv) or ml-100k (u.data, u.item)")
	k := fs.Int("k", eval.DefaultK, "cut-off of the ranking metrics")
	split := fs.String("split", "temporal", "how to hold out test ratings: temporal (the latest 20% of each user's)")
	asJSON := fs.Bool("json", false, "print the metrics as JSON instead of a table")
	tmdb := fs.String("tmdb", "", "tmdb_5000_movies.csv, whose overviews become item descriptions (joined through links.csv)")
	htmlPath := fs.String("html", "eval-report.html", `write an HTML report to this file ("" for none)`)
	store := fs.String("store", "local", "vector store the served content and hybrid rankings read the content vectors from: local (the in-process index) or qdrant (QDRANT_URL, QDRANT_API_KEY)")
	exact := fs.Bool("exact", true, "also rank content and hybrid exactly over the whole catalog (content_exact, hybrid_exact): the upper bound of the served rankings")
	search := fs.Bool("search", false, "evaluate search instead: the judged queries on the bundled demo catalog, precision@k and NDCG@k per query class (--k, --json apply)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: mediarec eval --ratings DIR [flags]\n\nCompares random, popularity, item-KNN, EASE, content and hybrid recommendations offline.\ncontent and hybrid rank through the path a request takes (the vector index, the candidate search, the rerank);\ncontent_exact and hybrid_exact rank the whole catalog exactly; the hybrid is also reranked at diversity 0.3 and 0.8.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return configError(stderr, "eval", err)
	}
	if *search {
		return runSearchEval(ctx, *k, *asJSON, fs.Args(), stdout, stderr)
	}
	var bad []error
	if *ratings == "" {
		bad = append(bad, errors.New("--ratings: required, the directory of a MovieLens data set"))
	}
	if *k < 1 {
		bad = append(bad, fmt.Errorf("--k: must be at least 1, got %d", *k))
	}
	if *store != "local" && *store != "qdrant" {
		bad = append(bad, fmt.Errorf("--store: %q is not available: local or qdrant", *store))
	}
	if *store == "qdrant" && getenv("QDRANT_URL") == "" {
		bad = append(bad, errors.New("--store qdrant: QDRANT_URL is not set"))
	}
	if *split != "temporal" {
		bad = append(bad, fmt.Errorf("--split: %q is not available: only \"temporal\" (the latest 20%% of each user's ratings held out)", *split))
	}
	if fs.NArg() > 0 {
		bad = append(bad, fmt.Errorf("unexpected arguments %q", fs.Args()))
	}
	if len(bad) > 0 {
		return configError(stderr, "eval", errors.Join(bad...))
	}

	start := time.Now()
	ds, err := eval.Load(*ratings, eval.LoadOptions{TMDB: *tmdb})
	if err != nil {
		fmt.Fprintf(stderr, "mediarec eval: %v\n", err)
		return 1
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	opts := eval.Options{K: *k, Log: log}
	if !*exact {
		opts.Methods = slices.DeleteFunc(eval.Methods(), func(m string) bool {
			return m == eval.MethodContentExact || m == eval.MethodHybridExact
		})
	}
	if *store == "qdrant" {
		cfg, err := vectordb.QdrantConfigFromEnv(getenv)
		if err == nil {
			err = cfg.Check()
		}
		if err != nil {
			fmt.Fprintf(stderr, "mediarec eval: %v\n", err)
			return 1
		}
		q, err := vectordb.NewQdrant(cfg)
		if err != nil {
			fmt.Fprintf(stderr, "mediarec eval: %v\n", err)
			return 1
		}
		defer q.Close()
		opts.Store = q
	}
	report, err := eval.Run(ctx, ds, opts)
	if err != nil {
		fmt.Fprintf(stderr, "mediarec eval: %v\n", err)
		return 1
	}
	if *asJSON {
		err = json.NewEncoder(stdout).Encode(report)
	} else {
		err = report.WriteText(stdout)
	}
	if err != nil {
		fmt.Fprintf(stderr, "mediarec eval: write report: %v\n", err)
		return 1
	}
	if *htmlPath != "" {
		if err := writeHTMLReport(*htmlPath, report); err != nil {
			fmt.Fprintf(stderr, "mediarec eval: %v\n", err)
			return 1
		}
		log.Info("wrote the HTML report", "path", *htmlPath)
	}
	log.Info("done", "took", time.Since(start).Round(time.Millisecond))
	return 0
}

func writeHTMLReport(path string, report *eval.Report) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("HTML report: %w", err)
	}
	if err := report.WriteHTML(f); err != nil {
		f.Close()
		return fmt.Errorf("HTML report %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("HTML report %s: %w", path, err)
	}
	return nil
}
