//go:build !purego

package vmath

import "golang.org/x/sys/cpu"

// avx2 is whether the kernels run: the CPU has AVX2 and is not told otherwise.
var avx2 = cpu.X86.HasAVX2

// Path names the implementation in use ("avx2" or "go").
func Path() string {
	if avx2 {
		return "avx2"
	}
	return "go"
}

// vector returns how many of n values the kernels take: a multiple of 8, or
// none without AVX2.
func vector(n int) int {
	if !avx2 {
		return 0
	}
	return n &^ 7
}

func expShift(dst, src []float32, shift float32) { expShiftAVX2(&dst[0], &src[0], len(dst), shift) }
func sigmoid(dst, src []float32)                 { sigmoidAVX2(&dst[0], &src[0], len(dst)) }
func tanh(dst, src []float32)                    { tanhAVX2(&dst[0], &src[0], len(dst)) }
func adam(w, g, m, v []float32, k *AdamConsts[float32]) {
	adamAVX2(&w[0], &g[0], &m[0], &v[0], len(w), &k.Decay)
}
func maxAVX(x []float32) float32         { return maxAVX2(&x[0], len(x)) }
func sum64(x []float32) float64          { return sum64AVX2(&x[0], len(x)) }
func sumSq64(x []float32) float64        { return sumSq64AVX2(&x[0], len(x)) }
func scale(x []float32, a float32)       { scaleAVX2(&x[0], len(x), a) }
func axpy(dst, src []float32, a float32) { axpyAVX2(&dst[0], &src[0], len(dst), a) }

// gruBack runs the kernel on the first m units of the row.
func gruBack(d, g, hp, hn, dx, dhw []float32, m int) {
	gruBackAVX2(&d[0], &g[0], &hp[0], &hn[0], &dx[0], &dhw[0], m, 4*len(d))
}

// gruStep runs the kernel on the first m units of the row.
func gruStep(g, hr, hp, hc, hn []float32, m int) {
	gruStepAVX2(&g[0], &hr[0], &hp[0], &hc[0], &hn[0], m, 4*len(hp))
}
