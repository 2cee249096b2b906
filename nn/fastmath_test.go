package nn

import (
	"math"
	"testing"
)

// TestFastMath measures the float32 approximations against package math on a dense
// grid over [-30, 30] and at the edges, and fails if an error grows past the bound
// stated in fastmath.go.
func TestFastMath(t *testing.T) {
	var worstExp, worstSig, worstTanh, worstTanhRel float64
	check := func(x float32) {
		xd := float64(x)
		if e := math.Exp(xd); e < math.MaxFloat32 && e > 0x1p-126 {
			got := float64(exp32(x))
			ulp := float64(math.Nextafter32(float32(e), float32(math.Inf(1))) - float32(e))
			worstExp = max(worstExp, math.Abs(got-e)/ulp)
		}
		worstSig = max(worstSig, math.Abs(float64(sigmoid32(x))-1/(1+math.Exp(-xd))))
		th := math.Tanh(xd)
		worstTanh = max(worstTanh, math.Abs(float64(tanh32(x))-th))
		if math.Abs(xd) < 0.625 && x != 0 {
			ulp := float64(math.Nextafter32(float32(math.Abs(th)), 1) - float32(math.Abs(th)))
			worstTanhRel = max(worstTanhRel, math.Abs(float64(tanh32(x))-th)/ulp)
		}
	}
	for i := -3_000_000; i <= 3_000_000; i++ {
		check(float32(i) * 1e-5)
	}
	for _, x := range []float32{0, 1e-30, -1e-30, 1e-8, 88, -88, 89, -89, 100, -100, 1e30, -1e30, math.MaxFloat32, -math.MaxFloat32} {
		check(x)
	}
	t.Logf("exp32 %.2f ulp, sigmoid32 %.2g abs, tanh32 %.2g abs, %.2f ulp near 0", worstExp, worstSig, worstTanh, worstTanhRel)
	if worstExp > 2 || worstSig > 2e-7 || worstTanh > 4e-7 || worstTanhRel > 3 {
		t.Fatalf("error above the stated bounds")
	}
	for _, x := range []float32{float32(math.Inf(1)), float32(math.Inf(-1))} {
		if s := sigmoid32(x); s < 0 || s > 1 {
			t.Errorf("sigmoid32(%v) = %v", x, s)
		}
		if th := tanh32(x); th != float32(math.Copysign(1, float64(x))) {
			t.Errorf("tanh32(%v) = %v", x, th)
		}
	}
}

func BenchmarkGates(b *testing.B) {
	x := make([]float32, 4096)
	for i := range x {
		x[i] = float32(i-2048) / 300
	}
	b.Run("sigmoid32", func(b *testing.B) {
		var s float32
		for b.Loop() {
			for _, v := range x {
				s += sigmoid32(v)
			}
		}
		_ = s
	})
	b.Run("sigmoid64", func(b *testing.B) {
		var s float32
		for b.Loop() {
			for _, v := range x {
				s += float32(1 / (1 + math.Exp(-float64(v))))
			}
		}
		_ = s
	})
	b.Run("tanh32", func(b *testing.B) {
		var s float32
		for b.Loop() {
			for _, v := range x {
				s += tanh32(v)
			}
		}
		_ = s
	})
	b.Run("tanh64", func(b *testing.B) {
		var s float32
		for b.Loop() {
			for _, v := range x {
				s += float32(math.Tanh(float64(v)))
			}
		}
		_ = s
	})
}
