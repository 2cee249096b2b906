package vmath

// ExpShift sets dst[i] = Exp32(src[i] - shift): the exponentials of a softmax,
// shift being the row's maximum. dst and src have the same length and may be
// the same slice.
func ExpShift(dst, src []float32, shift float32) {
	src = src[:len(dst)]
	n := vector(len(dst))
	if n > 0 {
		expShift(dst[:n], src[:n], shift)
	}
	for i := n; i < len(dst); i++ {
		dst[i] = Exp32(src[i] - shift)
	}
}

// Sigmoid sets dst[i] = Sigmoid32(src[i]); dst may be src.
func Sigmoid(dst, src []float32) {
	src = src[:len(dst)]
	n := vector(len(dst))
	if n > 0 {
		sigmoid(dst[:n], src[:n])
	}
	for i := n; i < len(dst); i++ {
		dst[i] = Sigmoid32(src[i])
	}
}

// Tanh sets dst[i] = Tanh32(src[i]); dst may be src.
func Tanh(dst, src []float32) {
	src = src[:len(dst)]
	n := vector(len(dst))
	if n > 0 {
		tanh(dst[:n], src[:n])
	}
	for i := n; i < len(dst); i++ {
		dst[i] = Tanh32(src[i])
	}
}
