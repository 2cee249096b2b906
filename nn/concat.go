package nn

import (
	"fmt"
	"slices"
)

// Concat joins a [..., D1] and b [..., D2], which agree in every other
// dimension, into [..., D1+D2] (torch.cat(dim=-1)): word embeddings with
// character features, a decoder input with its attention context.
func Concat[T Float](tp *Tape, a, b *Tensor[T]) *Tensor[T] {
	rows, D1 := lastDim(a.Shape)
	rowsB, D2 := lastDim(b.Shape)
	if rows != rowsB {
		panic(fmt.Sprintf("nn: Concat of %v and %v", a.Shape, b.Shape))
	}
	shape := append([]int(nil), a.Shape...)
	shape[len(shape)-1] = D1 + D2
	out := output[T](tp, shape...)
	for r := range rows {
		copy(out.Data[r*(D1+D2):], a.Data[r*D1:(r+1)*D1])
		copy(out.Data[r*(D1+D2)+D1:], b.Data[r*D2:(r+1)*D2])
	}
	tp.Record(func() {
		if out.Grad == nil {
			return
		}
		ga, gb := a.EnsureGrad(), b.EnsureGrad()
		for r := range rows {
			g := out.Grad[r*(D1+D2) : (r+1)*(D1+D2)]
			for k := range D1 {
				ga[r*D1+k] += g[k]
			}
			for k := range D2 {
				gb[r*D2+k] += g[D1+k]
			}
		}
	})
	return out
}

// Add returns a + b for tensors of the same shape: two heads' logits summed, as
// in a wide-and-deep classifier.
func Add[T Float](tp *Tape, a, b *Tensor[T]) *Tensor[T] {
	if !slices.Equal(a.Shape, b.Shape) {
		panic(fmt.Sprintf("nn: Add of %v and %v", a.Shape, b.Shape))
	}
	out := NewTensor[T](a.Shape...)
	for i, v := range a.Data {
		out.Data[i] = v + b.Data[i]
	}
	tp.Record(func() {
		if out.Grad == nil {
			return
		}
		ga, gb := a.EnsureGrad(), b.EnsureGrad()
		for i, g := range out.Grad {
			ga[i] += g
			gb[i] += g
		}
	})
	return out
}

// Stack joins tensors of one shape along a new first axis: [len(xs), shape...]
// (torch.stack(dim=0)): per-layer initial states, per-step decoder outputs.
func Stack[T Float](tp *Tape, xs []*Tensor[T]) *Tensor[T] {
	n := xs[0].Len()
	for _, x := range xs[1:] {
		if !slices.Equal(x.Shape, xs[0].Shape) {
			panic(fmt.Sprintf("nn: Stack of %v and %v", xs[0].Shape, x.Shape))
		}
	}
	out := NewTensor[T](append([]int{len(xs)}, xs[0].Shape...)...)
	for i, x := range xs {
		copy(out.Data[i*n:], x.Data)
	}
	tp.Record(func() {
		if out.Grad == nil {
			return
		}
		for i, x := range xs {
			g := x.EnsureGrad()
			for j, v := range out.Grad[i*n : (i+1)*n] {
				g[j] += v
			}
		}
	})
	return out
}
