package sdk

import (
	"fmt"
	"math"
	"slices"
)

// CSR is a sparse matrix in compressed sparse row form: row i holds the values
// Val[RowPtr[i]:RowPtr[i+1]] at the columns Col[...], ascending. It is what a
// task makes of a table of edges or of sparse features (a bag of words), for
// the products a graph network needs; build it with NewCSR.
type CSR struct {
	Rows, Cols int
	RowPtr     []int
	Col        []int32
	Val        []float64
}

// NNZ is the number of stored values.
func (a *CSR) NNZ() int { return len(a.Val) }

// MulDense sets dst [Rows, d] to a·x for x [Cols, d], both row-major: per
// stored value one scaled row of x added to a row of dst, the loop that
// message passing is (a node sums its neighbours' rows). It is a graph
// network's hot path; the tests hold it to a dense reference (mulDenseRef).
func (a *CSR) MulDense(dst, x []float64, d int) {
	if len(dst) != a.Rows*d || len(x) != a.Cols*d {
		panic(fmt.Sprintf("sdk: %d×%d sparse times %d values of width %d into %d", a.Rows, a.Cols, len(x), d, len(dst)))
	}
	for i := range a.Rows {
		out := dst[i*d : (i+1)*d]
		clear(out)
		for k := a.RowPtr[i]; k < a.RowPtr[i+1]; k++ {
			v, row := a.Val[k], x[int(a.Col[k])*d:int(a.Col[k])*d+d]
			for j := range out {
				out[j] += v * row[j]
			}
		}
	}
}

// MulTDense sets dst [Cols, d] to aᵀ·x for x [Rows, d]: each stored value
// scatters a scaled row of x (the weight gradient of a product by a sparse
// input).
func (a *CSR) MulTDense(dst, x []float64, d int) {
	if len(dst) != a.Cols*d || len(x) != a.Rows*d {
		panic(fmt.Sprintf("sdk: transposed %d×%d sparse times %d values of width %d into %d", a.Rows, a.Cols, len(x), d, len(dst)))
	}
	clear(dst)
	for i := range a.Rows {
		row := x[i*d : (i+1)*d]
		for k := a.RowPtr[i]; k < a.RowPtr[i+1]; k++ {
			v, out := a.Val[k], dst[int(a.Col[k])*d:int(a.Col[k])*d+d]
			for j := range out {
				out[j] += v * row[j]
			}
		}
	}
}

// NewCSR builds an n×m matrix from coordinate entries (duplicates summed),
// each (row, col) bounded by the shape; the shape is bounded by int32
// indices, and the caller bounds n and m by what its data holds.
func NewCSR(n, m int, rows, cols []int32, vals []float64) (*CSR, error) {
	if len(rows) != len(cols) || len(rows) != len(vals) {
		return nil, fmt.Errorf("sdk: %d rows, %d columns and %d values", len(rows), len(cols), len(vals))
	}
	if n < 0 || m < 0 || n > math.MaxInt32 || m > math.MaxInt32 {
		return nil, fmt.Errorf("sdk: a %d×%d sparse matrix: each side must be 0 to %d", n, m, math.MaxInt32)
	}
	order := make([]int, len(rows))
	for k := range order {
		if rows[k] < 0 || int(rows[k]) >= n || cols[k] < 0 || int(cols[k]) >= m {
			return nil, fmt.Errorf("sdk: entry (%d, %d) outside a %d×%d matrix", rows[k], cols[k], n, m)
		}
		order[k] = k
	}
	slices.SortFunc(order, func(x, y int) int {
		if rows[x] != rows[y] {
			return int(rows[x] - rows[y])
		}
		return int(cols[x] - cols[y])
	})
	a := &CSR{Rows: n, Cols: m, RowPtr: make([]int, n+1)}
	prevR, prevC := int32(-1), int32(-1)
	for _, k := range order {
		r, c := rows[k], cols[k]
		if r == prevR && c == prevC {
			a.Val[len(a.Val)-1] += vals[k]
			continue
		}
		a.Col, a.Val = append(a.Col, c), append(a.Val, vals[k])
		a.RowPtr[r+1]++ // counts per row, summed below
		prevR, prevC = r, c
	}
	for i := range n {
		a.RowPtr[i+1] += a.RowPtr[i]
	}
	return a, nil
}
