package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Pooling turns the outputs of a recurrent stack over time into one vector per
// sequence, for many-to-one tasks.
type Pooling int

const (
	// PoolLast takes the output at each sequence's last token; for a
	// bidirectional output [T, B, 2H] the backward half is taken at the first
	// token, where the backward direction ends.
	PoolLast Pooling = iota
	PoolMean         // mean over the sequence's tokens
	PoolMax          // element-wise max over the sequence's tokens
)

// ParsePooling reads "last", "mean" or "max".
func ParsePooling(s string) (Pooling, error) {
	switch s {
	case "last":
		return PoolLast, nil
	case "mean":
		return PoolMean, nil
	case "max":
		return PoolMax, nil
	}
	return 0, fmt.Errorf("nn: unknown pooling %q (last, mean, max)", s)
}

// Pool reduces x [T, B, D] over time to [B, D], using only the first lengths[b]
// steps of sequence b. bidirectional matters only for PoolLast. A sequence of
// length 0 pools to zeros.
func Pool[T Float](tp *Tape, x *Tensor[T], lengths []int, mode Pooling, bidirectional bool) *Tensor[T] {
	B, D := x.Shape[1], x.Shape[2]
	out := NewTensor[T](B, D)
	// src[b*D+d] is the time step each output element came from (last and max).
	src := make([]int, B*D)
	for b := range B {
		L := lengths[b]
		o := out.Data[b*D : (b+1)*D]
		if L == 0 {
			continue
		}
		at := func(t, d int) T { return x.Data[(t*B+b)*D+d] }
		switch mode {
		case PoolLast:
			for d := range D {
				t := L - 1
				if bidirectional && d >= D/2 {
					t = 0
				}
				o[d], src[b*D+d] = at(t, d), t
			}
		case PoolMean:
			for t := range L {
				for d := range D {
					o[d] += at(t, d)
				}
			}
			for d := range D {
				o[d] /= T(L)
			}
		case PoolMax:
			for d := range D {
				best, bt := at(0, d), 0
				for t := 1; t < L; t++ {
					if v := at(t, d); v > best {
						best, bt = v, t
					}
				}
				o[d], src[b*D+d] = best, bt
			}
		}
	}
	tp.Record(func() {
		if out.Grad == nil {
			return
		}
		gx := x.EnsureGrad()
		for b := range B {
			L := lengths[b]
			if L == 0 {
				continue
			}
			g := out.Grad[b*D : (b+1)*D]
			switch mode {
			case PoolMean:
				for t := range L {
					row := gx[(t*B+b)*D : (t*B+b+1)*D]
					for d := range D {
						row[d] += g[d] / T(L)
					}
				}
			default:
				for d := range D {
					gx[(src[b*D+d]*B+b)*D+d] += g[d]
				}
			}
		}
	})
	return out
}

// AttnPool is attention pooling (Yang et al. 2016, without the hierarchy):
// uₜ = tanh(W xₜ + b), αₜ = softmax over the sequence of v·uₜ, output Σ αₜ xₜ.
type AttnPool[T Float] struct {
	Proj *Linear[T]
	V    *Tensor[T]
}

// NewAttnPool returns attention pooling over inputs of size d with an attention
// layer of size a (name.proj.weight, name.proj.bias, name.v).
func NewAttnPool[T Float](name string, d, a int, rng *rand.Rand) *AttnPool[T] {
	v := NewTensor[T](a)
	v.Name = name + ".v"
	Uniform(v.Data, 1/math.Sqrt(float64(a)), rng)
	return &AttnPool[T]{Proj: NewLinear[T](name+".proj", d, a, rng), V: v}
}

// Params are the trainable tensors.
func (p *AttnPool[T]) Params() []*Tensor[T] { return append(p.Proj.Params(), p.V) }

// Forward pools x [T, B, D] to [B, D] and also returns the weights [T, B] (zero
// beyond each sequence's length).
func (p *AttnPool[T]) Forward(tp *Tape, x *Tensor[T], lengths []int) (*Tensor[T], []T) {
	Tn, B, D := x.Shape[0], x.Shape[1], x.Shape[2]
	A := p.V.Len()
	u := p.Proj.Forward(tp, x) // [T, B, A]
	th := make([]T, len(u.Data))
	for i, v := range u.Data {
		th[i] = T(math.Tanh(float64(v)))
	}
	alpha := make([]T, Tn*B)
	out := NewTensor[T](B, D)
	for b := range B {
		L := lengths[b]
		if L == 0 {
			continue
		}
		mx := math.Inf(-1)
		for t := range L {
			s := 0.0
			row := th[(t*B+b)*A : (t*B+b+1)*A]
			for k, v := range row {
				s += float64(v) * float64(p.V.Data[k])
			}
			alpha[t*B+b] = T(s)
			mx = max(mx, s)
		}
		z := 0.0
		for t := range L {
			e := math.Exp(float64(alpha[t*B+b]) - mx)
			alpha[t*B+b] = T(e)
			z += e
		}
		o := out.Data[b*D : (b+1)*D]
		for t := range L {
			alpha[t*B+b] /= T(z)
			a := alpha[t*B+b]
			xr := x.Data[(t*B+b)*D : (t*B+b+1)*D]
			for d := range D {
				o[d] += a * xr[d]
			}
		}
	}
	tp.Record(func() {
		if out.Grad == nil {
			return
		}
		gx, gu, gv := x.EnsureGrad(), u.EnsureGrad(), p.V.EnsureGrad()
		for b := range B {
			L := lengths[b]
			if L == 0 {
				continue
			}
			g := out.Grad[b*D : (b+1)*D]
			// dα_t = g·x_t; ds_t = α_t (dα_t − Σ α dα).
			dAlpha := make([]float64, L)
			dot := 0.0
			for t := range L {
				xr := x.Data[(t*B+b)*D : (t*B+b+1)*D]
				s := 0.0
				for d := range D {
					s += float64(g[d]) * float64(xr[d])
				}
				dAlpha[t] = s
				dot += float64(alpha[t*B+b]) * s
			}
			for t := range L {
				a := alpha[t*B+b]
				gr := gx[(t*B+b)*D : (t*B+b+1)*D]
				for d := range D {
					gr[d] += a * g[d]
				}
				ds := T(float64(a) * (dAlpha[t] - dot))
				row := th[(t*B+b)*A : (t*B+b+1)*A]
				gur := gu[(t*B+b)*A : (t*B+b+1)*A]
				for k := range A {
					gv[k] += ds * row[k]
					gur[k] += ds * p.V.Data[k] * (1 - row[k]*row[k])
				}
			}
		}
	})
	return out, alpha
}
