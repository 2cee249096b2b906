package nn

import (
	"math"
	"sync"
	"unsafe"

	"github.com/seqkit/seqkit/nn/internal/vmath"
)

// The nonlinearities of the cells and the softmax. float32 goes to package vmath
// (Cephes polynomials, eight at a time with AVX2); float64, which the gradient
// checks run in, to package math. The size test is a constant in each
// instantiation, so the branch costs nothing.

func sigmoid[T Float](x T) T { return vmath.SigmoidOf(x) }

func tanh[T Float](x T) T { return vmath.TanhOf(x) }

// sigmoidTo sets dst[i] = sigmoid(src[i]); dst may be src.
func sigmoidTo[T Float](dst, src []T) {
	if d, s, ok := as32(dst, src); ok {
		vmath.Sigmoid(d, s)
		return
	}
	for i, v := range src[:len(dst)] {
		dst[i] = sigmoid(v)
	}
}

// tanhTo sets dst[i] = tanh(src[i]); dst may be src.
func tanhTo[T Float](dst, src []T) {
	if d, s, ok := as32(dst, src); ok {
		vmath.Tanh(d, s)
		return
	}
	for i, v := range src[:len(dst)] {
		dst[i] = tanh(v)
	}
}

// expShiftTo sets dst[i] = e^(src[i]-shift); dst may be src.
func expShiftTo[T Float](dst, src []T, shift T) {
	if d, s, ok := as32(dst, src); ok {
		vmath.ExpShift(d, s, float32(shift))
		return
	}
	for i, v := range src[:len(dst)] {
		dst[i] = T(math.Exp(float64(v - shift)))
	}
}

// as32 views two slices of T as float32 when T is float32, without the
// allocation a conversion through any would cost in the per-step loops.
func as32[T Float](a, b []T) ([]float32, []float32, bool) {
	var z T
	if unsafe.Sizeof(z) != 4 {
		return nil, nil, false
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(a))), len(a)),
		unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(b))), len(b)), true
}

// maxOf returns the largest value of the non-empty x.
func maxOf[T Float](x []T) T {
	if x32, _, ok := as32(x, x); ok {
		return T(vmath.Max(x32))
	}
	m := x[0]
	for _, v := range x {
		m = max(m, v)
	}
	return m
}

// sum64 returns the sum of x in float64 (for float32, in vmath.Sum64's order).
func sum64[T Float](x []T) float64 {
	if x32, _, ok := as32(x, x); ok {
		return vmath.Sum64(x32)
	}
	var s float64
	for _, v := range x {
		s += float64(v)
	}
	return s
}

// sumSq64 returns the sum of the squares of x in float64 (for float32, in
// vmath.SumSq64's order).
func sumSq64[T Float](x []T) float64 {
	if x32, _, ok := as32(x, x); ok {
		return vmath.SumSq64(x32)
	}
	var s float64
	for _, v := range x {
		s += float64(v) * float64(v)
	}
	return s
}

// scaleBy sets x[i] *= a.
func scaleBy[T Float](x []T, a T) {
	if x32, _, ok := as32(x, x); ok {
		vmath.Scale(x32, float32(a))
		return
	}
	for i := range x {
		x[i] *= a
	}
}

// mul sets dst[i] *= src[i].
func mul[T Float](dst, src []T) {
	src = src[:len(dst)]
	for i, v := range src {
		dst[i] *= v
	}
}

// axpy sets dst[i] += a·src[i].
func axpy[T Float](dst, src []T, a T) {
	if d, s, ok := as32(dst, src); ok {
		vmath.Axpy(d, s, float32(a))
		return
	}
	for i, v := range src[:len(dst)] {
		dst[i] += a * v
	}
}

// gruBack is the elementwise backward step of a GRU row (see vmath.GRUBack).
func gruBack[T Float](d, g, hp, hn, dx, dhw []T) {
	if d32, g32, ok := as32(d, g); ok {
		hp32, hn32, _ := as32(hp, hn)
		dx32, dhw32, _ := as32(dx, dhw)
		vmath.GRUBack(d32, g32, hp32, hn32, dx32, dhw32)
		return
	}
	vmath.GRUBackGo(d, g, hp, hn, dx, dhw, 0)
}

// lstmBack is the LSTM's elementwise backward step on a row (forget gate, no
// peepholes): vmath's kernels for float32, their Go twin for float64.
func lstmBack[T Float](dh, dc, g, cp, cc, dx, dcp []T) {
	if dh32, dc32, ok := as32(dh, dc); ok {
		g32, cp32, _ := as32(g, cp)
		cc32, dx32, _ := as32(cc, dx)
		dcp32, _, _ := as32(dcp, dcp)
		vmath.LSTMBack(dh32, dc32, g32, cp32, cc32, dx32, dcp32)
		return
	}
	vmath.LSTMBackGo(dh, dc, g, cp, cc, dx, dcp, 0)
}

// pools holds float32 buffers lent to inference (borrow, giveBack, Recycle)
// and to training's scratch (a recurrent layer's caches, the softmax's
// probabilities), one sync.Pool per length: batches of one shape ask for the
// same lengths again and again.
var pools sync.Map // int -> *sync.Pool of *[]float32

// borrow returns a buffer of n values whose contents are unspecified (not
// zeroed), for a value that is written in full before it is read: inference
// passes reuse their buffers from batch to batch instead of having the
// allocator clear megabytes each time (6% of the tagger's inference, 10% of
// the seq2seq model's for its logits). float64, which only the gradient checks
// use, is simply made.
func borrow[T Float](n int) []T {
	var z T
	if unsafe.Sizeof(z) == 4 && n > 0 {
		if p, ok := pools.Load(n); ok {
			if b, _ := p.(*sync.Pool).Get().(*[]float32); b != nil {
				return unsafe.Slice((*T)(unsafe.Pointer(unsafe.SliceData(*b))), n)
			}
		}
	}
	return make([]T, n)
}

// giveBack returns a buffer for reuse by borrow; the caller must not use it again.
func giveBack[T Float](s []T) {
	if s32, _, ok := as32(s, s); ok && len(s32) > 0 {
		p, _ := pools.LoadOrStore(len(s32), new(sync.Pool))
		p.(*sync.Pool).Put(&s32)
	}
}

// output returns a new tensor for an operation's result: zeroed when tp
// records (training), borrowed and unzeroed otherwise, for the operations that
// write every value of their result.
func output[T Float](tp *Tape, shape ...int) *Tensor[T] {
	if tp.Recording() {
		return NewTensor[T](shape...)
	}
	return &Tensor[T]{Shape: append([]int(nil), shape...), Data: borrow[T](numel(shape))}
}

// Recycle hands the data of tensors that are no longer needed (a batch's
// logits once its predictions are read, say) back for reuse by later inference
// passes, as PyTorch's caching allocator reuses freed blocks. The tensors are
// left without data: using one afterwards panics instead of reading another
// batch's values. Tensors must not share data with anything still in use.
func Recycle[T Float](ts ...*Tensor[T]) {
	for _, t := range ts {
		if t != nil && t.Data != nil {
			giveBack(t.Data)
			t.Data = nil
		}
	}
}

// gruInfer is gruStep for inference: g is only read, no activations or hn
// are kept, and hc is the same bit for bit.
func gruInfer[T Float](g, hr, hp, hc []T) {
	if g32, hr32, ok := as32(g, hr); ok {
		hp32, hc32, _ := as32(hp, hc)
		vmath.GRUInfer(g32, hr32, hp32, hc32)
		return
	}
	vmath.GRUInferGo(g, hr, hp, hc, 0)
}

// prefetch asks the CPU to bring x into its caches (see vmath.Prefetch).
func prefetch[T Float](x []T) {
	if x32, _, ok := as32(x, x); ok {
		vmath.Prefetch(x32)
	}
}

// gruStep is the forward step of a GRU row (see vmath.GRUStep).
func gruStep[T Float](g, hr, hp, hc, hn []T) {
	if g32, hr32, ok := as32(g, hr); ok {
		hp32, hc32, _ := as32(hp, hc)
		hn32, _, _ := as32(hn, hn)
		vmath.GRUStep(g32, hr32, hp32, hc32, hn32)
		return
	}
	vmath.GRUStepGo(g, hr, hp, hc, hn, 0)
}
