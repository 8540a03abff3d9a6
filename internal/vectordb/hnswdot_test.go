package vectordb

import (
	"math"
	"math/rand/v2"
	"testing"

	"mediarec/internal/linalg"
)

func TestDot(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, n := range []int{0, 1, 7, 8, 9, 31, 32, 33, 100, 256, 384, 1000} {
		a, b := make([]float32, n), make([]float32, n)
		var want float64
		for i := range a {
			a[i], b[i] = float32(rng.NormFloat64()), float32(rng.NormFloat64())
			want += float64(a[i]) * float64(b[i])
		}
		if got := dot(a, b); math.Abs(float64(got)-want) > 1e-4*math.Sqrt(float64(n)+1) {
			t.Errorf("n %d: dot = %v, want %v", n, got, want)
		}
	}
}

func BenchmarkDot256(b *testing.B) {
	x, y := make([]float32, 256), make([]float32, 256)
	for i := range x {
		x[i], y[i] = float32(i), float32(256-i)
	}
	b.Run("fma", func(b *testing.B) {
		for b.Loop() {
			dot(x, y)
		}
	})
	b.Run("gonum", func(b *testing.B) {
		for b.Loop() {
			linalg.Dot(x, y)
		}
	})
}
