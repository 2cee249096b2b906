package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// refNLL is NLL as it was, one sequence at a time in float64 loops: the
// reference the batched NLL is held to. NLL is the negative log-likelihood of the gold tags under the CRF, summed over
// the sequences of a time-major batch and divided by the number of tokens (so its
// scale matches a per-token cross-entropy). emissions is [T, B, C], tags [T, B]
// with one tag per position of each sequence's length. A sequence that holds a
// negative tag (a tag unknown to the vocabulary) adds nothing.
//
// The backward pass uses the marginals of the forward-backward algorithm, computed
// in probability space with per-step scaling, in float64.
// Long on purpose: the forward algorithm, the gold path's score and the
// hand-derived backward pass share the per-step alphas; one function keeps the
// derivation readable top to bottom against the finite-difference check.
func (m *CRF[T]) refNLL(tp *Tape, emissions *Tensor[T], tags []int32, lengths []int) *Tensor[T] {
	B, C := emissions.Shape[1], m.C
	out := NewTensor[T](1)
	expT := m.expTrans()
	tokens := 0
	var total float64
	type seqCache struct {
		b         int
		alpha     []float64 // [L, C], normalised rows
		beta      []float64 // [L, C], normalised rows
		expE      []float64 // [L, C], exp(E - max)
		scale     []float64 // [L] forward normalisers
		betaScale []float64 // [L] backward normalisers
	}
	var caches []seqCache
	for b := range B {
		L := lengths[b]
		if L == 0 {
			continue
		}
		ok := true
		for t := range L {
			if y := tags[t*B+b]; y < 0 || int(y) >= C {
				ok = false
			}
		}
		if !ok {
			continue
		}
		tokens += L
		sc := seqCache{b: b, alpha: make([]float64, L*C), beta: make([]float64, L*C), expE: make([]float64, L*C),
			scale: make([]float64, L), betaScale: make([]float64, L)}
		// logZ = Σ log scale + Σ max, from the scaled forward pass.
		logZ := 0.0
		for t := range L {
			e := emissions.Data[(t*B+b)*C : (t*B+b+1)*C]
			mx := math.Inf(-1)
			for _, v := range e {
				mx = max(mx, float64(v))
			}
			logZ += mx
			ee := sc.expE[t*C : (t+1)*C]
			for j, v := range e {
				ee[j] = math.Exp(float64(v) - mx)
			}
			a := sc.alpha[t*C : (t+1)*C]
			if t == 0 {
				for j := range C {
					a[j] = math.Exp(float64(m.Start.Data[j])) * ee[j]
				}
			} else {
				// a = prev·expT row by row (each a[j] sums over i in order,
				// as a column walk would, but reading expT contiguously).
				prev := sc.alpha[(t-1)*C : t*C]
				clear(a)
				for i, p := range prev {
					row := expT[i*C : (i+1)*C]
					for j, v := range row {
						a[j] += p * v
					}
				}
				for j := range a {
					a[j] *= ee[j]
				}
			}
			z := 0.0
			for _, v := range a {
				z += v
			}
			for j := range a {
				a[j] /= z
			}
			sc.scale[t] = z
			logZ += math.Log(z)
		}
		last := sc.alpha[(L-1)*C : L*C]
		zEnd := 0.0
		for j := range C {
			zEnd += last[j] * math.Exp(float64(m.End.Data[j]))
		}
		logZ += math.Log(zEnd)
		// Gold score.
		gold := float64(m.Start.Data[tags[b]]) + float64(m.End.Data[tags[(L-1)*B+b]])
		for t := range L {
			y := int(tags[t*B+b])
			gold += float64(emissions.Data[(t*B+b)*C+y])
			if t > 0 {
				gold += float64(m.Trans.Data[int(tags[(t-1)*B+b])*C+y])
			}
		}
		total += logZ - gold
		if tp.Recording() {
			caches = append(caches, sc)
		}
	}
	if tokens > 0 {
		out.Data[0] = T(total / float64(tokens))
	}
	tp.Record(func() {
		if out.Grad == nil || tokens == 0 {
			return
		}
		g := float64(out.Grad[0]) / float64(tokens)
		dE := emissions.EnsureGrad()
		dTrans, dStart, dEnd := m.Trans.EnsureGrad(), m.Start.EnsureGrad(), m.End.EnsureGrad()
		expEnd := make([]float64, C)
		for j := range C {
			expEnd[j] = math.Exp(float64(m.End.Data[j]))
		}
		for _, sc := range caches {
			b := sc.b
			L := len(sc.scale)
			// Scaled backward pass: beta_t ∝ Σ_j expT[i,j]·expE[t+1,j]·beta_{t+1}[j].
			bl := sc.beta[(L-1)*C : L*C]
			z := 0.0
			for j := range C {
				bl[j] = expEnd[j]
				z += bl[j]
			}
			for j := range C {
				bl[j] /= z
			}
			sc.betaScale[L-1] = z
			tmp := make([]float64, C)
			for t := L - 2; t >= 0; t-- {
				next, ee := sc.beta[(t+1)*C:(t+2)*C], sc.expE[(t+1)*C:(t+2)*C]
				for j := range C {
					tmp[j] = ee[j] * next[j]
				}
				cur := sc.beta[t*C : (t+1)*C]
				z := 0.0
				for i := range C {
					s := 0.0
					row := expT[i*C : (i+1)*C]
					for j := range C {
						s += row[j] * tmp[j]
					}
					cur[i] = s
					z += s
				}
				for i := range C {
					cur[i] /= z
				}
				sc.betaScale[t] = z
			}
			// Unary marginals: p_t ∝ alpha_t ⊙ beta_t.
			for t := range L {
				a, bt := sc.alpha[t*C:(t+1)*C], sc.beta[t*C:(t+1)*C]
				z := 0.0
				for j := range C {
					tmp[j] = a[j] * bt[j]
					z += tmp[j]
				}
				d := dE[(t*B+b)*C : (t*B+b+1)*C]
				for j := range C {
					p := tmp[j] / z
					d[j] += T(g * p)
					if t == 0 {
						dStart[j] += T(g * p)
					}
					if t == L-1 {
						dEnd[j] += T(g * p)
					}
				}
				y := int(tags[t*B+b])
				d[y] -= T(g)
				if t == 0 {
					dStart[y] -= T(g)
				}
				if t == L-1 {
					dEnd[y] -= T(g)
				}
			}
			// Pair marginals: p_t(i,j) ∝ alpha_{t-1}[i]·expT[i,j]·expE_t[j]·beta_t[j].
			for t := 1; t < L; t++ {
				a, ee, bt := sc.alpha[(t-1)*C:t*C], sc.expE[t*C:(t+1)*C], sc.beta[t*C:(t+1)*C]
				for j := range C {
					tmp[j] = ee[j] * bt[j]
				}
				// z = Σ_i a[i]·Σ_j expT[i,j]·tmp[j], and the inner sum is the
				// backward pass's beta_{t-1}[i] before its normalisation.
				prevBeta := sc.beta[(t-1)*C : t*C]
				z := 0.0
				for i, v := range a {
					z += v * prevBeta[i]
				}
				z *= sc.betaScale[t-1]
				for i := range C {
					if a[i] == 0 {
						continue
					}
					row, dr := expT[i*C:(i+1)*C], dTrans[i*C:(i+1)*C]
					f := g * a[i] / z
					for j := range C {
						dr[j] += T(f * row[j] * tmp[j])
					}
				}
				dTrans[int(tags[(t-1)*B+b])*C+int(tags[t*B+b])] -= T(g)
			}
		}
	})
	return out
}

// crfCase is a random batch of B sequences of up to T tokens over C tags:
// one of length 0 and one with an unknown tag, both left out.
func crfCase[T Float](rng *rand.Rand, steps, B, C int) (*CRF[T], *Tensor[T], []int32, []int) {
	crf := NewCRF[T]("crf", C, rng)
	for _, p := range crf.Params() {
		Uniform(p.Data, 2, rng)
	}
	em := NewTensor[T](steps, B, C)
	Uniform(em.Data, 4, rng)
	lengths := make([]int, B)
	tags := make([]int32, steps*B)
	for b := range B {
		lengths[b] = 1 + rng.IntN(steps)
	}
	lengths[0], lengths[B-1] = 0, steps
	for t := range steps {
		for b := range B {
			tags[t*B+b] = -1
			if t < lengths[b] {
				tags[t*B+b] = int32(rng.IntN(C))
			}
		}
	}
	tags[1] = -1 // sequence 1 holds an unknown tag
	return crf, em, tags, lengths
}

// TestCRFAgainstReference: the batched NLL and its gradients are the
// one-sequence-at-a-time reference's, to rounding: in float64 closely, in
// float32 (whose reference still sums in float64) to float32's precision.
func TestCRFAgainstReference(t *testing.T) {
	check := func(name string, got, want []float64, tol float64) {
		t.Helper()
		for i := range got {
			if d := math.Abs(got[i] - want[i]); d > tol*(1+math.Abs(want[i])) || math.IsNaN(got[i]) {
				t.Fatalf("%s[%d] = %v, reference %v", name, i, got[i], want[i])
			}
		}
	}
	rng := rand.New(rand.NewPCG(9, 9))
	for _, shape := range [][3]int{{9, 7, 13}, {1, 3, 5}, {20, 16, 127}} {
		for _, f32 := range []bool{false, true} {
			var loss, refLoss []float64
			var grads, refGrads [][]float64
			if f32 {
				crf, em, tags, lengths := crfCase[float32](rng, shape[0], shape[1], shape[2])
				loss, grads = crfGrads(crf, em, func(tp *Tape) *Tensor[float32] { return crf.NLL(tp, em, tags, lengths) })
				refLoss, refGrads = crfGrads(crf, em, func(tp *Tape) *Tensor[float32] { return crf.refNLL(tp, em, tags, lengths) })
			} else {
				crf, em, tags, lengths := crfCase[float64](rng, shape[0], shape[1], shape[2])
				loss, grads = crfGrads(crf, em, func(tp *Tape) *Tensor[float64] { return crf.NLL(tp, em, tags, lengths) })
				refLoss, refGrads = crfGrads(crf, em, func(tp *Tape) *Tensor[float64] { return crf.refNLL(tp, em, tags, lengths) })
			}
			tol := 1e-12
			if f32 {
				tol = 2e-5
			}
			check(fmt.Sprintf("%v float32=%v loss", shape, f32), loss, refLoss, tol)
			for i := range grads {
				check(fmt.Sprintf("%v float32=%v grad %d", shape, f32, i), grads[i], refGrads[i], tol)
			}
		}
	}
}

// crfGrads runs nll forward and backward and returns its value and the
// gradients of the CRF's parameters and the emissions, in float64.
func crfGrads[T Float](crf *CRF[T], em *Tensor[T], nll func(*Tape) *Tensor[T]) ([]float64, [][]float64) {
	ps := append(crf.Params(), em)
	for _, p := range ps {
		p.Grad = nil
	}
	tp := new(Tape)
	out := nll(tp)
	out.Grad = []T{1}
	tp.Replay()
	var grads [][]float64
	for _, p := range ps {
		g := make([]float64, len(p.Data))
		for i := range g {
			if p.Grad != nil {
				g[i] = float64(p.Grad[i])
			}
		}
		grads = append(grads, g)
	}
	return []float64{float64(out.Data[0])}, grads
}

func BenchmarkCRF(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, c := range []struct {
		name    string
		T, B, C int
	}{{"atis-20x16x127", 20, 16, 127}, {"conll-30x32x22", 30, 32, 22}} {
		crf, em, tags, lengths := crfCase[float32](rng, c.T, c.B, c.C)
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				crfGrads(crf, em, func(tp *Tape) *Tensor[float32] { return crf.NLL(tp, em, tags, lengths) })
			}
		})
		b.Run(c.name+"/reference", func(b *testing.B) {
			for b.Loop() {
				crfGrads(crf, em, func(tp *Tape) *Tensor[float32] { return crf.refNLL(tp, em, tags, lengths) })
			}
		})
	}
}

// TestCRFLargeScores: scores whose exponentials overflow float32 (exp(100))
// leave the NLL finite, and since a constant added to every transition adds
// the same to every path of a sequence, the NLL and gradients do not move.
func TestCRFLargeScores(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	crf, em, tags, lengths := crfCase[float32](rng, 12, 6, 9)
	loss, grads := crfGrads(crf, em, func(tp *Tape) *Tensor[float32] { return crf.NLL(tp, em, tags, lengths) })
	for i := range crf.Trans.Data {
		crf.Trans.Data[i] += 100
	}
	for i := range crf.Start.Data {
		crf.Start.Data[i] += 120
		crf.End.Data[i] += 90
	}
	shifted, sgrads := crfGrads(crf, em, func(tp *Tape) *Tensor[float32] { return crf.NLL(tp, em, tags, lengths) })
	if math.IsNaN(shifted[0]) || math.Abs(shifted[0]-loss[0]) > 1e-3*(1+math.Abs(loss[0])) {
		t.Fatalf("NLL %v with the scores shifted, %v without", shifted[0], loss[0])
	}
	for k := range grads {
		for i := range grads[k] {
			if d := math.Abs(sgrads[k][i] - grads[k][i]); d > 1e-4 || math.IsNaN(sgrads[k][i]) {
				t.Fatalf("gradient %d[%d]: %v shifted, %v not", k, i, sgrads[k][i], grads[k][i])
			}
		}
	}
}
