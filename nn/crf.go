package nn

import (
	"container/heap"
	"math"
	"math/rand/v2"
)

// CRF is a linear-chain conditional random field over C tags (Lafferty et al.
// 2001), the output layer of a BiLSTM-CRF tagger (Huang et al. 2015). A tag
// sequence y of length L scores
//
//	start[y₀] + Σₜ E[t, yₜ] + Σₜ₌₁ trans[yₜ₋₁, yₜ] + end[y_L₋₁]
//
// where E are the emissions (the encoder's logits). Trans is stored [from, to].
type CRF[T Float] struct {
	Trans, Start, End *Tensor[T]
	C                 int
}

// NewCRF returns a CRF over c tags with small random transition scores
// (name.transitions, name.start_transitions, name.end_transitions, as
// pytorch-crf names them).
func NewCRF[T Float](name string, c int, rng *rand.Rand) *CRF[T] {
	m := &CRF[T]{Trans: NewTensor[T](c, c), Start: NewTensor[T](c), End: NewTensor[T](c), C: c}
	m.Trans.Name, m.Start.Name, m.End.Name = name+".transitions", name+".start_transitions", name+".end_transitions"
	for _, t := range m.Params() {
		Uniform(t.Data, 0.1, rng)
	}
	return m
}

// Params are the trainable tensors.
func (m *CRF[T]) Params() []*Tensor[T] { return []*Tensor[T]{m.Trans, m.Start, m.End} }

// NLL is the negative log-likelihood of the gold tags under the CRF, summed over
// the sequences of a time-major batch and divided by the number of tokens (so its
// scale matches a per-token cross-entropy). emissions is [T, B, C], tags [T, B]
// with one tag per position of each sequence's length. A sequence that holds a
// negative tag (a tag unknown to the vocabulary) adds nothing.
//
// The forward-backward algorithm runs in probability space with per-step
// scaling, over the whole batch at once: a step of the forward pass is one
// product [B, C]·[C, C] of the alphas by exp(Trans), a step of the backward
// pass one of the betas by its transpose, and the gradient of the
// transitions one [C, B]·[B, C] per step. One sequence at a time, in scalar
// loops, the CRF was a fifth of an ATIS training epoch (127 tags).
// Long on purpose: the forward algorithm, the gold path's score and the
// hand-derived backward pass share the per-step alphas; one function keeps the
// derivation readable top to bottom against the finite-difference check.
func (m *CRF[T]) NLL(tp *Tape, emissions *Tensor[T], tags []int32, lengths []int) *Tensor[T] {
	B, C := emissions.Shape[1], m.C
	out := NewTensor[T](1)
	// lens[b] is the length of sequence b, 0 for one left out.
	lens, steps, tokens := make([]int, B), 0, 0
	for b := range B {
		L, ok := lengths[b], true
		for t := range L {
			if y := tags[t*B+b]; y < 0 || int(y) >= C {
				ok = false
			}
		}
		if ok && L > 0 {
			lens[b], steps, tokens = L, max(steps, L), tokens+L
		}
	}
	if tokens == 0 {
		return out
	}
	// exp of the scores less their largest, as the emissions: no float32
	// overflow whatever a score grows to. A sequence's log Z gets the
	// shifts back: mS + (L-1)·mT + mE.
	mT, mS, mE := maxOf(m.Trans.Data), maxOf(m.Start.Data), maxOf(m.End.Data)
	expT := make([]T, C*C)
	expShiftTo(expT, m.Trans.Data, mT)
	expStart, expEnd := make([]T, C), make([]T, C)
	expShiftTo(expStart, m.Start.Data, mS)
	expShiftTo(expEnd, m.End.Data, mE)
	// alpha, beta and expE are [steps, B, C]: normalised rows, zero past a
	// sequence's end; expE is exp(E - the row's max).
	n := steps * B * C
	alpha, expE := make([]T, n), make([]T, n)
	// exp(Trans) multiplies every step: packed once (and its transpose for
	// the backward pass, when there is one).
	fwd := Pack(false, C, C, expT, C)
	logZ := make([]float64, B)
	for t := range steps {
		for b, L := range lens {
			if t >= L {
				continue
			}
			o := (t*B + b) * C
			e := emissions.Data[o : o+C]
			mx := maxOf(e)
			logZ[b] += float64(mx)
			expShiftTo(expE[o:o+C], e, mx)
		}
		a := alpha[t*B*C : (t+1)*B*C]
		if t == 0 {
			for b := range B {
				for j := range C {
					a[b*C+j] = expStart[j] * expE[b*C+j]
				}
			}
		} else {
			GemmPacked(B, 1, alpha[(t-1)*B*C:t*B*C], C, fwd, 0, a, C)
			mul(a, expE[t*B*C:(t+1)*B*C])
		}
		for b, L := range lens {
			row := a[b*C : (b+1)*C]
			if t >= L {
				clear(row)
				continue
			}
			z := sum64(row)
			scaleBy(row, T(1/z))
			logZ[b] += math.Log(z)
		}
	}
	var total float64
	for b, L := range lens {
		if L == 0 {
			continue
		}
		last := alpha[((L-1)*B+b)*C : ((L-1)*B+b+1)*C]
		zEnd := 0.0
		for j := range C {
			zEnd += float64(last[j]) * float64(expEnd[j])
		}
		gold := float64(m.Start.Data[tags[b]]) + float64(m.End.Data[tags[(L-1)*B+b]])
		for t := range L {
			y := int(tags[t*B+b])
			gold += float64(emissions.Data[(t*B+b)*C+y])
			if t > 0 {
				gold += float64(m.Trans.Data[int(tags[(t-1)*B+b])*C+y])
			}
		}
		shift := float64(mS) + float64(L-1)*float64(mT) + float64(mE)
		total += logZ[b] + shift + math.Log(zEnd) - gold
	}
	out.Data[0] = T(total / float64(tokens))
	tp.Record(func() {
		if out.Grad == nil {
			return
		}
		g := float64(out.Grad[0]) / float64(tokens)
		dE := emissions.EnsureGrad()
		dTrans, dStart, dEnd := m.Trans.EnsureGrad(), m.Start.EnsureGrad(), m.End.EnsureGrad()
		// Scaled backward pass: beta_t ∝ expT·(expE_{t+1} ⊙ beta_{t+1}),
		// beta at a sequence's last step ∝ exp(End). next[t] holds
		// expE_t ⊙ beta_t, which the pair marginals use too.
		beta, next := make([]T, n), make([]T, n)
		betaScale := make([]float64, steps*B)
		bwd := Pack(true, C, C, expT, C)
		for t := steps - 1; t >= 0; t-- {
			bt := beta[t*B*C : (t+1)*B*C]
			if t < steps-1 {
				GemmPacked(B, 1, next[(t+1)*B*C:(t+2)*B*C], C, bwd, 0, bt, C)
			}
			for b, L := range lens {
				row := bt[b*C : (b+1)*C]
				switch {
				case t >= L:
					clear(row)
					continue
				case t == L-1:
					copy(row, expEnd)
				}
				z := sum64(row)
				scaleBy(row, T(1/z))
				betaScale[t*B+b] = z
			}
			nt := next[t*B*C : (t+1)*B*C]
			copy(nt, bt)
			mul(nt, expE[t*B*C:(t+1)*B*C])
		}
		// Unary marginals: p_t ∝ alpha_t ⊙ beta_t.
		p := make([]T, C)
		for t := range steps {
			for b, L := range lens {
				if t >= L {
					continue
				}
				o := (t*B + b) * C
				copy(p, alpha[o:o+C])
				mul(p, beta[o:o+C])
				f := g / sum64(p)
				d := dE[o : o+C]
				for j, v := range p {
					q := T(f * float64(v))
					d[j] += q
					if t == 0 {
						dStart[j] += q
					}
					if t == L-1 {
						dEnd[j] += q
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
				if t > 0 {
					dTrans[int(tags[(t-1)*B+b])*C+y] -= T(g)
				}
			}
		}
		// Pair marginals: p_t(i,j) = alpha_{t-1}[i]·expT[i,j]·next_t[j] / z,
		// z = Σ_i alpha_{t-1}[i]·beta_{t-1}[i]·betaScale_{t-1} (the inner sum
		// over j is the backward pass's beta_{t-1} before its normalisation).
		// Σ over t and the batch of alpha_{t-1}ᵀ/z · next_t, times expT.
		pair, scaled := make([]T, C*C), make([]T, B*C)
		for t := 1; t < steps; t++ {
			for b, L := range lens {
				row := scaled[b*C : (b+1)*C]
				if t >= L {
					clear(row)
					continue
				}
				o := ((t-1)*B + b) * C
				a, pb := alpha[o:o+C], beta[o:o+C]
				z := 0.0
				for i, v := range a {
					z += float64(v) * float64(pb[i])
				}
				z *= betaScale[(t-1)*B+b]
				copy(row, a)
				scaleBy(row, T(g/z))
			}
			Gemm(true, false, C, C, B, 1, scaled, C, next[t*B*C:(t+1)*B*C], C, 1, pair, C)
		}
		for i, v := range pair {
			dTrans[i] += v * expT[i]
		}
	})
	return out
}

func (m *CRF[T]) expTrans() []float64 {
	e := make([]float64, len(m.Trans.Data))
	for i, v := range m.Trans.Data {
		e[i] = math.Exp(float64(v))
	}
	return e
}

// Allowed restricts decoding: Allowed[i*C+j] says whether tag j may follow tag i,
// StartOK and EndOK whether a sequence may start or end with a tag. A nil field
// allows everything.
type Allowed struct {
	Trans, StartOK, EndOK []bool
}

// Path is a decoded tag sequence and its score.
type Path struct {
	Tags  []int32
	Score float64
}

// Decode returns the best tag sequence of each sequence of a time-major batch of
// emissions [T, B, C] (Viterbi), or the n best when n > 1 (best first), obeying
// the allowed transitions.
// Long on purpose: Viterbi and its n-best extension share the
// back-pointer tables and the constraint masks; split, they would pass them all.
func (m *CRF[T]) Decode(emissions *Tensor[T], lengths []int, allowed Allowed, n int) [][]Path {
	B, C := emissions.Shape[1], m.C
	n = max(n, 1)
	out := make([][]Path, B)
	inf := math.Inf(-1)
	trans := make([]float64, C*C)
	for i, v := range m.Trans.Data {
		trans[i] = float64(v)
		if allowed.Trans != nil && !allowed.Trans[i] {
			trans[i] = inf
		}
	}
	if n == 1 {
		for b := range B {
			if p, ok := m.viterbi(emissions, b, lengths[b], trans, allowed); ok {
				out[b] = []Path{p}
			} else {
				out[b] = []Path{} // no allowed path, as the n-best search finds
			}
		}
		return out
	}
	for b := range B {
		L := lengths[b]
		if L == 0 {
			out[b] = []Path{{Tags: []int32{}}}
			continue
		}
		// beams[t][j] holds up to n partial paths ending in j at t, best first.
		type entry struct {
			score float64
			prev  int // tag at t-1
			rank  int // rank in beams[t-1][prev]
		}
		beams := make([][][]entry, L)
		emit := func(t, j int) float64 { return float64(emissions.Data[(t*B+b)*C+j]) }
		beams[0] = make([][]entry, C)
		for j := range C {
			s := float64(m.Start.Data[j]) + emit(0, j)
			if allowed.StartOK != nil && !allowed.StartOK[j] {
				s = inf
			}
			beams[0][j] = []entry{{s, -1, 0}}
		}
		h := &entryHeap{} // reused for every (t, j)
		for t := 1; t < L; t++ {
			beams[t] = make([][]entry, C)
			for j := range C {
				*h = (*h)[:0]
				for i := range C {
					tr := trans[i*C+j]
					if tr == inf {
						continue
					}
					for r, e := range beams[t-1][i] {
						if e.score == inf {
							continue
						}
						s := e.score + tr
						if h.Len() < n {
							heap.Push(h, heapItem{s, i, r})
						} else if s > (*h)[0].score {
							(*h)[0] = heapItem{s, i, r}
							heap.Fix(h, 0)
						}
					}
				}
				items := make([]entry, h.Len())
				for k := len(items) - 1; k >= 0; k-- {
					it := heap.Pop(h).(heapItem)
					items[k] = entry{it.score + emit(t, j), it.prev, it.rank}
				}
				if len(items) == 0 {
					items = []entry{{inf, -1, 0}}
				}
				beams[t][j] = items
			}
		}
		// Final: add end scores and take the n best over all tags and ranks.
		*h = (*h)[:0]
		for j := range C {
			end := float64(m.End.Data[j])
			if allowed.EndOK != nil && !allowed.EndOK[j] {
				end = inf
			}
			for r, e := range beams[L-1][j] {
				s := e.score + end
				if s == inf {
					continue
				}
				if h.Len() < n {
					heap.Push(h, heapItem{s, j, r})
				} else if s > (*h)[0].score {
					(*h)[0] = heapItem{s, j, r}
					heap.Fix(h, 0)
				}
			}
		}
		paths := make([]Path, h.Len())
		for k := len(paths) - 1; k >= 0; k-- {
			it := heap.Pop(h).(heapItem)
			tags := make([]int32, L)
			j, r := it.prev, it.rank
			for t := L - 1; t >= 0; t-- {
				tags[t] = int32(j)
				e := beams[t][j][r]
				j, r = e.prev, e.rank
			}
			paths[k] = Path{Tags: tags, Score: it.score}
		}
		out[b] = paths
	}
	return out
}

// viterbi is Decode's n = 1 for sequence b of length L: the same scores and, on
// ties, the same choice (the first best in tag order) as the n-best search,
// without its heap and per-step allocations. Predicting with a CRF tagger spent
// a third of its time in the heap.
func (m *CRF[T]) viterbi(emissions *Tensor[T], b, L int, trans []float64, allowed Allowed) (Path, bool) {
	B, C := emissions.Shape[1], m.C
	if L == 0 {
		return Path{Tags: []int32{}}, true
	}
	inf := math.Inf(-1)
	emit := func(t, j int) float64 { return float64(emissions.Data[(t*B+b)*C+j]) }
	score, next := make([]float64, C), make([]float64, C)
	back := make([]int32, L*C) // back[t*C+j]: the tag at t-1 of the best path to j at t
	for j := range C {
		score[j] = float64(m.Start.Data[j]) + emit(0, j)
		if allowed.StartOK != nil && !allowed.StartOK[j] {
			score[j] = inf
		}
	}
	for t := 1; t < L; t++ {
		for j := range C {
			best, arg := inf, -1
			for i, sc := range score {
				tr := trans[i*C+j]
				if tr == inf || sc == inf {
					continue
				}
				if v := sc + tr; arg < 0 || v > best {
					best, arg = v, i
				}
			}
			back[t*C+j] = int32(arg)
			if arg < 0 {
				next[j] = inf
				continue
			}
			next[j] = best + emit(t, j)
		}
		score, next = next, score
	}
	best, arg := inf, -1
	for j, sc := range score {
		end := float64(m.End.Data[j])
		if allowed.EndOK != nil && !allowed.EndOK[j] {
			end = inf
		}
		if v := sc + end; v != inf && (arg < 0 || v > best) {
			best, arg = v, j
		}
	}
	if arg < 0 {
		return Path{}, false
	}
	tags := make([]int32, L)
	for t := L - 1; t >= 0; t-- {
		tags[t] = int32(arg)
		arg = int(back[t*C+arg])
	}
	return Path{Tags: tags, Score: best}, true
}

type heapItem struct {
	score      float64
	prev, rank int
}

// entryHeap is a min-heap by score, holding the n best seen so far.
type entryHeap []heapItem

func (h entryHeap) Len() int           { return len(h) }
func (h entryHeap) Less(i, j int) bool { return h[i].score < h[j].score }
func (h entryHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *entryHeap) Push(x any)        { *h = append(*h, x.(heapItem)) }
func (h *entryHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
