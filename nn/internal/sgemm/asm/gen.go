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
	TEXT("kernelAVX2", NOSPLIT, "func(k int, a, b, c *float32, ldc int)")
	Pragma("noescape")
	Doc(
		fmt.Sprintf("kernelAVX2 adds A·B to the %d×%d tile of C at c (row stride ldc floats),", mr, nr),
		fmt.Sprintf("where a holds k packed columns of %d values of A and b k packed rows of %d values of B.", mr, nr),
	)
	k := Load(Param("k"), GP64())
	a := Mem{Base: Load(Param("a"), GP64())}
	b := Mem{Base: Load(Param("b"), GP64())}

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
	Label("unrolled")
	CMPQ(k, U32(unroll))
	JL(LabelRef("tail"))
	for p := 0; p < unroll; p++ {
		step(p)
	}
	ADDQ(U32(4*mr*unroll), a.Base)
	ADDQ(U32(4*nr*unroll), b.Base)
	SUBQ(U32(unroll), k)
	JMP(LabelRef("unrolled"))

	Label("tail")
	TESTQ(k, k)
	JE(LabelRef("store"))
	step(0)
	ADDQ(U32(4*mr), a.Base)
	ADDQ(U32(4*nr), b.Base)
	DECQ(k)
	JMP(LabelRef("tail"))

	Comment("C += A·B, row by row.")
	Label("store")
	c := Mem{Base: Load(Param("c"), GP64())}
	ldc := Load(Param("ldc"), GP64())
	SHLQ(U8(2), ldc)
	for i := 0; i < mr; i++ {
		VADDPS(c, acc[2*i], acc[2*i])
		VMOVUPS(acc[2*i], c)
		VADDPS(c.Offset(32), acc[2*i+1], acc[2*i+1])
		VMOVUPS(acc[2*i+1], c.Offset(32))
		if i < mr-1 {
			ADDQ(ldc, c.Base)
		}
	}
	VZEROUPPER()
	RET()
	Generate()
}
