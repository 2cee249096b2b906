package gcn

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/seqkit/seqkit/plugins/sdk"
)

// randomGraph is a small graph with random sparse features and edges.
func randomGraph(rng *rand.Rand, n, f, c int) *Graph {
	var rows, cols []int32
	var vals []float64
	for i := range n {
		for range 1 + rng.IntN(4) {
			rows, cols, vals = append(rows, int32(i)), append(cols, int32(rng.IntN(f))), append(vals, rng.Float64())
		}
	}
	x, _ := sdk.NewCSR(n, f, rows, cols, vals)
	var src, dst []int32
	for range 2 * n {
		src, dst = append(src, int32(rng.IntN(n))), append(dst, int32(rng.IntN(n)))
	}
	adj, _ := NormAdjacency(n, src, dst)
	g := &Graph{X: x, Adj: adj, Labels: make([]int32, n), Classes: c}
	for i := range n {
		g.Labels[i] = int32(rng.IntN(c))
		g.Train = append(g.Train, int32(i))
	}
	return g
}

// TestNormAdjacency: Â of a path 0-1-2 (an edge given twice, both ways) is
// symmetric with D^-½(A+I)D^-½'s values.
func TestNormAdjacency(t *testing.T) {
	a, err := NormAdjacency(3, []int32{0, 1, 1}, []int32{1, 0, 2})
	if err != nil {
		t.Fatal(err)
	}
	want := map[[2]int]float64{{0, 0}: 1.0 / 2, {0, 1}: 1 / math.Sqrt(6), {1, 1}: 1.0 / 3, {1, 2}: 1 / math.Sqrt(6), {2, 2}: 1.0 / 2}
	if a.NNZ() != 7 {
		t.Fatalf("%d values, want 7", a.NNZ())
	}
	for i := range 3 {
		for k := a.RowPtr[i]; k < a.RowPtr[i+1]; k++ {
			j := int(a.Col[k])
			w, ok := want[[2]int{min(i, j), max(i, j)}]
			if !ok || math.Abs(a.Val[k]-w) > 1e-15 {
				t.Errorf("Â[%d,%d] = %g, want %g", i, j, a.Val[k], w)
			}
		}
	}
	if _, err := NormAdjacency(3, []int32{0}, []int32{3}); err == nil {
		t.Error("an edge to a node outside the graph was accepted")
	}
}

// TestGradients checks the hand-derived backward pass against central finite
// differences of the loss, with the L2 penalty and a fixed dropout mask (the
// same random stream for every evaluation), for every weight.
func TestGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	g := randomGraph(rng, 12, 9, 3)
	m := NewModel(9, 5, 3, rng)
	const wd, p = 0.01, 0.3
	lossAt := func() float64 {
		ps := m.forward(g, p, rand.New(rand.NewPCG(7, 7)))
		l, _ := m.loss(ps, g, g.Train, wd, false)
		return l
	}
	ps := m.forward(g, p, rand.New(rand.NewPCG(7, 7)))
	_, dz := m.loss(ps, g, g.Train, wd, true)
	m.backward(ps, g, dz, wd)
	const h = 1e-6
	worst := 0.0
	for _, w := range m.Params() {
		for i := range w.Data {
			old := w.Data[i]
			w.Data[i] = old + h
			up := lossAt()
			w.Data[i] = old - h
			down := lossAt()
			w.Data[i] = old
			num := (up - down) / (2 * h)
			d := math.Abs(num-w.Grad[i]) / max(1e-3, math.Abs(num)+math.Abs(w.Grad[i]))
			worst = max(worst, d)
			if d > 1e-5 {
				t.Fatalf("%s[%d]: backward %g, finite differences %g", w.Name, i, w.Grad[i], num)
			}
		}
	}
	t.Logf("largest relative difference %.2g", worst)
}
