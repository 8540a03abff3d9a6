package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"mediarec/ingest"
)

func runIngest(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("mediarec ingest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	server := fs.String("server", envOr(getenv, "MEDIAREC_SERVER", "http://127.0.0.1:8080"), "base URL of the catalog (MEDIAREC_SERVER)")
	token := fs.String("token", getenv("MEDIAREC_ADMIN_TOKEN"), "admin bearer token (MEDIAREC_ADMIN_TOKEN)")
	format := fs.String("format", "", "source format: "+strings.Join(ingest.Formats(), ", "))
	batch := fs.Int("batch-size", 1000, "items per request")
	concurrency := fs.Int("concurrency", 2, "requests in flight")
	quiet := fs.Bool("quiet", false, "no progress bar")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: mediarec ingest [flags] --format F PATH...\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return configError(stderr, "ingest", err)
	}
	if *format == "" || fs.NArg() == 0 {
		fs.Usage()
		return 2
	}
	opts := ingest.Options{Server: *server, Token: *token, BatchSize: *batch, Concurrency: *concurrency}
	if !*quiet {
		opts.Progress = stderr
	}
	report, err := ingest.Run(ctx, opts, *format, fs.Args())
	if report != nil {
		report.Print(stdout)
	}
	if err != nil {
		fmt.Fprintf(stderr, "mediarec ingest: %v\n", err)
		return 1
	}
	return 0
}

func envOr(getenv func(string) string, key, fallback string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return fallback
}
