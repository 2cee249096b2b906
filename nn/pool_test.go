package nn_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/seqkit/seqkit/nn"
	"github.com/seqkit/seqkit/nn/nntest"
)

func TestPoolGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 1))
	lengths := []int{3, 1, 2}
	for _, mode := range []nn.Pooling{nn.PoolLast, nn.PoolMean, nn.PoolMax} {
		for _, bi := range []bool{false, true} {
			x := nntest.RandTensor[float64](rng, 3, 3, 4)
			w := nntest.RandSlice(rng, 3*4)
			loss := func(tp *nn.Tape) *nn.Tensor[float64] {
				return nntest.WeightedSum(tp, []*nn.Tensor[float64]{nn.Pool(tp, x, lengths, mode, bi)}, [][]float64{w})
			}
			nntest.GradCheck(t, []*nn.Tensor[float64]{x}, loss, nntest.GradTol)
		}
	}
}

func TestPoolValues(t *testing.T) {
	// T=2, B=1, D=2: steps (1, 4) and (3, 2).
	x := nn.FromData([]float64{1, 4, 3, 2}, 2, 1, 2)
	for _, c := range []struct {
		mode nn.Pooling
		bi   bool
		want []float64
	}{
		{nn.PoolLast, false, []float64{3, 2}},
		{nn.PoolLast, true, []float64{3, 4}}, // the backward half ends at t=0
		{nn.PoolMean, false, []float64{2, 3}},
		{nn.PoolMax, false, []float64{3, 4}},
	} {
		got := nn.Pool(nil, x, []int{2}, c.mode, c.bi).Data
		if got[0] != c.want[0] || got[1] != c.want[1] {
			t.Errorf("mode %d bi %v: %v, want %v", c.mode, c.bi, got, c.want)
		}
	}
	// Padding beyond a length is ignored.
	if got := nn.Pool(nil, x, []int{1}, nn.PoolMax, false).Data; got[0] != 1 || got[1] != 4 {
		t.Errorf("max over length 1: %v", got)
	}
}

func TestAttnPoolGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 1))
	p := nn.NewAttnPool[float64]("attn", 4, 3, rng)
	x := nntest.RandTensor[float64](rng, 3, 3, 4)
	w := nntest.RandSlice(rng, 3*4)
	lengths := []int{3, 1, 2}
	loss := func(tp *nn.Tape) *nn.Tensor[float64] {
		out, _ := p.Forward(tp, x, lengths)
		return nntest.WeightedSum(tp, []*nn.Tensor[float64]{out}, [][]float64{w})
	}
	nntest.GradCheck(t, append(p.Params(), x), loss, nntest.GradTol)
	_, alpha := p.Forward(nil, x, lengths)
	for b, L := range lengths {
		s := 0.0
		for step := range 3 {
			if step >= L && alpha[step*3+b] != 0 {
				t.Errorf("weight beyond length at t=%d", step)
			}
			s += alpha[step*3+b]
		}
		if s < 0.999999 || s > 1.000001 {
			t.Errorf("weights of sequence %d sum to %v", b, s)
		}
	}
}

func TestConcatGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 1))
	a := nntest.RandTensor[float64](rng, 2, 3, 4)
	b := nntest.RandTensor[float64](rng, 2, 3, 2)
	w := nntest.RandSlice(rng, 2*3*6)
	loss := func(tp *nn.Tape) *nn.Tensor[float64] {
		return nntest.WeightedSum(tp, []*nn.Tensor[float64]{nn.Concat(tp, a, b)}, [][]float64{w})
	}
	nntest.GradCheck(t, []*nn.Tensor[float64]{a, b}, loss, nntest.GradTol)
	out := nn.Concat(nil, a, b)
	if out.Shape[2] != 6 || out.Data[4] != b.Data[0] || out.Data[6] != a.Data[4] {
		t.Errorf("concat layout wrong: %v", out.Shape)
	}
}

func TestAddGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 1))
	a, b := nntest.RandTensor[float64](rng, 3, 4), nntest.RandTensor[float64](rng, 3, 4)
	w := nntest.RandSlice(rng, 12)
	nntest.GradCheck(t, []*nn.Tensor[float64]{a, b}, func(tp *nn.Tape) *nn.Tensor[float64] {
		return nntest.WeightedSum(tp, []*nn.Tensor[float64]{nn.Add(tp, a, b)}, [][]float64{w})
	}, nntest.GradTol)
	if got, want := nn.Add(nil, a, b).Data[5], a.Data[5]+b.Data[5]; got != want {
		t.Fatalf("Add = %g, want %g", got, want)
	}
}

// TestEmbeddingBag: gradients by finite differences, repeated ids in a bag, an
// empty bag, and values against a hand computation.
func TestEmbeddingBag(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 2))
	e := nn.NewEmbeddingBag[float64]("bag", 7, 3, 1, rng)
	ids := []int32{1, 4, 4, 6, 0, 2}
	offsets := []int{0, 3, 3, 6}
	w := nntest.RandSlice(rng, 3*3)
	nntest.GradCheck(t, e.Params(), func(tp *nn.Tape) *nn.Tensor[float64] {
		return nntest.WeightedSum(tp, []*nn.Tensor[float64]{e.Forward(tp, ids, offsets)}, [][]float64{w})
	}, nntest.GradTol)
	out := e.Forward(nil, ids, offsets)
	for j := range 3 {
		want := (e.W.Data[1*3+j] + 2*e.W.Data[4*3+j]) / 3
		if math.Abs(out.Data[j]-want) > 1e-12 {
			t.Fatalf("bag 0 [%d] = %g, want %g", j, out.Data[j], want)
		}
		if out.Data[3+j] != 0 {
			t.Fatalf("empty bag [%d] = %g, want 0", j, out.Data[3+j])
		}
	}
	e.Sum = true
	nntest.GradCheck(t, e.Params(), func(tp *nn.Tape) *nn.Tensor[float64] {
		return nntest.WeightedSum(tp, []*nn.Tensor[float64]{e.Forward(tp, ids, offsets)}, [][]float64{w})
	}, nntest.GradTol)
	if got, want := e.Forward(nil, ids, offsets).Data[0], e.W.Data[1*3]+2*e.W.Data[4*3]; math.Abs(got-want) > 1e-12 {
		t.Fatalf("sum bag 0 [0] = %g, want %g", got, want)
	}
	if z := nn.NewEmbeddingBag[float64]("zero", 4, 2, 0, rng); z.W.Data[5] != 0 {
		t.Fatal("std 0 does not start at zeros")
	}
}
