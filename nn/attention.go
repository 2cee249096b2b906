package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Score is how [Attention] compares a query with a key.
type Score int

const (
	// Dot is Luong's dot score qᵀk (query and key of one size).
	Dot Score = iota
	// General is Luong's general score qᵀWk.
	General
	// Additive is Bahdanau's score vᵀtanh(W_q q + W_k k).
	Additive
)

var scoreNames = []string{"dot", "general", "additive"}

func (s Score) String() string { return scoreNames[s] }

// ParseScore reads "dot", "general" or "additive".
func ParseScore(s string) (Score, error) {
	for i, n := range scoreNames {
		if s == n {
			return Score(i), nil
		}
	}
	return 0, fmt.Errorf("nn: unknown attention score %q (want dot, general or additive)", s)
}

// Attention lets each query (a decoder state) read a weighted average of the keys
// (the encoder outputs) of its sequence, the weights a softmax of the scores over
// the first lengths[b] keys only: padding gets weight zero.
type Attention[T Float] struct {
	Score Score
	// W is [Dq, Dk] (name.weight) for General, and W_q [A, Dq] (name.query) for
	// Additive; U is W_k [A, Dk] (name.key) and V is v [A] (name.v), Additive only.
	W, U, V *Tensor[T]
	Dq, Dk  int
}

// NewAttention returns an attention layer for queries of size dq and keys of size
// dk; a is the hidden size of the additive score.
func NewAttention[T Float](name string, score Score, dq, dk, a int, rng *rand.Rand) (*Attention[T], error) {
	at := &Attention[T]{Score: score, Dq: dq, Dk: dk}
	switch score {
	case Dot:
		if dq != dk {
			return nil, fmt.Errorf("nn: dot attention needs queries and keys of one size, got %d and %d", dq, dk)
		}
	case General:
		at.W = NewTensor[T](dq, dk)
		at.W.Name = name + ".weight"
		GlorotUniform(at.W.Data, dk, dq, rng)
	case Additive:
		at.W, at.U, at.V = NewTensor[T](a, dq), NewTensor[T](a, dk), NewTensor[T](a)
		at.W.Name, at.U.Name, at.V.Name = name+".query", name+".key", name+".v"
		GlorotUniform(at.W.Data, dq, a, rng)
		GlorotUniform(at.U.Data, dk, a, rng)
		Uniform(at.V.Data, 1/math.Sqrt(float64(a)), rng)
	default:
		return nil, fmt.Errorf("nn: unknown attention score %d", int(score))
	}
	return at, nil
}

// Params returns the trainable tensors (none for Dot).
func (at *Attention[T]) Params() []*Tensor[T] {
	switch at.Score {
	case General:
		return []*Tensor[T]{at.W}
	case Additive:
		return []*Tensor[T]{at.W, at.U, at.V}
	}
	return nil
}

// Forward attends from queries q [Tq, B, Dq] over keys k [Ts, B, Dk], of which
// sequence b has lengths[b] ≥ 1. It returns the contexts [Tq, B, Dk] and the
// attention weights [Tq, B, Ts] (for inspection: no gradient flows through them).
// Long on purpose: the three scores (dot, general, additive), the
// masked softmax and their hand-derived backward pass share the saved scores.
func (at *Attention[T]) Forward(tp *Tape, q, k *Tensor[T], lengths []int) (ctx, weights *Tensor[T]) {
	if len(q.Shape) != 3 || len(k.Shape) != 3 || q.Shape[1] != k.Shape[1] || q.Shape[2] != at.Dq || k.Shape[2] != at.Dk {
		panic(fmt.Sprintf("nn: Attention of queries %v over keys %v, want [Tq, B, %d] and [Ts, B, %d]", q.Shape, k.Shape, at.Dq, at.Dk))
	}
	Tq, B, Ts := q.Shape[0], q.Shape[1], k.Shape[0]
	if len(lengths) != B {
		panic(fmt.Sprintf("nn: Attention got %d lengths for a batch of %d", len(lengths), B))
	}
	for b, n := range lengths {
		if n < 1 || n > Ts {
			panic(fmt.Sprintf("nn: Attention length %d of sequence %d outside [1, %d]", n, b, Ts))
		}
	}
	Dq, Dk := at.Dq, at.Dk
	// The keys as the score sees them: k itself (Dot), Wk (General), or W_k k and
	// W_q q (Additive), each time-major like the inputs.
	var kp, qp []T
	var Dp int
	switch at.Score {
	case Dot:
		kp, Dp = k.Data, Dk
	case General:
		kp, Dp = make([]T, Ts*B*Dq), Dq
		Gemm(false, true, Ts*B, Dq, Dk, 1, k.Data, Dk, at.W.Data, Dk, 0, kp, Dq)
	case Additive:
		A := at.V.Len()
		kp, qp, Dp = make([]T, Ts*B*A), make([]T, Tq*B*A), A
		Gemm(false, true, Ts*B, A, Dk, 1, k.Data, Dk, at.U.Data, Dk, 0, kp, A)
		Gemm(false, true, Tq*B, A, Dq, 1, q.Data, Dq, at.W.Data, Dq, 0, qp, A)
	}
	// alpha holds the weights sequence-major, [B, Tq, Ts], for the products.
	alpha := make([]T, B*Tq*Ts)
	var e []T // Additive: tanh(W_q q + W_k k) for every (b, t, s), [B, Tq, Ts, A]
	if at.Score == Additive {
		e = make([]T, B*Tq*Ts*Dp)
	}
	for b := range B {
		S := alpha[b*Tq*Ts : (b+1)*Tq*Ts]
		switch at.Score {
		case Dot, General:
			Gemm(false, true, Tq, Ts, Dp, 1, q.Data[b*Dq:], B*Dq, kp[b*Dp:], B*Dp, 0, S, Ts)
		case Additive:
			for t := range Tq {
				qr := qp[(t*B+b)*Dp : (t*B+b+1)*Dp]
				for s := range lengths[b] {
					kr := kp[(s*B+b)*Dp : (s*B+b+1)*Dp]
					er := e[((b*Tq+t)*Ts+s)*Dp : ((b*Tq+t)*Ts+s+1)*Dp]
					for a, v := range qr {
						er[a] = v + kr[a]
					}
					tanhTo(er, er)
					var sc T
					for a, v := range at.V.Data {
						sc += v * er[a]
					}
					S[t*Ts+s] = sc
				}
			}
		}
		for t := range Tq {
			maskedSoftmax(S[t*Ts:(t+1)*Ts], lengths[b])
		}
	}
	ctx = NewTensor[T](Tq, B, Dk)
	weights = NewTensor[T](Tq, B, Ts)
	for b := range B {
		Gemm(false, false, Tq, Dk, Ts, 1, alpha[b*Tq*Ts:], Ts, k.Data[b*Dk:], B*Dk, 0, ctx.Data[b*Dk:], B*Dk)
		for t := range Tq {
			copy(weights.Data[(t*B+b)*Ts:(t*B+b+1)*Ts], alpha[(b*Tq+t)*Ts:(b*Tq+t+1)*Ts])
		}
	}
	tp.Record(func() {
		if ctx.Grad == nil {
			return
		}
		dq, dk := q.EnsureGrad(), k.EnsureGrad()
		var dkp, dqp []T
		switch at.Score {
		case Dot:
			dkp = dk
		case General, Additive:
			dkp = make([]T, len(kp))
			if qp != nil {
				dqp = make([]T, len(qp))
			}
		}
		dS := make([]T, Tq*Ts)
		for b := range B {
			al := alpha[b*Tq*Ts : (b+1)*Tq*Ts]
			dctx := ctx.Grad[b*Dk:]
			// ctx = α K: dα = dctx Kᵀ, dK += αᵀ dctx.
			Gemm(false, true, Tq, Ts, Dk, 1, dctx, B*Dk, k.Data[b*Dk:], B*Dk, 0, dS, Ts)
			Gemm(true, false, Ts, Dk, Tq, 1, al, Ts, dctx, B*Dk, 1, dk[b*Dk:], B*Dk)
			// Softmax: dscore = α ⊙ (dα − Σ α dα); zero at padding, where α is zero.
			for t := range Tq {
				a, d := al[t*Ts:(t+1)*Ts], dS[t*Ts:(t+1)*Ts]
				var dot T
				for s := range lengths[b] {
					dot += a[s] * d[s]
				}
				for s := range d {
					d[s] = a[s] * (d[s] - dot)
				}
			}
			switch at.Score {
			case Dot, General:
				// score = Q Kpᵀ: dQ += dS Kp, dKp += dSᵀ Q.
				Gemm(false, false, Tq, Dq, Ts, 1, dS, Ts, kp[b*Dp:], B*Dp, 1, dq[b*Dq:], B*Dq)
				Gemm(true, false, Ts, Dp, Tq, 1, dS, Ts, q.Data[b*Dq:], B*Dq, 1, dkp[b*Dp:], B*Dp)
			case Additive:
				dv := at.V.EnsureGrad()
				for t := range Tq {
					dqr := dqp[(t*B+b)*Dp : (t*B+b+1)*Dp]
					for s := range lengths[b] {
						g := dS[t*Ts+s]
						er := e[((b*Tq+t)*Ts+s)*Dp : ((b*Tq+t)*Ts+s+1)*Dp]
						dkr := dkp[(s*B+b)*Dp : (s*B+b+1)*Dp]
						for a, v := range at.V.Data {
							dv[a] += g * er[a]
							de := g * v * (1 - er[a]*er[a])
							dqr[a] += de
							dkr[a] += de
						}
					}
				}
			}
		}
		switch at.Score {
		case General:
			// Kp = K Wᵀ: dK += dKp W, dW += dKpᵀ K.
			Gemm(false, false, Ts*B, Dk, Dq, 1, dkp, Dq, at.W.Data, Dk, 1, dk, Dk)
			Gemm(true, false, Dq, Dk, Ts*B, 1, dkp, Dq, k.Data, Dk, 1, at.W.EnsureGrad(), Dk)
		case Additive:
			A := Dp
			Gemm(false, false, Ts*B, Dk, A, 1, dkp, A, at.U.Data, Dk, 1, dk, Dk)
			Gemm(true, false, A, Dk, Ts*B, 1, dkp, A, k.Data, Dk, 1, at.U.EnsureGrad(), Dk)
			Gemm(false, false, Tq*B, Dq, A, 1, dqp, A, at.W.Data, Dq, 1, dq, Dq)
			Gemm(true, false, A, Dq, Tq*B, 1, dqp, A, q.Data, Dq, 1, at.W.EnsureGrad(), Dq)
		}
	})
	return ctx, weights
}

// maskedSoftmax turns row[:n] into a softmax and zeroes row[n:].
func maskedSoftmax[T Float](row []T, n int) {
	mx := row[0]
	for _, v := range row[1:n] {
		mx = max(mx, v)
	}
	var z float64
	for s := range n {
		e := math.Exp(float64(row[s] - mx))
		row[s] = T(e)
		z += e
	}
	for s := range n {
		row[s] = T(float64(row[s]) / z)
	}
	clear(row[n:])
}

// Tanh returns tanh(x) elementwise: a bridge from encoder to decoder states, the
// attentional vector of Luong et al.
func Tanh[T Float](tp *Tape, x *Tensor[T]) *Tensor[T] {
	out := output[T](tp, x.Shape...)
	tanhTo(out.Data, x.Data)
	tp.Record(func() {
		if out.Grad == nil {
			return
		}
		dx := x.EnsureGrad()
		for i, g := range out.Grad {
			y := out.Data[i]
			dx[i] += g * (1 - y*y)
		}
	})
	return out
}
