package vectordb

import (
	"context"
	"math/rand/v2"
	"testing"

	"mediarec"
)

// hnswTestLowRank returns n unit vectors of a latent-dimensional space
// embedded in dim dimensions with noise: the kind of data on which a beam
// tuned to clusters loses recall.
func hnswTestLowRank(rng *rand.Rand, n, latent, dim int) []mediarec.VectorPoint {
	proj := make([]float64, latent*dim)
	for i := range proj {
		proj[i] = rng.NormFloat64()
	}
	pts := make([]mediarec.VectorPoint, n)
	z := make([]float64, latent)
	for i := range pts {
		for j := range z {
			z[j] = rng.NormFloat64()
		}
		v := make([]float32, dim)
		for d := range v {
			x := 0.3 * rng.NormFloat64() * float64(latent)
			for j, zj := range z {
				x += proj[j*dim+d] * zj
			}
			v[d] = float32(x)
		}
		u, _ := localNormalise(v, dim)
		pts[i] = mediarec.VectorPoint{ID: int64(i + 1), Vector: u, Payload: mediarec.VectorPayload{Type: mediarec.TypeMovie}}
	}
	return pts
}

func TestCalibrate(t *testing.T) {
	t.Parallel()
	const n, nq, k = 1500, 100, 10
	rng := rand.New(rand.NewPCG(3, 4))
	all := hnswTestLowRank(rng, n+nq, 10, 32)
	pts, queries := all[:n], all[n:]
	h, nodes := hnswTestBuild(t, pts)
	byNode := hnswTestByNode(h, pts, nodes)

	ef := h.calibrate(1, nil, nil)
	if again := h.calibrate(1, nil, nil); again != ef {
		t.Errorf("calibrate gave %d, then %d on the same graph", ef, again)
	}
	r := hnswTestRecall(h, pts, queries, byNode, k, ef, mediarec.VectorFilter{}, nil)
	t.Logf("calibrated ef %d: recall@%d of held-out queries %.3f", ef, k, r)
	if r < 0.95 {
		t.Errorf("calibrated ef %d: recall@%d = %.3f, want ≥ 0.95", ef, k, r)
	}
	if ef >= 400 {
		t.Errorf("calibrated ef %d on %d points: no cheaper than a scan", ef, n)
	}

	// The correlated filter: queries from one side of the first
	// coordinate, results only from the other side.
	side := func(v []float32) bool { return v[0] > 0 }
	from := func(n uint32) bool { return side(h.vec(n)) }
	accept := func(n uint32) bool { return !side(h.vec(n)) }
	efFiltered := h.calibrate(2, from, accept)
	var near []mediarec.VectorPoint
	for _, q := range queries {
		if side(q.Vector) {
			near = append(near, q)
		}
	}
	var far []mediarec.VectorPoint
	for _, p := range pts {
		if !side(p.Vector) {
			far = append(far, p)
		}
	}
	r = hnswTestRecall(h, far, near, byNode, k, efFiltered, mediarec.VectorFilter{}, accept)
	t.Logf("calibrated filtered ef %d: recall@%d %.3f", efFiltered, k, r)
	if r < 0.95 {
		t.Errorf("calibrated filtered ef %d: recall@%d = %.3f, want ≥ 0.95", efFiltered, k, r)
	}
}

// TestLocalCalibration checks that a collection measures its beam once it
// is large enough to be walked, and measures the same one when reopened.
func TestLocalCalibration(t *testing.T) {
	t.Parallel()
	const n, dim = localPlanCost + 100, 8
	dir := t.TempDir()
	s, err := OpenLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := s.CreateCollection(ctx, "c", dim); err != nil {
		t.Fatal(err)
	}
	pts := hnswTestLowRank(rand.New(rand.NewPCG(5, 6)), n, 4, dim)
	for i := range pts {
		if pts[i].Vector[0] < 0 {
			pts[i].Payload.Type = mediarec.TypeBook
		}
	}
	if err := s.Upsert(ctx, "c", pts); err != nil {
		t.Fatal(err)
	}
	c := s.colls["c"]
	ef, efFiltered := c.ef, c.efFiltered
	if ef < hnswEfGrid[0] || efFiltered < ef {
		t.Fatalf("after %d points: ef %d, filtered %d; want both measured, filtered ≥ unfiltered", n, ef, efFiltered)
	}
	// A width no measurement gives: the reopened store must read it from
	// the snapshot rather than measure again.
	const stored = 777
	c.mu.Lock()
	c.ef = stored
	c.mu.Unlock()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = OpenLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if c := s.colls["c"]; c.ef != stored || c.efFiltered != efFiltered {
		t.Errorf("reopened: ef %d, filtered %d; want %d, %d from the snapshot", c.ef, c.efFiltered, stored, efFiltered)
	}
}
