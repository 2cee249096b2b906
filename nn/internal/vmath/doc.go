// Package vmath computes exp, sigmoid and tanh over float32 slices for the
// recurrent cells and the softmax, the GRU's and the LSTM's elementwise steps,
// Adam and the reductions of the gradients: eight or sixteen at a time with
// AVX2 or AVX-512 where the CPU has them (kernels written by the avo generator
// in asm/), in Go elsewhere and under the purego build tag. Every path gives
// the same bits (see asm/gen.go). The AVX2 exp, sigmoid and tanh, and the
// GRU step's two sigmoids, compute two registers' blocks interleaved, for the
// small scheduling window of AVX2-only CPUs such as Zen 1.
//
// The functions are the float32 polynomials of the Cephes library (expf,
// tanhf). Going through float64 math.Exp and math.Tanh was a third of an LSTM
// step, and one value at a time, the float32 versions still were most of an
// inference step. Their error against the float64 functions, measured over
// [-30, 30] by TestAccuracy, is at most 2 units in the last place of float32
// for Exp32, 2e-7 absolute for Sigmoid32 and 4e-7 absolute (3 ulp relative
// where |x| < 0.625) for Tanh32.
package vmath

//go:generate go run -C asm . -out ../vmath_amd64.s -stubs ../stubs_amd64.go -pkg vmath
