package collab

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"gonum.org/v1/gonum/mat"

	"mediarec"
)

func dot(a, b []float32) float64 {
	var s float64
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}

func norm(v []float32) float64 { return math.Sqrt(dot(v, v)) }

// randomInteractions returns about density·users·items interactions with
// weights from InteractionWeight, items numbered from 101.
func randomInteractions(users, items int, density float64, seed uint64) []Interaction {
	r := rand.New(rand.NewPCG(seed, 2))
	var out []Interaction
	for u := range users {
		for i := range items {
			if r.Float64() < density {
				rating := float64(1+r.IntN(10)) / 2
				out = append(out, Interaction{User: int64(u + 1), Item: int64(101 + i), Weight: InteractionWeight(mediarec.FeedbackRating, rating)})
			}
		}
	}
	return out
}

func unitVector(r *rand.Rand, dim int) []float32 {
	v := make([]float32, dim)
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	n := float32(norm(v))
	for i := range v {
		v[i] /= n
	}
	return v
}

// TestScoresAreEASELike checks the design: with as many factors as the
// rank of X, a query item i scores item j at B_ij/(1 − B_jj) with B the
// ridge regression (XᵀX + λI)⁻¹XᵀX, computed here densely with gonum.
func TestScoresAreEASELike(t *testing.T) {
	const users, items, lambda = 9, 6, 3.0
	in := randomInteractions(users, items, 0.5, 1)
	m, err := Fit(in, Options{Factors: 8, Lambda: lambda})
	if err != nil {
		t.Fatal(err)
	}
	x := mat.NewDense(users, items, nil)
	for _, it := range in {
		x.Set(int(it.User-1), int(it.Item-101), it.Weight)
	}
	var g, gi, b mat.Dense
	g.Mul(x.T(), x)
	xtx := mat.DenseCopyOf(&g)
	for i := range items {
		g.Set(i, i, g.At(i, i)+lambda)
	}
	if err := gi.Inverse(&g); err != nil {
		t.Fatal(err)
	}
	b.Mul(&gi, xtx)
	for i := range items {
		q := m.QueryVector(int64(101+i), nil)
		for j := range items {
			got := dot(q, m.ItemVector(int64(101+j), nil))
			want := b.At(i, j) / (1 - b.At(j, j))
			if math.Abs(got-want) > 1e-4*max(1, math.Abs(want)) {
				t.Errorf("score(%d → %d) = %.6f, want %.6f", i, j, got, want)
			}
		}
	}
}

// TestMaxNormBoundsItems: every item vector, with or without
// interactions, is at most MaxNorm long and the longest is that long, so
// that inner products over MaxNorm are scores in [−1, 1].
func TestMaxNormBoundsItems(t *testing.T) {
	const contentDim = 8
	m, err := Fit(randomInteractions(40, 30, 0.2, 3), Options{Factors: 5})
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(4, 4))
	var longest float64
	for id := int64(101); id <= 140; id++ { // 131–140 have no interactions
		v := m.ItemVector(id, unitVector(r, contentDim))
		if len(v) != m.Dim(contentDim) {
			t.Fatalf("item %d: %d floats, want %d", id, len(v), m.Dim(contentDim))
		}
		if n := norm(v); n > m.MaxNorm()*(1+1e-5) {
			t.Errorf("item %d: norm %.6f above MaxNorm %.6f", id, n, m.MaxNorm())
		}
		longest = max(longest, norm(v))
	}
	if math.Abs(longest-m.MaxNorm()) > 1e-5*longest {
		t.Errorf("longest item vector %.6f, MaxNorm %.6f", longest, m.MaxNorm())
	}
}

func TestItemsWithoutInteractions(t *testing.T) {
	interactions := randomInteractions(10, 5, 0.6, 5)
	m, err := Fit(interactions, Options{Factors: 3})
	if err != nil {
		t.Fatal(err)
	}
	var want []int64
	for _, in := range interactions {
		want = append(want, in.Item)
	}
	slices.Sort(want)
	if want = slices.Compact(want); !slices.Equal(m.Items(), want) {
		t.Errorf("Items() = %v, want %v", m.Items(), want)
	}
	content := []float32{0.6, 0.8}
	const unknown = 999
	if m.Known(unknown) || !m.Known(101) {
		t.Errorf("Known(999) = %v, Known(101) = %v; want false, true", m.Known(unknown), m.Known(101))
	}
	item, query, tag := m.ItemVector(unknown, content), m.QueryVector(unknown, content), m.TagVector(content)
	for name, v := range map[string][]float32{"item": item, "query": query, "tag": tag} {
		if slices.ContainsFunc(v[2:5], func(x float32) bool { return x != 0 }) {
			t.Errorf("%s vector %v: want a zero collaborative part", name, v)
		}
		if v[0] <= 0 || v[1] <= 0 {
			t.Errorf("%s vector %v: want the content part", name, v)
		}
	}
	if !slices.Equal(query, tag) || len(item) != m.Dim(len(content)) {
		t.Errorf("query %v, tag %v, item %v: want equal query and tag, %d floats", query, tag, item, m.Dim(len(content)))
	}
	// Reachable by content alone: a query from the same content scores it.
	if s := dot(tag, item); s <= 0 {
		t.Errorf("content-only score %v, want > 0", s)
	}
}

func TestFitIsDeterministic(t *testing.T) {
	in := randomInteractions(30, 20, 0.3, 6)
	a, err := Fit(in, Options{Factors: 4})
	if err != nil {
		t.Fatal(err)
	}
	shuffled := slices.Clone(in)
	rand.New(rand.NewPCG(7, 7)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	b, err := Fit(shuffled, Options{Factors: 4})
	if err != nil {
		t.Fatal(err)
	}
	for id := int64(101); id < 121; id++ {
		if !slices.Equal(a.ItemVector(id, nil), b.ItemVector(id, nil)) || !slices.Equal(a.QueryVector(id, nil), b.QueryVector(id, nil)) {
			t.Fatalf("item %d: vectors differ between fits of the same interactions", id)
		}
	}
}

func TestDuplicatesAddUp(t *testing.T) {
	once := []Interaction{{1, 101, 2}, {1, 102, 1}, {2, 101, 1}, {2, 103, 0.5}, {3, 102, 1}, {3, 103, 1}}
	split := []Interaction{{1, 101, 1}, {1, 102, 1}, {2, 101, 1}, {1, 101, 1}, {2, 103, 0.5}, {3, 102, 1}, {3, 103, 1}, {3, 104, 0}}
	a, err := Fit(once, Options{Factors: 2, Lambda: 1})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Fit(split, Options{Factors: 2, Lambda: 1})
	if err != nil {
		t.Fatal(err)
	}
	for id := int64(101); id <= 103; id++ {
		if !slices.Equal(a.ItemVector(id, nil), b.ItemVector(id, nil)) {
			t.Errorf("item %d: %v, want %v", id, b.ItemVector(id, nil), a.ItemVector(id, nil))
		}
	}
	if b.Known(104) {
		t.Error("an item with only a zero weight is known")
	}
}

func TestDimIsFixed(t *testing.T) {
	// Two users cannot support 16 factors; the vectors keep Dim anyway.
	m, err := Fit([]Interaction{{1, 101, 1}, {2, 102, 1}, {2, 101, 1}}, Options{Factors: 16})
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Dim(10); got != 26 {
		t.Errorf("Dim(10) = %d, want 10 + 16", got)
	}
	if got := len(m.ItemVector(101, make([]float32, 10))); got != 26 {
		t.Errorf("item vector of %d floats, want 26", got)
	}
}

func TestFitErrors(t *testing.T) {
	ok := []Interaction{{1, 101, 1}}
	tests := []struct {
		name string
		in   []Interaction
		opts Options
	}{
		{name: "no interactions", in: nil},
		{name: "only zero weights", in: []Interaction{{1, 101, 0}}},
		{name: "NaN weight", in: []Interaction{{1, 101, math.NaN()}}},
		{name: "negative factors", in: ok, opts: Options{Factors: -1}},
		{name: "negative lambda", in: ok, opts: Options{Lambda: -1}},
		{name: "negative content weight", in: ok, opts: Options{ContentWeight: -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Fit(tt.in, tt.opts)
			if code := mediarec.ErrorCode(err); code != mediarec.EINVALID {
				t.Errorf("error %v (code %q), want EINVALID", err, code)
			}
		})
	}
}

func TestInteractionWeight(t *testing.T) {
	tests := []struct {
		kind   mediarec.FeedbackKind
		rating float64
		want   float64
	}{
		{mediarec.FeedbackRating, 5, 2.5},
		{mediarec.FeedbackRating, 4, 1.5},
		{mediarec.FeedbackRating, 3, 0.5},
		{mediarec.FeedbackRating, 0.5, 0.5},
		{mediarec.FeedbackLike, 0, 2},
		{mediarec.FeedbackDislike, 0, 0.5},
	}
	for _, tt := range tests {
		if got := InteractionWeight(tt.kind, tt.rating); got != tt.want {
			t.Errorf("InteractionWeight(%s, %v) = %v, want %v", tt.kind, tt.rating, got, tt.want)
		}
	}
}
