package nn

import "fmt"

// Float is the element type of every tensor: float32 for training and inference,
// float64 for gradient checks.
type Float interface{ float32 | float64 }

// Tensor is a dense row-major array with an optional gradient of the same size.
//
// Parameters carry a Name (the checkpoint key, PyTorch-style such as
// "rnn.weight_ih_l0"); activations leave it empty. Grad is nil until a backward pass
// writes to it; backward passes accumulate into Grad, so callers zero parameter
// gradients between steps with [ZeroGrads].
type Tensor[T Float] struct {
	Name  string
	Shape []int
	Data  []T
	Grad  []T
}

// NewTensor returns a zero tensor of the given shape.
func NewTensor[T Float](shape ...int) *Tensor[T] {
	return &Tensor[T]{Shape: append([]int(nil), shape...), Data: make([]T, numel(shape))}
}

// FromData wraps data (not copied) as a tensor of the given shape. It panics when the
// sizes disagree, which is a programming error.
func FromData[T Float](data []T, shape ...int) *Tensor[T] {
	if n := numel(shape); n != len(data) {
		panic(fmt.Sprintf("nn: FromData: shape %v needs %d elements, have %d", shape, n, len(data)))
	}
	return &Tensor[T]{Shape: append([]int(nil), shape...), Data: data}
}

// Len is the number of elements.
func (t *Tensor[T]) Len() int { return len(t.Data) }

// EnsureGrad allocates a zero gradient if there is none and returns it.
func (t *Tensor[T]) EnsureGrad() []T {
	if t.Grad == nil {
		t.Grad = make([]T, len(t.Data))
	}
	return t.Grad
}

// Detach returns a tensor sharing t's values but not its gradient: gradients stop
// here. Truncated BPTT carries final states into the next segment this way.
func (t *Tensor[T]) Detach() *Tensor[T] {
	if t == nil {
		return nil
	}
	return &Tensor[T]{Shape: t.Shape, Data: t.Data}
}

// ZeroGrads sets the gradient of every tensor to zero (allocating it if needed).
func ZeroGrads[T Float](params []*Tensor[T]) {
	for _, p := range params {
		g := p.EnsureGrad()
		clear(g)
	}
}

func numel(shape []int) int {
	n := 1
	for _, d := range shape {
		if d < 0 {
			panic(fmt.Sprintf("nn: negative dimension in shape %v", shape))
		}
		n *= d
	}
	return n
}

// lastDim returns the size of the last dimension and the product of the others.
func lastDim(shape []int) (rows, cols int) {
	if len(shape) == 0 {
		return 1, 1
	}
	cols = shape[len(shape)-1]
	rows = numel(shape[:len(shape)-1])
	return rows, cols
}

// SelectBatch returns x [T, B, D] with its batch rows chosen by rows:
// [T, len(rows), D], row r a copy of row rows[r] (beam search reordering its
// hypotheses). It records nothing on a tape. A nil x gives nil.
func SelectBatch[T Float](x *Tensor[T], rows []int) *Tensor[T] {
	if x == nil {
		return nil
	}
	S, B, D := x.Shape[0], x.Shape[1], x.Shape[2]
	out := NewTensor[T](S, len(rows), D)
	for i := range S {
		for r, src := range rows {
			copy(out.Data[(i*len(rows)+r)*D:(i*len(rows)+r+1)*D], x.Data[(i*B+src)*D:(i*B+src+1)*D])
		}
	}
	return out
}
