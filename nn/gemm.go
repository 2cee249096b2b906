package nn

import (
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"

	"github.com/seqkit/seqkit/nn/internal/sgemm"
)

// Gemm computes C = alpha·op(A)·op(B) + beta·C on row-major matrices, where op(A) is
// m×k (A is k×m when transA), op(B) is k×n (B is n×k when transB) and C is m×n, with
// leading dimensions lda, ldb, ldc.
//
// It is the single seam through which every layer multiplies matrices: float32 goes to
// package sgemm (packed, blocked, assembly micro-kernel), float64 (used by the gradient
// checks) to gonum.
func Gemm[T Float](transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	gemmOn(0, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// gemmOn is Gemm on at most procs cores (0: all of them): the two directions
// of a bidirectional layer run side by side, one core each.
func gemmOn[T Float](procs int, transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	if a32, b32, ok := as32(a, b); ok {
		c32, _, _ := as32(c, c)
		sgemm.Gemm(procs, transA, transB, m, n, k, float32(alpha), a32, lda, b32, ldb, float32(beta), c32, ldc)
		return
	}
	if m == 0 || n == 0 {
		return
	}
	if k == 0 {
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
		return
	}
	ta, tb := blas.NoTrans, blas.NoTrans
	if transA {
		ta = blas.Trans
	}
	if transB {
		tb = blas.Trans
	}
	var impl gonum.Implementation
	impl.Dgemm(ta, tb, m, n, k, float64(alpha), any(a).([]float64), lda, any(b).([]float64), ldb, float64(beta), any(c).([]float64), ldc)
}

// gemmBias computes C = op(A)·op(B) + bias, bias one value per column added to
// every row, on at most procs cores: for float32 the bias is added as the
// product is stored, with no pass over C before it.
func gemmBias[T Float](procs int, transA, transB bool, m, n, k int, a []T, lda int, b []T, ldb int, bias, c []T, ldc int) {
	if a32, b32, ok := as32(a, b); ok {
		bias32, c32, _ := as32(bias, c)
		sgemm.GemmBias(procs, transA, transB, m, n, k, 1, a32, lda, b32, ldb, bias32, c32, ldc)
		return
	}
	for i := 0; i < m; i++ {
		copy(c[i*ldc:i*ldc+n], bias)
	}
	gemmOn(procs, transA, transB, m, n, k, 1, a, lda, b, ldb, 1, c, ldc)
}

// Packed is a right-hand matrix op(B), k×n, prepared once for many products
// (GemmPacked): a recurrent layer multiplies by its recurrent weights at every
// time step, and packing them each time costs as much as a third of a
// batch-64 step's product. Only float32 is packed; float64 keeps B as it is.
type Packed[T Float] struct {
	transB bool
	k, n   int
	b      []T
	ldb    int
	p      *sgemm.Packed
}

// Pack prepares op(B) (B is n×k when transB) with leading dimension ldb. B
// must not change while the result is in use.
func Pack[T Float](transB bool, k, n int, b []T, ldb int) *Packed[T] {
	pb := &Packed[T]{transB: transB, k: k, n: n, b: b, ldb: ldb}
	if b32, ok := any(b).([]float32); ok {
		pb.p = sgemm.Pack(transB, k, n, b32, ldb)
	}
	return pb
}

// GemmPacked computes C = alpha·A·op(B) + beta·C for A m×k and a packed op(B).
func GemmPacked[T Float](m int, alpha T, a []T, lda int, b *Packed[T], beta T, c []T, ldc int) {
	gemmPackedOn(0, m, alpha, a, lda, b, beta, c, ldc)
}

// gemmPackedOn is GemmPacked on at most procs cores (0: all of them).
func gemmPackedOn[T Float](procs, m int, alpha T, a []T, lda int, b *Packed[T], beta T, c []T, ldc int) {
	if b.p != nil {
		a32, c32, _ := as32(a, c)
		sgemm.GemmPacked(procs, false, m, float32(alpha), a32, lda, b.p, float32(beta), c32, ldc)
		return
	}
	gemmOn(procs, false, b.transB, m, b.n, b.k, alpha, a, lda, b.b, b.ldb, beta, c, ldc)
}

// gemmPackedBiasOn is gemmPackedOn with beta 0 plus bias in every row of C.
func gemmPackedBiasOn[T Float](procs, m int, a []T, lda int, b *Packed[T], bias, c []T, ldc int) {
	if b.p != nil {
		a32, c32, _ := as32(a, c)
		bias32, _, _ := as32(bias, bias)
		sgemm.GemmPackedBias(procs, false, m, 1, a32, lda, b.p, bias32, c32, ldc)
		return
	}
	gemmBias(procs, false, b.transB, m, b.n, b.k, a, lda, b.b, b.ldb, bias, c, ldc)
}
