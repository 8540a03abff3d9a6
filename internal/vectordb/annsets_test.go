package vectordb_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"mediarec"
	"mediarec/internal/collab"
	"mediarec/internal/datatest"
	"mediarec/internal/embed"
	"mediarec/internal/eval"
	"mediarec/internal/recs"
	"mediarec/internal/synth"
)

// The three vector sets of the ANN benchmark (see bench_test.go). Each has
// points whose ids are their row numbers and media types that follow the
// vectors, and queries of a few kinds, each kind with its own filter.

// annQuery is one benchmark query.
type annQuery struct {
	vec    []float32
	filter mediarec.VectorFilter
}

// annSet is a vector set and its queries by kind.
type annSet struct {
	dot     bool // inner-product collection (the hybrid index); cosine otherwise
	dim     int
	vecs    [][]float32
	types   []mediarec.ItemType
	queries map[string][]annQuery
}

func (s *annSet) points(lo, hi int) []mediarec.VectorPoint {
	pts := make([]mediarec.VectorPoint, 0, hi-lo)
	for i := lo; i < hi; i++ {
		pts = append(pts, mediarec.VectorPoint{ID: int64(i), Vector: s.vecs[i], Payload: mediarec.VectorPayload{Type: s.types[i]}})
	}
	return pts
}

// filmLover is the correlated filter of every set: a profile built from
// films asks for books and podcasts, which lie away from it.
var filmLover = mediarec.VectorFilter{Types: []mediarec.ItemType{mediarec.TypeBook, mediarec.TypePodcast}}

// lowRankSet is a 32-d latent space projected to 256-d plus noise: nearly
// every direction of the ambient space is noise, which is what makes graph
// search hard (clustered data is easy). Types are regions of the first
// latent coordinate (books 20%, podcasts 10%, documentaries 10%, movies
// 60%), so neighbours share a type except near the borders and a film
// lover's books and podcasts are far from the query.
func lowRankSet(n, nq int) *annSet {
	const latent, dim, noise = 32, 256, 0.3
	rng := rand.New(rand.NewPCG(32, 256))
	proj := make([]float32, dim*latent)
	for i := range proj {
		proj[i] = float32(rng.NormFloat64() / math.Sqrt(latent))
	}
	draw := func(movie bool) ([]float32, mediarec.ItemType) {
		z := make([]float32, latent)
		for i := range z {
			z[i] = float32(rng.NormFloat64())
		}
		if movie {
			z[0] = float32(math.Abs(rng.NormFloat64()))
		}
		v := make([]float32, dim)
		for i := range v {
			var x float32
			for j, zj := range z {
				x += proj[i*latent+j] * zj
			}
			v[i] = x + float32(noise*rng.NormFloat64())
		}
		// Quantiles of N(0,1): 20%, 30%, 40%.
		t := mediarec.TypeMovie
		switch {
		case z[0] < -0.8416:
			t = mediarec.TypeBook
		case z[0] < -0.5244:
			t = mediarec.TypePodcast
		case z[0] < -0.2533:
			t = mediarec.TypeDocumentary
		}
		return annUnit(v), t
	}
	s := &annSet{dim: dim, vecs: make([][]float32, n), types: make([]mediarec.ItemType, n), queries: map[string][]annQuery{}}
	for i := range n {
		s.vecs[i], s.types[i] = draw(false)
	}
	for range nq {
		v, _ := draw(false)
		s.queries["plain"] = append(s.queries["plain"], annQuery{vec: v})
	}
	for range nq {
		v, _ := draw(true)
		s.queries["film_lover"] = append(s.queries["film_lover"], annQuery{vec: v, filter: filmLover})
	}
	return s
}

// annCatalog is the real catalog of package synth: MovieLens (with TMDB
// overviews, and the TMDB films MovieLens lacks), goodbooks and the
// podcasts, embedded by the LSA fitted on their texts as the service fits
// it. Beyond it, sets grow with synth's mixes.
type annCatalog struct {
	src   *synth.Source
	items []*mediarec.Item
	vecs  [][]float32
	lsa   *embed.LSA
	ml    *eval.Dataset
}

var annCatalogOnce struct {
	sync.Once
	c   *annCatalog
	err error
}

func loadANNCatalog(tb testing.TB) *annCatalog {
	tb.Helper()
	ml := datatest.Dir(tb, datatest.MovieLens)
	datatest.Dir(tb, datatest.TMDB)
	datatest.Dir(tb, datatest.Goodbooks)
	datatest.Dir(tb, datatest.Podcasts)
	annCatalogOnce.Do(func() {
		annCatalogOnce.c, annCatalogOnce.err = readANNCatalog(filepath.Dir(ml))
	})
	if annCatalogOnce.err != nil {
		tb.Fatal(annCatalogOnce.err)
	}
	return annCatalogOnce.c
}

// readANNCatalog reads the shared data directory dir.
func readANNCatalog(dir string) (*annCatalog, error) {
	src, err := synth.Load(dir)
	if err != nil {
		return nil, err
	}
	c := &annCatalog{src: src, items: src.Items, ml: src.MovieLens}
	texts := make([]string, len(c.items))
	for i, it := range c.items {
		texts[i] = embed.ItemText(it)
	}
	if c.lsa, err = embed.FitLSA(texts, embed.DefaultDimensions); err != nil {
		return nil, err
	}
	c.vecs = annEmbed(c.lsa, texts)
	return c, nil
}

// annEmbed embeds texts on every core.
func annEmbed(m *embed.LSA, texts []string) [][]float32 {
	out := make([][]float32, len(texts))
	var wg sync.WaitGroup
	per := (len(texts) + runtime.NumCPU() - 1) / runtime.NumCPU()
	for lo := 0; lo < len(texts); lo += per {
		hi := min(lo+per, len(texts))
		wg.Go(func() {
			v, _ := m.Embed(context.Background(), texts[lo:hi])
			copy(out[lo:], v)
		})
	}
	wg.Wait()
	return out
}

// related returns n items of the same type as item i that share one of its
// genres (synth.Source.Related).
func (c *annCatalog) related(rng *rand.Rand, i, n int) []int {
	return c.src.Related(rng, i, n)
}

// mixes returns n distinct mixed items (synth.Mixer): texts whose source
// item gives the type, and whose two partners are related to it. None
// repeats a text: a repeated text would be a duplicate vector, which real
// catalogs rarely hold.
func (c *annCatalog) mixes(tb testing.TB, seed uint64, n int) []synth.Mix {
	tb.Helper()
	m := c.src.NewMixer(seed)
	out := make([]synth.Mix, 0, max(n, 0))
	for range n {
		mix, err := m.Next()
		if err != nil {
			tb.Fatal(err)
		}
		mix.Item = nil // only the text and the indexes are needed
		out = append(out, mix)
	}
	return out
}

// catalogSet is the real catalog's LSA vectors, grown to n with mixed texts
// (see mixes) embedded by the same model. Queries are profiles of a few
// related items (recs.Profile, weights of 3.5 to 5 stars), text queries
// embedded by the model, and a film lover's profile of related films asking
// for books and podcasts.
func catalogSet(tb testing.TB, n, nq int) *annSet {
	c := loadANNCatalog(tb)
	rng := rand.New(rand.NewPCG(7, uint64(n)))
	s := &annSet{dim: embed.DefaultDimensions, queries: map[string][]annQuery{}}
	real := min(n, len(c.items))
	s.vecs = append(s.vecs, c.vecs[:real]...)
	for _, it := range c.items[:real] {
		s.types = append(s.types, it.Type)
	}
	var texts []string
	for _, m := range c.mixes(tb, 7<<32|uint64(n), n-real) {
		texts = append(texts, m.Text)
		s.types = append(s.types, c.items[m.Source].Type)
	}
	s.vecs = append(s.vecs, annEmbed(c.lsa, texts)...)

	profile := func(first int) []float32 {
		idx := append([]int{first}, c.related(rng, first, 1+rng.IntN(4))...)
		vecs := make([][]float32, len(idx))
		w := make([]float64, len(idx))
		for i, j := range idx {
			vecs[i] = c.vecs[j]
			w[i] = recs.Weight(recs.Judgement{Kind: mediarec.FeedbackRating, Rating: 3.5 + 0.5*float64(rng.IntN(4))}, time.Time{})
		}
		return recs.Profile(vecs, w, nil)
	}
	var films []int
	for i, it := range c.items {
		if it.Type == mediarec.TypeMovie {
			films = append(films, i)
		}
	}
	var texts2 []string
	for range nq {
		s.queries["profile"] = append(s.queries["profile"], annQuery{vec: profile(rng.IntN(len(c.items)))})
		s.queries["film_lover"] = append(s.queries["film_lover"], annQuery{vec: profile(films[rng.IntN(len(films))]), filter: filmLover})
		it := c.items[rng.IntN(len(c.items))]
		q := string(it.Type)
		if len(it.Genres) > 0 {
			q = it.Genres[rng.IntN(len(it.Genres))] + " " + q
		}
		if len(it.Tags) > 0 {
			q += " about " + it.Tags[rng.IntN(len(it.Tags))]
		} else if sent := synth.Sentences(it.Description); len(sent) > 0 {
			w := strings.Fields(sent[0])
			q += " like " + strings.Join(w[:min(4, len(w))], " ")
		}
		texts2 = append(texts2, q)
	}
	for _, v := range annEmbed(c.lsa, texts2) {
		s.queries["text"] = append(s.queries["text"], annQuery{vec: v})
	}
	return s
}

// hybridSet is the recommender's hybrid index: collab.Fit on every
// ml-latest-small rating, item vectors from ItemVector over the LSA content
// vectors of the whole catalog (books and podcasts have no factors), and
// queries that are real users' profiles (recs.Profile over QueryVector,
// recs.Weight as of the user's last rating) with the user's rated items
// excluded, the same profiles without exclusions (the side-by-side with
// hnswlib) and asking for books and podcasts. Beyond
// the real items, a new item's content is a mixed text (see mixes) and, when
// its source is a rated film, its factors are a sparse mix of the factors of
// the source and two related films, scaled to the source's length.
func hybridSet(tb testing.TB, n, nq int) *annSet {
	c := loadANNCatalog(tb)
	ds := c.ml
	var in []collab.Interaction
	for _, r := range ds.Ratings {
		in = append(in, collab.Interaction{User: r.User, Item: ds.Items[r.Item].ID, Weight: collab.InteractionWeight(mediarec.FeedbackRating, r.Value)})
	}
	m, err := collab.Fit(in, collab.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	cd := embed.DefaultDimensions
	// Catalog items past MovieLens's get ids no MovieLens film has, so
	// that ItemVector gives them no factors.
	idOf := func(i int) int64 {
		if i < len(ds.Items) {
			return ds.Items[i].ID
		}
		return -1 - int64(i)
	}
	factors := func(i int) []float32 { return m.ItemVector(idOf(i), make([]float32, cd))[cd:] }

	s := &annSet{dot: true, dim: m.Dim(cd), queries: map[string][]annQuery{}}
	real := min(n, len(c.items))
	for i := range real {
		s.vecs = append(s.vecs, m.ItemVector(idOf(i), c.vecs[i]))
		s.types = append(s.types, c.items[i].Type)
	}
	var texts []string
	var mixes [][3]int
	for _, m := range c.mixes(tb, 11<<32|uint64(n), n-real) {
		texts = append(texts, m.Text)
		mixes = append(mixes, [3]int{m.Source, m.Partners[0], m.Partners[1]})
		s.types = append(s.types, c.items[m.Source].Type)
	}
	for j, v := range annEmbed(c.lsa, texts) {
		x := m.ItemVector(-1, v)
		f := x[cd:]
		if src := mixes[j][0]; m.Known(idOf(src)) {
			var norm2 float64
			for t, w := range []float32{0.6, 0.25, 0.15} {
				for d, y := range factors(mixes[j][t]) {
					f[d] += w * y
				}
			}
			for _, y := range f {
				norm2 += float64(y) * float64(y)
			}
			var src2 float64
			for _, y := range factors(src) {
				src2 += float64(y) * float64(y)
			}
			if norm2 > 0 {
				scale := float32(math.Sqrt(src2 / norm2))
				for d := range f {
					f[d] *= scale
				}
			}
		}
		s.vecs = append(s.vecs, x)
	}

	byUser := map[int64][]eval.Rating{}
	var users []int64
	for _, r := range ds.Ratings {
		if _, ok := byUser[r.User]; !ok {
			users = append(users, r.User)
		}
		byUser[r.User] = append(byUser[r.User], r)
	}
	slices.Sort(users)
	for q := range nq {
		u := users[(q*7919)%len(users)]
		rs := byUser[u]
		slices.SortFunc(rs, func(a, b eval.Rating) int { return int(a.Time - b.Time) })
		now := rs[len(rs)-1].At()
		vecs := make([][]float32, len(rs))
		w := make([]float64, len(rs))
		var rated []int64
		for i, r := range rs {
			vecs[i] = m.QueryVector(ds.Items[r.Item].ID, c.vecs[r.Item])
			w[i] = recs.Weight(recs.Judgement{Kind: mediarec.FeedbackRating, Rating: r.Value, At: r.At()}, now)
			if r.Item < real {
				rated = append(rated, int64(r.Item))
			}
		}
		p := recs.Profile(vecs, w, nil)
		if p == nil {
			continue
		}
		s.queries["profile"] = append(s.queries["profile"], annQuery{vec: p})
		s.queries["user"] = append(s.queries["user"], annQuery{vec: p, filter: mediarec.VectorFilter{ExcludeIDs: rated}})
		s.queries["film_lover"] = append(s.queries["film_lover"], annQuery{vec: p, filter: filmLover})
	}
	return s
}

func annUnit(v []float32) []float32 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	inv := float32(1 / math.Sqrt(s))
	for i := range v {
		v[i] *= inv
	}
	return v
}

func annSetByName(tb testing.TB, name string, n, nq int) *annSet {
	switch name {
	case "lowrank":
		return lowRankSet(n, nq)
	case "catalog":
		return catalogSet(tb, n, nq)
	case "hybrid":
		return hybridSet(tb, n, nq)
	}
	panic(fmt.Sprintf("no ANN set %q", name))
}
