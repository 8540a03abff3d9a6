package eval

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sync"
	"time"

	"mediarec"
	"mediarec/internal/embed"
	"mediarec/internal/recs"
	"mediarec/internal/vectordb"
)

// served is the path a recommendation request takes, built from the train
// ratings: the content vectors in a vector store (the shared one a request
// reads), the ledger fed with the train ratings as feedback events, the
// hybrid index refitted from it in a local store (each recs process keeps
// its own), and recommenders over them. Only the clock differs from a
// request: each user is served as of their last train rating.
type served struct {
	content *recs.Recommender // no collaborative model: content alone
	hybrid  *recs.Recommender
	index   map[int64]int // item id → index into Dataset.Items
	close   func() error
}

// servedCollection names the content collection in the vector store.
const servedCollection = "eval_content"

// fixedLive is a live generation that never changes.
type fixedLive struct {
	e    embed.Embedder
	coll string
}

func (l fixedLive) Live(context.Context) (embed.Embedder, string, error) { return l.e, l.coll, nil }

// datasetItems serves the data set's items as the catalog would.
type datasetItems map[int64]*mediarec.Item

func (d datasetItems) FindItemsByIDs(_ context.Context, ids []int64) ([]*mediarec.Item, error) {
	out := make([]*mediarec.Item, 0, len(ids))
	for _, id := range ids {
		if it, ok := d[id]; ok {
			out = append(out, it)
		}
	}
	return out, nil
}

func (d datasetItems) FindItemByID(_ context.Context, id int64) (*mediarec.Item, error) {
	if it, ok := d[id]; ok {
		return it, nil
	}
	return nil, mediarec.Errorf(mediarec.ENOTFOUND, "Item %d not found.", id)
}

// servedType is the media type every item is stored under. MovieLens rates
// films, documentaries among them; one type lets a served list rank the
// whole catalog as the other methods do, without the per-type quota of a
// list that mixes types.
const servedType = mediarec.TypeMovie

// buildServed loads the content vectors into store (a local one in a
// temporary directory when nil), feeds the train ratings to a ledger and
// fits the hybrid index on it.
func buildServed(ctx context.Context, tr *trainSet, store recs.VectorStore) (*served, error) {
	vecs, err := tr.content(ctx)
	if err != nil {
		return nil, err
	}
	s := &served{index: make(map[int64]int, len(tr.ds.Items))}
	var closers []func() error
	s.close = func() error {
		var first error
		for _, c := range slices.Backward(closers) {
			if err := c(); err != nil && first == nil {
				first = err
			}
		}
		return first
	}
	local := func() (*vectordb.Local, error) {
		dir, err := os.MkdirTemp("", "mediarec-eval-")
		if err != nil {
			return nil, fmt.Errorf("vector store: %w", err)
		}
		l, err := vectordb.OpenLocal(dir)
		if err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		closers = append(closers, func() error { return os.RemoveAll(dir) }, l.Close)
		return l, nil
	}
	fail := func(err error) (*served, error) {
		s.close()
		return nil, err
	}
	if store == nil {
		if store, err = local(); err != nil {
			return fail(err)
		}
	}
	if err := store.CreateCollection(ctx, servedCollection, tr.dim); err != nil {
		return fail(fmt.Errorf("content collection: %w", err))
	}
	closers = append(closers, func() error { return store.DeleteCollection(context.WithoutCancel(ctx), servedCollection) })
	items := make(datasetItems, len(tr.ds.Items))
	pts := make([]mediarec.VectorPoint, 0, len(tr.ds.Items))
	for i, it := range tr.ds.Items {
		s.index[it.ID] = i
		items[it.ID] = it
		pts = append(pts, mediarec.VectorPoint{ID: it.ID, Vector: vecs[i], Payload: mediarec.VectorPayload{Type: servedType, Genres: it.Genres, Year: it.Year}})
	}
	for lo := 0; lo < len(pts); lo += 1000 {
		if err := store.Upsert(ctx, servedCollection, pts[lo:min(lo+1000, len(pts))]); err != nil {
			return fail(fmt.Errorf("content vectors: %w", err))
		}
	}

	ledger := recs.NewLedger()
	for _, u := range tr.users {
		for _, r := range u.Train {
			ledger.Observe(mediarec.UserFeedbackEvent{UserID: u.User, ItemID: tr.ds.Items[r.Item].ID,
				Kind: mediarec.FeedbackRating, Rating: r.Value, OccurredAt: r.At()})
		}
	}
	live := fixedLive{e: contentEmbedder{}, coll: servedCollection}
	private, err := local()
	if err != nil {
		return fail(err)
	}
	hybrid := recs.NewHybrid(live, store, private, ledger, tr.hybrid, slog.New(slog.DiscardHandler))
	if err := hybrid.Refit(ctx); err != nil {
		return fail(fmt.Errorf("fit the hybrid: %w", err))
	}
	search := recs.New(live, store, items, nil)
	s.content = recs.NewRecommender(search, ledger, ledger, nil, nil, nil, recs.Metrics{})
	s.hybrid = recs.NewRecommender(search, ledger, ledger, hybrid, nil, nil, recs.Metrics{})
	return s, nil
}

// contentEmbedder stands for the fitted model: a served recommendation
// embeds nothing but preference tags, and the ratings carry none.
type contentEmbedder struct{}

func (contentEmbedder) Model() string { return "eval-content" }

func (contentEmbedder) Dimensions() int { return DefaultContentDim }

func (contentEmbedder) Embed(context.Context, []string) ([][]float32, error) {
	return nil, mediarec.Errorf(mediarec.EINTERNAL, "The evaluation embeds no text.")
}

// servedOnce builds the served path once for every method that uses it.
type servedOnce struct {
	once sync.Once
	s    *served
	err  error
}

// servedPath returns the served path, building it on first use.
func (tr *trainSet) servedPath(ctx context.Context) (*served, error) {
	tr.served.once.Do(func() {
		tr.served.s, tr.served.err = buildServed(ctx, tr, tr.store)
	})
	return tr.served.s, tr.served.err
}

// closeServed drops what the served path built, if it was.
func (tr *trainSet) closeServed() {
	if tr.served.s != nil {
		tr.served.s.close()
	}
}

// servedRanker ranks through rec as a request would: one type, the user's
// train ratings as their feedback, diversity as asked.
func servedRanker(tr *trainSet, s *served, rec *recs.Recommender, diversity float64) ranker {
	return func(ctx context.Context, u, k int) ([]int, error) {
		user := tr.users[u]
		var at time.Time // now, for a user with no train rating: a cold start
		if len(user.Train) > 0 {
			at = user.Train[len(user.Train)-1].At()
		}
		got, err := rec.Recommend(ctx, recs.RecommendQuery{
			UserID: user.User, Types: []mediarec.ItemType{servedType}, Limit: k, Diversity: diversity, At: at,
		})
		if err != nil {
			return nil, fmt.Errorf("recommend to user %d: %w", user.User, err)
		}
		list := make([]int, len(got))
		for i, r := range got {
			list[i] = s.index[r.Item.ID]
		}
		return list, nil
	}
}

// servedFit fits a method that ranks through the served path, with the
// hybrid index or content alone.
func servedFit(hybrid bool, diversity float64) fitFunc {
	return func(ctx context.Context, tr *trainSet, _ []int) (ranker, error) {
		s, err := tr.servedPath(ctx)
		if err != nil {
			return nil, err
		}
		rec := s.content
		if hybrid {
			rec = s.hybrid
		}
		return servedRanker(tr, s, rec, diversity), nil
	}
}
