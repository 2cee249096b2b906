package sdk

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestSparseKernels holds MulDense and MulTDense to the dense reference, with
// repeated entries (summed) and empty rows.
func TestSparseKernels(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	rows := []int32{0, 0, 2, 2, 2, 4, 0}
	cols := []int32{1, 1, 0, 3, 2, 4, 4}
	vals := []float64{1, 2, 3, 4, 5, 6, 7}
	a, err := NewCSR(5, 5, rows, cols, vals)
	if err != nil {
		t.Fatal(err)
	}
	if a.NNZ() != 6 || a.Val[0] != 3 {
		t.Fatalf("duplicates not summed: %+v", a)
	}
	for _, d := range []int{1, 3, 16} {
		x := make([]float64, 5*d)
		for i := range x {
			x[i] = rng.NormFloat64()
		}
		got := make([]float64, 5*d)
		a.MulDense(got, x, d)
		want := a.mulDenseRef(x, d)
		at := transpose(a)
		gotT := make([]float64, 5*d)
		a.MulTDense(gotT, x, d)
		wantT := at.mulDenseRef(x, d)
		for i := range want {
			if math.Abs(got[i]-want[i]) > 1e-12 || math.Abs(gotT[i]-wantT[i]) > 1e-12 {
				t.Fatalf("d=%d [%d]: %g want %g; transposed %g want %g", d, i, got[i], want[i], gotT[i], wantT[i])
			}
		}
	}
	for _, c := range []struct {
		n, m       int
		rows, cols []int32
	}{{2, 2, []int32{2}, []int32{0}}, {2, 2, []int32{0}, []int32{-1}}, {-1, 2, nil, nil}, {1 << 40, 2, nil, nil}} {
		if _, err := NewCSR(c.n, c.m, c.rows, c.cols, make([]float64, len(c.rows))); err == nil {
			t.Errorf("%d×%d with entries %v, %v was accepted", c.n, c.m, c.rows, c.cols)
		}
	}
}

// mulDenseRef is MulDense the plain way, over the dense form of a: what the
// kernel is tested against.
func (a *CSR) mulDenseRef(x []float64, d int) []float64 {
	dense := make([]float64, a.Rows*a.Cols)
	for i := range a.Rows {
		for k := a.RowPtr[i]; k < a.RowPtr[i+1]; k++ {
			dense[i*a.Cols+int(a.Col[k])] += a.Val[k]
		}
	}
	out := make([]float64, a.Rows*d)
	for i := range a.Rows {
		for c := range a.Cols {
			for j := range d {
				out[i*d+j] += dense[i*a.Cols+c] * x[c*d+j]
			}
		}
	}
	return out
}

func transpose(a *CSR) *CSR {
	var rows, cols []int32
	for i := range a.Rows {
		for k := a.RowPtr[i]; k < a.RowPtr[i+1]; k++ {
			rows, cols = append(rows, a.Col[k]), append(cols, int32(i))
		}
	}
	t, _ := NewCSR(a.Cols, a.Rows, rows, cols, append([]float64(nil), a.Val...))
	return t
}

// BenchmarkMulDense is message passing at Cora's size: a random symmetric
// sparse matrix of 2708 rows and about 13,300 values (Cora's Â has 13,264)
// times a hidden layer [2708, 16].
func BenchmarkMulDense(b *testing.B) {
	const n, d = 2708, 16
	rng := rand.New(rand.NewPCG(5, 6))
	var rows, cols []int32
	var vals []float64
	for i := range n {
		rows, cols, vals = append(rows, int32(i)), append(cols, int32(i)), append(vals, 0.5)
	}
	for range 5278 {
		i, j := int32(rng.IntN(n)), int32(rng.IntN(n))
		rows, cols, vals = append(rows, i, j), append(cols, j, i), append(vals, 0.2, 0.2)
	}
	a, err := NewCSR(n, n, rows, cols, vals)
	if err != nil {
		b.Fatal(err)
	}
	x := make([]float64, n*d)
	for i := range x {
		x[i] = float64(i%7) - 3
	}
	dst := make([]float64, n*d)
	b.SetBytes(int64(8 * (len(x) + len(dst))))
	b.ReportMetric(float64(a.NNZ()), "values")
	for b.Loop() {
		a.MulDense(dst, x, d)
	}
}
