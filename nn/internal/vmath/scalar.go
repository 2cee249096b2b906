package vmath

import (
	"math"
	"unsafe"
)

// Exp32 returns e**x; it saturates below -87.3 (to about 1.2e-38) and overflows
// to +Inf above about 88.6.
func Exp32(x float32) float32 {
	const (
		log2e = 1.44269504088896341
		c1    = 0.693359375
		c2    = -2.12194440e-4
	)
	// Plain comparisons: min and max order NaNs and signed zeros, which costs
	// branches here. A NaN falls through both and gives NaN.
	if x < -87.3 {
		x = -87.3
	}
	if x > 88.7 {
		x = 88.7
	}
	// x = n·ln2 + r with |r| ≤ ln2/2.
	v := x*log2e + 0.5
	n := int32(v)
	if float32(n) > v {
		n--
	}
	fn := float32(n)
	r := x - fn*c1 - fn*c2
	z := r * r
	p := ((((1.9875691500e-4*r+1.3981999507e-3)*r+8.3334519073e-3)*r+4.1665795894e-2)*r+1.6666665459e-1)*r + 5.0000001201e-1
	y := p*z + r + 1
	// n ≥ -126 after the clamp, so 2**n is a normal float32 (or +Inf at 128).
	return y * math.Float32frombits(uint32(n+127)<<23)
}

// Sigmoid32 returns 1/(1+e**-x).
func Sigmoid32(x float32) float32 { return 1 / (1 + Exp32(-x)) }

// Tanh32 returns tanh(x).
func Tanh32(x float32) float32 {
	a := x
	if a < 0 {
		a = -a
	}
	if a < 0.625 {
		z := x * x
		return ((((-5.70498872745e-3*z+2.06390887954e-2)*z-5.37397155531e-2)*z+1.33314422036e-1)*z-3.33332819422e-1)*z*x + x
	}
	if a > 9.1 {
		a = 1 // tanh rounds to ±1 in float32
	} else {
		a = 1 - 2/(Exp32(2*a)+1)
	}
	if x < 0 {
		return -a
	}
	return a
}

// sqrtOf is the correctly rounded square root: for float32, rounding the
// float64 root gives it (53 ≥ 2·24+2 bits), so it equals VSQRTPS.
func sqrtOf[F Float](x F) F { return F(math.Sqrt(float64(x))) }

// Float is float32 or float64.
type Float interface{ ~float32 | ~float64 }

// SigmoidOf is Sigmoid32 for float32 and 1/(1+e^-x) in float64 for float64
// (the gradient checks); the size test is a constant in each instantiation.
func SigmoidOf[F Float](x F) F {
	if unsafe.Sizeof(x) == 4 {
		return F(Sigmoid32(float32(x)))
	}
	return F(1 / (1 + math.Exp(-float64(x))))
}

// TanhOf is Tanh32 for float32 and math.Tanh for float64.
func TanhOf[F Float](x F) F {
	if unsafe.Sizeof(x) == 4 {
		return F(Tanh32(float32(x)))
	}
	return F(math.Tanh(float64(x)))
}
