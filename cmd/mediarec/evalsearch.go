package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"

	"mediarec/internal/eval"
)

// runSearchEval is "mediarec eval --search": the judged queries asked of
// the search path over the demo catalog.
func runSearchEval(ctx context.Context, k int, asJSON bool, args []string, stdout, stderr io.Writer) int {
	if k < 1 {
		return configError(stderr, "eval", fmt.Errorf("--k: must be at least 1, got %d", k))
	}
	if len(args) > 0 {
		return configError(stderr, "eval", fmt.Errorf("unexpected arguments %q", args))
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	queries, err := eval.LoadJudgedQueries(nil)
	if err != nil {
		fmt.Fprintf(stderr, "mediarec eval: %v\n", err)
		return 1
	}
	items, err := eval.DemoItems()
	if err != nil {
		fmt.Fprintf(stderr, "mediarec eval: %v\n", err)
		return 1
	}
	log.Info("fitting the content model and indexing the demo catalog", "items", len(items))
	bench, err := eval.NewSearchBench(ctx, items)
	if err != nil {
		fmt.Fprintf(stderr, "mediarec eval: %v\n", err)
		return 1
	}
	defer bench.Close()
	report, err := eval.RunSearch(ctx, bench, queries, k, log)
	if err != nil {
		fmt.Fprintf(stderr, "mediarec eval: %v\n", err)
		return 1
	}
	if asJSON {
		err = json.NewEncoder(stdout).Encode(report)
	} else {
		err = report.WriteText(stdout, false)
	}
	if err != nil {
		fmt.Fprintf(stderr, "mediarec eval: write report: %v\n", err)
		return 1
	}
	return 0
}
