package linalg

import (
	"math"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// denseCSR stores a dense matrix as CSR, skipping zeros.
func denseCSR(d *mat.Dense) *CSR {
	r, c := d.Dims()
	a := &CSR{Rows: r, Cols: c, Indptr: []int{0}}
	for i := range r {
		for j := range c {
			if x := d.At(i, j); x != 0 {
				a.Indices = append(a.Indices, int32(j))
				a.Data = append(a.Data, x)
			}
		}
		a.Indptr = append(a.Indptr, len(a.Data))
	}
	return a
}

// TestTruncatedSVD compares the randomized SVD with gonum's exact one on a
// matrix whose spectrum decays like that of text (σᵢ = 0.8ⁱ).
func TestTruncatedSVD(t *testing.T) {
	const rows, cols, k = 120, 90, 10
	u := orthonormalColumns(rows, cols, 1)
	w := orthonormalColumns(cols, cols, 2)
	var a mat.Dense
	s := mat.NewDiagDense(cols, nil)
	for i := range cols {
		s.SetDiag(i, math.Pow(0.8, float64(i)))
	}
	a.Product(u, s, w.T())
	sp := denseCSR(&a)
	v, sigma, err := TruncatedSVD(sp, sp.Transpose(), k, 10, 3, 7)
	if err != nil {
		t.Fatal(err)
	}
	for i := range k {
		if want := math.Pow(0.8, float64(i)); math.Abs(sigma[i]-want) > 1e-9*want {
			t.Errorf("σ%d = %.12f, want %.12f", i, sigma[i], want)
		}
		// Right singular vector i is column i of w, up to its sign.
		var dot float64
		for j := range cols {
			dot += v[j*k+i] * w.At(j, i)
		}
		if math.Abs(math.Abs(dot)-1) > 1e-6 {
			t.Errorf("|v%d · exact| = %.9f, want 1", i, math.Abs(dot))
		}
	}
}

func orthonormalColumns(r, c int, seed uint64) *mat.Dense {
	y := Gaussian(r*c, seed)
	Orthonormalize(y, r, c)
	return mat.NewDense(r, c, y)
}

func TestOrthonormalize(t *testing.T) {
	const r, c = 50, 6
	wellConditioned := Gaussian(r*c, 3)
	rankDeficient := Gaussian(r*c, 4)
	for i := range r { // column 5 repeats column 0
		rankDeficient[i*c+5] = rankDeficient[i*c]
	}
	tests := []struct {
		name         string
		y            []float64
		wantCholesky bool
	}{
		{name: "well conditioned", y: wellConditioned, wantCholesky: true},
		{name: "rank deficient", y: rankDeficient, wantCholesky: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, ok := choleskyQR(append([]float64(nil), tt.y...), r, c); ok != tt.wantCholesky {
				t.Errorf("Cholesky QR used: %v, want %v", ok, tt.wantCholesky)
			}
			y := mat.NewDense(r, c, append([]float64(nil), tt.y...))
			q := append([]float64(nil), tt.y...)
			rm := Orthonormalize(q, r, c)
			qm := mat.NewDense(r, c, q)
			var qtq, qr mat.Dense
			qtq.Mul(qm.T(), qm)
			if !mat.EqualApprox(&qtq, eye(c), 1e-10) {
				t.Errorf("QᵀQ is not I:\n%v", mat.Formatted(&qtq))
			}
			qr.Mul(qm, mat.NewDense(c, c, rm))
			if !mat.EqualApprox(&qr, y, 1e-10) {
				t.Error("QR is not Y")
			}
		})
	}
}

func eye(n int) *mat.Dense {
	d := mat.NewDense(n, n, nil)
	for i := range n {
		d.Set(i, i, 1)
	}
	return d
}
