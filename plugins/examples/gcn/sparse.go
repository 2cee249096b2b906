package gcn

import (
	"fmt"
	"math"
	"slices"
)

// CSR is a sparse matrix in compressed sparse row form: row i holds the values
// Val[RowPtr[i]:RowPtr[i+1]] at the columns Col[...], ascending.
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
// message passing is (a node sums its neighbours' rows). It is the graph's
// hot path; the tests hold it to a dense reference (mulDenseRef).
func (a *CSR) MulDense(dst, x []float64, d int) {
	if len(dst) != a.Rows*d || len(x) != a.Cols*d {
		panic(fmt.Sprintf("gcn: %d×%d sparse times %d values of width %d into %d", a.Rows, a.Cols, len(x), d, len(dst)))
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
		panic(fmt.Sprintf("gcn: transposed %d×%d sparse times %d values of width %d into %d", a.Rows, a.Cols, len(x), d, len(dst)))
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
// each (row, col) bounded by the shape.
func NewCSR(n, m int, rows, cols []int32, vals []float64) (*CSR, error) {
	if len(rows) != len(cols) || len(rows) != len(vals) {
		return nil, fmt.Errorf("gcn: %d rows, %d columns and %d values", len(rows), len(cols), len(vals))
	}
	order := make([]int, len(rows))
	for k := range order {
		if rows[k] < 0 || int(rows[k]) >= n || cols[k] < 0 || int(cols[k]) >= m {
			return nil, fmt.Errorf("gcn: entry (%d, %d) outside a %d×%d matrix", rows[k], cols[k], n, m)
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

// NormAdjacency is Kipf and Welling's Â = D^-½ (A + I) D^-½ for n nodes and
// undirected edges (each pair given once, either way round; repeats and
// self-loops in the list count once): the graph's propagation matrix, built
// once.
func NormAdjacency(n int, src, dst []int32) (*CSR, error) {
	if len(src) != len(dst) {
		return nil, fmt.Errorf("gcn: %d edge sources and %d targets", len(src), len(dst))
	}
	type pair struct{ a, b int32 }
	seen := make(map[pair]bool, 2*len(src)+n)
	var rows, cols []int32
	add := func(a, b int32) {
		if !seen[pair{a, b}] {
			seen[pair{a, b}] = true
			rows, cols = append(rows, a), append(cols, b)
		}
	}
	for i := range n {
		add(int32(i), int32(i))
	}
	for k := range src {
		if src[k] < 0 || int(src[k]) >= n || dst[k] < 0 || int(dst[k]) >= n {
			return nil, fmt.Errorf("gcn: edge %d (%d, %d) names a node outside 0..%d", k+1, src[k], dst[k], n-1)
		}
		add(src[k], dst[k])
		add(dst[k], src[k])
	}
	deg := make([]float64, n)
	for _, r := range rows {
		deg[r]++
	}
	vals := make([]float64, len(rows))
	for k := range vals {
		vals[k] = 1 / math.Sqrt(deg[rows[k]]*deg[cols[k]])
	}
	return NewCSR(n, n, rows, cols, vals)
}
