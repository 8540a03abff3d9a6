package eval

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/lapack/lapack64"
	"gonum.org/v1/gonum/mat"

	"mediarec/internal/collab"
	"mediarec/internal/recs"
)

// EASELambda is the L2 penalty of the EASE baseline.
const EASELambda = 500

// trainSet is what a method may learn from: the items and every user's
// train ratings. Every train rating counts as one interaction for the
// baselines, whatever its value.
type trainSet struct {
	ds     *Dataset
	users  []UserSplit
	counts []int // train interactions per item
	total  int
	seed   uint64
	dim    int              // content vector length
	hybrid collab.Options   // of the hybrid method
	store  recs.VectorStore // of the served methods; nil for a local one
	contentCache
	served servedOnce
}

// scorer scores every item for one user (by index into trainSet.users)
// into dst, higher is better; items the user rated in train are dropped
// afterwards whatever their score. It must be safe for concurrent use.
type scorer interface {
	score(u int, dst []float64)
}

type scoreFunc func(u int, dst []float64)

func (f scoreFunc) score(u int, dst []float64) { f(u, dst) }

// ranker returns a user's top k items (indices into Dataset.Items), best
// first, never one of their train items. It must be safe for concurrent
// use.
type ranker func(ctx context.Context, u, k int) ([]int, error)

// fitFunc fits a method and returns its ranker for the users listed in
// eval (indices into trainSet.users), the only ones it will be asked about.
type fitFunc func(ctx context.Context, tr *trainSet, eval []int) (ranker, error)

// exact ranks by a scorer over the whole catalog: no index, no cut-off
// before the top k.
func exact(fit func(ctx context.Context, tr *trainSet, eval []int) (scorer, error)) fitFunc {
	return func(ctx context.Context, tr *trainSet, eval []int) (ranker, error) {
		s, err := fit(ctx, tr, eval)
		if err != nil {
			return nil, err
		}
		n := len(tr.ds.Items)
		return func(_ context.Context, u, k int) ([]int, error) {
			scores, excluded := make([]float64, n), make([]bool, n)
			s.score(u, scores)
			for _, r := range tr.users[u].Train {
				excluded[r.Item] = true
			}
			return topK(scores, excluded, k), nil
		}, nil
	}
}

// Method names. content and hybrid rank through the path a request takes
// (the vector index, the candidate search, the rerank); their _exact
// counterparts score the whole catalog exactly, the upper bound of what the
// index can serve. The diversity variants rerank the served hybrid at the
// settings a user's slider offers.
const (
	MethodContent      = "content"
	MethodContentExact = "content_exact"
	MethodHybrid       = "hybrid"
	MethodHybridExact  = "hybrid_exact"
)

// Diversities are the diversity settings the served hybrid is also
// evaluated at, beside 0: the price of variety.
var Diversities = []float64{0.3, 0.8}

// DiversityMethod names the served hybrid reranked at diversity d.
func DiversityMethod(d float64) string { return fmt.Sprintf("hybrid_diversity_%g", d) }

// Methods returns the names of the methods Run compares, in report order.
func Methods() []string {
	out := []string{"random", "popularity", "itemknn", "ease", MethodContent, MethodContentExact, MethodHybrid, MethodHybridExact}
	for _, d := range Diversities {
		out = append(out, DiversityMethod(d))
	}
	return out
}

// exactOf names the exact counterpart of a served method ("" for none).
func exactOf(method string) string {
	switch method {
	case MethodContent:
		return MethodContentExact
	case MethodHybrid:
		return MethodHybridExact
	}
	return ""
}

func methodFit(name string) fitFunc {
	switch name {
	case "random":
		return exact(fitRandom)
	case "popularity":
		return exact(fitPopularity)
	case "itemknn":
		return exact(fitItemKNN)
	case "ease":
		return exact(fitEASE)
	case MethodContent:
		return servedFit(false, 0)
	case MethodContentExact:
		return exact(fitContent)
	case MethodHybrid:
		return servedFit(true, 0)
	case MethodHybridExact:
		return exact(fitHybrid)
	}
	for _, d := range Diversities {
		if name == DiversityMethod(d) {
			return servedFit(true, d)
		}
	}
	return nil
}

// fitRandom scores items uniformly at random, from a stream per user so
// that the result does not depend on the scheduling of users.
func fitRandom(_ context.Context, tr *trainSet, _ []int) (scorer, error) {
	return scoreFunc(func(u int, dst []float64) {
		r := rand.New(rand.NewPCG(tr.seed, uint64(tr.users[u].User)))
		for i := range dst {
			dst[i] = r.Float64()
		}
	}), nil
}

// fitPopularity scores items by their number of train interactions.
func fitPopularity(_ context.Context, tr *trainSet, _ []int) (scorer, error) {
	return scoreFunc(func(_ int, dst []float64) {
		for i, c := range tr.counts {
			dst[i] = float64(c)
		}
	}), nil
}

// interactions returns the binary users×items matrix of the train ratings
// of the given users, dense: the data sets evaluated here are small.
func interactions(tr *trainSet, users []int) blas64.General {
	n := len(tr.ds.Items)
	x := blas64.General{Rows: len(users), Cols: n, Stride: n, Data: make([]float64, len(users)*n)}
	for row, u := range users {
		for _, r := range tr.users[u].Train {
			x.Data[row*n+r.Item] = 1
		}
	}
	return x
}

func allUsers(tr *trainSet) []int {
	all := make([]int, len(tr.users))
	for i := range all {
		all[i] = i
	}
	return all
}

// rowScorer serves precomputed score rows of the evaluated users.
func rowScorer(s blas64.General, eval []int) scorer {
	row := make(map[int]int, len(eval))
	for i, u := range eval {
		row[u] = i
	}
	return scoreFunc(func(u int, dst []float64) {
		copy(dst, s.Data[row[u]*s.Stride:][:s.Cols])
	})
}

// fitItemKNN scores an item by the sum of its cosine similarities, over
// co-occurrence in train, to the user's train items: with X̃ = X·D^-½, D the
// item counts, the similarities are X̃ᵀX̃ and the scores X·X̃ᵀ·X̃, computed
// through the small users×users product.
func fitItemKNN(_ context.Context, tr *trainSet, eval []int) (scorer, error) {
	x := interactions(tr, allUsers(tr))
	xn := blas64.General{Rows: x.Rows, Cols: x.Cols, Stride: x.Stride, Data: make([]float64, len(x.Data))}
	for i := range x.Rows {
		for j := range x.Cols {
			if x.Data[i*x.Stride+j] != 0 {
				xn.Data[i*x.Stride+j] = 1 / math.Sqrt(float64(tr.counts[j]))
			}
		}
	}
	xe := interactions(tr, eval)
	a := blas64.General{Rows: len(eval), Cols: x.Rows, Stride: x.Rows, Data: make([]float64, len(eval)*x.Rows)}
	blas64.Gemm(blas.NoTrans, blas.Trans, 1, xe, xn, 0, a)
	s := blas64.General{Rows: len(eval), Cols: x.Cols, Stride: x.Cols, Data: make([]float64, len(eval)*x.Cols)}
	blas64.Gemm(blas.NoTrans, blas.NoTrans, 1, a, xn, 0, s)
	return rowScorer(s, eval), nil
}

// fitEASE is EASE (Steck 2019): B = I − P·diag(1/diag(P)) with
// P = (XᵀX + λI)⁻¹, scores X·B.
func fitEASE(_ context.Context, tr *trainSet, eval []int) (scorer, error) {
	x := interactions(tr, allUsers(tr))
	xe := interactions(tr, eval)
	var s blas64.General
	var err error
	if x.Rows < x.Cols {
		s, err = easeDual(x, xe, eval, EASELambda)
	} else {
		s, err = easePrimal(x, xe, EASELambda)
	}
	if err != nil {
		return nil, err
	}
	return rowScorer(s, eval), nil
}

// easePrimal computes the scores X_e·B of EASE by inverting the
// items×items Gram matrix: the way when users outnumber items.
func easePrimal(x, xe blas64.General, lambda float64) (blas64.General, error) {
	n := x.Cols
	g := mat.NewSymDense(n, nil)
	blas64.Syrk(blas.Trans, 1, x, 0, g.RawSymmetric())
	for i := range n {
		g.SetSym(i, i, g.At(i, i)+lambda)
	}
	var chol mat.Cholesky
	if !chol.Factorize(g) {
		return blas64.General{}, fmt.Errorf("EASE: XᵀX + λI is not positive definite")
	}
	var p mat.SymDense
	if err := chol.InverseTo(&p); err != nil {
		return blas64.General{}, fmt.Errorf("EASE: invert XᵀX + λI: %w", err)
	}
	b := mat.NewDense(n, n, nil)
	for i := range n {
		for j := range n {
			if i != j {
				b.Set(i, j, -p.At(i, j)/p.At(j, j))
			}
		}
	}
	s := blas64.General{Rows: xe.Rows, Cols: n, Stride: n, Data: make([]float64, xe.Rows*n)}
	blas64.Gemm(blas.NoTrans, blas.NoTrans, 1, xe, b.RawMatrix(), 0, s)
	return s, nil
}

// easeDual computes the same scores through the users×users matrix
// K = XXᵀ + λI, which is far smaller when items outnumber users (9.7k
// items, 610 users in ml-latest-small). Since X·P = K⁻¹X (push-through
// identity) and P = (I − XᵀK⁻¹X)/λ (Woodbury), with Z = K⁻¹X:
// diag(P)ⱼ = (1 − Σᵤ Xᵤⱼ·Zᵤⱼ)/λ, and user u's score of an item j not in
// its history is (X·B)ᵤⱼ = −Zᵤⱼ/diag(P)ⱼ. The evaluated users are rows of
// X (eval indexes them), so Z gives their scores directly. It is exact,
// and costs O(m²n) instead of O(n³).
func easeDual(x, xe blas64.General, eval []int, lambda float64) (blas64.General, error) {
	m, n := x.Rows, x.Cols
	k := blas64.Symmetric{Uplo: blas.Upper, N: m, Stride: m, Data: make([]float64, m*m)}
	blas64.Syrk(blas.NoTrans, 1, x, 0, k)
	for i := range m {
		k.Data[i*m+i] += lambda
	}
	if _, ok := lapack64.Potrf(k); !ok {
		return blas64.General{}, fmt.Errorf("EASE: XXᵀ + λI is not positive definite")
	}
	z := blas64.General{Rows: m, Cols: n, Stride: n, Data: make([]float64, m*n)}
	copy(z.Data, x.Data)
	lapack64.Potrs(blas64.Triangular{Uplo: blas.Upper, Diag: blas.NonUnit, N: m, Stride: m, Data: k.Data}, z)
	diag := make([]float64, n)
	for j := range n {
		var sum float64
		for u := range m {
			sum += x.Data[u*n+j] * z.Data[u*n+j]
		}
		diag[j] = (1 - sum) / lambda
	}
	s := blas64.General{Rows: len(eval), Cols: n, Stride: n, Data: make([]float64, len(eval)*n)}
	for row, u := range eval {
		for j := range n {
			if xe.Data[row*n+j] == 0 {
				s.Data[row*n+j] = -z.Data[u*n+j] / diag[j]
			}
		}
	}
	return s, nil
}
