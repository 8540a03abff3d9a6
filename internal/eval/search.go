package eval

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"regexp"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"mediarec"
	"mediarec/demo"
	"mediarec/internal/embed"
	"mediarec/internal/keyword"
	"mediarec/internal/recs"
	"mediarec/internal/vectordb"
)

// The judged search queries: one JSON object a line, each a query, its
// class and the rules on item metadata that make an answer relevant,
// written from the demo catalog (see JudgedQuery).
//
//go:embed search-queries.jsonl
var judgedQueries []byte

// JudgedQuery is a search query and what answers it.
type JudgedQuery struct {
	// Class groups queries by what they exercise: like-title-but-type,
	// title, decade-year, genre, topic, type-only, mixed.
	Class string `json:"class"`
	Query string `json:"q"`
	// Types is the types= parameter of the request, if any.
	Types []mediarec.ItemType `json:"types,omitempty"`
	// Relevant makes an item a relevant answer (gain 1); Best, when set,
	// a perfect one (gain 3), such as the title a query names.
	Relevant Rule  `json:"relevant"`
	Best     *Rule `json:"best,omitempty"`
}

// Rule is a condition on an item's metadata; every field that is set must
// hold.
type Rule struct {
	Types    []mediarec.ItemType `json:"types,omitempty"`
	YearFrom int                 `json:"year_from,omitempty"`
	YearTo   int                 `json:"year_to,omitempty"`
	// Genres must all be the item's; AnyGenre, one of them.
	Genres   []string `json:"genres,omitempty"`
	AnyGenre []string `json:"any_genre,omitempty"`
	// Words: one of them starts a word of the item's title, tags, genres,
	// creators or description ("astronom" matches "astronomy"), without
	// regard to case. Title: the same, in the title only.
	Words []string `json:"words,omitempty"`
	Title []string `json:"title,omitempty"`
	// NotTitles are titles the item must not have: the title a "like"
	// query names is no answer to it.
	NotTitles []string `json:"not_titles,omitempty"`
	// Any holds when one of its rules does.
	Any []Rule `json:"any,omitempty"`

	words, title *regexp.Regexp
}

// compile prepares the patterns of r and of its sub-rules.
func (r *Rule) compile() error {
	var err error
	if r.words, err = wordStarts(r.Words); err != nil {
		return err
	}
	if r.title, err = wordStarts(r.Title); err != nil {
		return err
	}
	for i := range r.Any {
		if err := r.Any[i].compile(); err != nil {
			return err
		}
	}
	return nil
}

func wordStarts(words []string) (*regexp.Regexp, error) {
	if len(words) == 0 {
		return nil, nil
	}
	quoted := make([]string, len(words))
	for i, w := range words {
		quoted[i] = regexp.QuoteMeta(strings.ToLower(w))
	}
	return regexp.Compile(`(^|[^\pL\pN])(` + strings.Join(quoted, "|") + `)`)
}

// Match reports whether it satisfies r.
func (r *Rule) Match(it *mediarec.Item) bool {
	if len(r.Types) > 0 && !slices.Contains(r.Types, it.Type) {
		return false
	}
	if r.YearFrom != 0 && (it.Year == 0 || it.Year < r.YearFrom) || r.YearTo != 0 && (it.Year == 0 || it.Year > r.YearTo) {
		return false
	}
	for _, g := range r.Genres {
		if !hasGenre(it, g) {
			return false
		}
	}
	if len(r.AnyGenre) > 0 && !slices.ContainsFunc(r.AnyGenre, func(g string) bool { return hasGenre(it, g) }) {
		return false
	}
	if r.words != nil {
		text := strings.ToLower(strings.Join(slices.Concat([]string{it.Title, it.Description}, it.Tags, it.Genres, it.Creators), " | "))
		if !r.words.MatchString(text) {
			return false
		}
	}
	if r.title != nil && !r.title.MatchString(strings.ToLower(it.Title)) {
		return false
	}
	if slices.ContainsFunc(r.NotTitles, func(t string) bool { return strings.EqualFold(t, it.Title) }) {
		return false
	}
	if len(r.Any) > 0 && !slices.ContainsFunc(r.Any, func(sub Rule) bool { return sub.Match(it) }) {
		return false
	}
	return true
}

func hasGenre(it *mediarec.Item, g string) bool {
	return slices.ContainsFunc(it.Genres, func(h string) bool { return strings.EqualFold(g, h) })
}

// gain is the graded relevance of an item to q: 3 for the best answers, 1
// for relevant ones, 0 otherwise.
func (q *JudgedQuery) gain(it *mediarec.Item) float64 {
	switch {
	case q.Best != nil && q.Best.Match(it):
		return 3
	case q.Relevant.Match(it):
		return 1
	}
	return 0
}

// LoadJudgedQueries reads judged queries, one JSON object a line; nil
// reads the set that comes with the package.
func LoadJudgedQueries(r io.Reader) ([]JudgedQuery, error) {
	if r == nil {
		r = bytes.NewReader(judgedQueries)
	}
	var out []JudgedQuery
	sc := bufio.NewScanner(r)
	for line := 1; sc.Scan(); line++ {
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		var q JudgedQuery
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&q); err != nil {
			return nil, fmt.Errorf("judged query on line %d: %w", line, err)
		}
		if q.Class == "" || strings.TrimSpace(q.Query) == "" {
			return nil, fmt.Errorf("judged query on line %d: class and q are required", line)
		}
		if err := q.Relevant.compile(); err != nil {
			return nil, fmt.Errorf("judged query on line %d: %w", line, err)
		}
		if q.Best != nil {
			if err := q.Best.compile(); err != nil {
				return nil, fmt.Errorf("judged query on line %d: %w", line, err)
			}
		}
		out = append(out, q)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read judged queries: %w", err)
	}
	return out, nil
}

// DemoItems returns the bundled demo catalog, numbered from 1 in its order.
func DemoItems() ([]*mediarec.Item, error) {
	rc, err := demo.Catalog()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	var items []*mediarec.Item
	sc := bufio.NewScanner(rc)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		it := &mediarec.Item{}
		if err := json.Unmarshal(sc.Bytes(), it); err != nil {
			return nil, fmt.Errorf("demo catalog line %d: %w", len(items)+1, err)
		}
		it.ID = int64(len(items) + 1)
		items = append(items, it)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read the demo catalog: %w", err)
	}
	return items, nil
}

// SearchBench is the search path of the service over a catalog: the local
// embedder fitted on the catalog's texts, the vectors in the in-process
// index, the keyword index, and recs.Service over them, as a request finds
// them once the catalog is embedded.
type SearchBench struct {
	Service *recs.Service
	Items   map[int64]*mediarec.Item
	store   *vectordb.Local
	dir     string
}

// searchCollection names the collection of the bench's vectors.
const searchCollection = "eval_search"

// NewSearchBench embeds items and indexes them in a temporary directory,
// which Close removes.
func NewSearchBench(ctx context.Context, items []*mediarec.Item) (*SearchBench, error) {
	texts := make([]string, len(items))
	for i, it := range items {
		texts[i] = embed.ItemText(it)
	}
	model, err := embed.FitLSA(texts, DefaultContentDim)
	if err != nil {
		return nil, fmt.Errorf("fit the content model: %w", err)
	}
	vecs, err := model.Embed(ctx, texts)
	if err != nil {
		return nil, fmt.Errorf("embed the catalog: %w", err)
	}
	dir, err := os.MkdirTemp("", "mediarec-search-*")
	if err != nil {
		return nil, fmt.Errorf("search bench: %w", err)
	}
	b := &SearchBench{Items: make(map[int64]*mediarec.Item, len(items)), dir: dir}
	if b.store, err = vectordb.OpenLocal(dir); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("search bench: %w", err)
	}
	if err := b.store.CreateCollection(ctx, searchCollection, model.Dimensions()); err != nil {
		b.Close()
		return nil, fmt.Errorf("search bench: %w", err)
	}
	points := make([]mediarec.VectorPoint, len(items))
	for i, it := range items {
		b.Items[it.ID] = it
		points[i] = mediarec.VectorPoint{ID: it.ID, Vector: vecs[i], Payload: mediarec.VectorPayload{Type: it.Type, Genres: it.Genres, Tags: it.Tags, Year: it.Year}}
	}
	if err := b.store.Upsert(ctx, searchCollection, points); err != nil {
		b.Close()
		return nil, fmt.Errorf("search bench: %w", err)
	}
	kw := keyword.New()
	kw.Put(items...)
	b.Service = recs.New(fixedLive{e: model, coll: searchCollection}, b.store, datasetItems(b.Items), kw)
	return b, nil
}

// Close releases the index and removes its directory.
func (b *SearchBench) Close() error {
	err := b.store.Close()
	if rmErr := os.RemoveAll(b.dir); err == nil {
		err = rmErr
	}
	return err
}

// SearchReport is the outcome of a judged search run.
type SearchReport struct {
	K     int `json:"k"`
	Items int `json:"items"`
	// Classes are the mean metrics per query class, by class name, then
	// over all queries ("all").
	Classes []SearchScores `json:"classes"`
	Queries []QueryScores  `json:"queries"`
}

// SearchScores are the mean metrics of a class of queries.
type SearchScores struct {
	Class     string  `json:"class"`
	Queries   int     `json:"queries"`
	Precision float64 `json:"precision_at_k"`
	NDCG      float64 `json:"ndcg_at_k"`
}

// QueryScores are one query's metrics and answer.
type QueryScores struct {
	Class string `json:"class"`
	Query string `json:"q"`
	// Precision is the share of the first k answers that are relevant,
	// over k even when fewer came back.
	Precision float64 `json:"precision_at_k"`
	// NDCG is the DCG of the first k answers (gain 3 for a best answer, 1
	// for a relevant one, discount log2(rank+1)) over the DCG of the best k
	// items of the catalog.
	NDCG float64 `json:"ndcg_at_k"`
	// Relevant counts the relevant items of the catalog.
	Relevant int            `json:"relevant"`
	Parsed   recs.Parsed    `json:"parsed"`
	Answers  []JudgedAnswer `json:"answers"`
}

// JudgedAnswer is an answer and its gain.
type JudgedAnswer struct {
	ID    int64             `json:"id"`
	Type  mediarec.ItemType `json:"type"`
	Title string            `json:"title"`
	Year  int               `json:"year,omitempty"`
	Gain  float64           `json:"gain"`
}

// RunSearch asks the bench every query for its first k answers, as
// GET /v1/search?q=…&limit=k would, and scores them.
func RunSearch(ctx context.Context, b *SearchBench, queries []JudgedQuery, k int, log *slog.Logger) (*SearchReport, error) {
	if k < 1 {
		return nil, mediarec.Errorf(mediarec.EINVALID, "k must be at least 1, got %d", k)
	}
	start := time.Now()
	rep := &SearchReport{K: k, Items: len(b.Items)}
	for _, q := range queries {
		res, err := b.Service.Search(ctx, recs.SearchQuery{Text: q.Query, Types: q.Types, Limit: k})
		if err != nil {
			return nil, fmt.Errorf("search %q: %w", q.Query, err)
		}
		rep.Queries = append(rep.Queries, b.score(&q, res, k))
	}
	rep.Classes = classMeans(rep.Queries)
	if log != nil {
		log.Info("judged search", "queries", len(queries), "took", time.Since(start).Round(time.Millisecond))
	}
	return rep, nil
}

func (b *SearchBench) score(q *JudgedQuery, res *recs.SearchResult, k int) QueryScores {
	s := QueryScores{Class: q.Class, Query: q.Query, Parsed: res.Parsed}
	var gains []float64
	for _, it := range b.Items {
		if g := q.gain(it); g > 0 {
			gains = append(gains, g)
			s.Relevant++
		}
	}
	slices.SortFunc(gains, func(a, b float64) int { return cmp.Compare(b, a) })
	var dcg, ideal float64
	for r, g := range gains[:min(k, len(gains))] {
		ideal += g / math.Log2(float64(r+2))
	}
	hits := 0
	for r, si := range res.Items[:min(k, len(res.Items))] {
		g := q.gain(si.Item)
		if g > 0 {
			hits++
		}
		dcg += g / math.Log2(float64(r+2))
		s.Answers = append(s.Answers, JudgedAnswer{ID: si.Item.ID, Type: si.Item.Type, Title: si.Item.Title, Year: si.Item.Year, Gain: g})
	}
	s.Precision = float64(hits) / float64(k)
	if ideal > 0 {
		s.NDCG = dcg / ideal
	}
	return s
}

// classMeans averages the scores per class, classes by name, and over all
// queries last.
func classMeans(qs []QueryScores) []SearchScores {
	byClass := map[string]*SearchScores{}
	var names []string
	all := &SearchScores{Class: "all"}
	for _, q := range qs {
		c := byClass[q.Class]
		if c == nil {
			c = &SearchScores{Class: q.Class}
			byClass[q.Class] = c
			names = append(names, q.Class)
		}
		for _, s := range []*SearchScores{c, all} {
			s.Queries++
			s.Precision += q.Precision
			s.NDCG += q.NDCG
		}
	}
	slices.Sort(names)
	out := make([]SearchScores, 0, len(names)+1)
	for _, n := range append(names, "") {
		s := all
		if n != "" {
			s = byClass[n]
		}
		if s.Queries > 0 {
			s.Precision /= float64(s.Queries)
			s.NDCG /= float64(s.Queries)
		}
		out = append(out, *s)
	}
	return out
}

// WriteText writes the per-class table, then each query's scores; verbose
// adds each query's answers, relevant ones marked.
func (r *SearchReport) WriteText(w io.Writer, verbose bool) error {
	fmt.Fprintf(w, "%d judged queries on %d items; precision@%d and NDCG@%d (graded: the named title 3, relevant 1)\n\n", len(r.Queries), r.Items, r.K, r.K)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "class\tqueries\tP@%d\tNDCG@%d\t\n", r.K, r.K)
	for _, c := range r.Classes {
		fmt.Fprintf(tw, "%s\t%d\t%.3f\t%.3f\t\n", c.Class, c.Queries, c.Precision, c.NDCG)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "class\tP@%d\tNDCG@%d\trelevant\tquery\n", r.K, r.K)
	for _, q := range r.Queries {
		fmt.Fprintf(tw, "%s\t%.2f\t%.3f\t%d\t%s\n", q.Class, q.Precision, q.NDCG, q.Relevant, q.Query)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if !verbose {
		return nil
	}
	for _, q := range r.Queries {
		p, _ := json.Marshal(q.Parsed)
		fmt.Fprintf(w, "\n%q  P@%d %.2f  parsed %s\n", q.Query, r.K, q.Precision, p)
		for i, a := range q.Answers {
			mark := " "
			if a.Gain > 0 {
				mark = "+"
			}
			fmt.Fprintf(w, "  %s %2d. %-11s %s (%d)\n", mark, i+1, a.Type, a.Title, a.Year)
		}
	}
	return nil
}
