package linalg

import "gonum.org/v1/gonum/blas/gonum"

// Dot is the inner product of a and b over the shorter of the two. It runs
// gonum's SSE kernel, about 4× the plain Go loop on 256-d vectors (the Go
// compiler does not vectorise), and it is the inner loop of every ANN walk,
// exact scan and rerank. Being assembly, it is also outside the race
// detector, which would slow the hottest loop tenfold; vectors are written
// only under their collection's lock, and the other readers are checked.
func Dot(a, b []float32) float32 {
	return gonum.Implementation{}.Sdot(min(len(a), len(b)), a, 1, b, 1)
}
