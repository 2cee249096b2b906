package nn

import "math/rand/v2"

// Dropout zeroes each element of x with probability p and scales the survivors by
// 1/(1-p) (inverted dropout), so evaluation needs no rescaling. With variational set,
// one mask over x.Shape[1:] is drawn and shared by every step of the leading (time)
// dimension (Gal and Ghahramani 2016), as recurrent networks want.
//
// p == 0 or rng == nil returns x itself: that is evaluation mode.
func Dropout[T Float](tp *Tape, x *Tensor[T], p float64, variational bool, rng *rand.Rand) *Tensor[T] {
	if p <= 0 || rng == nil {
		return x
	}
	if p >= 1 {
		panic("nn: Dropout probability must be below 1")
	}
	n := x.Len()
	maskLen := n
	if variational && len(x.Shape) > 1 {
		maskLen = numel(x.Shape[1:])
	}
	mask := dropMask[T](maskLen, p, rng)
	y := NewTensor[T](x.Shape...)
	for i := range y.Data {
		y.Data[i] = x.Data[i] * mask[i%maskLen]
	}
	tp.Record(func() {
		if y.Grad == nil {
			return
		}
		dx := x.EnsureGrad()
		for i, g := range y.Grad {
			dx[i] += g * mask[i%maskLen]
		}
	})
	return y
}

// dropMask draws n factors of inverted dropout: 0 with probability p, else 1/(1-p).
func dropMask[T Float](n int, p float64, rng *rand.Rand) []T {
	scale := T(1 / (1 - p))
	mask := make([]T, n)
	for i := range mask {
		if rng.Float64() >= p {
			mask[i] = scale
		}
	}
	return mask
}
