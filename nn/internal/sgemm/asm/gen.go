// Command gen writes the AVX2+FMA and AVX-512 SGEMM micro-kernels of package
// sgemm with avo.
// Run it through `go generate ./nn/internal/sgemm`.
package main

import (
	"fmt"
	"strings"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// The AVX2 tile is mr rows by nr columns: 6×16 floats keep 12 accumulators, two
// rows of B and one broadcast in the 16 YMM registers, the shape BLIS uses on
// Haswell and Zen. The AVX-512 tile is mr512×nr512: 12×32 floats keep 24
// accumulators and two rows of B in the 32 ZMM registers, and a step over k
// loads 2 vectors of B and broadcasts 12 values of A for 24 FMAs, so that two
// FMA units are busy while the two load ports keep up (a 6×16 tile of one ZMM a
// row needs 7 loads for 6 FMAs: load-bound at 6/7 of the peak).
const (
	mr     = 6
	nr     = 16
	mr512  = 12
	nr512  = 32
	unroll = 4
	// pairRows is the most rows of the AVX2 pair kernels. A tile of one or two
	// rows keeps two or four accumulators, too few to cover the FMA latency
	// with two FMA units (eight in flight): the k loop waits on it, and such a
	// tile costs two thirds of a full one (5.2 µs against 7.8 on a 32×512×128
	// step's last rows, AMD EPYC with AVX-512 running these AVX2 kernels). Over
	// two panels of B at once the same loop keeps twice the accumulators busy.
	pairRows = 2
)

func main() {
	ConstraintExpr("!purego")
	// One kernel per mode and number of rows: a tile with fewer than mr rows
	// (the last of a batch of 32 rows: 5·6 + 2) costs in proportion to its rows.
	for rows := mr; rows >= 1; rows-- {
		suffix := ""
		if rows < mr {
			suffix = fmt.Sprintf("R%d", rows)
		}
		kernel("kernelAVX2"+suffix, rows, true, false)
		kernel("kernelAVX2Set"+suffix, rows, false, false)
		kernel("kernelAVX2SetBias"+suffix, rows, false, true)
	}
	// Edge tiles of one or two rows over two panels of B at once (pair).
	for rows := 1; rows <= pairRows; rows++ {
		suffix := fmt.Sprintf("R%d", rows)
		pair("kernelAVX2Pair"+suffix, rows, true, false)
		pair("kernelAVX2PairSet"+suffix, rows, false, false)
		pair("kernelAVX2PairSetBias"+suffix, rows, false, true)
	}
	for rows := mr512; rows >= 1; rows-- {
		suffix := ""
		if rows < mr512 {
			suffix = fmt.Sprintf("R%d", rows)
		}
		kernel512("kernelAVX512"+suffix, rows, true, false)
		kernel512("kernelAVX512Set"+suffix, rows, false, false)
		kernel512("kernelAVX512SetBias"+suffix, rows, false, true)
	}
	transpose("packTransAVX2", nr)
	transpose("packTrans32AVX2", nr512)
	Generate()
}

// kernel emits the AVX2 micro-kernel for the first rows rows of a tile: with
// add, C += A·B; without, C = A·B (C is not read: the first block of a product
// with beta 0), plus a row vector of sixteen biases with bias. All share one
// signature (bias unused but in the bias kernels), so that Go can pick them
// from a table.
func kernel(name string, rows int, add, bias bool) {
	header(name, "kernelAVX2", mr, nr, rows, add, bias,
		fmt.Sprintf("%s adds A·B to the %d×%d tile of C at c (row stride ldc floats),", name, mr, nr),
		fmt.Sprintf("where a holds k packed columns of %d values of A and b k packed rows of %d values of B.", mr, nr))
	k, a, b, c, ldc := operands(rows, nr)
	acc := make([]VecVirtual, 2*rows)
	for i := range acc {
		acc[i] = YMM()
		VXORPS(acc[i], acc[i], acc[i])
	}
	loop(name, k, a, b, mr, nr, func(p int) {
		b0, b1 := YMM(), YMM()
		VMOVUPS(b.Offset(4*nr*p), b0)
		VMOVUPS(b.Offset(4*nr*p+32), b1)
		for i := 0; i < rows; i++ {
			t := YMM()
			VBROADCASTSS(a.Offset(4*(mr*p+i)), t)
			VFMADD231PS(b0, t, acc[2*i])
			VFMADD231PS(b1, t, acc[2*i+1])
		}
	})
	if bias {
		bp := Mem{Base: Load(Param("bias"), GP64())}
		b0, b1 := YMM(), YMM()
		VMOVUPS(bp, b0)
		VMOVUPS(bp.Offset(32), b1)
		for i := 0; i < rows; i++ {
			VADDPS(b0, acc[2*i], acc[2*i])
			VADDPS(b1, acc[2*i+1], acc[2*i+1])
		}
	}
	for i := 0; i < rows; i++ {
		if add {
			VADDPS(c, acc[2*i], acc[2*i])
			VADDPS(c.Offset(32), acc[2*i+1], acc[2*i+1])
		}
		VMOVUPS(acc[2*i], c)
		VMOVUPS(acc[2*i+1], c.Offset(32))
		if i < rows-1 {
			ADDQ(ldc, c.Base)
		}
	}
	VZEROUPPER()
	RET()
}

// pair emits the AVX2 micro-kernel for the first rows rows of a 6×32 tile
// made of two panels of B: b holds the first panel (k rows of 16 values) and
// the second right after it, and C's tile is 32 columns wide. Every element
// is the same chain of FMAs as in kernel, so the bits are those of two calls
// of kernel.
func pair(name string, rows int, add, bias bool) {
	TEXT(name, NOSPLIT, "func(k int, a, b, c *float32, ldc int, bias *float32)")
	Pragma("noescape")
	mode := "adding A·B to"
	switch {
	case bias:
		mode = "storing A·B plus the 32 biases at bias over"
	case !add:
		mode = "storing A·B over"
	}
	Doc(fmt.Sprintf("%s is kernelAVX2 over two panels of B (the second k·%d floats after the first), %s the first %d rows of a %d×%d tile.", name, nr, mode, rows, mr, 2*nr))
	k, a, b, c, ldc := operands(rows, 2*nr)
	b2 := Mem{Base: GP64()}
	MOVQ(k, b2.Base)
	SHLQ(U8(6), b2.Base) // k·16 floats of 4 bytes
	ADDQ(b.Base, b2.Base)
	acc := make([]VecVirtual, 4*rows)
	for i := range acc {
		acc[i] = YMM()
		VXORPS(acc[i], acc[i], acc[i])
	}
	loop(name, k, a, b, mr, nr, func(p int) {
		bv := []VecVirtual{YMM(), YMM(), YMM(), YMM()}
		VMOVUPS(b.Offset(4*nr*p), bv[0])
		VMOVUPS(b.Offset(4*nr*p+32), bv[1])
		VMOVUPS(b2.Offset(4*nr*p), bv[2])
		VMOVUPS(b2.Offset(4*nr*p+32), bv[3])
		for i := 0; i < rows; i++ {
			t := YMM()
			VBROADCASTSS(a.Offset(4*(mr*p+i)), t)
			for j := range bv {
				VFMADD231PS(bv[j], t, acc[4*i+j])
			}
		}
	}, b2)
	if bias {
		bp := Mem{Base: Load(Param("bias"), GP64())}
		for j := 0; j < 4; j++ {
			v := YMM()
			VMOVUPS(bp.Offset(32*j), v)
			for i := 0; i < rows; i++ {
				VADDPS(v, acc[4*i+j], acc[4*i+j])
			}
		}
	}
	for i := 0; i < rows; i++ {
		for j := 0; j < 4; j++ {
			if add {
				VADDPS(c.Offset(32*j), acc[4*i+j], acc[4*i+j])
			}
			VMOVUPS(acc[4*i+j], c.Offset(32*j))
		}
		if i < rows-1 {
			ADDQ(ldc, c.Base)
		}
	}
	VZEROUPPER()
	RET()
}

// kernel512 emits the AVX-512 micro-kernel for the first rows rows of the
// mr512×nr512 tile, in the modes of kernel: a row of the tile is two ZMM
// registers, a step over k two loads of B and, per row, one broadcast of A
// and two FMAs. Only AVX-512F instructions are used.
func kernel512(name string, rows int, add, bias bool) {
	header(name, "kernelAVX512", mr512, nr512, rows, add, bias,
		fmt.Sprintf("%s adds A·B to the %d×%d tile of C at c (row stride ldc floats),", name, mr512, nr512),
		fmt.Sprintf("where a holds k packed columns of %d values of A and b k packed rows of %d values of B.", mr512, nr512))
	k, a, b, c, ldc := operands(rows, nr512)
	acc := make([]VecVirtual, 2*rows)
	for i := range acc {
		acc[i] = ZMM()
		VPXORD(acc[i], acc[i], acc[i])
	}
	loop(name, k, a, b, mr512, nr512, func(p int) {
		b0, b1 := ZMM(), ZMM()
		VMOVUPS(b.Offset(4*nr512*p), b0)
		VMOVUPS(b.Offset(4*nr512*p+64), b1)
		for i := 0; i < rows; i++ {
			t := ZMM()
			VBROADCASTSS(a.Offset(4*(mr512*p+i)), t)
			VFMADD231PS(b0, t, acc[2*i])
			VFMADD231PS(b1, t, acc[2*i+1])
		}
	})
	if bias {
		bp := Mem{Base: Load(Param("bias"), GP64())}
		b0, b1 := ZMM(), ZMM()
		VMOVUPS(bp, b0)
		VMOVUPS(bp.Offset(64), b1)
		for i := 0; i < rows; i++ {
			VADDPS(b0, acc[2*i], acc[2*i])
			VADDPS(b1, acc[2*i+1], acc[2*i+1])
		}
	}
	for i := 0; i < rows; i++ {
		if add {
			VADDPS(c, acc[2*i], acc[2*i])
			VADDPS(c.Offset(64), acc[2*i+1], acc[2*i+1])
		}
		VMOVUPS(acc[2*i], c)
		VMOVUPS(acc[2*i+1], c.Offset(64))
		if i < rows-1 {
			ADDQ(ldc, c.Base)
		}
	}
	VZEROUPPER()
	RET()
}

// header starts a kernel of the set whose full-tile adding kernel is base; doc
// documents that one, the others say how they differ from it.
func header(name, base string, mr, nr, rows int, add, bias bool, doc ...string) {
	TEXT(name, NOSPLIT, "func(k int, a, b, c *float32, ldc int, bias *float32)")
	Pragma("noescape")
	switch {
	case add && rows == mr:
		Doc(doc...)
	case rows < mr:
		Doc(fmt.Sprintf("%s is %s for the first %d rows of the tile.", name, strings.TrimRight(name, "R0123456789"), rows))
	case bias:
		Doc(fmt.Sprintf("%s is %s storing A·B plus the %d biases at bias in every row of the tile.", name, base, nr))
	default:
		Doc(fmt.Sprintf("%s is %s storing A·B over the tile instead of adding it.", name, base))
	}
}

// operands loads the kernel's arguments, ldc in bytes, and prefetches the
// tile's rows of C, nr floats each.
func operands(rows, nr int) (k Register, a, b, c Mem, ldc Register) {
	k = Load(Param("k"), GP64())
	a = Mem{Base: Load(Param("a"), GP64())}
	b = Mem{Base: Load(Param("b"), GP64())}
	c = Mem{Base: Load(Param("c"), GP64())}
	ldc = Load(Param("ldc"), GP64())
	SHLQ(U8(2), ldc)

	// The tile's rows are a row of C apart and usually not in cache: ask for
	// them now, so that they arrive while the loop runs (to be read and
	// written, or only written: either way the line must come in).
	p := GP64()
	MOVQ(c.Base, p)
	for i := 0; i < rows; i++ {
		for o := 0; o < 4*nr; o += 64 {
			PREFETCHT0(Mem{Base: p, Disp: o})
		}
		PREFETCHT0(Mem{Base: p, Disp: 4*nr - 4})
		if i < rows-1 {
			ADDQ(ldc, p)
		}
	}
	return k, a, b, c, ldc
}

// loop emits the loop over k, through panels of mr values of A and nr of B a
// step: unroll steps at a time (step(p) for p < unroll, reading A and B at
// offset p), then one at a time (step(0)), and then the label name_store,
// where the caller's store follows. The pointers more move on as b does.
func loop(name string, k Register, a, b Mem, mr, nr int, step func(p int), more ...Mem) {
	Comment("Unrolled main loop over k.")
	Label(name + "_unrolled")
	CMPQ(k, U32(unroll))
	JL(LabelRef(name + "_tail"))
	for p := 0; p < unroll; p++ {
		step(p)
	}
	ADDQ(U32(4*mr*unroll), a.Base)
	ADDQ(U32(4*nr*unroll), b.Base)
	for _, m := range more {
		ADDQ(U32(4*nr*unroll), m.Base)
	}
	SUBQ(U32(unroll), k)
	JMP(LabelRef(name + "_unrolled"))

	Label(name + "_tail")
	TESTQ(k, k)
	JE(LabelRef(name + "_store"))
	step(0)
	ADDQ(U32(4*mr), a.Base)
	ADDQ(U32(4*nr), b.Base)
	for _, m := range more {
		ADDQ(U32(4*nr), m.Base)
	}
	DECQ(k)
	JMP(LabelRef(name + "_tail"))

	Comment("C (+)= A·B, row by row.")
	Label(name + "_store")
}

// transpose emits name, the packing of sixteen stored rows of B (B
// transposed) into a panel whose rows are stride floats apart (the whole
// panel of the AVX2 tile, or half of the AVX-512 tile's), eight columns at a
// time through two 8×8 transposes in registers.
func transpose(name string, stride int) {
	TEXT(name, NOSPLIT, "func(dst, src *float32, ldb, kb int)")
	Pragma("noescape")
	Doc(
		fmt.Sprintf("%s sets dst[l*%d+j] = src[j*ldb+l] for j < 16 and l < kb, kb a multiple of 8:", name, stride),
		"sixteen columns of a panel of op(B) from sixteen stored rows of B.",
	)
	dst := Mem{Base: Load(Param("dst"), GP64())}
	src := Load(Param("src"), GP64())
	ldb := Load(Param("ldb"), GP64())
	kb := Load(Param("kb"), GP64())
	SHLQ(U8(2), ldb)
	// row[j] points at stored row j; rows 0-7 go to the first half of each
	// panel row, 8-15 to the second. Eight pointers: base and base+ldb·{1,2,3},
	// the next four from base4 = base + 4·ldb.
	Label(name + "_loop")
	CMPQ(kb, U32(8))
	JL(LabelRef(name + "_done"))
	for half := 0; half < 2; half++ {
		r := make([]VecVirtual, 8)
		p := GP64()
		MOVQ(src, p)
		if half == 1 {
			q := GP64()
			MOVQ(ldb, q)
			SHLQ(U8(3), q)
			ADDQ(q, p)
		}
		for i := range r {
			r[i] = YMM()
			VMOVUPS(Mem{Base: p}, r[i])
			if i < 7 {
				ADDQ(ldb, p)
			}
		}
		t := make([]VecVirtual, 8)
		for i := 0; i < 8; i += 2 {
			t[i], t[i+1] = YMM(), YMM()
			VUNPCKLPS(r[i+1], r[i], t[i])
			VUNPCKHPS(r[i+1], r[i], t[i+1])
		}
		u := make([]VecVirtual, 8)
		for _, g := range [][2]int{{0, 2}, {1, 3}, {4, 6}, {5, 7}} {
			a, b := g[0], g[1]
			lo, hi := YMM(), YMM()
			VSHUFPS(U8(0x44), t[b], t[a], lo)
			VSHUFPS(U8(0xee), t[b], t[a], hi)
			// t0,t2 give columns 0 and 1 (and 4, 5); t1,t3 columns 2, 3 (6, 7).
			idx := map[int]int{0: 0, 1: 2, 4: 4, 5: 6}[a]
			u[idx], u[idx+1] = lo, hi
		}
		for c := 0; c < 4; c++ {
			o0, o1 := YMM(), YMM()
			VPERM2F128(U8(0x20), u[c+4], u[c], o0) // column c of the eight rows
			VPERM2F128(U8(0x31), u[c+4], u[c], o1) // column c+4
			VMOVUPS(o0, dst.Offset(4*(stride*c+8*half)))
			VMOVUPS(o1, dst.Offset(4*(stride*(c+4)+8*half)))
		}
	}
	ADDQ(U32(32), src)
	ADDQ(U32(4*stride*8), dst.Base)
	SUBQ(U32(8), kb)
	JMP(LabelRef(name + "_loop"))
	Label(name + "_done")
	VZEROUPPER()
	RET()
}
