package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"mediarec"
)

// readJSONL reads JSON Lines with one item per line in the API's JSON shape.
// Blank lines are skipped but still counted, so line numbers match an editor.
func readJSONL(path string, fn func(Record) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return decodeJSONL(path, f, fn)
}

// decodeJSONL reads JSON Lines from src; path only names the source.
func decodeJSONL(path string, src io.Reader, fn func(Record) error) error {
	// ReadBytes rather than bufio.Scanner: a long description must not make
	// the whole file fail on Scanner's token limit.
	r := skipBOM(src)
	for line := 1; ; line++ {
		b, err := r.ReadBytes('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("%s: line %d: %w", path, line, err)
		}
		if len(bytes.TrimSpace(b)) > 0 {
			rec := Record{Source: path, Line: line}
			var item mediarec.Item
			if uerr := json.Unmarshal(b, &item); uerr != nil {
				rec.Err = errorf("", "invalid JSON: %w", uerr)
			} else {
				rec.Item = &item
			}
			if ferr := fn(rec); ferr != nil {
				return ferr
			}
		}
		if err != nil { // io.EOF
			return nil
		}
	}
}

// MarshalItem returns item as one line of the jsonl format, without the
// newline: only the fields a client may set, as Read("jsonl") reads them and
// POST /v1/items/batch accepts them. Empty lists are written as [], so that
// sending the line as an update clears them.
func MarshalItem(item *mediarec.Item) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // "Q&A" stays readable in a file
	err := enc.Encode(wireItem{
		ExternalID: item.ExternalID, Type: item.Type, Title: item.Title, Description: item.Description,
		Genres: orEmpty(item.Genres), Tags: orEmpty(item.Tags), Creators: orEmpty(item.Creators),
		Year: item.Year, Language: item.Language, Popularity: item.Popularity, ImageURL: item.ImageURL,
	})
	if err != nil {
		return nil, fmt.Errorf("marshal item %q: %w", item.ExternalID, err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// wireItem holds the fields a client may set; the server owns the rest.
type wireItem struct {
	ExternalID  string            `json:"external_id,omitempty"`
	Type        mediarec.ItemType `json:"type"`
	Title       string            `json:"title"`
	Description string            `json:"description"`
	Genres      []string          `json:"genres"`
	Tags        []string          `json:"tags"`
	Creators    []string          `json:"creators"`
	Year        int               `json:"year,omitempty"`
	Language    string            `json:"language,omitempty"`
	Popularity  int64             `json:"popularity,omitempty"`
	ImageURL    string            `json:"image_url,omitempty"`
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// readCSV reads a CSV file whose header names the columns with the API's
// field names: external_id, type, title, description, genres, tags,
// creators, year, language, popularity, image_url. Lists are separated by "|" and other columns
// are ignored. Without a title or type column no row could become an item,
// so the whole file is refused.
func readCSV(path string, fn func(Record) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return decodeCSV(path, f, fn)
}

// decodeCSV reads generic CSV from r; path only names the source.
func decodeCSV(path string, r io.Reader, fn func(Record) error) error {
	c, err := newCSV(path, r, "title", "type")
	if err != nil {
		return err
	}
	return c.each(func(row []string, line int, err error) error {
		rec := Record{Source: path, Line: line, Err: err}
		if err == nil {
			rec.Item, rec.Err = csvItem(c, row)
		}
		return fn(rec)
	})
}

func csvItem(c *csvFile, row []string) (*mediarec.Item, error) {
	item := &mediarec.Item{
		ExternalID:  c.get(row, "external_id"),
		Type:        mediarec.ItemType(strings.ToLower(c.get(row, "type"))),
		Title:       c.get(row, "title"),
		Description: c.get(row, "description"),
		Genres:      splitList(c.get(row, "genres"), "|"),
		Tags:        splitList(c.get(row, "tags"), "|"),
		Creators:    splitList(c.get(row, "creators"), "|"),
		Language:    c.get(row, "language"),
		ImageURL:    c.get(row, "image_url"),
	}
	if y := c.get(row, "year"); y != "" {
		year, err := strconv.Atoi(y)
		if err != nil {
			return nil, errorf("year", "%q is not a whole number", y)
		}
		item.Year = year
	}
	if p := c.get(row, "popularity"); p != "" {
		n, err := strconv.ParseInt(p, 10, 64)
		if err != nil {
			return nil, errorf("popularity", "%q is not a whole number", p)
		}
		item.Popularity = n
	}
	return item, nil
}
