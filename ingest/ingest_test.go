package ingest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// MustWriteFiles writes name → content files into a new temporary directory
// and returns it.
func MustWriteFiles(tb testing.TB, files map[string]string) string {
	tb.Helper()
	dir := tb.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	return dir
}

// MustRead reads paths in format and returns every record.
func MustRead(tb testing.TB, format string, paths ...string) []Record {
	tb.Helper()
	var recs []Record
	if err := Read(format, paths, func(r Record) error {
		recs = append(recs, r)
		return nil
	}); err != nil {
		tb.Fatalf("Read(%s): %v", format, err)
	}
	return recs
}

// result is a Record flattened for comparison: the file's base name and the
// error text rather than the error value.
type result struct {
	File string
	Line int
	Item string // title, or "" for an error
	Err  string
}

func results(recs []Record) []result {
	out := make([]result, 0, len(recs))
	for _, r := range recs {
		res := result{File: filepath.Base(r.Source), Line: r.Line}
		if r.Err != nil {
			res.Err = r.Err.Error()
		} else {
			res.Item = r.Item.Title
		}
		out = append(out, res)
	}
	return out
}

func TestRead(t *testing.T) {
	tests := []struct {
		name    string
		format  string
		paths   []string
		wantErr string
	}{
		{name: "unknown format", format: "xml", paths: []string{"x"}, wantErr: `unknown format "xml"`},
		{name: "missing file", format: "jsonl", paths: []string{"/nonexistent/items.jsonl"}, wantErr: "no such file"},
		{name: "missing data set dir", format: "movielens", paths: []string{"/nonexistent"}, wantErr: "no such file"},
		{name: "no paths", format: "csv"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Read(tt.format, tt.paths, func(Record) error { return nil })
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("Read() error = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestFormats(t *testing.T) {
	want := []string{"movielens", "goodbooks", "tmdb", "podcasts", "jsonl", "csv"}
	if diff := cmp.Diff(want, Formats()); diff != "" {
		t.Errorf("Formats() mismatch (-want +got):\n%s", diff)
	}
	for _, f := range Formats() {
		if reader(f) == nil {
			t.Errorf("format %q has no reader", f)
		}
	}
}
