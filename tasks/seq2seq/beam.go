package seq2seq

import (
	"cmp"
	"slices"

	"github.com/seqkit/seqkit/nn"
	"github.com/seqkit/seqkit/pipeline"
)

// beam decodes a batch with beam search of width K, all sequences at once: each
// source has K rows in the decoder's batch. At every step the 2K best extensions
// of a source's live hypotheses are taken in order; one ending in <eos> is
// finished, the others fill the K live slots. A source is done when K hypotheses
// have finished or its length limit is reached (the live ones then count as
// finished). Hypotheses are ranked by log-probability over the length penalty.
func (t *Task) beam(b *pipeline.Batch, K int) [][]hypothesis {
	d := t.start(b)
	B, N := b.B, b.B*K
	d.expand(K)
	type live struct {
		tokens []int32
		score  float64
	}
	alive := make([][]live, B)
	for j := range alive {
		alive[j] = []live{{}}
	}
	finished := make([][]hypothesis, B)
	done := make([]bool, B)
	ids := make([]int32, N)
	for r := range ids {
		ids[r] = pipeline.BOSID
	}
	type cand struct {
		k     int
		id    int32
		score float64
	}
	var lp []float64
	var cands []cand
	for step := 0; ; step++ {
		lg, _ := d.step(ids)
		V := lg.Shape[2]
		parents := make([]int, N)
		next := make([]int32, N)
		for r := range parents {
			parents[r], next[r] = r, pipeline.PadID
		}
		for j := range B {
			if done[j] {
				continue
			}
			cands = cands[:0]
			for k, h := range alive[j] {
				lp = logSoftmax(lg.Data[(j*K+k)*V:(j*K+k+1)*V], lp)
				for id, v := range lp {
					if !banned(id) {
						cands = append(cands, cand{k, int32(id), h.score + v})
					}
				}
			}
			slices.SortFunc(cands, func(a, b cand) int {
				if c := cmp.Compare(b.score, a.score); c != 0 {
					return c
				}
				if c := cmp.Compare(a.k, b.k); c != 0 {
					return c
				}
				return cmp.Compare(a.id, b.id)
			})
			var keep []live
			for _, c := range cands[:min(len(cands), 2*K)] {
				if len(keep) == K {
					break
				}
				prev := alive[j][c.k].tokens
				if c.id == pipeline.EOSID {
					if len(finished[j]) < K {
						finished[j] = append(finished[j], t.hyp(slices.Clone(prev), c.score))
					}
					continue
				}
				r := j*K + len(keep)
				parents[r], next[r] = j*K+c.k, c.id
				keep = append(keep, live{append(slices.Clone(prev), c.id), c.score})
			}
			alive[j] = keep
			if len(finished[j]) >= K || len(keep) == 0 || step+1 >= t.maxLen(b.Lengths[j]) {
				if len(finished[j]) < K {
					for _, h := range keep[:min(len(keep), K-len(finished[j]))] {
						finished[j] = append(finished[j], t.hyp(h.tokens, h.score))
					}
				}
				done[j] = true
			}
		}
		nn.Recycle(lg) // read: its buffer serves the next step's logits
		if !slices.Contains(done, false) {
			break
		}
		d.reorder(parents)
		ids = next
	}
	for j := range finished {
		slices.SortStableFunc(finished[j], func(a, b hypothesis) int { return cmp.Compare(b.norm, a.norm) })
	}
	return finished
}

func (t *Task) hyp(tokens []int32, score float64) hypothesis {
	return hypothesis{tokens: tokens, score: score, norm: score / t.penalty(len(tokens))}
}

// expand repeats each sequence of the encoder outputs and decoder state K times:
// row j·K+k is a copy of row j.
func expand(m encoded, s decState, K int) (encoded, decState) {
	B := len(m.lengths)
	rows, lengths := make([]int, B*K), make([]int, B*K)
	for r := range rows {
		rows[r], lengths[r] = r/K, m.lengths[r/K]
	}
	return encoded{keys: nn.SelectBatch(m.keys, rows), lengths: lengths}, reorder(s, rows)
}

// reorder makes row r of the state a copy of row parents[r].
func reorder(s decState, parents []int) decState {
	return decState{st: s.st.Select(parents), feed: nn.SelectBatch(s.feed, parents)}
}
