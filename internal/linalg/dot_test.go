package linalg

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestDot(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, n := range []int{0, 1, 7, 8, 9, 15, 16, 17, 31, 256, 257} {
		a, b := make([]float32, n), make([]float32, n+3) // b longer: only n count
		var want float64
		for i := range a {
			a[i], b[i] = rng.Float32()-0.5, rng.Float32()-0.5
			want += float64(a[i]) * float64(b[i])
		}
		b[n] = 1000
		if got := Dot(a, b); math.Abs(float64(got)-want) > 1e-4 {
			t.Errorf("dot of %d = %v, want %v", n, got, want)
		}
		// Unaligned starts take the kernel's scalar prologue.
		if n > 1 {
			want -= float64(a[0]) * float64(b[0])
			if got := Dot(a[1:], b[1:n]); math.Abs(float64(got)-want) > 1e-4 {
				t.Errorf("dot of %d from 1 = %v, want %v", n-1, got, want)
			}
		}
	}
}

func BenchmarkDot256(b *testing.B) {
	x, y := make([]float32, 256), make([]float32, 256)
	for i := range x {
		x[i], y[i] = float32(i), float32(256-i)
	}
	var sink float32
	for b.Loop() {
		sink += Dot(x, y)
	}
	_ = sink
}
