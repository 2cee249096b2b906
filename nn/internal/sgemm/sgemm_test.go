package sgemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// guard is written around and between the rows of C; a kernel that writes out of
// bounds changes it.
const guard = float32(-12345.5)

// ref is the reference triple loop, in float64.
func ref(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) []float64 {
	out := make([]float64, m*n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float64
			for l := 0; l < k; l++ {
				ai, bi := i*lda+l, l*ldb+j
				if transA {
					ai = l*lda + i
				}
				if transB {
					bi = j*ldb + l
				}
				av, bv := a[ai], b[bi]
				s += float64(av) * float64(bv)
			}
			v := float64(alpha) * s
			if beta != 0 {
				v += float64(beta) * float64(c[i*ldc+j])
			}
			out[i*n+j] = v
		}
	}
	return out
}

// TestConformance runs every kernel this CPU has, on one and on several goroutines,
// against the reference loop: odd and edge shapes, every transpose, leading
// dimensions wider than the matrices, and alpha and beta of 0, 1 and others.
func TestConformance(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	dims := []int{1, 2, 5, 6, 7, 15, 16, 17, 33, 121, 130}
	type shape struct{ m, n, k int }
	var shapes []shape
	for i := 0; i < 60; i++ {
		shapes = append(shapes, shape{dims[rng.IntN(len(dims))], dims[rng.IntN(len(dims))], dims[rng.IntN(len(dims))]})
	}
	// Larger than one block in every direction, and big enough to go parallel.
	// More than one kc-deep block of k (the first stores when beta is 0, the
	// rest add), with edge tiles.
	shapes = append(shapes, shape{250, 2100, 300}, shape{32, 512, 128}, shape{512, 32, 300}, shape{7, 3000, 5},
		shape{70, 40, 1100}, shape{13, 17, 1030}, shape{130, 33, 600})
	scalars := [][2]float32{{1, 0}, {1, 1}, {-0.5, 2}, {0, 0.5}, {2, 0}}
	for name, kern := range kernels() {
		for _, procs := range []int{1, 2, 3} {
			for si, s := range shapes {
				ta, tb := si%2 == 1, si/2%2 == 1
				ab := scalars[si%len(scalars)]
				for _, packed := range []bool{false, true} {
					t.Run(fmt.Sprintf("%s/p%d/%dx%dx%d/%v%v/packed=%v", name, procs, s.m, s.n, s.k, ta, tb, packed), func(t *testing.T) {
						check(t, rng, kern, procs, ta, tb, packed, false, s.m, s.n, s.k, ab[0], ab[1])
					})
				}
				if ab[1] == 0 {
					t.Run(fmt.Sprintf("%s/p%d/%dx%dx%d/%v%v/bias", name, procs, s.m, s.n, s.k, ta, tb), func(t *testing.T) {
						check(t, rng, kern, procs, ta, tb, false, true, s.m, s.n, s.k, ab[0], 0)
					})
				}
			}
		}
	}
}

// check runs one product and compares it with the reference loop; packed packs
// op(B) first (Pack, GemmPacked's path); bias adds a random row of biases
// (GemmBias's path, beta 0).
func check(t *testing.T, rng *rand.Rand, kern kernel, procs int, ta, tb, packed, bias bool, m, n, k int, alpha, beta float32) {
	t.Helper()
	ar, ac := m, k
	if ta {
		ar, ac = k, m
	}
	br, bc := k, n
	if tb {
		br, bc = n, k
	}
	lda, ldb, ldc := ac+rng.IntN(3), bc+rng.IntN(3), n+1+rng.IntN(3)
	a := randSlice(rng, ar*lda)
	b := randSlice(rng, br*ldb)
	const pad = 40
	buf := make([]float32, pad+m*ldc+pad)
	for i := range buf {
		buf[i] = guard
	}
	c := buf[pad : pad+m*ldc]
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			c[i*ldc+j] = float32(rng.NormFloat64())
		}
	}
	want := ref(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
	if bias {
		bv := randSlice(rng, n)
		for i := range want {
			want[i] += float64(bv[i%n])
		}
		gemmBias(kern, procs, ta, tb, m, n, k, alpha, a, lda, b, ldb, nil, bv, c, ldc)
	} else if packed {
		p := pack(kern.nr, tb, k, n, b, ldb)
		if pk, pn := p.Dims(); pk != k || pn != n {
			t.Fatalf("Pack dims %d×%d, want %d×%d", pk, pn, k, n)
		}
		gemm(kern, procs, ta, false, m, n, k, alpha, a, lda, nil, 0, p, beta, c, ldc)
	} else {
		gemm(kern, procs, ta, tb, m, n, k, alpha, a, lda, b, ldb, nil, beta, c, ldc)
	}
	for i := range buf {
		r := i - pad
		inside := r >= 0 && r < m*ldc && r%ldc < n
		if !inside {
			if buf[i] != guard {
				t.Fatalf("wrote outside C at offset %d: %v", r, buf[i])
			}
			continue
		}
		got, w := float64(c[r]), want[r/ldc*n+r%ldc]
		if tol := 1e-5 * float64(k+1) * (1 + math.Abs(w)); math.Abs(got-w) > tol || math.IsNaN(got) {
			t.Fatalf("C[%d,%d] = %v, want %v", r/ldc, r%ldc, got, w)
		}
	}
}

func randSlice(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(rng.NormFloat64())
	}
	return s
}

// TestBetaZeroClearsNaN: with beta 0, C is overwritten, never multiplied, as BLAS
// specifies, so stale NaNs in an output buffer do not survive.
func TestBetaZeroClearsNaN(t *testing.T) {
	a, b := []float32{1, 2}, []float32{3, 4}
	c := []float32{float32(math.NaN())}
	Gemm(0, false, false, 1, 1, 2, 1, a, 2, b, 1, 0, c, 1)
	if c[0] != 11 {
		t.Fatalf("got %v, want 11", c[0])
	}
}

func BenchmarkGemm(b *testing.B) {
	shapes := []struct {
		name    string
		ta, tb  bool
		m, n, k int
	}{
		{"512", false, false, 512, 512, 512},
		{"step-32x512x128", false, false, 32, 512, 128},
		{"step-32x1024x256", false, false, 32, 1024, 256},
		{"dW-512x128x32T", true, false, 128, 512, 32},
		{"dX-32x128x512T", false, true, 32, 128, 512},
		{"proj-640x512x100", false, false, 640, 512, 100},
		{"gru-step-64x768x256T", false, true, 64, 768, 256},
		{"out-640x5000x256T", false, true, 640, 5000, 256},
		{"out-1120x10000x512T", false, true, 1120, 10000, 512},
		{"outdW-5000x256x640T", true, false, 5000, 256, 640},
		{"outdX-640x256x5000", false, false, 640, 256, 5000},
		{"gru-dWih-768x128x4096T", true, false, 768, 128, 4096},
		{"gru-dWhh-768x256x4096T", true, false, 768, 256, 4096},
	}
	for name, kern := range kernels() {
		for _, s := range shapes {
			// Each product also with op(B) packed once (a recurrent step).
			for _, packed := range []bool{false, true} {
				sub := name + "/" + s.name
				if packed {
					sub += "/packed"
				}
				b.Run(sub, func(b *testing.B) {
					rng := rand.New(rand.NewPCG(1, 1))
					a := randSlice(rng, s.m*s.k)
					bb := randSlice(rng, s.k*s.n)
					c := make([]float32, s.m*s.n)
					lda, ldb := s.k, s.n
					if s.ta {
						lda = s.m
					}
					if s.tb {
						ldb = s.k
					}
					var p *Packed
					if packed {
						p = pack(kern.nr, s.tb, s.k, s.n, bb, ldb)
					}
					for b.Loop() {
						if packed {
							gemm(kern, 2, s.ta, false, s.m, s.n, s.k, 1, a, lda, nil, 0, p, 1, c, s.n)
						} else {
							gemm(kern, 2, s.ta, s.tb, s.m, s.n, s.k, 1, a, lda, bb, ldb, nil, 1, c, s.n)
						}
					}
					b.ReportMetric(2*float64(s.m*s.n*s.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				})
			}
		}
	}
}

// TestSameBitsAnyProcs: the number of goroutines changes how C is cut, never
// the order in which an element is summed, so a model computes the same bits
// on one core as on several (the two directions of a bidirectional layer run
// on one core each).
func TestSameBitsAnyProcs(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, s := range [][3]int{{32, 512, 128}, {640, 512, 100}, {512, 100, 640}, {250, 2100, 300}} {
		m, n, k := s[0], s[1], s[2]
		a, b := make([]float32, m*k), make([]float32, k*n)
		for i := range a {
			a[i] = float32(rng.NormFloat64())
		}
		for i := range b {
			b[i] = float32(rng.NormFloat64())
		}
		var first []float32
		for _, procs := range []int{1, 2, 3, 4} {
			c := make([]float32, m*n)
			Gemm(procs, false, false, m, n, k, 1, a, k, b, n, 0, c, n)
			if first == nil {
				first = c
				continue
			}
			for i := range c {
				if math.Float32bits(c[i]) != math.Float32bits(first[i]) {
					t.Fatalf("%v: C[%d] = %g on %d goroutines, %g on one", s, i, c[i], procs, first[i])
				}
			}
		}
	}
}

// TestGemmBiasEmptyProduct: with k = 0 (or alpha 0) GemmBias still writes the
// bias into every row.
func TestGemmBiasEmptyProduct(t *testing.T) {
	c := []float32{float32(math.NaN()), 9, 9, 9}
	GemmBias(0, false, false, 2, 2, 0, 1, nil, 1, nil, 2, []float32{1, 2}, c, 2)
	if c[0] != 1 || c[1] != 2 || c[2] != 1 || c[3] != 2 {
		t.Fatalf("got %v, want [1 2 1 2]", c)
	}
}

// BenchmarkPackB packs op(B) for the products the layers run: transposed, a
// 512×100 layer weight as stored (the AVX2 transpose, or Go under purego), and
// as it is, a 512×256 output-layer weight in its input gradient dy·W.
func BenchmarkPackB(b *testing.B) {
	for _, c := range []struct {
		name  string
		k, n  int
		trans bool
	}{{"trans", 100, 512, true}, {"stored", 512, 256, false}} {
		b.Run(c.name, func(b *testing.B) {
			src := randSlice(rand.New(rand.NewPCG(1, 1)), c.k*c.n)
			dst := make([]float32, roundUp(c.n, best.nr)*c.k)
			ld := c.n
			if c.trans {
				ld = c.k
			}
			for b.Loop() {
				packB(dst, best.nr, src, ld, c.trans, 0, 0, c.k, c.n)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(c.n*c.k), "ns/float")
		})
	}
}

// TestAgrees: the check that guards the AVX-512 kernel passes every kernel this
// CPU runs, and fails a kernel one rounding off in one element, one that writes
// past its rows, and one that ignores the bias.
func TestAgrees(t *testing.T) {
	for name, kern := range kernels() {
		if !agrees(kern) {
			t.Errorf("kernel %s disagrees with the Go kernel", name)
		}
	}
	const mr, nr = 12, 32 // the AVX-512 tile
	tile := func(k int, a, b, c []float32, ldc int, add bool, bias []float32, rows int) {
		kernelGoTile(mr, nr, k, a, b, c, ldc, add, bias, rows)
	}
	bad := map[string]kernel{
		"off by one ulp": {mr: mr, nr: nr, fn: func(k int, a, b, c []float32, ldc int, add bool, bias []float32, rows int) {
			tile(k, a, b, c, ldc, add, bias, rows)
			c[(rows-1)*ldc+21] = math.Nextafter32(c[(rows-1)*ldc+21], 100)
		}},
		"writes past its rows": {mr: mr, nr: nr, fn: func(k int, a, b, c []float32, ldc int, add bool, bias []float32, rows int) {
			tile(k, a, b, c, ldc, add, bias, rows)
			c[rows*ldc] = 0
		}},
		"no bias": {mr: mr, nr: nr, fn: func(k int, a, b, c []float32, ldc int, add bool, bias []float32, rows int) {
			tile(k, a, b, c, ldc, add, nil, rows)
		}},
		"is another tile's": {mr: mr, nr: nr, fn: func(k int, a, b, c []float32, ldc int, add bool, bias []float32, rows int) {
			kernelGoTile(6, 16, k, a, b, c, ldc, add, bias, min(rows, 6))
		}},
	}
	if !agrees(kernel{mr: mr, nr: nr, fn: tile}) {
		t.Error("the Go kernel of the AVX-512 tile disagrees with itself")
	}
	for name, kern := range bad {
		if agrees(kern) {
			t.Errorf("a kernel that %s passes", name)
		}
	}
}

// TestPairMatchesKernel runs each pair kernel (an edge tile of one or two rows
// over two panels of B) against its kernel on each panel, bit for bit, in the
// three modes, for depths with and without the unrolled loop, and checks
// that it writes nothing past its rows and columns.
func TestPairMatchesKernel(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for name, kern := range kernels() {
		if kern.pair == nil {
			continue
		}
		mr, nr, ldc := kern.mr, kern.nr, 2*kern.nr+3
		for _, k := range []int{1, 3, 4, 11, 130} {
			a, b, bias := randSlice(rng, k*mr), randSlice(rng, 2*k*nr), randSlice(rng, 2*nr)
			for rows := 1; rows <= kern.pairRows; rows++ {
				for mode := range 3 {
					want := randSlice(rng, (mr+1)*ldc)
					got := slices.Clone(want)
					var b0, b1 []float32
					if mode == 2 {
						b0, b1 = bias[:nr], bias[nr:]
					}
					kern.fn(k, a, b[:k*nr], want, ldc, mode == 0, b0, rows)
					kern.fn(k, a, b[k*nr:], want[nr:], ldc, mode == 0, b1, rows)
					var bs []float32
					if mode == 2 {
						bs = bias
					}
					kern.pair(k, a, b, got, ldc, mode == 0, bs, rows)
					for i := range want {
						if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
							t.Fatalf("%s k=%d rows=%d mode=%d: C[%d,%d] = %v, kernel %v", name, k, rows, mode, i/ldc, i%ldc, got[i], want[i])
						}
					}
				}
			}
		}
	}
}
