// Command gen writes the AVX2+FMA SGEMM micro-kernel of package sgemm with avo.
// Run it through `go generate ./nn/internal/sgemm`.
package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// The tile is mr rows by nr columns: 6×16 floats keep 12 accumulators, two rows of B
// and one broadcast in the 16 YMM registers, the shape BLIS uses on Haswell and Zen.
const (
	mr     = 6
	nr     = 16
	unroll = 4
)

func main() {
	ConstraintExpr("!purego")
	kernel("kernelAVX2", true, false)
	kernel("kernelAVX2Set", false, false)
	kernel("kernelAVX2SetBias", false, true)
	Generate()
}

// kernel emits the micro-kernel: with add, C += A·B; without, C = A·B (C is
// not read: the first block of a product with beta 0), plus a row vector of
// sixteen biases with bias.
func kernel(name string, add, bias bool) {
	if bias {
		TEXT(name, NOSPLIT, "func(k int, a, b, c *float32, ldc int, bias *float32)")
	} else {
		TEXT(name, NOSPLIT, "func(k int, a, b, c *float32, ldc int)")
	}
	Pragma("noescape")
	switch {
	case add:
		Doc(
			fmt.Sprintf("%s adds A·B to the %d×%d tile of C at c (row stride ldc floats),", name, mr, nr),
			fmt.Sprintf("where a holds k packed columns of %d values of A and b k packed rows of %d values of B.", mr, nr),
		)
	case bias:
		Doc(fmt.Sprintf("%s is kernelAVX2 storing A·B plus the %d biases at bias in every row of the tile.", name, nr))
	default:
		Doc(fmt.Sprintf("%s is kernelAVX2 storing A·B over the tile instead of adding it.", name))
	}
	k := Load(Param("k"), GP64())
	a := Mem{Base: Load(Param("a"), GP64())}
	b := Mem{Base: Load(Param("b"), GP64())}
	c := Mem{Base: Load(Param("c"), GP64())}
	ldc := Load(Param("ldc"), GP64())
	SHLQ(U8(2), ldc)

	{
		// The tile's rows are a row of C apart and usually not in cache: ask
		// for them now, so that they arrive while the loop runs (to be read
		// and written, or only written: either way the line must come in).
		p := GP64()
		MOVQ(c.Base, p)
		for i := 0; i < mr; i++ {
			PREFETCHT0(Mem{Base: p})
			PREFETCHT0(Mem{Base: p, Disp: 4*nr - 4})
			if i < mr-1 {
				ADDQ(ldc, p)
			}
		}
	}

	acc := make([]VecVirtual, 2*mr)
	for i := range acc {
		acc[i] = YMM()
		VXORPS(acc[i], acc[i], acc[i])
	}
	step := func(p int) {
		b0, b1 := YMM(), YMM()
		VMOVUPS(b.Offset(4*nr*p), b0)
		VMOVUPS(b.Offset(4*nr*p+32), b1)
		for i := 0; i < mr; i++ {
			t := YMM()
			VBROADCASTSS(a.Offset(4*(mr*p+i)), t)
			VFMADD231PS(b0, t, acc[2*i])
			VFMADD231PS(b1, t, acc[2*i+1])
		}
	}

	Comment("Unrolled main loop over k.")
	Label(name + "_unrolled")
	CMPQ(k, U32(unroll))
	JL(LabelRef(name + "_tail"))
	for p := 0; p < unroll; p++ {
		step(p)
	}
	ADDQ(U32(4*mr*unroll), a.Base)
	ADDQ(U32(4*nr*unroll), b.Base)
	SUBQ(U32(unroll), k)
	JMP(LabelRef(name + "_unrolled"))

	Label(name + "_tail")
	TESTQ(k, k)
	JE(LabelRef(name + "_store"))
	step(0)
	ADDQ(U32(4*mr), a.Base)
	ADDQ(U32(4*nr), b.Base)
	DECQ(k)
	JMP(LabelRef(name + "_tail"))

	Comment("C (+)= A·B, row by row.")
	Label(name + "_store")
	if bias {
		bp := Mem{Base: Load(Param("bias"), GP64())}
		b0, b1 := YMM(), YMM()
		VMOVUPS(bp, b0)
		VMOVUPS(bp.Offset(32), b1)
		for i := 0; i < mr; i++ {
			VADDPS(b0, acc[2*i], acc[2*i])
			VADDPS(b1, acc[2*i+1], acc[2*i+1])
		}
	}
	for i := 0; i < mr; i++ {
		if add {
			VADDPS(c, acc[2*i], acc[2*i])
			VADDPS(c.Offset(32), acc[2*i+1], acc[2*i+1])
		}
		VMOVUPS(acc[2*i], c)
		VMOVUPS(acc[2*i+1], c.Offset(32))
		if i < mr-1 {
			ADDQ(ldc, c.Base)
		}
	}
	VZEROUPPER()
	RET()
}
