package sgemm

import (
	"runtime"
	"sync"
)

// The micro-tile is mr×nr, the kernel's; the blocks are sized for this machine
// kind's caches: a kc-deep B panel (512×16 floats, 32 KB, for the AVX2 tile)
// streams through L1 while the broadcasts of A come from a 12 KB panel, an
// mc×kc block of A (144 KB) stays in L2, and a kc×nc block of B in L3. A kc of
// 512 covers the recurrent layers' whole k (H up to 512) in one block, so C is
// read and written once: measured on the lm's output product (1120×10000×512)
// 140 GFLOP/s at kc 256, 155 at 512. mc and nc are multiples of every
// kernel's mr and nr; maxMR and maxNR bound them.
const (
	kc    = 512
	mc    = 72
	nc    = 2048
	maxMR = 12
	maxNR = 32
)

// parallelFlops is the size of product (2·m·n·k) from which both cores share the work:
// below it, starting and joining goroutines costs more than it saves.
const parallelFlops = 1 << 21

// kernel is a micro-kernel and the shape of its tile, mr rows by nr columns
// (nr a multiple of 16, mr of 3). Its fn adds the product of a packed k×mr
// panel of A and a packed k×nr panel of B to the mr×nr tile of C at c with row
// stride ldc. With add false it stores the product over the tile instead (C is
// not read), plus bias (nr values, one per column) in every row when bias is
// not nil. It computes and writes only the tile's first rows rows (1 to mr).
type kernel struct {
	mr, nr int
	fn     func(k int, a, b, c []float32, ldc int, add bool, bias []float32, rows int)
	// pair, when set, is fn over two adjacent panels of B (b holds both, C's
	// tile is 2·nr columns wide) for an edge tile of at most pairRows rows:
	// so few rows leave the k loop waiting on the FMA latency, which twice
	// the columns cover. Its bits are those of fn on each panel.
	pair     func(k int, a, b, c []float32, ldc int, add bool, bias []float32, rows int)
	pairRows int
}

// Gemm computes C = alpha·op(A)·op(B) + beta·C on row-major matrices with the fastest
// kernel this CPU runs: op(A) is m×k (A is k×m when transA), op(B) is k×n (B is n×k
// when transB) and C is m×n, with leading dimensions lda, ldb and ldc.
//
// procs bounds the goroutines it uses; 0 means all cores (GOMAXPROCS). Each
// element of C is summed in the same order whatever procs is, so the result
// does not depend on it.
func Gemm(procs int, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	gemm(best, cores(procs), transA, transB, m, n, k, alpha, a, lda, b, ldb, nil, beta, c, ldc)
}

func cores(procs int) int {
	if procs <= 0 {
		return runtime.GOMAXPROCS(0)
	}
	return procs
}

// Packed is op(B) packed once into the kernel's panels, for many products with
// the same right-hand matrix: a recurrent layer multiplies by its recurrent
// weights at every time step, and packing them each time costs as much as a
// quarter of the product at batch sizes of 32 to 64.
type Packed struct {
	k, n, nr int
	data     []float32 // for each kc-deep block of rows, the nr-wide panels of all n columns
}

// Pack packs op(B), k×n (B is n×k when transB), with leading dimension ldb,
// for the kernel Gemm uses.
func Pack(transB bool, k, n int, b []float32, ldb int) *Packed {
	return pack(best.nr, transB, k, n, b, ldb)
}

// pack is Pack for a kernel of nr columns.
func pack(nr int, transB bool, k, n int, b []float32, ldb int) *Packed {
	np := roundUp(n, nr)
	p := &Packed{k: k, n: n, nr: nr, data: make([]float32, k*np)}
	for pc := 0; pc < k; pc += kc {
		packB(p.data[pc*np:], nr, b, ldb, transB, pc, 0, min(kc, k-pc), n)
	}
	return p
}

// Dims returns op(B)'s k and n.
func (p *Packed) Dims() (k, n int) { return p.k, p.n }

// panel returns the packed kb×nb block of op(B) at rows pc and column j0 (a
// multiple of nr).
func (p *Packed) panel(pc, j0, kb, nb int) []float32 {
	o := pc*roundUp(p.n, p.nr) + j0*kb
	return p.data[o : o+roundUp(nb, p.nr)*kb]
}

// GemmBias computes C = alpha·op(A)·op(B) + bias, bias a row of n values added
// to every row of C (a layer's y = x·Wᵀ + b), without reading C: the bias is
// added as the product is stored. procs is as for Gemm.
func GemmBias(procs int, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, bias, c []float32, ldc int) {
	if n > 0 {
		_ = bias[n-1]
	}
	gemmBias(best, cores(procs), transA, transB, m, n, k, alpha, a, lda, b, ldb, nil, bias, c, ldc)
}

// GemmPacked is Gemm with a packed right-hand matrix: C = alpha·op(A)·B + beta·C,
// op(A) m×k, B packed k×n.
// procs is as for Gemm.
func GemmPacked(procs int, transA bool, m int, alpha float32, a []float32, lda int, b *Packed, beta float32, c []float32, ldc int) {
	gemm(best, cores(procs), transA, false, m, b.n, b.k, alpha, a, lda, nil, 0, b, beta, c, ldc)
}

// GemmPackedBias is GemmBias with a packed right-hand matrix: C = alpha·op(A)·B
// + bias, C not read (a GRU step's W_hn·h + b_hn).
func GemmPackedBias(procs int, transA bool, m int, alpha float32, a []float32, lda int, b *Packed, bias, c []float32, ldc int) {
	if b.n > 0 {
		_ = bias[b.n-1]
	}
	gemmBias(best, cores(procs), transA, false, m, b.n, b.k, alpha, a, lda, nil, 0, b, bias, c, ldc)
}

// Kernel names the micro-kernel Gemm uses on this CPU ("avx512", "avx2" or "go").
func Kernel() string { return bestName }

// gemm runs the product on up to procs goroutines; op(B) comes from b, or when pk
// is set, packed from pk.
func gemm(kern kernel, procs int, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, pk *Packed, beta float32, c []float32, ldc int) {
	if beta == 0 {
		gemmBias(kern, procs, transA, transB, m, n, k, alpha, a, lda, b, ldb, pk, nil, c, ldc)
		return
	}
	gemmFull(kern, procs, transA, transB, m, n, k, alpha, a, lda, b, ldb, pk, beta, nil, c, ldc)
}

// gemmBias is gemm with beta 0 plus bias (nil: none) in every row of C.
func gemmBias(kern kernel, procs int, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, pk *Packed, bias, c []float32, ldc int) {
	if (k <= 0 || alpha == 0) && bias != nil && m > 0 {
		for i := 0; i < m; i++ {
			copy(c[i*ldc:i*ldc+n], bias[:n])
		}
		return
	}
	gemmFull(kern, procs, transA, transB, m, n, k, alpha, a, lda, b, ldb, pk, 0, bias, c, ldc)
}

func gemmFull(kern kernel, procs int, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, pk *Packed, beta float32, bias, c []float32, ldc int) {
	if m <= 0 || n <= 0 {
		return
	}
	if pk != nil && pk.nr != kern.nr {
		panic("sgemm: B was packed for another kernel")
	}
	mr, nr := kern.mr, kern.nr
	// With beta 0 the first k-block stores its product (and the bias) without
	// reading C (set), unless there is no product to store.
	set := beta == 0 && k > 0 && alpha != 0
	if beta != 1 && !set {
		for i := 0; i < m; i++ {
			row := c[i*ldc : i*ldc+n]
			if beta == 0 {
				clear(row)
				continue
			}
			for j := range row {
				row[j] *= beta
			}
		}
	}
	if k <= 0 || alpha == 0 {
		return
	}
	workers := 1
	if 2*m*n*k >= parallelFlops {
		workers = procs
	}
	// Split C into column or row strips, one per worker, each a whole number of
	// micro-tiles wide. Every worker packs all of the operand whose strips it
	// does not own, so the larger operand is split: op(A) is m×k and op(B) k×n,
	// so rows when m > n. A packed B is split by columns (each core keeps its
	// share of it in its own cache from one product to the next) unless it is
	// too narrow. Measured on the seq2seq output layer's weight gradient
	// (5000×256, k 640): split by columns, both cores packed all of dyᵀ.
	byCols := n >= m
	if pk != nil {
		byCols = n >= workers*nr || n >= m
	}
	if byCols && n < workers*nr && m >= workers*mr {
		byCols = false
	}
	if !byCols && m < workers*mr && n >= workers*nr {
		byCols = true
	}
	parts := workers
	if byCols {
		parts = min(parts, (n+nr-1)/nr)
	} else {
		parts = min(parts, (m+mr-1)/mr)
	}
	if parts <= 1 {
		block(kern, transA, transB, m, n, k, alpha, a, lda, b, ldb, pk, 0, set, bias, c, ldc)
		return
	}
	// Every part on a new goroutine, the caller only waiting. Running the
	// first part on the caller instead was a third slower on the recurrent
	// steps (32×512×128 and 64×768×256, 2 cores of an AMD EPYC, AVX2
	// kernel): Go puts a new goroutine in
	// the creating P's next slot, where another P steals it only after a
	// delay, while a blocked caller hands its P over at once.
	var wg sync.WaitGroup
	for w := 0; w < parts; w++ {
		if byCols {
			j0, j1 := split(n, nr, parts, w)
			bb := b
			if pk == nil && transB {
				bb = b[j0*ldb:]
			} else if pk == nil {
				bb = b[j0:]
			}
			bw := bias
			if bias != nil {
				bw = bias[j0:]
			}
			wg.Go(func() {
				block(kern, transA, transB, m, j1-j0, k, alpha, a, lda, bb, ldb, pk, j0, set, bw, c[j0:], ldc)
			})
		} else {
			i0, i1 := split(m, mr, parts, w)
			aoff := i0 * lda
			if transA {
				aoff = i0
			}
			wg.Go(func() {
				block(kern, transA, transB, i1-i0, n, k, alpha, a[aoff:], lda, b, ldb, pk, 0, set, bias, c[i0*ldc:], ldc)
			})
		}
	}
	wg.Wait()
}

// split returns the w-th of parts ranges of [0, n), cut at multiples of unit.
func split(n, unit, parts, w int) (lo, hi int) {
	units := (n + unit - 1) / unit
	lo = min(n, units*w/parts*unit)
	hi = min(n, units*(w+1)/parts*unit)
	return lo, hi
}

// workspace holds the packed blocks of one goroutine, and the scratch tile of
// edge tiles (on the stack it would escape through the kernel call: an
// allocation per product, that is per recurrent step).
type workspace struct {
	a, b []float32
	tile [maxMR * maxNR]float32
}

var workspaces = sync.Pool{New: func() any { return new(workspace) }}

// block computes C += alpha·op(A)·op(B) on one goroutine, block by block (with
// set, C = alpha·op(A)·op(B) + bias: the first k-block stores instead of
// adding, bias nil or one value per column of C). With pk, op(B)'s columns are
// pk's from col0 on, already packed.
func block(kern kernel, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, pk *Packed, col0 int, set bool, bias, c []float32, ldc int) {
	mr, nr := kern.mr, kern.nr
	ws := workspaces.Get().(*workspace)
	defer workspaces.Put(ws)
	if need := mc * kc; cap(ws.a) < need {
		ws.a = make([]float32, need)
	}
	if need := kc * roundUp(min(n, nc), nr); pk == nil && cap(ws.b) < need {
		ws.b = make([]float32, need)
	}
	pa, pb := ws.a[:cap(ws.a)], ws.b[:cap(ws.b)]
	tile := &ws.tile
	for jc := 0; jc < n; jc += nc {
		nb := min(nc, n-jc)
		// paired reports whether the panel at j starts a pair of full panels
		// whose edge tile (at most kern.pairRows rows, 0 without a pair
		// kernel) the pair kernel computes.
		paired := func(j int) bool { return j%(2*nr) == 0 && j+2*nr <= nb }
		for pc := 0; pc < k; pc += kc {
			kb := min(kc, k-pc)
			pb := pb
			if pk != nil {
				pb = pk.panel(pc, col0+jc, kb, nb)
			} else {
				packB(pb, nr, b, ldb, transB, pc, jc, kb, nb)
			}
			for ic := 0; ic < m; ic += mc {
				mb := min(mc, m-ic)
				packA(pa, mr, a, lda, transA, ic, pc, mb, kb, alpha)
				for jr := 0; jr < nb; jr += nr {
					bp := pb[jr*kb : (jr+nr)*kb]
					for ir := 0; ir < mb; ir += mr {
						ap := pa[ir*kb : (ir+mr)*kb]
						ci := (ic+ir)*ldc + jc + jr
						rows, cols := min(mr, mb-ir), min(nr, nb-jr)
						add := !set || pc > 0
						var bt []float32 // this tile's biases
						if !add && bias != nil {
							bt = bias[jc+jr : jc+jr+cols]
						}
						if rows <= kern.pairRows {
							if paired(jr) {
								if bt != nil {
									bt = bias[jc+jr : jc+jr+2*nr]
								}
								kern.pair(kb, ap, pb[jr*kb:(jr+2*nr)*kb], c[ci:], ldc, add, bt, rows)
								continue
							}
							if jr >= nr && paired(jr-nr) {
								continue // computed with the panel before
							}
						}
						if cols == nr {
							kern.fn(kb, ap, bp, c[ci:], ldc, add, bt, rows)
							continue
						}
						kern.fn(kb, ap, bp, tile[:], nr, false, nil, rows)
						for i := 0; i < rows; i++ {
							row := c[ci+i*ldc : ci+i*ldc+cols]
							if bt != nil {
								for j := range row {
									row[j] = bt[j] + tile[i*nr+j]
								}
								continue
							}
							if !add {
								copy(row, tile[i*nr:i*nr+cols])
								continue
							}
							for j := range row {
								row[j] += tile[i*nr+j]
							}
						}
					}
				}
			}
		}
	}
}

// packA copies alpha times the mb×kb block of op(A) at (i0, p0) into panels of mr
// rows, each stored column after column, the last panel padded with zeros.
func packA(dst []float32, mr int, a []float32, lda int, trans bool, i0, p0, mb, kb int, alpha float32) {
	if trans {
		packAT(dst, mr, a, lda, i0, p0, mb, kb, alpha)
		return
	}
	for ir := 0; ir < mb; ir += mr {
		panel := dst[ir*kb : (ir+mr)*kb]
		rows := min(mr, mb-ir)
		if rows < mr {
			clear(panel)
		}
		if rows == mr && mr%6 == 0 {
			// Six rows read side by side, six values of a panel column
			// written at a time.
			for g := 0; g < mr; g += 6 {
				o := (i0+ir+g)*lda + p0
				r0, r1, r2 := a[o:o+kb], a[o+lda:o+lda+kb], a[o+2*lda:o+2*lda+kb]
				r3, r4, r5 := a[o+3*lda:o+3*lda+kb], a[o+4*lda:o+4*lda+kb], a[o+5*lda:o+5*lda+kb]
				for l := range r0 {
					col := (*[6]float32)(panel[l*mr+g:])
					col[0], col[1], col[2] = alpha*r0[l], alpha*r1[l], alpha*r2[l]
					col[3], col[4], col[5] = alpha*r3[l], alpha*r4[l], alpha*r5[l]
				}
			}
			continue
		}
		for ii := 0; ii < rows; ii++ {
			i := i0 + ir + ii
			src := a[i*lda+p0 : i*lda+p0+kb]
			for l, v := range src {
				panel[l*mr+ii] = alpha * v
			}
		}
	}
}

// packAT is packA for A stored transposed (the weight gradients' products): a
// stored row holds one column of the block, mb floats side by side. It deals
// packTRows stored rows at a time out to the panels, so that their floats
// stay in L1 while each panel gets a run of packTRows·mr floats; a whole
// stored row at a time writes to mb/mr places a panel (kb·mr floats) apart,
// which at kb 512 all fall in one L1 set, and walking a panel down all kb rows
// jumps a whole row of A per mr floats, where the page walks cost more than
// the copy. A panel row is copied through an array of exactly mr floats: a
// loop over six-float groups of it compiled to code four times as slow.
// Measured on the classifier's weight gradients (768×128 and 768×256, k
// 4096, AVX2 kernel on an AMD EPYC): 117 -> 138 and 142 -> 156 GFLOP/s.
func packAT(dst []float32, mr int, a []float32, lda, i0, p0, mb, kb int, alpha float32) {
	full := mb / mr * mr
	if full < mb {
		clear(dst[full*kb : (full+mr)*kb])
	}
	for l0 := 0; l0 < kb; l0 += packTRows {
		rows := min(packTRows, kb-l0)
		o := (p0+l0)*lda + i0
		for ir := 0; ir < full; ir += mr {
			d := dst[ir*kb+l0*mr : ir*kb+(l0+rows)*mr]
			for r := range rows {
				s, dr := a[o+r*lda+ir:o+r*lda+ir+mr], d[r*mr:r*mr+mr]
				switch mr {
				case 6:
					s, dr := (*[6]float32)(s), (*[6]float32)(dr)
					dr[0], dr[1], dr[2] = alpha*s[0], alpha*s[1], alpha*s[2]
					dr[3], dr[4], dr[5] = alpha*s[3], alpha*s[4], alpha*s[5]
					continue
				case 12:
					s, dr := (*[12]float32)(s), (*[12]float32)(dr)
					dr[0], dr[1], dr[2] = alpha*s[0], alpha*s[1], alpha*s[2]
					dr[3], dr[4], dr[5] = alpha*s[3], alpha*s[4], alpha*s[5]
					dr[6], dr[7], dr[8] = alpha*s[6], alpha*s[7], alpha*s[8]
					dr[9], dr[10], dr[11] = alpha*s[9], alpha*s[10], alpha*s[11]
					continue
				}
				for x := range dr {
					dr[x] = alpha * s[x]
				}
			}
		}
		for r := 0; r < rows && full < mb; r++ {
			src := a[o+r*lda : o+r*lda+mb]
			for ii := full; ii < mb; ii++ {
				dst[full*kb+(l0+r)*mr+ii-full] = alpha * src[ii]
			}
		}
	}
}

// packTRows is how many stored rows packAT deals out together.
const packTRows = 16

// packB copies the kb×nb block of op(B) at (p0, j0) into panels of nr columns, each
// stored row after row, the last panel padded with zeros.
func packB(dst []float32, nr int, b []float32, ldb int, trans bool, p0, j0, kb, nb int) {
	for jr := 0; jr < nb; jr += nr {
		panel := dst[jr*kb : (jr+nr)*kb]
		cols := min(nr, nb-jr)
		if cols < nr {
			clear(panel)
		}
		if trans && cols == nr {
			// B is stored transposed: nr rows read side by side, one panel
			// row written at a time; eight at a time in AVX2 registers where
			// the CPU has them (1.1 ns per float in Go).
			done := packTrans(panel, nr, b[(j0+jr)*ldb+p0:], ldb, kb)
			var src [maxNR][]float32
			for jj := range nr {
				o := (j0+jr+jj)*ldb + p0
				src[jj] = b[o : o+kb]
			}
			for l := done; l < kb; l++ {
				row := panel[l*nr : l*nr+nr]
				for jj := range row {
					row[jj] = src[jj][l]
				}
			}
			continue
		}
		if trans {
			for jj := 0; jj < cols; jj++ {
				src := b[(j0+jr+jj)*ldb+p0 : (j0+jr+jj)*ldb+p0+kb]
				for l, v := range src {
					panel[l*nr+jj] = v
				}
			}
			continue
		}
		if cols == nr {
			// A whole panel row is 64-byte moves through a local array: an
			// array assigned from one slice to another is a call to memmove,
			// as the compiler cannot tell that they do not overlap
			// (BenchmarkPackB/stored, AVX2 path of an AMD EPYC: 0.31-0.42 ->
			// 0.27 ns a float).
			for l := 0; l < kb; l++ {
				o := (p0+l)*ldb + j0 + jr
				for h := 0; h < nr; h += 16 {
					v := *(*[16]float32)(b[o+h:])
					*(*[16]float32)(panel[l*nr+h:]) = v
				}
			}
			continue
		}
		for l := 0; l < kb; l++ {
			o := (p0+l)*ldb + j0 + jr
			copy(panel[l*nr:l*nr+cols], b[o:o+cols])
		}
	}
}

func roundUp(n, unit int) int { return (n + unit - 1) / unit * unit }

// goKernel is the portable micro-kernel of the AVX2 tile, 6×16.
var goKernel = kernel{mr: 6, nr: 16, fn: kernelGo}

// kernelGo is the portable micro-kernel: the same contract as the assembly
// one, for the 6×16 tile.
func kernelGo(k int, a, b, c []float32, ldc int, add bool, bias []float32, rows int) {
	kernelGoTile(6, 16, k, a, b, c, ldc, add, bias, rows)
}

// kernelGoTile is the portable micro-kernel of any mr×nr tile (mr a multiple
// of 3, nr of 4): the reference the assembly kernels are checked against. It
// works on 3×4 sub-tiles held in local variables, which the compiler keeps in
// registers.
func kernelGoTile(mr, nr, k int, a, b, c []float32, ldc int, add bool, bias []float32, rows int) {
	a, b = a[:k*mr], b[:k*nr]
	for i0 := 0; i0 < rows; i0 += 3 {
		for j0 := 0; j0 < nr; j0 += 4 {
			var c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23 float32
			for l := 0; l < k; l++ {
				bl := (*[4]float32)(b[l*nr+j0:])
				al := (*[3]float32)(a[l*mr+i0:])
				b0, b1, b2, b3 := bl[0], bl[1], bl[2], bl[3]
				a0, a1, a2 := al[0], al[1], al[2]
				c00 += a0 * b0
				c01 += a0 * b1
				c02 += a0 * b2
				c03 += a0 * b3
				c10 += a1 * b0
				c11 += a1 * b1
				c12 += a1 * b2
				c13 += a1 * b3
				c20 += a2 * b0
				c21 += a2 * b1
				c22 += a2 * b2
				c23 += a2 * b3
			}
			acc := [3][4]float32{{c00, c01, c02, c03}, {c10, c11, c12, c13}, {c20, c21, c22, c23}}
			for x := 0; x < 3 && i0+x < rows; x++ {
				r := (*[4]float32)(c[(i0+x)*ldc+j0:])
				if !add {
					*r = [4]float32{}
					if bias != nil {
						*r = *(*[4]float32)(bias[j0:])
					}
				}
				r[0], r[1], r[2], r[3] = r[0]+acc[x][0], r[1]+acc[x][1], r[2]+acc[x][2], r[3]+acc[x][3]
			}
		}
	}
}

// agrees reports whether kern computes the Go kernel's tiles, bit for bit and
// without writing outside the rows it is given, for every number of rows and
// every mode, with k long enough for an unrolled loop and its tail. The
// values are small multiples of 1/4, so every sum is exact in any order and
// any correct kernel gives the same bits. It is cheap enough (microseconds) to
// run before trusting a kernel that cannot be tested where it was built.
func agrees(kern kernel) bool {
	const k = 11
	mr, nr := kern.mr, kern.nr
	a, b, bias := make([]float32, k*mr), make([]float32, k*nr), make([]float32, nr)
	for i := range a {
		a[i] = float32(i%7-3) / 4
	}
	for i := range b {
		b[i] = float32(i%5-2) / 4
	}
	for i := range bias {
		bias[i] = float32(i%3 - 1)
	}
	for rows := 1; rows <= mr; rows++ {
		for mode := range 3 {
			want, got := make([]float32, (mr+1)*nr), make([]float32, (mr+1)*nr)
			for i := range want {
				want[i] = float32(i%9 - 4) // C's old values, and guards past the rows
				got[i] = want[i]
			}
			var bs []float32
			if mode == 2 {
				bs = bias
			}
			kernelGoTile(mr, nr, k, a, b, want, nr, mode == 0, bs, rows)
			kern.fn(k, a, b, got, nr, mode == 0, bs, rows)
			for i := range want {
				if got[i] != want[i] {
					return false
				}
			}
		}
	}
	return true
}
