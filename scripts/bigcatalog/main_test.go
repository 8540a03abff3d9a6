package main

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"mediarec/ingest"
	"mediarec/internal/datatest"
)

// TestRun writes a catalog plain and gzipped, checks that both hold the
// same lines and that ingest's jsonl reader takes every one of them.
func TestRun(t *testing.T) {
	data := filepath.Dir(datatest.Dir(t, datatest.MovieLens))
	for _, name := range []string{datatest.TMDB, datatest.Goodbooks, datatest.Podcasts} {
		datatest.Dir(t, name)
	}
	const n = 30_000
	var plain, zipped, log bytes.Buffer
	if err := run([]string{"-data", data, "-items", "30000", "-seed", "4"}, &plain, &log); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "wrote 30000 items") {
		t.Errorf("no summary on stderr:\n%s", log.String())
	}
	if err := run([]string{"-data", data, "-items", "30000", "-seed", "4", "-gzip"}, &zipped, io.Discard); err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(&zipped)
	if err != nil {
		t.Fatal(err)
	}
	unzipped, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(plain.Bytes(), unzipped) {
		t.Fatal("--gzip wrote other lines")
	}

	path := filepath.Join(t.TempDir(), "big.jsonl")
	if err := os.WriteFile(path, plain.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	got, synth := 0, 0
	err = ingest.Read("jsonl", []string{path}, func(r ingest.Record) error {
		if r.Err != nil {
			t.Fatalf("line %d: %v", r.Line, r.Err)
		}
		got++
		if strings.HasPrefix(r.Item.ExternalID, "synth:") {
			synth++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got != n || synth == 0 || synth == n {
		t.Errorf("read %d items, %d of them mixes; want %d, some mixed", got, synth, n)
	}
}
