package nn

import (
	"math"
	"math/rand/v2"
)

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
	// The mask repeats every maskLen values (each time step of a
	// variational mask): walked block by block, with no division per value.
	for o := 0; o < n; o += maskLen {
		yb, xb := y.Data[o:o+maskLen], x.Data[o:o+maskLen]
		for i, m := range mask {
			yb[i] = xb[i] * m
		}
	}
	tp.Record(func() {
		if y.Grad == nil {
			return
		}
		dx := x.EnsureGrad()
		for o := 0; o < n; o += maskLen {
			db, gb := dx[o:o+maskLen], y.Grad[o:o+maskLen]
			for i, m := range mask {
				db[i] += gb[i] * m
			}
		}
	})
	return y
}

// dropMask draws n factors of inverted dropout, 0 with probability p and
// 1/(1-p) otherwise, for activations and for weight dropout alike: from a PCG
// seeded once from rng, with 32 bits per decision. A mask over a layer's
// million recurrent weights at every pass then costs about a millisecond
// instead of fifteen, most of which went to calling through rand.Rand's Source
// interface once a float (and activation dropout was a tenth of an
// mr-sentiment epoch that way).
func dropMask[T Float](n int, p float64, rng *rand.Rand) []T {
	src := rand.NewPCG(rng.Uint64(), rng.Uint64())
	drop := uint64(math.Ldexp(p, 32)) // a 32-bit draw below it drops the weight
	scale := T(1 / (1 - p))
	// Branch-free: the sign of draw-drop indexes the factor, since a branch
	// taken at random four times in ten is mispredicted as often.
	factor := [2]T{scale, 0}
	mask := make([]T, n)
	for i := 0; i+1 < n; i += 2 {
		u := src.Uint64()
		mask[i] = factor[((u&math.MaxUint32)-drop)>>63]
		mask[i+1] = factor[((u>>32)-drop)>>63]
	}
	if n%2 == 1 {
		mask[n-1] = factor[((src.Uint64()&math.MaxUint32)-drop)>>63]
	}
	return mask
}
