package nn_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/seqkit/seqkit/nn"
	"github.com/seqkit/seqkit/nn/nntest"
)

// TestAttentionGradients checks every score against finite differences, with
// sequences of different lengths so that padded keys are in play.
func TestAttentionGradients(t *testing.T) {
	const Tq, Ts, B, D, A = 3, 5, 3, 4, 6
	lengths := []int{5, 2, 4}
	for _, sc := range []nn.Score{nn.Dot, nn.General, nn.Additive} {
		t.Run(sc.String(), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(11, uint64(sc)))
			dk := D
			if sc != nn.Dot {
				dk = D + 1 // keys of another size than the queries
			}
			at, err := nn.NewAttention[float64]("attention", sc, D, dk, A, rng)
			if err != nil {
				t.Fatal(err)
			}
			q, k := nntest.RandTensor[float64](rng, Tq, B, D), nntest.RandTensor[float64](rng, Ts, B, dk)
			w := nntest.RandSlice(rng, Tq*B*dk)
			loss := func(tp *nn.Tape) *nn.Tensor[float64] {
				ctx, _ := at.Forward(tp, q, k, lengths)
				return nntest.WeightedSum(tp, []*nn.Tensor[float64]{ctx}, [][]float64{w})
			}
			nntest.GradCheck(t, append(at.Params(), q, k), loss, nntest.GradTol)
		})
	}
}

// TestAttentionMasksPadding: the weights of each row add up to one over the
// sequence and are zero at padding, and changing padded keys changes nothing —
// a padded source gives the output of the unpadded one.
func TestAttentionMasksPadding(t *testing.T) {
	rng := rand.New(rand.NewPCG(12, 1))
	const Tq, Ts, B, D = 2, 6, 2, 3
	lengths := []int{6, 3}
	for _, sc := range []nn.Score{nn.Dot, nn.General, nn.Additive} {
		at, _ := nn.NewAttention[float64]("attention", sc, D, D, 5, rng)
		q, k := nntest.RandTensor[float64](rng, Tq, B, D), nntest.RandTensor[float64](rng, Ts, B, D)
		ctx, wts := at.Forward(nil, q, k, lengths)
		for tq := range Tq {
			for b := range B {
				row := wts.Data[(tq*B+b)*Ts : (tq*B+b+1)*Ts]
				sum := 0.0
				for s, v := range row {
					if s >= lengths[b] && v != 0 {
						t.Fatalf("%s: weight %g at padded position %d", sc, v, s)
					}
					sum += v
				}
				if math.Abs(sum-1) > 1e-12 {
					t.Fatalf("%s: weights add up to %g", sc, sum)
				}
			}
		}
		// Sequence 1 alone, unpadded: [Ts=3, B=1].
		k1 := nn.NewTensor[float64](3, 1, D)
		q1 := nn.NewTensor[float64](Tq, 1, D)
		for s := range 3 {
			copy(k1.Data[s*D:(s+1)*D], k.Data[(s*B+1)*D:(s*B+2)*D])
		}
		for tq := range Tq {
			copy(q1.Data[tq*D:(tq+1)*D], q.Data[(tq*B+1)*D:(tq*B+2)*D])
		}
		ctx1, _ := at.Forward(nil, q1, k1, []int{3})
		for tq := range Tq {
			for d := range D {
				if got, want := ctx.Data[(tq*B+1)*D+d], ctx1.Data[tq*D+d]; math.Abs(got-want) > 1e-12 {
					t.Fatalf("%s: padded %g, unpadded %g", sc, got, want)
				}
			}
		}
	}
	if _, err := nn.NewAttention[float64]("a", nn.Dot, 3, 4, 0, rng); err == nil {
		t.Error("dot attention of queries 3 and keys 4 accepted")
	}
}

func TestTanhGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 1))
	x := nntest.RandTensor[float64](rng, 4, 3)
	w := nntest.RandSlice(rng, 12)
	nntest.GradCheck(t, []*nn.Tensor[float64]{x}, func(tp *nn.Tape) *nn.Tensor[float64] {
		return nntest.WeightedSum(tp, []*nn.Tensor[float64]{nn.Tanh(tp, x)}, [][]float64{w})
	}, nntest.GradTol)
}

func TestStackGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 2))
	a, b := nntest.RandTensor[float64](rng, 2, 3), nntest.RandTensor[float64](rng, 2, 3)
	w := nntest.RandSlice(rng, 12)
	nntest.GradCheck(t, []*nn.Tensor[float64]{a, b}, func(tp *nn.Tape) *nn.Tensor[float64] {
		return nntest.WeightedSum(tp, []*nn.Tensor[float64]{nn.Stack(tp, []*nn.Tensor[float64]{a, b})}, [][]float64{w})
	}, nntest.GradTol)
	if s := nn.Stack(nil, []*nn.Tensor[float64]{a, b}); s.Shape[0] != 2 || s.Data[6] != b.Data[0] {
		t.Fatalf("Stack: shape %v, [6] = %g", s.Shape, s.Data[6])
	}
}
