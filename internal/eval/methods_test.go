package eval

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"gonum.org/v1/gonum/mat"

	"mediarec"
)

// randomTrainSet returns users with random train ratings over n items.
func randomTrainSet(users, n int, density float64, seed uint64) *trainSet {
	r := rand.New(rand.NewPCG(seed, 1))
	tr := &trainSet{ds: &Dataset{}, counts: make([]int, n)}
	for i := range n {
		tr.ds.Items = append(tr.ds.Items, &mediarec.Item{ID: int64(i + 1)})
	}
	for u := range users {
		us := UserSplit{User: int64(u + 1)}
		for i := range n {
			if r.Float64() < density {
				us.Train = append(us.Train, Rating{User: us.User, Item: i, Value: 4})
				tr.counts[i]++
				tr.total++
			}
		}
		tr.users = append(tr.users, us)
	}
	return tr
}

// TestEASEDualIsPrimal checks that the users×users form of EASE gives the
// scores of the textbook items×items form.
func TestEASEDualIsPrimal(t *testing.T) {
	for _, shape := range []struct{ users, items int }{{12, 30}, {30, 12}} {
		tr := randomTrainSet(shape.users, shape.items, 0.3, 7)
		eval := []int{0, 3, 5}
		x := interactions(tr, allUsers(tr))
		xe := interactions(tr, eval)
		const lambda = 2.5
		primal, err := easePrimal(x, xe, lambda)
		if err != nil {
			t.Fatal(err)
		}
		dual, err := easeDual(x, xe, eval, lambda)
		if err != nil {
			t.Fatal(err)
		}
		for row := range eval {
			for j := range shape.items {
				if xe.Data[row*shape.items+j] != 0 {
					continue // train items are not ranked
				}
				p, d := primal.Data[row*shape.items+j], dual.Data[row*shape.items+j]
				if math.Abs(p-d) > 1e-9*max(1, math.Abs(p)) {
					t.Fatalf("%d×%d: user %d item %d: dual %.12f, primal %.12f", shape.users, shape.items, eval[row], j, d, p)
				}
			}
		}
	}
}

// TestEASEPrimal checks the primal form against B computed from its
// definition with gonum.
func TestEASEPrimal(t *testing.T) {
	tr := randomTrainSet(8, 5, 0.5, 3)
	x := interactions(tr, allUsers(tr))
	const lambda = 1.5
	var g, p mat.Dense
	xm := mat.NewDense(x.Rows, x.Cols, x.Data)
	g.Mul(xm.T(), xm)
	for i := range 5 {
		g.Set(i, i, g.At(i, i)+lambda)
	}
	if err := p.Inverse(&g); err != nil {
		t.Fatal(err)
	}
	b := mat.NewDense(5, 5, nil)
	for i := range 5 {
		for j := range 5 {
			if i != j {
				b.Set(i, j, -p.At(i, j)/p.At(j, j))
			}
		}
	}
	var want mat.Dense
	want.Mul(xm, b)
	got, err := easePrimal(x, x, lambda)
	if err != nil {
		t.Fatal(err)
	}
	if !mat.EqualApprox(&want, mat.NewDense(got.Rows, got.Cols, got.Data), 1e-9) {
		t.Errorf("scores\n%v\nwant\n%v", mat.Formatted(mat.NewDense(got.Rows, got.Cols, got.Data)), mat.Formatted(&want))
	}
}

// TestItemKNN checks cosine item-KNN on a hand-computed case.
func TestItemKNN(t *testing.T) {
	// Items 0..2. User 0 has {0}, user 1 {0, 1}, user 2 {1, 2}, user 3 {0, 1}.
	tr := &trainSet{ds: &Dataset{Items: make([]*mediarec.Item, 3)}, counts: []int{3, 3, 1}, total: 7}
	for u, its := range [][]int{{0}, {0, 1}, {1, 2}, {0, 1}} {
		us := UserSplit{User: int64(u)}
		for _, i := range its {
			us.Train = append(us.Train, Rating{Item: i})
		}
		tr.users = append(tr.users, us)
	}
	s, err := fitItemKNN(context.Background(), tr, []int{0})
	if err != nil {
		t.Fatal(err)
	}
	got := make([]float64, 3)
	s.score(0, got)
	// cos(0,1) = 2/√(3·3), cos(0,2) = 0/√3: user 0 scores item 1 at ⅔, item 2 at 0.
	if !near(got[1], 2.0/3) || !near(got[2], 0) {
		t.Errorf("scores %v, want item 1 at 2/3 and item 2 at 0", got)
	}
}

func TestRandomIsPerUser(t *testing.T) {
	tr := randomTrainSet(3, 20, 0.2, 1)
	s, _ := fitRandom(context.Background(), tr, nil)
	a, b, c := make([]float64, 20), make([]float64, 20), make([]float64, 20)
	s.score(1, a)
	s.score(1, b)
	s.score(2, c)
	if !slices.Equal(a, b) || slices.Equal(a, c) {
		t.Errorf("random scores must repeat per user and differ between users")
	}
}
