package onnx

import (
	"fmt"

	"github.com/seqkit/seqkit/nn"
)

// Embedding looks ids (int64, any shape) up in e: a Gather.
func Embedding(g *Graph, e *nn.Embedding[float32], ids string) string {
	return g.Op("Gather", []string{g.Weights(e.W.Name, e.W.Data, e.Vocab, e.Dim), ids})
}

// Linear is x·Wᵀ + b over the last dimension of x: the weight is stored
// transposed, [in, out], for MatMul.
func Linear(g *Graph, l *nn.Linear[float32], x string) string {
	y := g.Op("MatMul", []string{x, g.Weights(l.W.Name, transposed(l.W.Data, l.Out, l.In), l.In, l.Out)})
	return g.Op("Add", []string{y, g.Weights(l.B.Name, l.B.Data, l.Out)})
}

// Lengths are a batch's sequence lengths as ONNX wants them in one place or
// another: the int32 vector of the recurrent operators, and the float mask
// [T, B, 1] of the pooling and attention arithmetic.
type Lengths struct {
	I32  string // [B] int32, the recurrent operators' sequence_lens
	I64  string // [B] int64
	Mask string // [T, B, 1] float: 1 within each sequence, 0 at padding
}

// NewLengths derives the forms of lengths (int32 [B]) for a time-major batch
// whose steps are the first dimension of x.
func NewLengths(g *Graph, lengths, x string) Lengths {
	l := Lengths{I32: lengths, I64: g.Op("Cast", []string{lengths}, AInt("to", int64(Int64)))}
	steps := g.Op("Gather", []string{g.Op("Shape", []string{x}), g.IntScalar(0)}) // T, a scalar
	t := g.Op("Range", []string{g.IntScalar(0), steps, g.IntScalar(1)})           // [T]
	less := g.Op("Less", []string{
		g.Op("Unsqueeze", []string{t, g.Ints(1)}),     // [T, 1]
		g.Op("Unsqueeze", []string{l.I64, g.Ints(0)}), // [1, B]
	})
	l.Mask = g.Op("Unsqueeze", []string{g.Op("Cast", []string{less}, AInt("to", int64(Float))), g.Ints(2)})
	return l
}

// RNN runs the stack r over x [T, B, in] as one ONNX LSTM, GRU or RNN node per
// layer, from the initial states h0 and c0 ([layers·dirs, B, H]; "" for
// zeros). seqLens is the int32 [B] lengths, or "" when every sequence fills
// all T steps. It returns the last layer's outputs [T, B, dirs·H] and the
// final states of every layer and direction, [layers·dirs, B, H], in seqkit's
// (and PyTorch's) order; cn is "" for cells without a cell state.
//
// The gates are reordered from PyTorch's order to ONNX's (LSTM i f g o to
// i o f c, GRU r z n to z r h; GRU is PyTorch's linear_before_reset form).
// Peepholes map onto the LSTM's P input (rows i f o to i o f). The 1997 LSTM
// without a forget gate is an LSTM whose forget gate is held open: zero
// weights and a bias of 100, whose sigmoid is 1 in float32.
func RNN(g *Graph, r *nn.RNN[float32], x, seqLens, h0, c0 string) (y, hn, cn string) {
	cfg := r.Config
	H, D, L := cfg.HiddenSize, 1, max(cfg.Layers, 1)
	if cfg.Bidirectional {
		D = 2
	}
	params := r.Params()
	per := 4 // weight_ih, weight_hh, bias_ih, bias_hh
	if cfg.Peephole {
		per = 5
	}
	var op string
	var order []int // ONNX's gate blocks in PyTorch's numbering
	switch cfg.Cell {
	case nn.LSTM:
		op, order = "LSTM", []int{0, 3, 1, 2}
	case nn.GRU:
		op, order = "GRU", []int{1, 0, 2}
	default:
		op, order = "RNN", []int{0}
	}
	G := len(order)
	var hs, cs []string
	in := x
	for l := range L {
		inSize := cfg.InputSize
		if l > 0 {
			inSize = D * H
		}
		var w, rw, b, p []float32
		for d := range D {
			ps := params[(l*D+d)*per : (l*D+d+1)*per]
			wih, whh, bih, bhh := ps[0].Data, ps[1].Data, ps[2].Data, ps[3].Data
			for _, k := range order {
				w = append(w, wih[k*H*inSize:(k+1)*H*inSize]...)
				rw = append(rw, whh[k*H*H:(k+1)*H*H]...)
			}
			var wb, rb []float32
			for _, k := range order {
				wb = append(wb, bih[k*H:(k+1)*H]...)
				rb = append(rb, bhh[k*H:(k+1)*H]...)
			}
			if cfg.Cell == nn.LSTM && cfg.NoForgetGate {
				// ONNX's block 2 is f: no input, no recurrence, always open.
				f := len(w) - 2*H*inSize
				clear(w[f : f+H*inSize])
				f = len(rw) - 2*H*H
				clear(rw[f : f+H*H])
				for j := range H {
					wb[2*H+j], rb[2*H+j] = 100, 0
				}
			}
			b = append(append(b, wb...), rb...)
			if cfg.Peephole {
				pp := ps[4].Data // rows i, f, o
				p = append(p, pp[0:H]...)
				p = append(p, pp[2*H:3*H]...)
				f := pp[H : 2*H]
				if cfg.NoForgetGate {
					f = make([]float32, H)
				}
				p = append(p, f...)
			}
		}
		name := fmt.Sprintf("%s_l%d", cfg.Cell, l)
		inputs := []string{in,
			g.Weights(name+".W", w, D, G*H, inSize),
			g.Weights(name+".R", rw, D, G*H, H),
			g.Weights(name+".B", b, D, 2*G*H),
			seqLens, slice0(g, h0, l*D, (l+1)*D),
		}
		if cfg.Cell == nn.LSTM {
			inputs = append(inputs, slice0(g, c0, l*D, (l+1)*D))
			if cfg.Peephole {
				inputs = append(inputs, g.Weights(name+".P", p, D, 3*H))
			}
		}
		attrs := []Attr{AInt("hidden_size", int64(H))}
		if D == 2 {
			attrs = append(attrs, AString("direction", "bidirectional"))
		}
		switch cfg.Cell {
		case nn.GRU:
			attrs = append(attrs, AInt("linear_before_reset", 1))
		case nn.RNNTanh, nn.RNNReLU:
			act := "Tanh"
			if cfg.Cell == nn.RNNReLU {
				act = "Relu"
			}
			acts := []string{act}
			if D == 2 {
				acts = append(acts, act)
			}
			attrs = append(attrs, AStrings("activations", acts...))
		}
		nout := 2
		if cfg.Cell == nn.LSTM {
			nout = 3
		}
		outs := g.OpN(op, trimOptional(inputs), nout, attrs...)
		// Y is [T, D, B, H]: to [T, B, D·H], forward then reverse features.
		yt := g.Op("Transpose", []string{outs[0]}, AInts("perm", 0, 2, 1, 3))
		in = g.Op("Reshape", []string{yt, g.Ints(0, 0, int64(D*H))})
		hs = append(hs, outs[1])
		if cfg.Cell == nn.LSTM {
			cs = append(cs, outs[2])
		}
	}
	hn = concat0(g, hs)
	if cs != nil {
		cn = concat0(g, cs)
	}
	return in, hn, cn
}

// trimOptional drops trailing empty inputs; empty ones before a given one
// stay, as ONNX marks a left-out optional input.
func trimOptional(in []string) []string {
	for len(in) > 0 && in[len(in)-1] == "" {
		in = in[:len(in)-1]
	}
	return in
}

// slice0 is x[from:to] along the first axis, or "" for an absent x.
func slice0(g *Graph, x string, from, to int) string {
	if x == "" {
		return ""
	}
	return g.Op("Slice", []string{x, g.Ints(int64(from)), g.Ints(int64(to)), g.Ints(0)})
}

func concat0(g *Graph, xs []string) string {
	if len(xs) == 1 {
		return xs[0]
	}
	return g.Op("Concat", xs, AInt("axis", 0))
}

// Tanh is tanh(x).
func Tanh(g *Graph, x string) string { return g.Op("Tanh", []string{x}) }

// Pool reduces x [T, B, D] over each sequence's length to [B, D] as nn.Pool
// does: last (for a bidirectional x the backward half at step 0), mean or
// max. A sequence of length 0 pools to zeros.
func Pool(g *Graph, x string, lens Lengths, mode nn.Pooling, bidirectional bool, D int) string {
	switch mode {
	case nn.PoolMean:
		sum := g.Op("ReduceSum", []string{g.Op("Mul", []string{x, lens.Mask}), g.Ints(0)}, AInt("keepdims", 0))
		n := g.Op("Cast", []string{g.Op("Max", []string{lens.I64, g.Ints(1)})}, AInt("to", int64(Float)))
		return g.Op("Div", []string{sum, g.Op("Unsqueeze", []string{n, g.Ints(1)})})
	case nn.PoolMax:
		// Padding gets a score far below any output, then sequences of length
		// 0 (whose maximum is that score) are set to zeros.
		low := g.Op("Mul", []string{g.Op("Sub", []string{lens.Mask, g.Scalar(1)}), g.Scalar(3e38)})
		mx := g.Op("ReduceMax", []string{g.Op("Add", []string{x, low})}, AInts("axes", 0), AInt("keepdims", 0))
		some := g.Op("Unsqueeze", []string{g.Op("Greater", []string{lens.I64, g.IntScalar(0)}), g.Ints(1)})
		return g.Op("Where", []string{some, mx, g.Scalar(0)})
	}
	// Last: the output at step length-1 of each sequence (clamped at 0: a
	// sequence of length 0 is masked to zeros below).
	last := g.Op("Max", []string{g.Op("Sub", []string{lens.I64, g.IntScalar(1)}), g.IntScalar(0)}) // [B]
	idx := g.Op("Unsqueeze", []string{last, g.Ints(0, 2)})                                         // [1, B, 1]
	at := gatherSteps(g, x, idx)
	if bidirectional {
		first := gatherSteps(g, x, g.Op("Mul", []string{idx, g.IntScalar(0)}))
		half := int64(D / 2)
		at = g.Op("Concat", []string{
			g.Op("Slice", []string{at, g.Ints(0), g.Ints(half), g.Ints(1)}),
			g.Op("Slice", []string{first, g.Ints(half), g.Ints(int64(D)), g.Ints(1)}),
		}, AInt("axis", 1))
	}
	some := g.Op("Unsqueeze", []string{g.Op("Greater", []string{lens.I64, g.IntScalar(0)}), g.Ints(1)})
	return g.Op("Where", []string{some, at, g.Scalar(0)})
}

// gatherSteps picks x[idx[b], b, :] of x [T, B, D] for the step indices idx
// [1, B, 1] and returns [B, D].
func gatherSteps(g *Graph, x, idx string) string {
	rest := g.Op("Slice", []string{g.Op("Shape", []string{x}), g.Ints(1), g.Ints(3)}) // [B, D]
	full := g.Op("Expand", []string{idx, g.Op("Concat", []string{g.Ints(1), rest}, AInt("axis", 0))})
	return g.Op("Squeeze", []string{g.Op("GatherElements", []string{x, full}, AInt("axis", 0)), g.Ints(0)})
}

// maskedSoftmax0 is the softmax over axis 0 of scores [T, B, 1] within each
// sequence's length (mask [T, B, 1]); padding gets weight 0.
func maskedSoftmax0(g *Graph, scores, mask string) string {
	low := g.Op("Mul", []string{g.Op("Sub", []string{mask, g.Scalar(1)}), g.Scalar(1e30)})
	return g.Op("Softmax", []string{g.Op("Add", []string{scores, low})}, AInt("axis", 0))
}

// AttnPool is nn.AttnPool: tanh(W xₜ + b)·v scores, their softmax over each
// sequence, and the weighted sum of x [T, B, D], giving [B, D].
func AttnPool(g *Graph, p *nn.AttnPool[float32], x string, lens Lengths) string {
	u := Tanh(g, Linear(g, p.Proj, x))
	s := g.Op("MatMul", []string{u, g.Weights(p.V.Name, p.V.Data, p.V.Len(), 1)}) // [T, B, 1]
	alpha := maskedSoftmax0(g, s, lens.Mask)
	out := g.Op("ReduceSum", []string{g.Op("Mul", []string{alpha, x}), g.Ints(0)}, AInt("keepdims", 0))
	some := g.Op("Unsqueeze", []string{g.Op("Greater", []string{lens.I64, g.IntScalar(0)}), g.Ints(1)})
	return g.Op("Where", []string{some, out, g.Scalar(0)})
}

// transposed returns the [cols, rows] transpose of w [rows, cols].
func transposed(w []float32, rows, cols int) []float32 {
	t := make([]float32, len(w))
	for r := range rows {
		for c := range cols {
			t[c*rows+r] = w[r*cols+c]
		}
	}
	return t
}

// Attention is nn.Attention for one query per sequence: q [B, Dq] over the
// keys k [Ts, B, Dk] within lens (of k). It returns the contexts [B, Dk] and
// the weights [B, Ts].
func Attention(g *Graph, at *nn.Attention[float32], q, k string, lens Lengths) (ctx, weights string) {
	q1 := g.Op("Unsqueeze", []string{q, g.Ints(0)}) // [1, B, Dq]
	var scores string                               // [Ts, B, 1]
	switch at.Score {
	case nn.Dot:
		scores = g.Op("ReduceSum", []string{g.Op("Mul", []string{k, q1}), g.Ints(2)}, AInt("keepdims", 1))
	case nn.General:
		// W is [Dq, Dk]: the keys as the query sees them are k·Wᵀ.
		kp := g.Op("MatMul", []string{k, g.Weights(at.W.Name, transposed(at.W.Data, at.Dq, at.Dk), at.Dk, at.Dq)})
		scores = g.Op("ReduceSum", []string{g.Op("Mul", []string{kp, q1}), g.Ints(2)}, AInt("keepdims", 1))
	case nn.Additive:
		A := at.V.Len()
		kp := g.Op("MatMul", []string{k, g.Weights(at.U.Name, transposed(at.U.Data, A, at.Dk), at.Dk, A)})
		qp := g.Op("MatMul", []string{q1, g.Weights(at.W.Name, transposed(at.W.Data, A, at.Dq), at.Dq, A)})
		e := Tanh(g, g.Op("Add", []string{kp, qp}))
		scores = g.Op("MatMul", []string{e, g.Weights(at.V.Name, at.V.Data, A, 1)})
	}
	alpha := maskedSoftmax0(g, scores, lens.Mask)                                                      // [Ts, B, 1]
	ctx = g.Op("ReduceSum", []string{g.Op("Mul", []string{alpha, k}), g.Ints(0)}, AInt("keepdims", 0)) // [B, Dk]
	weights = g.Op("Transpose", []string{g.Op("Squeeze", []string{alpha, g.Ints(2)})}, AInts("perm", 1, 0))
	return ctx, weights
}
