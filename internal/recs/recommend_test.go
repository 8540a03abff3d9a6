package recs_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"mediarec"
	"mediarec/demo"
	"mediarec/internal/collab"
	"mediarec/internal/embed"
	"mediarec/internal/keyword"
	"mediarec/internal/recs"
	"mediarec/internal/vectordb"
)

// demoWorld is the bundled demo catalog embedded with the local model
// fitted on it, in an in-process index: what "mediarec demo" serves once
// its refit has settled.
type demoWorld struct {
	items    map[int64]*mediarec.Item
	byTitle  map[string]int64 // "movie:Interstellar" → id
	model    *embed.LSA
	vectors  *vectordb.Local
	keywords *keyword.Index
}

const demoCollection = "items_demo"

// demoDir holds the index once a test loaded it.
var demoDir string

func TestMain(m *testing.M) {
	code := m.Run()
	if demoDir != "" {
		if w, err := loadDemo(); err == nil {
			w.vectors.Close()
		}
		os.RemoveAll(demoDir)
	}
	os.Exit(code)
}

var loadDemo = sync.OnceValues(func() (*demoWorld, error) {
	rc, err := demo.Catalog()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	w := &demoWorld{items: map[int64]*mediarec.Item{}, byTitle: map[string]int64{}, keywords: keyword.New()}
	var all []*mediarec.Item
	sc := bufio.NewScanner(rc)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		it := &mediarec.Item{}
		if err := json.Unmarshal(sc.Bytes(), it); err != nil {
			return nil, err
		}
		it.ID = int64(len(all) + 1)
		all = append(all, it)
		w.items[it.ID] = it
		w.byTitle[string(it.Type)+":"+it.Title] = it.ID
	}
	w.keywords.Put(all...)
	texts := make([]string, len(all))
	for i, it := range all {
		texts[i] = embed.ItemText(it)
	}
	if w.model, err = embed.FitLSA(texts, embed.DefaultDimensions); err != nil {
		return nil, err
	}
	vecs, err := w.model.Embed(context.Background(), texts)
	if err != nil {
		return nil, err
	}
	// The index serves every test of the run; TestMain removes it.
	if demoDir, err = os.MkdirTemp("", "recs-demo-*"); err != nil {
		return nil, err
	}
	if w.vectors, err = vectordb.OpenLocal(demoDir); err != nil {
		return nil, err
	}
	ctx := context.Background()
	if err := w.vectors.CreateCollection(ctx, demoCollection, w.model.Dimensions()); err != nil {
		return nil, err
	}
	points := make([]mediarec.VectorPoint, len(all))
	for i, it := range all {
		points[i] = mediarec.VectorPoint{ID: it.ID, Vector: vecs[i], Payload: mediarec.VectorPayload{Type: it.Type, Genres: it.Genres, Tags: it.Tags}}
	}
	return w, w.vectors.Upsert(ctx, demoCollection, points)
})

func (w *demoWorld) Live(context.Context) (embed.Embedder, string, error) {
	return w.model, demoCollection, nil
}

func (w *demoWorld) FindItemsByIDs(_ context.Context, ids []int64) ([]*mediarec.Item, error) {
	var out []*mediarec.Item
	for _, id := range ids {
		if it, ok := w.items[id]; ok {
			out = append(out, it)
		}
	}
	return out, nil
}

func (w *demoWorld) FindItemByID(_ context.Context, id int64) (*mediarec.Item, error) {
	if it, ok := w.items[id]; ok {
		return it, nil
	}
	return nil, mediarec.Errorf(mediarec.ENOTFOUND, "Item %d not found.", id)
}

func (w *demoWorld) id(t *testing.T, key string) int64 {
	t.Helper()
	id, ok := w.byTitle[key]
	if !ok {
		t.Fatalf("the demo catalog has no %s", key)
	}
	return id
}

// tastes is one user's feedback and preferences, changed by the test,
// which can also make it fail as a users service that is down.
type tastes struct {
	mu       sync.Mutex
	user     mediarec.User
	feedback []*mediarec.Feedback
	down     atomic.Bool
	refused  atomic.Int64 // calls failed while down
}

func (s *tastes) FindUserByID(context.Context, int64) (*mediarec.User, error) {
	if s.down.Load() {
		s.refused.Add(1)
		return nil, errors.New("users service unavailable")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.user
	return &u, nil
}

func (s *tastes) ListFeedback(context.Context, int64) ([]*mediarec.Feedback, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.feedback), nil
}

func (s *tastes) like(ids ...int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range ids {
		s.feedback = append(s.feedback, &mediarec.Feedback{UserID: 1, ItemID: id, Kind: mediarec.FeedbackLike, CreatedAt: time.Now()})
	}
}

func newRecommender(t *testing.T) (*recs.Recommender, *demoWorld, *tastes) {
	t.Helper()
	return newCountedRecommender(t, recs.Metrics{})
}

// newCountedRecommender is newRecommender counting with m.
func newCountedRecommender(t *testing.T, m recs.Metrics) (*recs.Recommender, *demoWorld, *tastes) {
	t.Helper()
	w, err := loadDemo()
	if err != nil {
		t.Fatal(err)
	}
	ts := &tastes{user: mediarec.User{ID: 1}}
	starters := func(_ context.Context, types []mediarec.ItemType, limit int) ([]*mediarec.Item, error) {
		var out []*mediarec.Item
		for id := int64(1); id <= int64(len(w.items)) && len(out) < limit; id++ {
			if it := w.items[id]; len(types) == 0 || slices.Contains(types, it.Type) {
				out = append(out, it)
			}
		}
		return out, nil
	}
	return recs.NewRecommender(recs.New(w, w.vectors, w, w.keywords), ts, recs.NewLedger(), nil, nil, starters, m), w, ts
}

var spaceWords = regexp.MustCompile(`(?i)\b(space|astronaut|astronom|nasa|moon|mars|martian|planet|galax|cosmos|orbit|apollo|rocket|star|universe|alien)`)

func isAboutSpace(it *mediarec.Item) bool {
	return spaceWords.MatchString(strings.Join(append(append([]string{it.Title, it.Description}, it.Tags...), it.Genres...), " "))
}

// TestRecommendSpaceFan is the demo's promise: a new user who likes three
// space films gets space films, documentaries and books, each explained by
// one of the liked films, none of them the liked ones.
func TestRecommendSpaceFan(t *testing.T) {
	r, w, ts := newRecommender(t)
	liked := []int64{w.id(t, "movie:Interstellar"), w.id(t, "movie:2001: A Space Odyssey"), w.id(t, "movie:Apollo 13")}
	ts.like(liked...)
	got, err := r.Recommend(context.Background(), recs.RecommendQuery{UserID: 1, Limit: 30, Diversity: 0.3})
	if err != nil {
		t.Fatal(err)
	}
	spaceByType := map[mediarec.ItemType]int{}
	for _, rec := range got {
		if slices.Contains(liked, rec.Item.ID) {
			t.Fatalf("recommended %q, which the user liked", rec.Item.Title)
		}
		if rec.Reason.Kind != recs.ReasonLikedItem || !slices.Contains(liked, rec.Reason.ItemID) || rec.Reason.Text == "" {
			t.Fatalf("%q: reason %+v does not name a liked item", rec.Item.Title, rec.Reason)
		}
		if isAboutSpace(rec.Item) {
			spaceByType[rec.Item.Type]++
		}
	}
	for _, typ := range []mediarec.ItemType{mediarec.TypeMovie, mediarec.TypeDocumentary, mediarec.TypeBook} {
		if spaceByType[typ] == 0 {
			t.Errorf("no space %s among %d recommendations: %v", typ, len(got), titles(got))
		}
	}
}

func TestRecommendDiversityAndTypes(t *testing.T) {
	r, w, ts := newRecommender(t)
	ts.like(w.id(t, "movie:Interstellar"), w.id(t, "movie:2001: A Space Odyssey"), w.id(t, "movie:Apollo 13"))
	ctx := context.Background()
	genres := func(diversity float64) int {
		got, err := r.Recommend(ctx, recs.RecommendQuery{UserID: 1, Limit: 20, Diversity: diversity})
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for _, rec := range got {
			for _, g := range rec.Item.Genres {
				seen[strings.ToLower(g)] = true
			}
		}
		return len(seen)
	}
	if plain, diverse := genres(0), genres(0.8); diverse <= plain {
		t.Errorf("diversity 0.8 gives %d distinct genres, diversity 0 gives %d: want more", diverse, plain)
	}
	got, err := r.Recommend(ctx, recs.RecommendQuery{UserID: 1, Types: []mediarec.ItemType{mediarec.TypePodcast}, Limit: 10})
	if err != nil || len(got) == 0 {
		t.Fatalf("podcasts: %v, %v", titles(got), err)
	}
	for _, rec := range got {
		if rec.Item.Type != mediarec.TypePodcast {
			t.Fatalf("types=podcast returned the %s %q", rec.Item.Type, rec.Item.Title)
		}
	}
}

func TestRecommendFollowsNewLikes(t *testing.T) {
	r, w, ts := newRecommender(t)
	ctx := context.Background()
	q := recs.RecommendQuery{UserID: 1, Limit: 10}
	cold, err := r.Recommend(ctx, q)
	if err != nil || len(cold) != 10 {
		t.Fatalf("cold start: %d items, %v", len(cold), err)
	}
	for _, rec := range cold {
		if rec.Reason.Kind != recs.ReasonPopular {
			t.Fatalf("cold start reason %+v, want popular", rec.Reason)
		}
	}
	ts.like(w.id(t, "book:The Hitchhiker's Guide to the Galaxy (Hitchhiker's Guide to the Galaxy, #1)"))
	first, err := r.Recommend(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	ts.like(w.id(t, "documentary:Planet Earth"))
	second, err := r.Recommend(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Equal(titles(first), titles(second)) {
		t.Fatalf("a new like left the answer unchanged: %v", titles(first))
	}
}

func TestRecommendRejectsBadQueries(t *testing.T) {
	r, _, _ := newRecommender(t)
	tests := []recs.RecommendQuery{
		{UserID: 1, Diversity: 1.5},
		{UserID: 1, Diversity: -0.1},
		{UserID: 1, Limit: 1000},
		{UserID: 1, Types: []mediarec.ItemType{"vinyl"}},
	}
	for _, q := range tests {
		if _, err := r.Recommend(context.Background(), q); mediarec.ErrorCode(err) != mediarec.EINVALID {
			t.Errorf("%+v: %v, want EINVALID", q, err)
		}
	}
}

func TestLedgerRanksCurrentLikes(t *testing.T) {
	p := recs.NewLedger()
	events := []mediarec.UserFeedbackEvent{
		{UserID: 1, ItemID: 10, Kind: mediarec.FeedbackLike},
		{UserID: 1, ItemID: 10, Kind: mediarec.FeedbackLike}, // repeated
		{UserID: 2, ItemID: 10, Kind: mediarec.FeedbackRating, Rating: 4.5},
		{UserID: 2, ItemID: 20, Kind: mediarec.FeedbackLike},
		{UserID: 3, ItemID: 30, Kind: mediarec.FeedbackRating, Rating: 2}, // not positive
		{UserID: 3, ItemID: 20, Kind: mediarec.FeedbackLike},
		{UserID: 4, ItemID: 20, Kind: mediarec.FeedbackLike},
		{UserID: 4, ItemID: 20, Deleted: true}, // removed
		{UserID: 5, ItemID: 40, Kind: mediarec.FeedbackLike},
		{UserID: 5, ItemID: 40, Kind: mediarec.FeedbackDislike}, // changed mind
	}
	for _, ev := range events {
		p.Observe(ev)
	}
	if got, want := p.Ranked(), []int64{10, 20}; !slices.Equal(got, want) {
		t.Fatalf("ranked %v, want %v", got, want)
	}
	if got, _ := p.Interactions(); len(got) != 6 {
		t.Fatalf("%d interactions, want the 6 judged pairs: %v", len(got), got)
	}
}

// TestHybridFoldsInWhoLikedWhat: when everyone who likes Interstellar also
// likes Notting Hill, a new Interstellar fan is offered Notting Hill, which
// content alone would never suggest, with Interstellar as the reason.
func TestHybridFoldsInWhoLikedWhat(t *testing.T) {
	r, w, ts := newRecommender(t)
	interstellar, nottingHill := w.id(t, "movie:Interstellar"), w.id(t, "movie:Notting Hill")
	ts.like(interstellar)
	ctx := context.Background()
	q := recs.RecommendQuery{UserID: 1, Types: []mediarec.ItemType{mediarec.TypeMovie}, Limit: 10}
	contentOnly, err := r.Recommend(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(titles(contentOnly), "movie:Notting Hill") {
		t.Fatalf("content alone already offers Notting Hill: %v", titles(contentOnly))
	}

	ledger, hybrid, _ := newFansHybrid(t, w, interstellar, nottingHill)
	answers := &counts{}
	withHybrid := recs.NewRecommender(r.Service, ts, ledger, hybrid, nil, nil, recs.Metrics{Answers: answers})
	got, err := withHybrid.Recommend(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	if answers.get(recs.PathHybrid) != 1 {
		t.Errorf("answers counted %v, want one hybrid", answers.all())
	}
	for _, rec := range got {
		if rec.Item.ID == nottingHill {
			if rec.Reason.ItemID != interstellar {
				t.Fatalf("Notting Hill's reason %+v, want Interstellar", rec.Reason)
			}
			return
		}
	}
	t.Fatalf("the hybrid does not offer Notting Hill: %v", titles(got))
}

// newFansHybrid returns a ledger where everyone who likes Interstellar
// also likes Notting Hill, and a hybrid fitted on it, keeping its index in
// the returned store.
func newFansHybrid(t *testing.T, w *demoWorld, interstellar, nottingHill int64) (*recs.Ledger, *recs.Hybrid, *refitDuringSearch) {
	t.Helper()
	ledger := recs.NewLedger()
	for u := int64(100); u < 160; u++ {
		for _, id := range []int64{interstellar, nottingHill, 1 + (u*37)%int64(len(w.items))} {
			ledger.Observe(mediarec.UserFeedbackEvent{UserID: u, ItemID: id, Kind: mediarec.FeedbackLike})
		}
	}
	local, err := vectordb.OpenLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { local.Close() })
	store := &refitDuringSearch{Local: local}
	hybrid := recs.NewHybrid(w, w.vectors, store, ledger, collab.Options{Factors: 16}, slog.New(slog.DiscardHandler))
	if err := hybrid.Refit(context.Background()); err != nil {
		t.Fatal(err)
	}
	return ledger, hybrid, store
}

// refitDuringSearch is a hybrid index store that, once armed, runs refit
// before answering the next search: the refit swaps in a new index and
// drops the one the search asks.
type refitDuringSearch struct {
	*vectordb.Local
	refit atomic.Pointer[func()]
}

func (s *refitDuringSearch) Search(ctx context.Context, coll string, v []float32, k int, f mediarec.VectorFilter) ([]mediarec.VectorHit, error) {
	if refit := s.refit.Swap(nil); refit != nil {
		(*refit)()
	}
	return s.Local.Search(ctx, coll, v, k, f)
}

// TestHybridRefitDuringARecommendation: a refit that drops the index a
// recommendation is searching makes it search the new one, not fail.
func TestHybridRefitDuringARecommendation(t *testing.T) {
	r, w, ts := newRecommender(t)
	interstellar, nottingHill := w.id(t, "movie:Interstellar"), w.id(t, "movie:Notting Hill")
	ts.like(interstellar)
	ctx := context.Background()
	ledger, hybrid, store := newFansHybrid(t, w, interstellar, nottingHill)
	refits := 0
	refit := func() {
		refits++
		if err := hybrid.Refit(ctx); err != nil {
			t.Error(err)
		}
	}
	store.refit.Store(&refit)
	answers := &counts{}
	withHybrid := recs.NewRecommender(r.Service, ts, ledger, hybrid, nil, nil, recs.Metrics{Answers: answers})
	got, err := withHybrid.Recommend(ctx, recs.RecommendQuery{UserID: 1, Types: []mediarec.ItemType{mediarec.TypeMovie}, Limit: 10})
	if err != nil {
		t.Fatalf("recommend across a refit: %v", err)
	}
	if refits != 1 || answers.get(recs.PathHybrid) != 1 || !slices.Contains(titles(got), "movie:Notting Hill") {
		t.Errorf("%d refits, answers %v, titles %v; want one refit and a hybrid answer with Notting Hill", refits, answers.all(), titles(got))
	}
}

// counts counts answers by path and cache lookups.
type counts struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *counts) add(key string, n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[key] += n
}

func (c *counts) Answered(path string) { c.add(path, 1) }

func (c *counts) Lookup(hits, misses int) {
	c.add("hits", hits)
	c.add("misses", misses)
}

func (c *counts) get(key string) int { return c.all()[key] }

func (c *counts) all() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.n)
}

// TestRecommendCountsPaths: each answer is counted by the path it took, and
// the preference tag cache by its hits and misses.
func TestRecommendCountsPaths(t *testing.T) {
	answers, tagCache := &counts{}, &counts{}
	r, w, ts := newCountedRecommender(t, recs.Metrics{Answers: answers, TagCache: tagCache})
	ctx := context.Background()
	steps := []struct {
		name    string
		prepare func()
		want    map[string]int // answers so far
		tags    map[string]int // tag cache lookups so far
	}{
		{"no taste yet: cold start", func() {}, map[string]int{recs.PathColdStart: 1}, nil},
		{"a like: content", func() { ts.like(w.id(t, "movie:Interstellar")) }, map[string]int{recs.PathColdStart: 1, recs.PathContent: 1}, nil},
		{"new tags miss", func() {
			ts.mu.Lock()
			ts.user.Preferences.Tags = []string{"space", "ocean"}
			ts.mu.Unlock()
		}, map[string]int{recs.PathColdStart: 1, recs.PathContent: 2}, map[string]int{"hits": 0, "misses": 2}},
		{"known tags hit", func() {}, map[string]int{recs.PathColdStart: 1, recs.PathContent: 3}, map[string]int{"hits": 2, "misses": 2}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			st.prepare()
			if _, err := r.Recommend(ctx, recs.RecommendQuery{UserID: 1, Limit: 5}); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(st.want, answers.all()); diff != "" {
				t.Fatalf("answers (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(st.tags, tagCache.all()); diff != "" {
				t.Fatalf("tag cache (-want +got):\n%s", diff)
			}
		})
	}
}

func titles(rs []recs.Recommendation) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = string(r.Item.Type) + ":" + r.Item.Title
	}
	return out
}

func TestSearchOnTheDemo(t *testing.T) {
	r, w, _ := newRecommender(t)
	ctx := context.Background()
	search := func(q string) *recs.SearchResult {
		t.Helper()
		res, err := r.Search(ctx, recs.SearchQuery{Text: q, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}

	ocean := search("a documentary about the ocean")
	if !slices.Equal(ocean.Parsed.Types, []mediarec.ItemType{mediarec.TypeDocumentary}) || len(ocean.Items) == 0 {
		t.Fatalf("parsed %+v, %d items", ocean.Parsed, len(ocean.Items))
	}
	oceanic := regexp.MustCompile(`(?i)ocean|sea|marine|blue planet|reef|whale|shark|coral|underwater`)
	for i, it := range ocean.Items[:3] {
		if it.Item.Type != mediarec.TypeDocumentary || !oceanic.MatchString(it.Item.Title+" "+strings.Join(it.Item.Tags, " ")) {
			t.Errorf("result %d: %s %q, want an ocean documentary", i+1, it.Item.Type, it.Item.Title)
		}
	}

	interstellar := w.id(t, "movie:Interstellar")
	if got := search("Interstellar"); got.Items[0].Item.ID != interstellar {
		t.Errorf("searching a title: first result %q", got.Items[0].Item.Title)
	}
	like := search("find me something like Interstellar")
	if like.Parsed.Text != "Interstellar" {
		t.Errorf("parsed text %q, want Interstellar", like.Parsed.Text)
	}
	neighbours, err := r.Similar(ctx, interstellar, nil, 30)
	if err != nil {
		t.Fatal(err)
	}
	near := map[int64]bool{}
	for _, n := range neighbours {
		near[n.Item.ID] = true
	}
	pulled := 0
	for _, it := range like.Items {
		if it.Item.ID == interstellar {
			t.Errorf("asked for things like Interstellar, got Interstellar itself")
		}
		if near[it.Item.ID] {
			pulled++
		}
	}
	if pulled < 3 {
		t.Errorf("only %d of Interstellar's neighbours among %v", pulled, like.Items)
	}
}
