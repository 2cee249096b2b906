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
// The backward pass uses the marginals of the forward-backward algorithm, computed
// in probability space with per-step scaling, in float64.
// Long on purpose: the forward algorithm, the gold path's score and the
// hand-derived backward pass share the per-step alphas; one function keeps the
// derivation readable top to bottom against the finite-difference check.
func (m *CRF[T]) NLL(tp *Tape, emissions *Tensor[T], tags []int32, lengths []int) *Tensor[T] {
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
