// Package gcn is the graph-convolution example of seqkit's task plugins:
// semi-supervised node classification with the two-layer GCN of Kipf and
// Welling (2017),
//
//	Z = Â · drop(ReLU(Â · drop(X) · W₁)) · W₂,  Â = D^-½ (A + I) D^-½,
//
// trained full batch on the labelled nodes with softmax cross-entropy, an L2
// penalty on W₁, Adam and early stopping on the dev loss, as the paper's code
// does. Message passing is the sparse product Â·H (sdk.CSR.MulDense): each node
// sums its neighbours' rows, weighted by the normalised adjacency. Every
// backward pass is derived by hand and checked against finite differences
// (TestGradients). With the identity for Â the same code is the MLP baseline
// the graph must beat.
//
// The task (Task) reads the graph from two tables it declares, nodes and
// edges (recipe data.tables), and trains on them whole: seqkit gives it one
// batch per epoch naming the split (tasks.Info.WholeDataset). The binary is
// cmd/seqkit-plugin-gcn; the package also runs in-process, for the tests.
package gcn

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/seqkit/seqkit/nn"
	"github.com/seqkit/seqkit/plugins/sdk"
)

// Graph is one graph to learn on: features, propagation, labels and splits,
// one row per node (the rows of the nodes table).
type Graph struct {
	X       *sdk.CSR // node features [N, F], rows normalised to sum 1
	Adj     *sdk.CSR // the propagation Â [N, N]; the identity for an MLP
	Labels  []int32  // [N] class of each node; read only where a split uses it
	Classes int
	// Train, Dev and Test are the nodes of each split.
	Train, Dev, Test []int32
}

// Model holds the two weight matrices, W₁ [F, hidden] and W₂ [hidden, classes]
// (the paper's layers have no bias).
type Model struct {
	W1, W2  *nn.Tensor[float64]
	F, H, C int
}

// NewModel returns a model with Glorot-uniform weights.
func NewModel(f, h, c int, rng *rand.Rand) *Model {
	m := &Model{W1: nn.NewTensor[float64](f, h), W2: nn.NewTensor[float64](h, c), F: f, H: h, C: c}
	m.W1.Name, m.W2.Name = "gcn.w1", "gcn.w2"
	nn.GlorotUniform(m.W1.Data, f, h, rng)
	nn.GlorotUniform(m.W2.Data, h, c, rng)
	return m
}

// Params are the trainable tensors.
func (m *Model) Params() []*nn.Tensor[float64] { return []*nn.Tensor[float64]{m.W1, m.W2} }

// pass is a forward pass with what the backward pass needs.
type pass struct {
	xd     *sdk.CSR  // the features after dropout
	p1     []float64 // Â·Xd·W₁ [N, H], before ReLU
	h1d    []float64 // ReLU(p1) after dropout [N, H]
	mask1  []float64 // the hidden dropout factors (0 or 1/(1-p)); nil without
	logits []float64 // Z [N, C]
}

// forward computes the logits of every node; rng draws the dropout masks
// (nil: evaluation, no dropout).
func (m *Model) forward(g *Graph, p float64, rng *rand.Rand) *pass {
	N, H, C := g.X.Rows, m.H, m.C
	ps := &pass{xd: g.X}
	if rng != nil && p > 0 {
		xd := *g.X
		xd.Val = make([]float64, len(g.X.Val))
		for k, v := range g.X.Val {
			if rng.Float64() >= p {
				xd.Val[k] = v / (1 - p)
			}
		}
		ps.xd = &xd
	}
	xw := make([]float64, N*H)
	ps.xd.MulDense(xw, m.W1.Data, H)
	ps.p1 = make([]float64, N*H)
	g.Adj.MulDense(ps.p1, xw, H)
	ps.h1d = make([]float64, N*H)
	for i, v := range ps.p1 {
		ps.h1d[i] = max(v, 0)
	}
	if rng != nil && p > 0 {
		ps.mask1 = make([]float64, N*H)
		for i := range ps.mask1 {
			if rng.Float64() >= p {
				ps.mask1[i] = 1 / (1 - p)
			}
			ps.h1d[i] *= ps.mask1[i]
		}
	}
	hw := make([]float64, N*C)
	matMul(hw, ps.h1d, m.W2.Data, N, H, C)
	ps.logits = make([]float64, N*C)
	g.Adj.MulDense(ps.logits, hw, C)
	return ps
}

// matMul sets dst [n, c] to a [n, h] · b [h, c].
func matMul(dst, a, b []float64, n, h, c int) {
	clear(dst)
	for i := range n {
		out := dst[i*c : (i+1)*c]
		for k, v := range a[i*h : (i+1)*h] {
			if v == 0 {
				continue
			}
			for j, w := range b[k*c : (k+1)*c] {
				out[j] += v * w
			}
		}
	}
}

// loss is the mean cross-entropy over nodes (with the L2 penalty when wd > 0)
// and, when grad is set, its gradient with respect to the logits.
func (m *Model) loss(ps *pass, g *Graph, nodes []int32, wd float64, grad bool) (float64, []float64) {
	C := m.C
	var dz []float64
	if grad {
		dz = make([]float64, len(ps.logits))
	}
	var sum float64
	for _, n := range nodes {
		row := ps.logits[int(n)*C : int(n)*C+C]
		mx := row[0]
		for _, v := range row {
			mx = max(mx, v)
		}
		var z float64
		for _, v := range row {
			z += math.Exp(v - mx)
		}
		y := int(g.Labels[n])
		sum += mx + math.Log(z) - row[y]
		if grad {
			d := dz[int(n)*C : int(n)*C+C]
			for j, v := range row {
				d[j] = math.Exp(v-mx) / z / float64(len(nodes))
			}
			d[y] -= 1 / float64(len(nodes))
		}
	}
	l := sum / float64(len(nodes))
	if wd > 0 {
		var ss float64
		for _, w := range m.W1.Data {
			ss += w * w
		}
		l += wd * ss / 2
	}
	return l, dz
}

// backward adds the gradients of the loss whose logit gradient is dz to the
// weights' Grad.
func (m *Model) backward(ps *pass, g *Graph, dz []float64, wd float64) {
	N, H, C := g.X.Rows, m.H, m.C
	// Z = Â·HW: dHW = Âᵀ·dZ.
	dhw := make([]float64, N*C)
	g.Adj.MulTDense(dhw, dz, C)
	// HW = H1d·W₂: dW₂ = H1dᵀ·dHW, dH1d = dHW·W₂ᵀ.
	dw2 := m.W2.EnsureGrad()
	dh := make([]float64, N*H)
	for i := range N {
		hrow, drow := ps.h1d[i*H:(i+1)*H], dhw[i*C:(i+1)*C]
		for k, hv := range hrow {
			w2 := m.W2.Data[k*C : (k+1)*C]
			var s float64
			for j, dv := range drow {
				dw2[k*C+j] += hv * dv
				s += dv * w2[j]
			}
			dh[i*H+k] = s
		}
	}
	// Dropout and ReLU.
	for i := range dh {
		if ps.mask1 != nil {
			dh[i] *= ps.mask1[i]
		}
		if ps.p1[i] <= 0 {
			dh[i] = 0
		}
	}
	// P1 = Â·XW: dXW = Âᵀ·dP1; XW = Xd·W₁: dW₁ = Xdᵀ·dXW.
	dxw := make([]float64, N*H)
	g.Adj.MulTDense(dxw, dh, H)
	dw1 := make([]float64, m.F*H)
	ps.xd.MulTDense(dw1, dxw, H)
	g1 := m.W1.EnsureGrad()
	for i, v := range dw1 {
		g1[i] += v + wd*m.W1.Data[i]
	}
}

// Evaluate returns the mean cross-entropy and the accuracy (in %) over nodes,
// without dropout.
func (m *Model) Evaluate(g *Graph, nodes []int32) (loss, acc float64) {
	ps := m.forward(g, 0, nil)
	loss, _ = m.loss(ps, g, nodes, 0, false)
	right := 0
	for _, n := range nodes {
		row := ps.logits[int(n)*m.C : int(n)*m.C+m.C]
		best := 0
		for j, v := range row {
			if v > row[best] {
				best = j
			}
		}
		if int32(best) == g.Labels[n] {
			right++
		}
	}
	return loss, 100 * float64(right) / float64(len(nodes))
}

// NormAdjacency is Kipf and Welling's Â = D^-½ (A + I) D^-½ for n nodes and
// undirected edges (each pair given once, either way round; repeats and
// self-loops in the list count once): the graph's propagation matrix, built
// once.
func NormAdjacency(n int, src, dst []int32) (*sdk.CSR, error) {
	if len(src) != len(dst) {
		return nil, fmt.Errorf("sdk: %d edge sources and %d targets", len(src), len(dst))
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
			return nil, fmt.Errorf("sdk: edge %d (%d, %d) names a node outside 0..%d", k+1, src[k], dst[k], n-1)
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
	return sdk.NewCSR(n, n, rows, cols, vals)
}
