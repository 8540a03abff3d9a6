package demo_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"maps"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"mediarec"
	"mediarec/demo"
)

// allowedFields are the only keys a catalog line may carry.
var allowedFields = map[string]bool{
	"external_id": true, "type": true, "title": true, "description": true,
	"genres": true, "tags": true, "creators": true, "year": true, "language": true,
	"popularity": true, "image_url": true,
}

func TestCatalog(t *testing.T) {
	items := mustReadCatalog(t)

	counts := map[mediarec.ItemType]int{}
	for _, item := range items {
		counts[item.Type]++
	}
	for _, typ := range mediarec.ItemTypes {
		if counts[typ] == 0 {
			t.Errorf("no %s in the demo catalog", typ)
		}
	}
	if counts[mediarec.TypeDocumentary] == 0 {
		t.Error("no documentaries")
	}
	if counts[mediarec.TypePodcast] < 50 {
		t.Errorf("%d podcasts, want at least 50", counts[mediarec.TypePodcast])
	}

	want := mustReadmeCounts(t)
	for _, typ := range mediarec.ItemTypes {
		if counts[typ] != want[string(typ)] {
			t.Errorf("%s: catalog has %d, README.md says %d", typ, counts[typ], want[string(typ)])
		}
	}
	if len(items) != want["total"] {
		t.Errorf("catalog has %d items, README.md says %d", len(items), want["total"])
	}
}

func TestCatalogFindsSpace(t *testing.T) {
	items := mustReadCatalog(t)
	tests := []struct {
		name string
		typ  mediarec.ItemType
		min  int
	}{
		{name: "documentaries", typ: mediarec.TypeDocumentary, min: 3},
		{name: "books", typ: mediarec.TypeBook, min: 10},
		{name: "podcasts", typ: mediarec.TypePodcast, min: 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := 0
			for _, item := range items {
				if item.Type == tt.typ && (slices.Contains(item.Tags, "space") || slices.Contains(item.Tags, "spaceflight")) {
					n++
				}
			}
			if n < tt.min {
				t.Errorf("%d %s tagged space, want at least %d", n, tt.typ, tt.min)
			}
		})
	}
}

// TestCatalogImages checks the covers README.md promises: the goodbooks
// image of every book that has one, never the "nophoto" placeholder, and
// none for the other types.
func TestCatalogImages(t *testing.T) {
	covered := map[mediarec.ItemType]int{}
	for _, item := range mustReadCatalog(t) {
		if item.ImageURL == "" {
			continue
		}
		covered[item.Type]++
		if !strings.HasPrefix(item.ImageURL, "https://") || strings.Contains(item.ImageURL, "/nophoto/") {
			t.Errorf("%s: image_url %q", item.Title, item.ImageURL)
		}
	}
	// goodbooks shows a placeholder for 461 of the 2,000 most-rated books.
	if want := map[mediarec.ItemType]int{mediarec.TypeBook: 1539}; !maps.Equal(covered, want) {
		t.Errorf("items with a cover per type: %v, want %v", covered, want)
	}
}

// TestCatalogPopularity checks the popularity README.md promises: the
// MovieLens and goodbooks counts, the books most rated first, and no count
// for the hand-written podcasts.
func TestCatalogPopularity(t *testing.T) {
	counted := map[mediarec.ItemType]int{}
	var lastBook int64 = -1
	for _, item := range mustReadCatalog(t) {
		if item.Popularity > 0 {
			counted[item.Type]++
		}
		if item.Type == mediarec.TypeBook {
			if lastBook >= 0 && item.Popularity > lastBook {
				t.Errorf("%s (%d ratings) after a book with %d", item.Title, item.Popularity, lastBook)
			}
			lastBook = item.Popularity
		}
	}
	want := mustReadmeCounts(t)
	// ml-latest-small lists 18 movies nobody rated.
	if got := counted[mediarec.TypeMovie] + counted[mediarec.TypeDocumentary]; got != want["movie"]+want["documentary"]-18 {
		t.Errorf("%d movies and documentaries with ratings, want all but 18 of %d", got, want["movie"]+want["documentary"])
	}
	if counted[mediarec.TypeBook] != want["book"] {
		t.Errorf("%d books with ratings, want all %d", counted[mediarec.TypeBook], want["book"])
	}
	if counted[mediarec.TypePodcast] != 0 {
		t.Errorf("%d podcasts with a count, want none", counted[mediarec.TypePodcast])
	}
}

// mustReadCatalog decodes the embedded catalog and fails the test on any
// line that is not a valid item.
func mustReadCatalog(tb testing.TB) []mediarec.Item {
	tb.Helper()
	rc, err := demo.Catalog()
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { rc.Close() })

	var items []mediarec.Item
	seen := map[string]int{}
	sc := bufio.NewScanner(rc)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for line := 1; sc.Scan(); line++ {
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(sc.Bytes(), &fields); err != nil {
			tb.Fatalf("line %d: %v", line, err)
		}
		for k := range fields {
			if !allowedFields[k] {
				tb.Errorf("line %d: unexpected field %q", line, k)
			}
		}
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.DisallowUnknownFields()
		var item mediarec.Item
		if err := dec.Decode(&item); err != nil {
			tb.Fatalf("line %d: %v", line, err)
		}
		switch {
		case !item.Type.Valid():
			tb.Errorf("line %d: bad type %q", line, item.Type)
		case strings.TrimSpace(item.Title) == "":
			tb.Errorf("line %d: empty title", line)
		case item.ExternalID == "":
			tb.Errorf("line %d: empty external_id", line)
		case seen[item.ExternalID] != 0:
			tb.Errorf("line %d: external_id %q already on line %d", line, item.ExternalID, seen[item.ExternalID])
		}
		seen[item.ExternalID] = line
		items = append(items, item)
	}
	if err := sc.Err(); err != nil { // also reports a bad gzip checksum
		tb.Fatal(err)
	}
	return items
}

// readmeRow matches a row of the counts table in README.md: "| book | 2,000 |".
var readmeRow = regexp.MustCompile(`^\|\s*([a-z]+)\s*\|\s*([0-9,]+)\s*\|`)

// mustReadmeCounts returns the item counts per type (and "total") that
// README.md states.
func mustReadmeCounts(tb testing.TB) map[string]int {
	tb.Helper()
	data, err := os.ReadFile("README.md")
	if err != nil {
		tb.Fatal(err)
	}
	counts := map[string]int{}
	for _, line := range strings.Split(string(data), "\n") {
		m := readmeRow.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		n, err := strconv.Atoi(strings.ReplaceAll(m[2], ",", ""))
		if err != nil {
			tb.Fatalf("README.md: %q: %v", line, err)
		}
		counts[m[1]] = n
	}
	if _, ok := counts["total"]; !ok {
		tb.Fatal("README.md has no counts table")
	}
	return counts
}
