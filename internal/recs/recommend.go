package recs

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"mediarec"
	"mediarec/internal/embed"
	"mediarec/internal/linalg"
)

// Tastes reads what a user told the users service: feedback and
// preferences. The service reads them from the Ledger that the users'
// events keep current, so a like changes the next answer as soon as its
// event arrives, and no request waits on the users service.
type Tastes interface {
	FindUserByID(ctx context.Context, id int64) (*mediarec.User, error)
	ListFeedback(ctx context.Context, userID int64) ([]*mediarec.Feedback, error)
}

// Starters lists the most popular catalog items of the given types (all
// when empty): the highest source Popularity first, ties by id. A cold start
// asks for one type at a time and blends in the project's own likes.
type Starters func(ctx context.Context, types []mediarec.ItemType, limit int) ([]*mediarec.Item, error)

// Reason kinds.
const (
	ReasonLikedItem = "liked_item"
	ReasonTag       = "tag"
	ReasonPopular   = "popular"
)

// Reason explains one recommendation: the liked item or preference tag
// nearest to it, or its popularity.
type Reason struct {
	Kind   string `json:"kind"`
	ItemID int64  `json:"item_id,omitempty"`
	Tag    string `json:"tag,omitempty"`
	Text   string `json:"text"`
}

// Recommendation is one recommended item.
type Recommendation struct {
	Item   *mediarec.Item `json:"item"`
	Score  float32        `json:"score"`
	Reason Reason         `json:"reason"`
}

// RecommendQuery asks for one user's recommendations. Without Types the
// user's preferred media types apply.
type RecommendQuery struct {
	UserID    int64
	Types     []mediarec.ItemType
	Limit     int
	Diversity float64
	// At is the moment the answer is for, which ages the user's
	// judgements (see Weight); zero means now. An offline evaluation
	// replays each user's history as of its split.
	At time.Time
}

// Paths of a recommendation answer, as Metrics counts them.
const (
	PathHybrid    = "hybrid"     // a profile moved to the collaborative space
	PathContent   = "content"    // a profile of item and tag vectors alone
	PathColdStart = "cold_start" // no profile yet: popularity, then starters
)

// Metrics count what a recommender does; nil fields count nothing.
type Metrics struct {
	// Answers counts each answer by path (internal/metrics.Recommendations).
	Answers interface{ Answered(path string) }
	// TagCache counts the lookups of preference tag vectors
	// (internal/metrics.Cache).
	TagCache interface{ Lookup(hits, misses int) }
	// AnswerCache counts the answers given again from the cache (hits)
	// and those computed (misses) while the cache is on.
	AnswerCache interface{ Lookup(hits, misses int) }
}

// Recommender answers recommendations on top of the search service.
type Recommender struct {
	*Service
	tastes   Tastes
	ledger   *Ledger
	hybrid   *Hybrid
	profiles *Profiles
	starters Starters
	tags     tagVectors
	answers  atomic.Pointer[answers]
	metrics  Metrics
	now      func() time.Time
}

// NewRecommender returns a recommender reading tastes, searching the hybrid
// index when it has one (hybrid may be nil), reading stored profiles when
// they are kept (profiles may be nil), ranking cold starts by the
// starters' source popularity blended with the ledger's likes, and counting
// with m.
func NewRecommender(s *Service, tastes Tastes, ledger *Ledger, hybrid *Hybrid, profiles *Profiles, starters Starters, m Metrics) *Recommender {
	return &Recommender{Service: s, tastes: tastes, ledger: ledger, hybrid: hybrid, profiles: profiles, starters: starters, metrics: m, now: time.Now}
}

// CacheAnswers keeps up to size recent answers and gives them again while
// what they were computed from holds (see answers); 0 turns the cache
// off. Answers kept before are dropped.
func (r *Recommender) CacheAnswers(size int) { r.answers.Store(newAnswers(size)) }

func (r *Recommender) cacheLookup(hits, misses int) {
	if r.metrics.AnswerCache != nil {
		r.metrics.AnswerCache.Lookup(hits, misses)
	}
}

// answered counts an answer by path.
func (r *Recommender) answered(path string) {
	if r.metrics.Answers != nil {
		r.metrics.Answers.Answered(path)
	}
}

// candidatesPerResult is how many ANN candidates the rerank sees per item
// it returns: MMR needs room to trade relevance for variety. The pool
// widens with the diversity asked, up to widestPool times at 1: the
// nearest few dozen items of a science-fiction fan are all science
// fiction, however they are reordered, and the neighbouring genres and
// other corners of their taste lie further out.
const (
	candidatesPerResult = 5
	minCandidates       = 50
	widestPool          = 5
)

// Recommend returns the user's recommendations, never an item the user has
// judged.
func (r *Recommender) Recommend(ctx context.Context, q RecommendQuery) ([]Recommendation, error) {
	limit, err := checkQuery(q.Types, q.Limit)
	if err != nil {
		return nil, err
	}
	if !(q.Diversity >= 0 && q.Diversity <= 1) { // NaN too
		return nil, invalid("diversity", "must be between 0 and 1")
	}
	user, err := r.tastes.FindUserByID(ctx, q.UserID)
	if err != nil {
		return nil, err
	}
	feedback, err := r.tastes.ListFeedback(ctx, q.UserID)
	if err != nil {
		return nil, fmt.Errorf("feedback of user %d: %w", q.UserID, err)
	}
	types := q.Types
	if len(types) == 0 {
		types = user.Preferences.MediaTypes
	}
	judged := make([]int64, len(feedback))
	for i, f := range feedback {
		judged[i] = f.ItemID
	}

	e, coll, err := r.live.Live(ctx)
	if err != nil {
		return nil, fmt.Errorf("live generation: %w", err)
	}
	now := q.At
	if now.IsZero() {
		now = r.now()
	}
	version := profileVersion(coll, feedback, user.Preferences.Tags, now)
	// Answers for another moment (an offline replay) are neither taken
	// from the cache nor kept.
	cache := r.answers.Load()
	if !q.At.IsZero() {
		cache = nil
	}
	key := keyOf(limit, q.Diversity, q.UserID, types)
	if ans, ok := cache.get(key, version, now); ok {
		out, ok, err := r.fromCache(ctx, ans)
		if err != nil {
			return nil, err
		}
		if ok {
			r.cacheLookup(1, 0)
			r.answered(ans.path)
			return out, nil
		}
	}
	if cache != nil {
		r.cacheLookup(0, 1)
	}
	out, path, err := r.compute(ctx, e, coll, r.hybrid.current(coll), user, feedback, types, judged, version, limit, q.Diversity, now)
	if err != nil {
		return nil, err
	}
	cache.put(key, version, path, out, now)
	r.answered(path)
	return out, nil
}

// compute finds the user's recommendations, in the hybrid space of x when
// x is not nil, and the path that found them.
func (r *Recommender) compute(ctx context.Context, e embed.Embedder, coll string, x *hybridIndex, user *mediarec.User, feedback []*mediarec.Feedback, types []mediarec.ItemType, judged []int64, version string, limit int, diversity float64, now time.Time) ([]Recommendation, string, error) {
	p, err := r.profile(ctx, e, coll, user.ID, feedback, user.Preferences.Tags, version, now)
	if err != nil {
		return nil, "", err
	}
	if p.vector == nil {
		recs, err := r.coldStart(ctx, types, judged, limit)
		return recs, PathColdStart, err
	}
	path := PathContent
	k := int(float64(max(limit*candidatesPerResult, minCandidates)) * (1 + (widestPool-1)*diversity))
	cands, err := r.candidates(ctx, r.vectors, coll, p.vector, types, judged, k)
	if err != nil {
		return nil, "", err
	}
	// With a collaborative model that knows some of the user's items, the
	// profile moves to the hybrid space: the items others judged come from
	// the hybrid index, the rest are the content candidates scored there.
	for x != nil {
		hp, ok := x.hybridProfile(p)
		if !ok {
			break
		}
		known, err := r.candidates(ctx, x.store, x.collection, hp.vector, types, judged, k)
		if mediarec.ErrorCode(err) == mediarec.ENOTFOUND {
			if next := r.hybrid.current(coll); next != x {
				// A refit replaced the index and dropped this one
				// since it was read: the next one answers.
				x = next
				continue
			}
		}
		if err != nil {
			return nil, "", err
		}
		p, cands, path = hp, x.merge(hp.vector, known, cands), PathHybrid
		break
	}
	// A list of several media types holds at most half of any one, so
	// that a film lover also meets the books and documentaries nearest
	// to their films.
	perType := limit
	if len(types) != 1 {
		perType = (limit + 1) / 2
	}
	picked := mmr(cands, limit, diversity, perType)

	// Only the liked items that explain a pick are read: a heavy user has
	// judged thousands.
	all := func(int64) bool { return true }
	ids := make([]int64, 0, 2*len(picked))
	whys := make([]Reason, len(picked))
	for i, c := range picked {
		ids = append(ids, c.id)
		if whys[i] = p.explain(c.vector, all); whys[i].Kind == ReasonLikedItem {
			ids = append(ids, whys[i].ItemID)
		}
	}
	items, err := r.itemsByID(ctx, ids)
	if err != nil {
		return nil, "", err
	}
	inCatalog := func(id int64) bool { _, ok := items[id]; return ok }
	out := make([]Recommendation, 0, len(picked))
	for i, c := range picked {
		it, ok := items[c.id]
		if !ok {
			continue
		}
		if why := whys[i]; why.Kind == ReasonLikedItem && !inCatalog(why.ItemID) {
			// Deleted since it was liked: the nearest of those read
			// explains instead.
			whys[i] = p.explain(c.vector, inCatalog)
		}
		out = append(out, Recommendation{Item: it, Score: c.relevance, Reason: worded(whys[i], items)})
	}
	return out, path, nil
}

// profile is a user's profile vector with what it was built from, for the
// reasons.
type profile struct {
	vector []float32
	judged []candidate // every judged item with a vector (relevance = weight)
	liked  []candidate // the positively judged ones
	tags   []string
	tagVec [][]float32
}

// profile builds the user's profile from the judged items' vectors and the
// tags; the vector itself is the stored one when it is of version (see
// Profiles), and is computed otherwise or when version is empty.
func (r *Recommender) profile(ctx context.Context, e embed.Embedder, coll string, userID int64, feedback []*mediarec.Feedback, tags []string, version string, now time.Time) (profile, error) {
	p := profile{tags: tags}
	ids := make([]int64, len(feedback))
	for i, f := range feedback {
		ids[i] = f.ItemID
	}
	pts, err := r.vectors.Get(ctx, coll, ids)
	if err != nil {
		return p, fmt.Errorf("vectors of judged items: %w", err)
	}
	byID := make(map[int64][]float32, len(pts))
	for _, pt := range pts {
		byID[pt.ID] = pt.Vector
	}
	var vecs [][]float32
	var weights []float64
	for _, f := range feedback {
		v, ok := byID[f.ItemID]
		if !ok {
			continue // not embedded yet, or deleted since
		}
		w := Weight(Judgement{Kind: f.Kind, Rating: f.Rating, At: f.CreatedAt}, now)
		vecs, weights = append(vecs, v), append(weights, w)
		c := candidate{id: f.ItemID, relevance: float32(w), vector: v}
		p.judged = append(p.judged, c)
		if w > 0 {
			p.liked = append(p.liked, c)
		}
	}
	var missed int
	if p.tagVec, missed, err = r.tags.get(ctx, e, tags); err != nil {
		return p, err
	}
	if r.metrics.TagCache != nil && len(tags) > 0 {
		r.metrics.TagCache.Lookup(len(tags)-missed, missed)
	}
	if version != "" {
		p.vector = r.profiles.stored(ctx, coll, userID, version)
	}
	if p.vector == nil {
		p.vector = Profile(vecs, weights, p.tagVec)
	}
	return p, nil
}

// explain names the liked item that passes known, or the tag, nearest to
// v; worded words it.
func (p profile) explain(v []float32, known func(id int64) bool) Reason {
	var best Reason
	bestSim := float32(-2)
	for _, l := range p.liked {
		if s := linalg.Dot(v, l.vector); s > bestSim && known(l.id) {
			bestSim = s
			best = Reason{Kind: ReasonLikedItem, ItemID: l.id}
		}
	}
	for i, tv := range p.tagVec {
		if s := linalg.Dot(v, tv); s > bestSim {
			bestSim = s
			best = Reason{Kind: ReasonTag, Tag: p.tags[i]}
		}
	}
	return best
}

// worded gives an explanation its text, naming a liked item from items.
func worded(why Reason, items map[int64]*mediarec.Item) Reason {
	switch why.Kind {
	case ReasonLikedItem:
		why.Text = fmt.Sprintf("Because you liked %q", items[why.ItemID].Title)
	case ReasonTag:
		why.Text = fmt.Sprintf("Because you follow %q", why.Tag)
	}
	return why
}

// candidates returns about k items nearest to v, with their vectors, best
// first. Each media type is searched on its own: the profile of a film lover
// sits so close to films that one search would return nothing else.
func (r *Recommender) candidates(ctx context.Context, space Vectors, coll string, v []float32, types []mediarec.ItemType, judged []int64, k int) ([]candidate, error) {
	if len(types) == 0 {
		types = mediarec.ItemTypes
	}
	perType := max(k/len(types), minCandidates/2)
	var hits []mediarec.VectorHit
	for _, t := range types {
		h, err := space.Search(ctx, coll, v, perType, mediarec.VectorFilter{Types: []mediarec.ItemType{t}, ExcludeIDs: judged})
		if err != nil {
			return nil, fmt.Errorf("search vectors: %w", err)
		}
		hits = append(hits, h...)
	}
	slices.SortStableFunc(hits, func(a, b mediarec.VectorHit) int { return cmp.Compare(b.Score, a.Score) })
	ids := make([]int64, len(hits))
	for i, h := range hits {
		ids[i] = h.ID
	}
	pts, err := space.Get(ctx, coll, ids)
	if err != nil {
		return nil, fmt.Errorf("candidate vectors: %w", err)
	}
	byID := make(map[int64][]float32, len(pts))
	for _, pt := range pts {
		byID[pt.ID] = pt.Vector
	}
	cands := make([]candidate, 0, len(hits))
	for _, h := range hits {
		if v, ok := byID[h.ID]; ok {
			cands = append(cands, candidate{id: h.ID, typ: h.Payload.Type, relevance: h.Score, vector: unit(v), genres: h.Payload.Genres})
		}
	}
	return cands, nil
}

// coldStart offers the most popular items of each asked type (every type
// when none is asked), skipping judged ones, in turns across the types, so
// that asking for films and books gives as many of each (the first type
// takes the odd one).
//
// Popularity blends two signals, each on a 0–1 scale. The source's count
// (MovieLens ratings, Goodreads ratings, podcast reviews) is divided by the
// count of its type's most counted item: counts of different sources are
// not comparable, and a share of the type's best keeps each type's top
// items on top. The project's likes enter as likes/(likes+likesPrior):
// zero while nobody here has liked anything, half the weight of the
// type's best-known item at likesPrior likes, and approaching it beyond,
// so that the project's own users take over as their feedback accrues but
// a single like never outranks the items the source counts most.
func (r *Recommender) coldStart(ctx context.Context, types []mediarec.ItemType, judged []int64, limit int) ([]Recommendation, error) {
	const (
		likesPrior = 10
		// maxLiked bounds the liked items read: beyond the most liked few
		// hundred, likes are too few to lift an item into a first page.
		maxLiked = 500
	)
	if len(types) == 0 {
		types = mediarec.ItemTypes
	}
	seen := make(map[int64]bool, len(judged))
	for _, id := range judged {
		seen[id] = true
	}
	ranked := r.ledger.Ranked()
	ranked = ranked[:min(len(ranked), maxLiked)]
	liked, err := r.itemsByID(ctx, ranked)
	if err != nil {
		return nil, err
	}

	type starter struct {
		item  *mediarec.Item
		share float64 // of the type's most counted item
		liked float64 // likes/(likes+likesPrior)
	}
	var lists [][]starter
	asked := map[mediarec.ItemType]bool{}
	for _, t := range types {
		if asked[t] {
			continue
		}
		asked[t] = true
		var items []*mediarec.Item
		if r.starters != nil {
			// Judged items may be among the first: ask for enough to
			// fill a page without them.
			if items, err = r.starters(ctx, []mediarec.ItemType{t}, limit+len(judged)); err != nil {
				return nil, fmt.Errorf("starter items: %w", err)
			}
		}
		listed := make(map[int64]bool, len(items))
		for _, it := range items {
			listed[it.ID] = true
		}
		for _, id := range ranked { // in order, so that ties rank alike every time
			if it, ok := liked[id]; ok && it.Type == t && !listed[id] {
				items = append(items, it)
			}
		}
		var top int64
		for _, it := range items {
			top = max(top, it.Popularity)
		}
		list := make([]starter, 0, len(items))
		for _, it := range items {
			if seen[it.ID] {
				continue
			}
			st := starter{item: it}
			if top > 0 {
				st.share = float64(it.Popularity) / float64(top)
			}
			if n := r.ledger.Likes(it.ID); n > 0 {
				st.liked = float64(n) / float64(n+likesPrior)
			}
			list = append(list, st)
		}
		// Stable: equal scores keep the starters' order (by id).
		slices.SortStableFunc(list, func(a, b starter) int { return cmp.Compare(b.share+b.liked, a.share+a.liked) })
		lists = append(lists, list)
	}

	out := make([]Recommendation, 0, limit)
	for i := 0; len(out) < limit; i++ {
		taken := false
		for _, list := range lists {
			if i < len(list) && len(out) < limit {
				st := list[i]
				out = append(out, Recommendation{Item: st.item, Score: float32(st.share + st.liked), Reason: Reason{Kind: ReasonPopular, Text: popularText(st.item, st.share, st.liked)}})
				taken = true
			}
		}
		if !taken {
			break
		}
	}
	return out, nil
}

// popularText says what a cold-start item's popularity rests on: the
// project's likes, the source's count, or nothing yet (an item its source
// counted nothing for, such as a hand-written demo podcast).
func popularText(it *mediarec.Item, share, liked float64) string {
	switch {
	case liked > 0 && liked >= share:
		return "Popular with other users"
	case it.Popularity > 0 && it.Type == mediarec.TypePodcast:
		return "Among the most reviewed podcasts"
	case it.Popularity > 0:
		plural := map[mediarec.ItemType]string{
			mediarec.TypeBook: "books", mediarec.TypeMovie: "films", mediarec.TypeDocumentary: "documentaries",
		}[it.Type]
		return "Among the most rated " + cmp.Or(plural, "items")
	default:
		return "A place to start while we learn your taste"
	}
}

// tagVectors caches the vectors of preference tags per model: a profile
// holds a handful of tags that rarely change.
type tagVectors struct {
	mu    sync.Mutex
	model string
	vecs  map[string][]float32
}

// maxCachedTags bounds the cache; it starts over when full.
const maxCachedTags = 10_000

// get returns the vectors of tags and how many of them it had to embed.
func (t *tagVectors) get(ctx context.Context, e embed.Embedder, tags []string) ([][]float32, int, error) {
	if len(tags) == 0 {
		return nil, 0, nil
	}
	out := make([][]float32, len(tags))
	var missing []int
	t.mu.Lock()
	if t.model != e.Model() || len(t.vecs) > maxCachedTags {
		t.model, t.vecs = e.Model(), map[string][]float32{}
	}
	for i, tag := range tags {
		if v, ok := t.vecs[tag]; ok {
			out[i] = v
		} else {
			missing = append(missing, i)
		}
	}
	t.mu.Unlock()
	if len(missing) == 0 {
		return out, 0, nil
	}
	texts := make([]string, len(missing))
	for j, i := range missing {
		texts[j] = tags[i]
	}
	vecs, err := e.Embed(embed.AsQuery(ctx), texts)
	if err != nil {
		return nil, 0, fmt.Errorf("embed preference tags: %w", err)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for j, i := range missing {
		out[i] = vecs[j]
		if t.model == e.Model() {
			t.vecs[tags[i]] = vecs[j]
		}
	}
	return out, len(missing), nil
}
