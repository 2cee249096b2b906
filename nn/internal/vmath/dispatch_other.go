//go:build purego || !amd64

package vmath

// Path names the implementation in use ("avx2" or "go").
func Path() string { return "go" }

// vector returns 0: every value goes through the scalar functions.
func vector(int) int { return 0 }

func expShift(dst, src []float32, shift float32)        {}
func sigmoid(dst, src []float32)                        {}
func tanh(dst, src []float32)                           {}
func adam(w, g, m, v []float32, k *AdamConsts[float32]) {}
func maxAVX(x []float32) float32                        { return 0 }
func sum64(x []float32) float64                         { return 0 }
func sumSq64(x []float32) float64                       { return 0 }
func scale(x []float32, a float32)                      {}
func axpy(dst, src []float32, a float32)                {}

func gruBack(d, g, hp, hn, dx, dhw []float32, m int) {}

func lstmBack(dh, dc, g, cp, cc, dx, dcp []float32, m int) {}

func gruStep(g, hr, hp, hc, hn []float32, m int) {}

func gruInfer(g, hr, hp, hc []float32, m int) {}

func useWide(bool) bool { return false }
