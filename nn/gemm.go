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
	if a, ok := any(a).([]float32); ok {
		sgemm.Gemm(transA, transB, m, n, k, float32(alpha), a, lda, any(b).([]float32), ldb, float32(beta), any(c).([]float32), ldc)
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
