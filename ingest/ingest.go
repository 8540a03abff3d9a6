// Package ingest reads catalog items from the public data sets and from
// generic JSON Lines or CSV files, and bulk-loads them into a mediarec server
// through POST /v1/items/batch.
package ingest

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"mediarec"
)

// Record is one item read from a source, or the reason a row could not be
// read. Exactly one of Item and Err is set.
type Record struct {
	Source string // file path
	Line   int    // 1-based line (row) number in Source; for podcasts, the index in the JSON array
	Item   *mediarec.Item
	Err    error
}

// readFunc reads one source path and calls fn for every record.
type readFunc func(path string, fn func(Record) error) error

// Formats returns the format names Read and Run accept.
func Formats() []string {
	return []string{"movielens", "goodbooks", "tmdb", "podcasts", "jsonl", "csv"}
}

func reader(format string) readFunc {
	switch format {
	case "movielens":
		return readMovieLens
	case "goodbooks":
		return readGoodbooks
	case "tmdb":
		return readTMDB
	case "podcasts":
		return readPodcasts
	case "jsonl":
		return readJSONL
	case "csv":
		return readCSV
	}
	return nil
}

// Read reads every path in the given format and calls fn once per record, in
// source order. A bad row becomes a Record with Err and reading goes on; Read
// itself fails only when a whole source is unusable (missing file, missing
// required column, unreadable JSON) or when fn returns an error, which Read
// returns unchanged. For the data set formats (movielens, goodbooks) a path
// is the data set directory; tmdb and podcasts accept the directory or the
// file.
func Read(format string, paths []string, fn func(Record) error) error {
	read := reader(format)
	if read == nil {
		return unknownFormat(format)
	}
	for _, path := range paths {
		if err := read(path, fn); err != nil {
			return err
		}
	}
	return nil
}

func unknownFormat(format string) error {
	return fmt.Errorf("unknown format %q (want one of %s)", format, strings.Join(Formats(), ", "))
}

// fieldError is a row error that names the offending input field, so that
// reports can show it like the server's validation errors.
type fieldError struct {
	Field   string
	Message string
	cause   error
}

func (e *fieldError) Error() string {
	if e.Field == "" {
		return e.Message
	}
	return e.Field + ": " + e.Message
}

func (e *fieldError) Unwrap() error { return e.cause }

// errorf returns a *fieldError; a %w verb in format sets its cause.
func errorf(field, format string, args ...any) error {
	err := fmt.Errorf(format, args...)
	return &fieldError{Field: field, Message: err.Error(), cause: errors.Unwrap(err)}
}

// fileIn lets the single-file formats take either the data set directory or
// the file itself.
func fileIn(path, name string) string {
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return filepath.Join(path, name)
	}
	return path
}

// csvFile is an open CSV file whose header has been read.
type csvFile struct {
	*csv.Reader
	path   string
	cols   map[string]int
	closer io.Closer
}

// openCSV opens path and reads its header with newCSV.
func openCSV(path string, required ...string) (*csvFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	c, err := newCSV(path, f, required...)
	if err != nil {
		f.Close()
		return nil, err
	}
	c.closer = f
	return c, nil
}

// newCSV reads the header of r, failing when a required column is missing:
// without it no row of the file can be used. path only names the source.
func newCSV(path string, r io.Reader, required ...string) (*csvFile, error) {
	cr := csv.NewReader(skipBOM(r))
	cr.ReuseRecord = true
	// Rows may be ragged in user files; missing cells read as empty.
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: empty file, want a header row", path)
	} else if err != nil {
		return nil, fmt.Errorf("%s: read header: %w", path, err)
	}
	cols := make(map[string]int, len(header))
	for i, name := range header {
		name = strings.ToLower(strings.TrimSpace(name))
		if _, dup := cols[name]; !dup {
			cols[name] = i
		}
	}
	for _, name := range required {
		if _, ok := cols[name]; !ok {
			return nil, fmt.Errorf("%s: missing column %q", path, name)
		}
	}
	return &csvFile{Reader: cr, path: path, cols: cols}, nil
}

func (c *csvFile) Close() error {
	if c.closer == nil {
		return nil
	}
	return c.closer.Close()
}

// each calls fn for every row of c with its 1-based line number. A malformed
// row comes with a row error and no cells, and reading goes on after it; only
// an I/O error or an error from fn stops it.
func (c *csvFile) each(fn func(row []string, line int, err error) error) error {
	for {
		row, err := c.Read()
		var perr *csv.ParseError
		switch {
		case errors.Is(err, io.EOF):
			return nil
		case errors.As(err, &perr):
			err = fn(nil, perr.StartLine, errorf("", "malformed CSV: %w", perr.Err))
		case err != nil:
			return fmt.Errorf("%s: %w", c.path, err)
		default:
			line, _ := c.FieldPos(0)
			err = fn(row, line, nil)
		}
		if err != nil {
			return err
		}
	}
}

// get returns the trimmed cell of the named column, "" when the column or
// the cell is absent.
func (c *csvFile) get(row []string, name string) string {
	i, ok := c.cols[name]
	if !ok || i >= len(row) {
		return ""
	}
	return strings.TrimSpace(row[i])
}

// skipBOM drops a leading UTF-8 byte order mark, which spreadsheet exports
// add and which would otherwise become part of the first column name.
func skipBOM(r io.Reader) *bufio.Reader {
	br := bufio.NewReader(r)
	if b, err := br.Peek(3); err == nil && bytes.Equal(b, []byte("\xef\xbb\xbf")) {
		br.Discard(3)
	}
	return br
}

// normSpace trims s and collapses runs of white space into one space.
func normSpace(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// maxListValue is the longest genre or tag the API accepts.
const maxListValue = 100

// splitList splits s on sep and cleans the parts with cleanList.
func splitList(s, sep string) []string {
	return cleanList(strings.Split(s, sep))
}

// cleanList normalises white space and drops empty and repeated values,
// keeping the order of first occurrence.
func cleanList(values []string) []string {
	var out []string
	seen := make(map[string]bool)
	for _, v := range values {
		v = normSpace(v)
		if v == "" || seen[v] {
			continue
		}
		seen[v] = true
		out = append(out, v)
	}
	return out
}

// topTags returns up to limit tags ordered by descending count, ties broken
// alphabetically so that the output is stable across runs.
func topTags(counts map[string]int, limit int) []string {
	tags := make([]string, 0, len(counts))
	for t, n := range counts {
		if n > 0 {
			tags = append(tags, t)
		}
	}
	sort.Slice(tags, func(i, j int) bool {
		if counts[tags[i]] != counts[tags[j]] {
			return counts[tags[i]] > counts[tags[j]]
		}
		return tags[i] < tags[j]
	})
	if len(tags) > limit {
		tags = tags[:limit]
	}
	return tags
}
