package nn_test

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/seqkit/seqkit/nn"
	"github.com/seqkit/seqkit/nn/nntest"
)

// crfBatch is a batch of three sequences (lengths 4, 1, 3) over 4 tags.
func crfBatch(rng *rand.Rand) (*nn.CRF[float64], *nn.Tensor[float64], []int32, []int) {
	const T, B, C = 4, 3, 4
	crf := nn.NewCRF[float64]("crf", C, rng)
	for _, p := range crf.Params() {
		nn.Uniform(p.Data, 1, rng)
	}
	em := nntest.RandTensor[float64](rng, T, B, C)
	lengths := []int{4, 1, 3}
	tags := make([]int32, T*B)
	for t := range T {
		for b := range B {
			tags[t*B+b] = -1
			if t < lengths[b] {
				tags[t*B+b] = int32(rng.IntN(C))
			}
		}
	}
	return crf, em, tags, lengths
}

// scorePath is the CRF score of one tag sequence of sequence b.
func scorePath(crf *nn.CRF[float64], em *nn.Tensor[float64], b int, path []int32) float64 {
	B, C := em.Shape[1], crf.C
	s := crf.Start.Data[path[0]] + crf.End.Data[path[len(path)-1]]
	for t, y := range path {
		s += em.Data[(t*B+b)*C+int(y)]
		if t > 0 {
			s += crf.Trans.Data[int(path[t-1])*C+int(y)]
		}
	}
	return s
}

// allPaths enumerates every tag sequence of length L over C tags.
func allPaths(L, C int) [][]int32 {
	paths := [][]int32{{}}
	for range L {
		var next [][]int32
		for _, p := range paths {
			for c := range C {
				next = append(next, append(slices.Clone(p), int32(c)))
			}
		}
		paths = next
	}
	return paths
}

// TestCRFNLLBruteForce compares the NLL with log Σ exp(score) over every path.
func TestCRFNLLBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 1))
	crf, em, tags, lengths := crfBatch(rng)
	want, tokens := 0.0, 0
	for b, L := range lengths {
		var scores []float64
		for _, p := range allPaths(L, crf.C) {
			scores = append(scores, scorePath(crf, em, b, p))
		}
		mx := slices.Max(scores)
		z := 0.0
		for _, s := range scores {
			z += math.Exp(s - mx)
		}
		gold := make([]int32, L)
		for i := range L {
			gold[i] = tags[i*3+b]
		}
		want += mx + math.Log(z) - scorePath(crf, em, b, gold)
		tokens += L
	}
	want /= float64(tokens)
	if got := crf.NLL(nil, em, tags, lengths).Data[0]; math.Abs(got-want) > 1e-9 {
		t.Fatalf("NLL %v, brute force %v", got, want)
	}
}

func TestCRFGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 1))
	crf, em, tags, lengths := crfBatch(rng)
	loss := func(tp *nn.Tape) *nn.Tensor[float64] { return crf.NLL(tp, em, tags, lengths) }
	nntest.GradCheck(t, append(crf.Params(), em), loss, nntest.GradTol)
}

// TestCRFDecode checks Viterbi and n-best decoding against enumeration, with and
// without a forbidden transition.
func TestCRFDecode(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 1))
	crf, em, _, lengths := crfBatch(rng)
	C := crf.C
	forbid := nn.Allowed{Trans: make([]bool, C*C), StartOK: []bool{true, true, false, true}}
	for i := range forbid.Trans {
		forbid.Trans[i] = i != 1*C+2 // tag 2 may not follow tag 1
	}
	// Nothing may start: no path at all.
	none := nn.Allowed{StartOK: make([]bool, C)}
	endForbid := nn.Allowed{EndOK: []bool{false, true, true, false}}
	// n = 1 takes the Viterbi path, n > 1 the n-best search: both against brute force.
	for _, nbest := range []int{1, 5} {
		for _, allowed := range []nn.Allowed{{}, forbid, none, endForbid} {
			got := crf.Decode(em, lengths, allowed, nbest)
			for b, L := range lengths {
				type scored struct {
					p []int32
					s float64
				}
				var all []scored
				for _, p := range allPaths(L, C) {
					ok := allowed.StartOK == nil || allowed.StartOK[p[0]]
					ok = ok && (allowed.EndOK == nil || allowed.EndOK[p[L-1]])
					for i := 1; i < L && allowed.Trans != nil; i++ {
						ok = ok && allowed.Trans[int(p[i-1])*C+int(p[i])]
					}
					if ok {
						all = append(all, scored{p, scorePath(crf, em, b, p)})
					}
				}
				slices.SortFunc(all, func(x, y scored) int { return -cmpFloat(x.s, y.s) })
				n := min(nbest, len(all))
				if len(got[b]) != n {
					t.Fatalf("n=%d seq %d: %d paths, want %d", nbest, b, len(got[b]), n)
				}
				for k := range n {
					if math.Abs(got[b][k].Score-all[k].s) > 1e-9 || math.Abs(scorePath(crf, em, b, got[b][k].Tags)-all[k].s) > 1e-9 {
						t.Errorf("n=%d seq %d rank %d: %v %.6f, want score %.6f (%v)", nbest, b, k, got[b][k].Tags, got[b][k].Score, all[k].s, all[k].p)
					}
				}
			}
		}
	}
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
