// Command bigcatalog writes a large catalog for scale tests and benchmarks
// as JSON Lines on stdout, the format "mediarec ingest --format jsonl"
// reads: the real items of the shared data sets followed by distinct mixes
// of them (package synth), as many as --items asks, the same for a seed.
// Items are written as they are made, so memory does not grow with the
// count; progress goes to stderr.
//
//	go run ./scripts/bigcatalog --data ../shared/data --items 1000000 --seed 1 > big.jsonl
//	go run ./scripts/bigcatalog --items 1000000 --gzip > big.jsonl.gz
package main

import (
	"bufio"
	"compress/gzip"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"mediarec"
	"mediarec/ingest"
	"mediarec/internal/synth"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "bigcatalog:", err)
		os.Exit(1)
	}
}

// progressEvery is how many items pass between two progress lines.
const progressEvery = 100_000

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bigcatalog", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dataDir := fs.String("data", "../shared/data", "directory holding the shared data sets")
	n := fs.Int("items", 1_000_000, "number of items to write, the real ones first")
	seed := fs.Uint64("seed", 1, "seed of the mixes: the same seed writes the same items")
	gz := fs.Bool("gzip", false, "gzip the output")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *n < 0 {
		return errors.New("--items must not be negative")
	}
	start := time.Now()
	src, err := synth.Load(*dataDir)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "bigcatalog: %d real items read in %.1fs\n", len(src.Items), time.Since(start).Seconds())

	bw := bufio.NewWriterSize(stdout, 1<<20)
	var w io.Writer = bw
	var zw *gzip.Writer
	if *gz {
		// No name and no time in the header: the bytes depend on the items.
		zw = gzip.NewWriter(bw)
		w = zw
	}
	counts := map[mediarec.ItemType]int{}
	mixed, written := 0, 0
	err = src.Generate(*n, *seed, func(it *mediarec.Item) error {
		line, err := ingest.MarshalItem(it)
		if err != nil {
			return err
		}
		if _, err := w.Write(append(line, '\n')); err != nil {
			return fmt.Errorf("write: %w", err)
		}
		counts[it.Type]++
		if strings.HasPrefix(it.ExternalID, "synth:") {
			mixed++
		}
		if written++; written%progressEvery == 0 {
			el := time.Since(start).Seconds()
			fmt.Fprintf(stderr, "bigcatalog: %d/%d items (%.0f%%) in %.1fs\n", written, *n, 100*float64(written)/float64(max(*n, 1)), el)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if zw != nil {
		if err := zw.Close(); err != nil {
			return fmt.Errorf("write: %w", err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	var types []string
	for _, t := range mediarec.ItemTypes {
		types = append(types, fmt.Sprintf("%s %d", t, counts[t]))
	}
	fmt.Fprintf(stderr, "bigcatalog: wrote %d items (%d real, %d mixed; %s) in %.1fs\n",
		written, written-mixed, mixed, strings.Join(types, ", "), time.Since(start).Seconds())
	return nil
}
