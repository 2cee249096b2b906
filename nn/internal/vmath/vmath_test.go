package vmath

import (
	"math"
	"math/rand/v2"
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestAccuracy measures the float32 approximations against package math on a dense
// grid over [-30, 30] and at the edges, and fails if an error grows past the bound
// stated in the package documentation.
func TestAccuracy(t *testing.T) {
	var worstExp, worstSig, worstTanh, worstTanhRel float64
	check := func(x float32) {
		xd := float64(x)
		if e := math.Exp(xd); e < math.MaxFloat32 && e > 0x1p-126 {
			got := float64(Exp32(x))
			ulp := float64(math.Nextafter32(float32(e), float32(math.Inf(1))) - float32(e))
			worstExp = max(worstExp, math.Abs(got-e)/ulp)
		}
		worstSig = max(worstSig, math.Abs(float64(Sigmoid32(x))-1/(1+math.Exp(-xd))))
		th := math.Tanh(xd)
		worstTanh = max(worstTanh, math.Abs(float64(Tanh32(x))-th))
		if math.Abs(xd) < 0.625 && x != 0 {
			ulp := float64(math.Nextafter32(float32(math.Abs(th)), 1) - float32(math.Abs(th)))
			worstTanhRel = max(worstTanhRel, math.Abs(float64(Tanh32(x))-th)/ulp)
		}
	}
	for i := -3_000_000; i <= 3_000_000; i++ {
		check(float32(i) * 1e-5)
	}
	for _, x := range []float32{0, 1e-30, -1e-30, 1e-8, 88, -88, 89, -89, 100, -100, 1e30, -1e30, math.MaxFloat32, -math.MaxFloat32} {
		check(x)
	}
	t.Logf("Exp32 %.2f ulp, Sigmoid32 %.2g abs, Tanh32 %.2g abs, %.2f ulp near 0", worstExp, worstSig, worstTanh, worstTanhRel)
	if worstExp > 2 || worstSig > 2e-7 || worstTanh > 4e-7 || worstTanhRel > 3 {
		t.Fatalf("error above the stated bounds")
	}
	for _, x := range []float32{float32(math.Inf(1)), float32(math.Inf(-1))} {
		if s := Sigmoid32(x); s < 0 || s > 1 {
			t.Errorf("Sigmoid32(%v) = %v", x, s)
		}
		if th := Tanh32(x); th != float32(math.Copysign(1, float64(x))) {
			t.Errorf("Tanh32(%v) = %v", x, th)
		}
	}
}

// TestKernelsMatchScalar runs the slice functions (the AVX2 kernels where the
// CPU has them) against the scalar functions on random values, the edges of
// every branch and the special values, at every length up to 70 (the kernels
// take multiples of 8, the rest goes to Go) and unaligned, in place and not. The
// results must be the same bits, NaN for NaN.
func TestKernelsMatchScalar(t *testing.T) { eachPath(t, kernelsMatchScalar) }

func kernelsMatchScalar(t *testing.T) {
	t.Logf("path %s", Path())
	rng := rand.New(rand.NewPCG(1, 2))
	special := []float32{0, float32(math.Copysign(0, -1)), 1e-30, -1e-30, 0.625, -0.625, 0.62499997, 9.1, -9.1, 9.100001,
		-87.3, -87.30001, 88.7, 88.70001, 88.5, 88.6, -88, 89, 1e30, -1e30, math.MaxFloat32, -math.MaxFloat32,
		float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()), 0x1p-149}
	var src []float32
	for range 20000 {
		switch rng.IntN(4) {
		case 0:
			src = append(src, special[rng.IntN(len(special))])
		case 1:
			src = append(src, float32(rng.NormFloat64()))
		case 2:
			src = append(src, float32(rng.Float64()*200-100))
		default:
			src = append(src, float32(rng.Float64()*2-1))
		}
	}
	same := func(a, b float32) bool { return math.Float32bits(a) == math.Float32bits(b) || a != a && b != b }
	fns := []struct {
		name   string
		slice  func(dst, src []float32)
		scalar func(float32) float32
	}{
		{"ExpShift", func(d, s []float32) { ExpShift(d, s, 0.75) }, func(x float32) float32 { return Exp32(x - 0.75) }},
		{"Sigmoid", Sigmoid, Sigmoid32},
		{"Tanh", Tanh, Tanh32},
	}
	for _, f := range fns {
		check := func(in []float32, inPlace bool) {
			t.Helper()
			dst := make([]float32, len(in))
			orig := append([]float32(nil), in...)
			if inPlace {
				copy(dst, in)
				f.slice(dst, dst)
			} else {
				f.slice(dst, in)
			}
			for i, x := range orig {
				if want := f.scalar(x); !same(dst[i], want) {
					t.Fatalf("%s(%g) at %d of %d (in place %v) = %g (%#x), scalar %g (%#x)", f.name, x, i, len(in), inPlace,
						dst[i], math.Float32bits(dst[i]), want, math.Float32bits(want))
				}
			}
		}
		for n := 0; n <= 70; n++ {
			for off := 0; off < 3; off++ {
				check(src[off:off+n], false)
				check(src[off:off+n], true)
			}
		}
		check(src, false)
		check(src, true)
	}
}

// BenchmarkSlices times the elementwise kernels on 4096 floats, on each path
// this machine runs.
func BenchmarkSlices(b *testing.B) {
	for _, wide := range []bool{true, false} {
		was := useWide(wide)
		b.Run(Path(), benchSlices)
		useWide(was)
	}
}

func benchSlices(b *testing.B) {
	x := make([]float32, 4096)
	for i := range x {
		x[i] = float32(i-2048) / 300
	}
	dst := make([]float32, len(x))
	b.Run("ExpShift", func(b *testing.B) {
		for b.Loop() {
			ExpShift(dst, x, 1)
		}
	})
	b.Run("Sigmoid", func(b *testing.B) {
		for b.Loop() {
			Sigmoid(dst, x)
		}
	})
	b.Run("Tanh", func(b *testing.B) {
		for b.Loop() {
			Tanh(dst, x)
		}
	})
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
				s += Sigmoid32(v)
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
				s += Tanh32(v)
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

// TestAdamMatchesScalar runs Adam (the AVX2 kernel where the CPU has it) and the
// Go loop on the same random state at every length to 70 and requires the same
// bits in the weights and both moments.
func TestAdamMatchesScalar(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	k := &AdamConsts[float32]{Decay: 0.01, B1: 0.9, OB1: 1 - float32(0.9), B2: 0.999, OB2: 1 - float32(0.999), Step: 1e-3 / 0.271, SqrtBC2: 0.0447, Eps: 1e-8}
	for n := 0; n <= 70; n++ {
		state := make([][]float32, 4) // w, g, m, v
		for i := range state {
			state[i] = make([]float32, n)
			for j := range state[i] {
				state[i][j] = float32(rng.NormFloat64())
				if i == 3 {
					state[i][j] *= state[i][j] // v ≥ 0
				}
			}
		}
		if n > 3 {
			state[1][2] = 0 // a zero gradient
			state[3][3] = 0 // and a zero second moment
		}
		want := make([][]float32, 4)
		for i := range want {
			want[i] = append([]float32(nil), state[i]...)
		}
		Adam(state[0], state[1], state[2], state[3], k)
		AdamGo(want[0], want[1], want[2], want[3], k)
		for i, name := range []string{"w", "g", "m", "v"} {
			for j := range n {
				if math.Float32bits(state[i][j]) != math.Float32bits(want[i][j]) {
					t.Fatalf("n=%d: %s[%d] = %g, Go loop %g", n, name, j, state[i][j], want[i][j])
				}
			}
		}
	}
}

// TestReductionsMatchGo checks Max, Sum64, SumSq64, Scale and Axpy against plain Go
// loops (Sum64 against the order its documentation states) at every length to
// 70, with large and tiny values mixed so that a different summation order
// would show.
func TestReductionsMatchGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for n := 1; n <= 70; n++ {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(rng.NormFloat64() * math.Pow(10, float64(rng.IntN(12)-6)))
		}
		m := x[0]
		for _, v := range x {
			m = max(m, v)
		}
		if got := Max(x); got != m {
			t.Fatalf("n=%d: Max = %g, want %g", n, got, m)
		}
		want := sum64Go(x[:n&^7])
		for _, v := range x[n&^7:] {
			want += float64(v)
		}
		if got := Sum64(x); math.Float64bits(got) != math.Float64bits(want) {
			t.Fatalf("n=%d: Sum64 = %v, want %v", n, got, want)
		}
		wantSq := sumSq64Go(x[:n&^7])
		for _, v := range x[n&^7:] {
			wantSq += float64(v) * float64(v)
		}
		if got := SumSq64(x); math.Float64bits(got) != math.Float64bits(wantSq) {
			t.Fatalf("n=%d: SumSq64 = %v, want %v", n, got, wantSq)
		}
		y := make([]float32, n)
		for i := range y {
			y[i] = float32(rng.NormFloat64())
		}
		wantS, wantA := append([]float32(nil), x...), append([]float32(nil), y...)
		for i := range wantS {
			wantS[i] *= 0.37
			wantA[i] += -1.3 * x[i]
		}
		gotS, gotA := append([]float32(nil), x...), append([]float32(nil), y...)
		Scale(gotS, 0.37)
		Axpy(gotA, x, -1.3)
		for i := range x {
			if gotS[i] != wantS[i] || gotA[i] != wantA[i] {
				t.Fatalf("n=%d, i=%d: Scale %g want %g, Axpy %g want %g", n, i, gotS[i], wantS[i], gotA[i], wantA[i])
			}
		}
	}
	// The stated order, written out for sixteen values.
	x := []float32{1e8, 1, 2, 3, 4, 5, 6, 7, -1e8, 9, 10, 11, 12, 13, 14, 15}
	var s [8]float64
	for i, v := range x {
		s[i%8] += float64(v)
	}
	if got, want := Sum64(x), (s[0]+s[4]+(s[2]+s[6]))+(s[1]+s[5]+(s[3]+s[7])); got != want {
		t.Fatalf("Sum64 = %v, want %v", got, want)
	}
	s = [8]float64{}
	for i, v := range x {
		s[i%8] += float64(v) * float64(v)
	}
	if got, want := SumSq64(x), (s[0]+s[4]+(s[2]+s[6]))+(s[1]+s[5]+(s[3]+s[7])); got != want {
		t.Fatalf("SumSq64 = %v, want %v", got, want)
	}
}

// TestGRUBackMatchesGo runs GRUBack (the AVX2 kernel for the first multiple of
// 8 units) against the Go loop for every H to 40, bit for bit, and GRUInfer
// and its Go twin against GRUStep's new state.
func TestGRUBackMatchesGo(t *testing.T) { eachPath(t, gRUBackMatchesGo) }

func gRUBackMatchesGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for H := 1; H <= 40; H++ {
		v := func(n int) []float32 {
			s := make([]float32, n)
			for i := range s {
				s[i] = float32(rng.NormFloat64())
			}
			return s
		}
		d, g, hp, hn := v(H), v(3*H), v(H), v(H)
		for i := range g {
			g[i] = Sigmoid32(g[i]) // gates in (0, 1), n too (its sign does not matter here)
		}
		dx, dhw, wx, wh := v(3*H), v(3*H), v(3*H), v(3*H)
		GRUBack(d, g, hp, hn, dx, dhw)
		GRUBackGo(d, g, hp, hn, wx, wh, 0)
		for i := range dx {
			if math.Float32bits(dx[i]) != math.Float32bits(wx[i]) || math.Float32bits(dhw[i]) != math.Float32bits(wh[i]) {
				t.Fatalf("H=%d, %d: dx %g dhw %g, Go %g %g", H, i, dx[i], dhw[i], wx[i], wh[i])
			}
		}
	}
}

// TestLSTMBackMatchesGo runs LSTMBack (the kernels for the first multiple of
// 8 units) against the Go loop for every H to 40, bit for bit, with cells
// across tanh's branches (small, middle, past 9.1).
func TestLSTMBackMatchesGo(t *testing.T) { eachPath(t, lSTMBackMatchesGo) }

func lSTMBackMatchesGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	for H := 1; H <= 40; H++ {
		v := func(n int, scale float64) []float32 {
			s := make([]float32, n)
			for i := range s {
				s[i] = float32(scale * rng.NormFloat64())
			}
			return s
		}
		dh, dc, g, cp, cc := v(H, 1), v(H, 1), v(4*H, 2), v(H, 3), v(H, 4)
		for i := range g {
			g[i] = Sigmoid32(g[i])
		}
		dx, dcp, wx, wcp := v(4*H, 1), v(H, 1), v(4*H, 1), v(H, 1)
		LSTMBack(dh, dc, g, cp, cc, dx, dcp)
		LSTMBackGo(dh, dc, g, cp, cc, wx, wcp, 0)
		for i := range dx {
			if math.Float32bits(dx[i]) != math.Float32bits(wx[i]) {
				t.Fatalf("H=%d, dx[%d] = %g, Go %g", H, i, dx[i], wx[i])
			}
		}
		for i := range dcp {
			if math.Float32bits(dcp[i]) != math.Float32bits(wcp[i]) {
				t.Fatalf("H=%d, dcp[%d] = %g, Go %g", H, i, dcp[i], wcp[i])
			}
		}
	}
}

// TestGRUStepMatchesGo runs GRUStep (the AVX2 kernel for the first multiple of
// 8 units) against the Go loop for every H to 40, bit for bit, and GRUInfer
// and its Go twin against GRUStep's new state.
func TestGRUStepMatchesGo(t *testing.T) { eachPath(t, gRUStepMatchesGo) }

func gRUStepMatchesGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	v := func(n int) []float32 {
		s := make([]float32, n)
		for i := range s {
			s[i] = float32(rng.NormFloat64() * 3)
		}
		return s
	}
	for H := 1; H <= 40; H++ {
		g, hr, hp := v(3*H), v(3*H), v(H)
		g2 := append([]float32(nil), g...)
		hc, hn, hc2, hn2 := v(H), v(H), v(H), v(H)
		g3, hc3, hc4 := append([]float32(nil), g...), v(H), v(H)
		GRUInfer(g3, hr, hp, hc3)
		GRUInferGo(g3, hr, hp, hc4, 0)
		for i := range g3 {
			if g3[i] != g2[i] { // g2 is still GRUStep's input here
				t.Fatalf("H=%d: GRUInfer wrote gate %d", H, i)
			}
		}
		GRUStep(g, hr, hp, hc, hn)
		GRUStepGo(g2, hr, hp, hc2, hn2, 0)
		for i := range hc {
			if math.Float32bits(hc3[i]) != math.Float32bits(hc[i]) || math.Float32bits(hc4[i]) != math.Float32bits(hc[i]) {
				t.Fatalf("H=%d: GRUInfer h[%d] = %g, its Go twin %g, GRUStep %g", H, i, hc3[i], hc4[i], hc[i])
			}
		}
		for i := range g {
			if math.Float32bits(g[i]) != math.Float32bits(g2[i]) {
				t.Fatalf("H=%d: gate %d = %g, Go %g", H, i, g[i], g2[i])
			}
		}
		for i := range hc {
			if math.Float32bits(hc[i]) != math.Float32bits(hc2[i]) || hn[i] != hn2[i] {
				t.Fatalf("H=%d: h[%d] = %g (hn %g), Go %g (%g)", H, i, hc[i], hn[i], hc2[i], hn2[i])
			}
		}
	}
}

// eachPath runs test with the AVX-512 elementwise kernels and without them
// (on machines that run them; the AVX2 kernels alone elsewhere).
func eachPath(t *testing.T, test func(t *testing.T)) {
	for _, wide := range []bool{true, false} {
		was := useWide(wide)
		t.Run(Path(), test)
		useWide(was)
		if Path() != "avx512" && wide {
			break // the one path of this machine ran above
		}
	}
}

// TestAVX2KernelsKeepToSixteenRegisters reads the generated assembly: an AVX2
// kernel must name no vector register above 15. The generator's allocator
// takes Y16 to Y31 when a kernel needs more than sixteen (three interleaved
// tanh blocks did). VROUNDPS and VBLENDVPS have no AVX-512 form, so that
// kernel failed to assemble; one of arithmetic alone would have assembled
// for AVX-512, which an AVX2-only CPU (Zen 1, say) does not run, and the
// AVX-512 machines that run the suite would not have noticed.
func TestAVX2KernelsKeepToSixteenRegisters(t *testing.T) {
	src, err := os.ReadFile("vmath_amd64.s")
	if err != nil {
		t.Fatal(err)
	}
	high := regexp.MustCompile(`\b[XY](1[6-9]|2[0-9]|3[01])\b`)
	kernels := 0
	for _, fn := range strings.Split(string(src), "\nTEXT ")[1:] {
		name, _, _ := strings.Cut(fn, "(")
		if !strings.HasSuffix(name, "AVX2") {
			continue
		}
		kernels++
		if r := high.FindString(fn); r != "" {
			t.Errorf("%s uses %s, an AVX-512 register", name, r)
		}
	}
	if kernels < 10 {
		t.Fatalf("found %d AVX2 kernels in vmath_amd64.s", kernels)
	}
}

// TestPrefetch: Prefetch leaves x as it is, at any length and alignment (its
// loop steps a cache line at a time from an address that need not start
// one, and ends at x's last float).
func TestPrefetch(t *testing.T) {
	buf := make([]float32, 100)
	for i := range buf {
		buf[i] = float32(i)
	}
	for a := 0; a < 20; a++ {
		for n := 0; a+n <= len(buf); n++ {
			Prefetch(buf[a : a+n])
		}
	}
	for i, v := range buf {
		if v != float32(i) {
			t.Fatalf("buf[%d] = %v after Prefetch, want %d", i, v, i)
		}
	}
}
