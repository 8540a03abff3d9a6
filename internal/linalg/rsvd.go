// Package linalg holds the numerical kernels shared by the models fitted on
// the catalog: sparse matrices and a randomized truncated SVD.
package linalg

import (
	"errors"
	"math"
	"runtime"
	"sync"
	"sync/atomic"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/lapack/lapack64"
	"gonum.org/v1/gonum/mat"
)

// CSR is a sparse matrix in compressed sparse row form. The doc×term matrix
// of a catalog, or the user×item matrix of its interactions, is far too
// large to hold densely, so the big products of the randomized SVD are done
// here and only the thin dense factors go to gonum.
type CSR struct {
	Rows, Cols int
	Indptr     []int // row i holds entries Indptr[i]:Indptr[i+1]; len Rows+1
	Indices    []int32
	Data       []float64
}

// Mul returns a·b, where b is a dense a.Cols×l matrix in row-major order, as
// a dense a.Rows×l matrix. Rows are independent, so splitting them among
// goroutines leaves the result bit-for-bit the same.
func (a *CSR) Mul(b []float64, l int) []float64 {
	out := make([]float64, a.Rows*l)
	ParallelRows(a.Rows, func(i int) {
		dst := out[i*l : (i+1)*l]
		for p := a.Indptr[i]; p < a.Indptr[i+1]; p++ {
			j := int(a.Indices[p])
			floats.AddScaled(dst, a.Data[p], b[j*l:(j+1)*l])
		}
	})
	return out
}

// Transpose returns aᵀ in CSR form (a in CSC form), so that aᵀ·b can be
// computed row by row too, without a scatter that would need locks.
func (a *CSR) Transpose() *CSR {
	t := &CSR{Rows: a.Cols, Cols: a.Rows, Indptr: make([]int, a.Cols+1),
		Indices: make([]int32, len(a.Indices)), Data: make([]float64, len(a.Data))}
	for _, j := range a.Indices {
		t.Indptr[j+1]++
	}
	for j := 0; j < a.Cols; j++ {
		t.Indptr[j+1] += t.Indptr[j]
	}
	next := append([]int(nil), t.Indptr[:a.Cols]...)
	for i := 0; i < a.Rows; i++ {
		for p := a.Indptr[i]; p < a.Indptr[i+1]; p++ {
			j := a.Indices[p]
			t.Indices[next[j]] = int32(i)
			t.Data[next[j]] = a.Data[p]
			next[j]++
		}
	}
	return t
}

// ParallelRows calls fn for every row in [0, n) on all processors.
func ParallelRows(n int, fn func(i int)) {
	const chunk = 64
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), (n+chunk-1)/chunk) {
		wg.Go(func() {
			for {
				lo := int(next.Add(chunk)) - chunk
				if lo >= n {
					return
				}
				for i := lo; i < min(lo+chunk, n); i++ {
					fn(i)
				}
			}
		})
	}
	wg.Wait()
}

// Orthonormalize replaces the r×c row-major matrix y (r ≥ c) by the Q of
// its thin QR factorisation and returns R (c×c, row-major).
func Orthonormalize(y []float64, r, c int) []float64 {
	if rm, ok := choleskyQR(y, r, c); ok {
		return rm
	}
	return householderQR(y, r, c)
}

// choleskyQR computes Q = Y·R⁻¹ from the Cholesky factor R of YᵀY. It does
// the work as two matrix products, about three times faster than Householder
// QR with gonum, but loses orthogonality as κ(Y)²: it reports false, leaving
// y unchanged, when Y is too ill-conditioned for that to be negligible. The
// bases of a randomized SVD of text are far from that (κ is the spread of
// the top singular values, in the tens), but a tiny catalog with repeated
// texts is not.
func choleskyQR(y []float64, r, c int) ([]float64, bool) {
	yg := blas64.General{Rows: r, Cols: c, Stride: c, Data: y}
	// gonum multiplies A·Bᵀ by dot products of long rows, about twice as
	// fast as Aᵀ·B, which is worth the copy.
	yt := blas64.General{Rows: c, Cols: r, Stride: r, Data: make([]float64, r*c)}
	for i := range r {
		for j, x := range y[i*c : (i+1)*c] {
			yt.Data[j*r+i] = x
		}
	}
	g := make([]float64, c*c)
	blas64.Gemm(blas.NoTrans, blas.Trans, 1, yt, yt, 0, blas64.General{Rows: c, Cols: c, Stride: c, Data: g})
	if _, ok := lapack64.Potrf(blas64.Symmetric{Uplo: blas.Upper, N: c, Stride: c, Data: g}); !ok {
		return nil, false
	}
	lo, hi := math.Inf(1), 0.0
	for i := range c {
		d := math.Abs(g[i*c+i])
		lo, hi = min(lo, d), max(hi, d)
	}
	if !(lo > 1e-5*hi) { // the diagonal bounds κ(R) = κ(Y) from below
		return nil, false
	}
	rm := make([]float64, c*c)
	for i := range c {
		copy(rm[i*c+i:(i+1)*c], g[i*c+i:(i+1)*c])
	}
	inv := blas64.Triangular{Uplo: blas.Upper, Diag: blas.NonUnit, N: c, Stride: c, Data: append([]float64(nil), rm...)}
	if !lapack64.Trtri(inv) {
		return nil, false
	}
	blas64.Trmm(blas.Right, blas.NoTrans, 1, inv, yg)
	return rm, true
}

// householderQR is Orthonormalize by Householder reflections: slower, and
// stable whatever the conditioning.
func householderQR(y []float64, r, c int) []float64 {
	g := blas64.General{Rows: r, Cols: c, Stride: c, Data: y}
	tau := make([]float64, c)
	query := []float64{0}
	lapack64.Geqrf(g, tau, query, -1)
	size := int(query[0])
	lapack64.Orgqr(g, tau, query, -1)
	work := make([]float64, max(size, int(query[0]), c))
	lapack64.Geqrf(g, tau, work, len(work))
	rm := make([]float64, c*c)
	for i := range c {
		copy(rm[i*c+i:(i+1)*c], y[i*c+i:(i+1)*c])
	}
	lapack64.Orgqr(g, tau, work, len(work))
	return rm
}

// TruncatedSVD returns the top k right singular vectors of a, as a
// a.Cols×k row-major matrix, and the k largest singular values, computed by
// randomized SVD (Halko, Martinsson & Tropp 2011, algorithms 4.4 and 5.1):
// a Gaussian test matrix of k+oversample columns drawn from seed, powerIters
// power iterations re-orthonormalised at every step so that rounding does
// not collapse the basis onto the top singular vector, then an exact SVD of
// the small projected matrix. at must be aᵀ. k must not exceed the smaller
// dimension of a.
func TruncatedSVD(a, at *CSR, k, oversample, powerIters int, seed uint64) (v, sigma []float64, err error) {
	n, m := a.Rows, a.Cols
	l := min(k+oversample, n, m)
	y := a.Mul(Gaussian(m*l, seed), l)
	Orthonormalize(y, n, l)
	for range powerIters {
		z := at.Mul(y, l)
		Orthonormalize(z, m, l)
		y = a.Mul(z, l)
		Orthonormalize(y, n, l)
	}
	// With Q = y, B = QᵀA is l×m; work on Bᵀ = AᵀQ = Q₂R instead, whose
	// small factor R = UΣWᵀ gives the right singular vectors of A as Q₂U.
	bt := at.Mul(y, l)
	r := Orthonormalize(bt, m, l)
	var svd mat.SVD
	if !svd.Factorize(mat.NewDense(l, l, r), mat.SVDThinU) {
		return nil, nil, errors.New("SVD of the projected matrix did not converge")
	}
	sigma = svd.Values(nil)[:k]
	var u mat.Dense
	svd.UTo(&u)
	uk := u.Slice(0, l, 0, k).(*mat.Dense).RawMatrix()
	v = make([]float64, m*k)
	blas64.Gemm(blas.NoTrans, blas.NoTrans, 1,
		blas64.General{Rows: m, Cols: l, Stride: l, Data: bt}, uk,
		0, blas64.General{Rows: m, Cols: k, Stride: k, Data: v})
	fixSigns(v, m, k)
	return v, sigma, nil
}

// fixSigns makes the largest entry of every column positive. A singular
// vector is only defined up to its sign; pinning it keeps a refit on the
// same catalog byte-identical even if a library update flips one.
func fixSigns(v []float64, rows, cols int) {
	for c := range cols {
		best := 0.0
		for r := range rows {
			if x := v[r*cols+c]; math.Abs(x) > math.Abs(best) {
				best = x
			}
		}
		if best < 0 {
			for r := range rows {
				v[r*cols+c] = -v[r*cols+c]
			}
		}
	}
}

// Gaussian returns n standard normal numbers from a splitmix64 stream and
// the Box–Muller transform. It is written out rather than taken from
// math/rand/v2, whose streams may change between Go releases: the model a
// catalog fits must not.
func Gaussian(n int, seed uint64) []float64 {
	out := make([]float64, n)
	state := seed
	uniform := func() float64 {
		state += 0x9e3779b97f4a7c15
		return (float64(Mix64(state)>>11) + 0.5) / (1 << 53)
	}
	for i := 0; i < n; i += 2 {
		rad := math.Sqrt(-2 * math.Log(uniform()))
		s, c := math.Sincos(2 * math.Pi * uniform())
		out[i] = rad * c
		if i+1 < n {
			out[i+1] = rad * s
		}
	}
	return out
}

// Mix64 is the splitmix64 finaliser: it turns a Weyl sequence (or a weak
// hash) into well-mixed 64-bit outputs.
func Mix64(h uint64) uint64 {
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	return h ^ h>>31
}
