//go:build !purego

package vmath

import (
	"math"

	"golang.org/x/sys/cpu"
)

// avx2 is whether the kernels run: the CPU has AVX2 and is not told otherwise.
var avx2 = cpu.X86.HasAVX2

// avx512 is whether the elementwise kernels (exp, sigmoid, tanh, the GRU
// steps) take sixteen floats at a time: the CPU has AVX-512F and the kernel
// agrees with Go on a few values first, so that a fault on a CPU it was never
// tested on gives users the AVX2 kernels rather than wrong numbers. The tests
// switch it to run both paths.
var avx512 = avx2 && cpu.X86.HasAVX512F && agrees512()

// Path names the implementation in use ("avx512", "avx2" or "go").
func Path() string {
	switch {
	case avx512:
		return "avx512"
	case avx2:
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

// wide is how many of n values (a multiple of 8) the AVX-512 kernels take;
// the AVX2 kernels take the other 0 or 8.
func wide(n int) int {
	if !avx512 {
		return 0
	}
	return n &^ 15
}

// agrees512 runs the AVX-512 tanh, sigmoid and exp on values across their
// branches and reports whether they match the Go functions bit for bit.
func agrees512() bool {
	src := []float32{0, -0.3, 0.624, 0.626, -2, 5, 9.2, -9.2, 30, -30, 88, -88, 1e-3, -1e-3, 0.5, 3}
	dst := make([]float32, len(src))
	for _, f := range []struct {
		asm    func(dst, src *float32, n int)
		scalar func(float32) float32
	}{{tanhAVX512, Tanh32}, {sigmoidAVX512, Sigmoid32}, {func(d, s *float32, n int) { expShiftAVX512(d, s, n, 0) }, Exp32}} {
		f.asm(&dst[0], &src[0], len(src))
		for i, x := range src {
			if math.Float32bits(dst[i]) != math.Float32bits(f.scalar(x)) {
				return false
			}
		}
	}
	return true
}

// The elementwise kernels take len(dst), a multiple of 8: the AVX-512 kernel
// the multiple of 16 (when it runs), the AVX2 kernel the rest.

func expShift(dst, src []float32, shift float32) {
	w := wide(len(dst))
	if w > 0 {
		expShiftAVX512(&dst[0], &src[0], w, shift)
	}
	if w < len(dst) {
		expShiftAVX2(&dst[w], &src[w], len(dst)-w, shift)
	}
}

func sigmoid(dst, src []float32) {
	w := wide(len(dst))
	if w > 0 {
		sigmoidAVX512(&dst[0], &src[0], w)
	}
	if w < len(dst) {
		sigmoidAVX2(&dst[w], &src[w], len(dst)-w)
	}
}

func tanh(dst, src []float32) {
	w := wide(len(dst))
	if w > 0 {
		tanhAVX512(&dst[0], &src[0], w)
	}
	if w < len(dst) {
		tanhAVX2(&dst[w], &src[w], len(dst)-w)
	}
}
func adam(w, g, m, v []float32, k *AdamConsts[float32]) {
	adamAVX2(&w[0], &g[0], &m[0], &v[0], len(w), &k.Decay)
}
func maxAVX(x []float32) float32         { return maxAVX2(&x[0], len(x)) }
func sum64(x []float32) float64          { return sum64AVX2(&x[0], len(x)) }
func sumSq64(x []float32) float64        { return sumSq64AVX2(&x[0], len(x)) }
func scale(x []float32, a float32)       { scaleAVX2(&x[0], len(x), a) }
func axpy(dst, src []float32, a float32) { axpyAVX2(&dst[0], &src[0], len(dst), a) }

// gruBack runs the kernels on the first m units of the row (m a multiple of
// 8); the gate blocks lie len(d) floats apart.
func gruBack(d, g, hp, hn, dx, dhw []float32, m int) {
	st := 4 * len(d)
	w := wide(m)
	if w > 0 {
		gruBackAVX512(&d[0], &g[0], &hp[0], &hn[0], &dx[0], &dhw[0], w, st)
	}
	if w < m {
		gruBackAVX2(&d[w], &g[w], &hp[w], &hn[w], &dx[w], &dhw[w], m-w, st)
	}
}

// gruStep runs the kernels on the first m units of the row (m a multiple of
// 8).
func gruStep(g, hr, hp, hc, hn []float32, m int) {
	st := 4 * len(hp)
	w := wide(m)
	if w > 0 {
		gruStepAVX512(&g[0], &hr[0], &hp[0], &hc[0], &hn[0], w, st)
	}
	if w < m {
		gruStepAVX2(&g[w], &hr[w], &hp[w], &hc[w], &hn[w], m-w, st)
	}
}

// gruInfer runs the kernels on the first m units of the row (m a multiple of
// 8).
func gruInfer(g, hr, hp, hc []float32, m int) {
	st := 4 * len(hp)
	w := wide(m)
	if w > 0 {
		gruInferAVX512(&g[0], &hr[0], &hp[0], &hc[0], w, st)
	}
	if w < m {
		gruInferAVX2(&g[w], &hr[w], &hp[w], &hc[w], m-w, st)
	}
}

// useWide turns the AVX-512 kernels on or off (on only where they run), for
// the tests of both paths; it returns the setting before.
func useWide(on bool) bool {
	was := avx512
	avx512 = on && avx2 && cpu.X86.HasAVX512F && agrees512()
	return was
}

// lstmBack runs the kernels on the first m units of the row (m a multiple of
// 8); the gate blocks lie len(dh) floats apart.
func lstmBack(dh, dc, g, cp, cc, dx, dcp []float32, m int) {
	st := 4 * len(dh)
	w := wide(m)
	if w > 0 {
		lstmBackAVX512(&dh[0], &dc[0], &g[0], &cp[0], &cc[0], &dx[0], &dcp[0], w, st)
	}
	if w < m {
		lstmBackAVX2(&dh[w], &dc[w], &g[w], &cp[w], &cc[w], &dx[w], &dcp[w], m-w, st)
	}
}
