package eval

import (
	"context"
	"fmt"
	"sync"

	"mediarec"
	"mediarec/internal/collab"
	"mediarec/internal/embed"
	"mediarec/internal/linalg"
	"mediarec/internal/recs"
)

// DefaultContentDim is the dimension of the local embedder fitted on the
// item texts, the service's.
const DefaultContentDim = embed.DefaultDimensions

// contentVectors embeds every item with the local embedder fitted on the
// catalog's texts, as the service does once it has a catalog.
func contentVectors(ctx context.Context, items []*mediarec.Item, dim int) ([][]float32, error) {
	texts := make([]string, len(items))
	for i, it := range items {
		texts[i] = embed.ItemText(it)
	}
	lsa, err := embed.FitLSA(texts, dim)
	if err != nil {
		return nil, fmt.Errorf("fit the content model: %w", err)
	}
	return lsa.Embed(ctx, texts)
}

// judgements returns the weights recs.Weight gives a user's train ratings,
// as of the user's last train rating.
func judgements(train []Rating) []float64 {
	if len(train) == 0 {
		return nil
	}
	now := train[len(train)-1].At()
	w := make([]float64, len(train))
	for i, r := range train {
		w[i] = recs.Weight(recs.Judgement{Kind: mediarec.FeedbackRating, Rating: r.Value, At: r.At()}, now)
	}
	return w
}

// profileScorer scores items by the inner product of their vectors with
// the user's profile, recs.Profile over query vectors of the user's train
// items: what a vector index would rank by.
func profileScorer(tr *trainSet, items, query [][]float32) scorer {
	return scoreFunc(func(u int, dst []float64) {
		train := tr.users[u].Train
		vecs := make([][]float32, len(train))
		for i, r := range train {
			vecs[i] = query[r.Item]
		}
		p := recs.Profile(vecs, judgements(train), nil)
		for i, v := range items {
			dst[i] = float64(linalg.Dot(p, v))
		}
	})
}

// fitContent is what the service recommends without collaborative data:
// the cosine of the content vectors to the profile.
func fitContent(ctx context.Context, tr *trainSet, _ []int) (scorer, error) {
	vecs, err := tr.content(ctx)
	if err != nil {
		return nil, err
	}
	return profileScorer(tr, vecs, vecs), nil
}

// fitHybrid is the hybrid the service serves, through the collab API only:
// interactions weighed by collab.InteractionWeight, item vectors from
// ItemVector, profiles from QueryVector and the weights of recs.Weight.
// Scoring by the inner product ranks as a cosine index would: profiles are
// unit vectors and every item vector has the same length.
func fitHybrid(ctx context.Context, tr *trainSet, _ []int) (scorer, error) {
	vecs, err := tr.content(ctx)
	if err != nil {
		return nil, err
	}
	var in []collab.Interaction
	for _, u := range tr.users {
		for _, r := range u.Train {
			w := collab.InteractionWeight(mediarec.FeedbackRating, r.Value)
			in = append(in, collab.Interaction{User: u.User, Item: tr.ds.Items[r.Item].ID, Weight: w})
		}
	}
	m, err := collab.Fit(in, tr.hybrid)
	if err != nil {
		return nil, fmt.Errorf("fit the hybrid: %w", err)
	}
	items := make([][]float32, len(vecs))
	query := make([][]float32, len(vecs))
	for i, it := range tr.ds.Items {
		items[i] = m.ItemVector(it.ID, vecs[i])
		query[i] = m.QueryVector(it.ID, vecs[i])
	}
	return profileScorer(tr, items, query), nil
}

// contentCache holds the content vectors, shared by the methods that use
// them: they depend on the item texts only.
type contentCache struct {
	contentOnce sync.Once
	contentVecs [][]float32
	contentErr  error
}

// content returns the content vectors of the items, embedding them once.
func (tr *trainSet) content(ctx context.Context) ([][]float32, error) {
	tr.contentOnce.Do(func() {
		tr.contentVecs, tr.contentErr = contentVectors(ctx, tr.ds.Items, tr.dim)
	})
	return tr.contentVecs, tr.contentErr
}
