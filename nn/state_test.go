package nn_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/seqkit/seqkit/nn"
	"github.com/seqkit/seqkit/nn/nntest"
)

// TestCarriedState: running a sequence in two segments, the second starting from the
// first's final states (detached, as truncated BPTT and stateful language models do),
// gives the same outputs as running it whole; gradients stop at the segment boundary.
func TestCarriedState(t *testing.T) {
	for _, cell := range []nn.Cell{nn.RNNTanh, nn.LSTM, nn.GRU} {
		cfg := nn.RNNConfig{Cell: cell, InputSize: 3, HiddenSize: 4, Layers: 2}
		rng := rand.New(rand.NewPCG(1, 1))
		r, err := nn.NewRNN[float64]("rnn", cfg, rng)
		if err != nil {
			t.Fatal(err)
		}
		const T, B, cut = 8, 2, 5
		x := nntest.RandTensor[float64](rng, T, B, 3)
		whole, _ := r.Forward(nil, x, []int{T, T}, nn.State[float64]{}, nil)
		first := nn.FromData(x.Data[:cut*B*3], cut, B, 3)
		second := nn.FromData(x.Data[cut*B*3:], T-cut, B, 3)
		// Both segments on one tape: only Detach stops the gradient at the boundary.
		tp := new(nn.Tape)
		out1, st := r.Forward(tp, first, []int{cut, cut}, nn.State[float64]{}, nil)
		carried := nn.State[float64]{H: st.H.Detach(), C: st.C.Detach()}
		out2, _ := r.Forward(tp, second, []int{T - cut, T - cut}, carried, nil)
		joined := append(append([]float64(nil), out1.Data...), out2.Data...)
		for i := range joined {
			if math.Abs(joined[i]-whole.Data[i]) > 1e-12 {
				t.Fatalf("%v: segmented output %d = %g, whole %g", cell, i, joined[i], whole.Data[i])
			}
		}
		nn.Backward(tp, nntest.WeightedSum(tp, []*nn.Tensor[float64]{out2}, [][]float64{nntest.RandSlice(rng, out2.Len())}))
		if st.H.Grad != nil || out1.Grad != nil || first.Grad != nil {
			t.Fatalf("%v: gradient crossed a detached state into the first segment", cell)
		}
		if carried.H.Grad == nil {
			t.Fatalf("%v: no gradient reached the carried initial state", cell)
		}
	}
}
