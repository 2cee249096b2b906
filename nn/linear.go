package nn

import (
	"fmt"
	"math/rand/v2"
)

// Linear is y = x·Wᵀ + b over the last dimension of x, with W stored [out, in] as in
// PyTorch (name.weight, name.bias).
type Linear[T Float] struct {
	W, B    *Tensor[T]
	In, Out int
}

// NewLinear returns a Linear layer with Glorot-uniform weights and zero bias.
func NewLinear[T Float](name string, in, out int, rng *rand.Rand) *Linear[T] {
	l := &Linear[T]{W: NewTensor[T](out, in), B: NewTensor[T](out), In: in, Out: out}
	l.W.Name, l.B.Name = name+".weight", name+".bias"
	GlorotUniform(l.W.Data, in, out, rng)
	return l
}

// Params returns the weight and bias.
func (l *Linear[T]) Params() []*Tensor[T] { return []*Tensor[T]{l.W, l.B} }

// Forward maps x [..., In] to [..., Out] with one GEMM.
func (l *Linear[T]) Forward(tp *Tape, x *Tensor[T]) *Tensor[T] {
	n, in := lastDim(x.Shape)
	if in != l.In {
		panic(fmt.Sprintf("nn: Linear %s: input has last dimension %d, want %d", l.W.Name, in, l.In))
	}
	shape := append(append([]int(nil), x.Shape[:len(x.Shape)-1]...), l.Out)
	y := output[T](tp, shape...)
	gemmBias(0, false, true, n, l.Out, l.In, x.Data, l.In, l.W.Data, l.In, l.B.Data, y.Data, l.Out)
	tp.Record(func() {
		if y.Grad == nil {
			return
		}
		dy := y.Grad
		Gemm(false, false, n, l.In, l.Out, 1, dy, l.Out, l.W.Data, l.In, 1, x.EnsureGrad(), l.In)
		Gemm(true, false, l.Out, l.In, n, 1, dy, l.Out, x.Data, l.In, 1, l.W.EnsureGrad(), l.In)
		db := l.B.EnsureGrad()
		colSum(db, dy, n, l.Out)
	})
	return y
}
