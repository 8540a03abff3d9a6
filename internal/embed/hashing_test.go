package embed

import (
	"context"
	"math"
	"testing"
)

func TestHashing(t *testing.T) {
	h := NewHashing(64)
	if h.Model() != "hashing-64" || h.Dimensions() != 64 {
		t.Fatalf("Model, Dimensions = %q, %d", h.Model(), h.Dimensions())
	}
	texts := []string{"space travel astronauts", "astronaut space travel rocket", "wedding romance comedy", "", "the of and"}
	vecs := mustEmbed(t, h, texts)
	for i, v := range vecs {
		if len(v) != 64 || math.Abs(norm(v)-1) > 1e-5 {
			t.Errorf("vector %d: length %d, norm %v; want 64, 1", i, len(v), norm(v))
		}
	}
	if near, far := cosine(vecs[0], vecs[1]), cosine(vecs[0], vecs[2]); near < 0.5 || near <= far {
		t.Errorf("cos(shared terms) = %.3f, cos(no shared term) = %.3f", near, far)
	}
	if cosine(vecs[3], vecs[4]) < 0.9999 {
		t.Errorf("texts without terms embed differently: %v vs %v", vecs[3][:4], vecs[4][:4])
	}
	again := mustEmbed(t, NewHashing(64), texts)
	for i := range vecs {
		if cosine(vecs[i], again[i]) < 0.9999 {
			t.Errorf("text %d embeds differently in another Hashing", i)
		}
	}
	if got := NewHashing(0).Dimensions(); got != 1 {
		t.Errorf("NewHashing(0).Dimensions() = %d, want 1", got)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := h.Embed(ctx, texts); err == nil {
		t.Error("Embed with a cancelled context succeeded")
	}
}

func mustEmbed(tb testing.TB, e Embedder, texts []string) [][]float32 {
	tb.Helper()
	vecs, err := e.Embed(context.Background(), texts)
	if err != nil {
		tb.Fatalf("Embed: %v", err)
	}
	if len(vecs) != len(texts) {
		tb.Fatalf("Embed returned %d vectors for %d texts", len(vecs), len(texts))
	}
	return vecs
}

func cosine(a, b []float32) float64 {
	var s float64
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s / (norm(a) * norm(b))
}

func norm(v []float32) float64 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	return math.Sqrt(s)
}
