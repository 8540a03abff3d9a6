package ingest

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// countRecords counts the records Read will pass on for the progress bar's
// total, without decoding any item and holding nothing but a read buffer:
// the non-blank lines of JSON Lines, the rows of the CSV file that holds the
// items (the side files of the data sets, tags and ratings, give no records
// of their own unless a row is broken), the objects of the podcasts array.
// For podcasts it is an upper bound, since repeats of an id are merged.
func countRecords(format string, paths []string) (int, error) {
	total := 0
	for _, path := range paths {
		var (
			n   int
			err error
		)
		switch format {
		case "jsonl":
			n, err = countLines(path)
		case "csv":
			n, err = countCSVRows(path)
		case "tmdb":
			n, err = countCSVRows(fileIn(path, "tmdb_5000_movies.csv"))
		case "movielens":
			n, err = countCSVRows(filepath.Join(path, "movies.csv"))
		case "goodbooks":
			n, err = countCSVRows(filepath.Join(path, "books.csv"))
		case "podcasts":
			n, err = countJSONArray(fileIn(path, "podcasts_info.json"))
		default:
			return 0, unknownFormat(format)
		}
		if err != nil {
			return 0, err
		}
		total += n
	}
	return total, nil
}

// countLines counts the lines of path that hold more than white space, as
// decodeJSONL reads them.
func countLines(path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<20)
	n, content := 0, false
	for {
		// ReadSlice returns at most a buffer at a time, so a long line costs
		// no more memory than a short one.
		chunk, err := r.ReadSlice('\n')
		if !content && len(bytes.TrimSpace(chunk)) > 0 {
			content = true
		}
		if (len(chunk) > 0 && chunk[len(chunk)-1] == '\n') || errors.Is(err, io.EOF) {
			if content {
				n++
			}
			content = false
		}
		if errors.Is(err, io.EOF) {
			return n, nil
		} else if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return 0, err
		}
	}
}

// countCSVRows counts the rows of a CSV file after its header; a malformed
// row counts, as it becomes a failed record.
func countCSVRows(path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	cr := csv.NewReader(skipBOM(f))
	cr.ReuseRecord = true
	cr.FieldsPerRecord = -1
	n := -1 // the header
	for {
		_, err := cr.Read()
		var perr *csv.ParseError
		switch {
		case errors.Is(err, io.EOF):
			return max(n, 0), nil
		case err != nil && !errors.As(err, &perr):
			return 0, err
		}
		n++
	}
}

// countJSONArray counts the elements of the JSON array in path, one element
// in memory at a time.
func countJSONArray(path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	dec := json.NewDecoder(bufio.NewReader(f))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
		return 0, fmt.Errorf("%s: want a JSON array", path)
	}
	n := 0
	for dec.More() {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return 0, err
		}
		n++
	}
	return n, nil
}
