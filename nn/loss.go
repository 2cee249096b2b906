package nn

import (
	"fmt"
	"math"
)

// CEOptions tunes [CrossEntropy]. The zero value is the plain mean over tokens.
type CEOptions struct {
	// LabelSmoothing ε mixes the one-hot target with the uniform distribution:
	// q = (1-ε)·onehot + ε/C, as torch.nn.CrossEntropyLoss(label_smoothing=ε).
	LabelSmoothing float64
	// Sequences, when positive, divides the summed loss by this number of sequences
	// (mean per sequence) instead of by the number of counted tokens.
	Sequences int
}

// CrossEntropy is the softmax cross-entropy of logits [..., C] against one class id
// per row. Rows whose target equals ignoreIndex, or is negative, are masked out:
// they add nothing to the loss and get zero gradient. It returns a scalar: the summed
// loss divided by the number of counted rows (or by opts.Sequences). With no counted
// row the loss is 0.
func CrossEntropy[T Float](tp *Tape, logits *Tensor[T], targets []int32, ignoreIndex int32, opts CEOptions) *Tensor[T] {
	n, C := lastDim(logits.Shape)
	if len(targets) != n {
		panic(fmt.Sprintf("nn: CrossEntropy: %d targets for %d rows", len(targets), n))
	}
	eps := opts.LabelSmoothing
	probs := make([]T, n*C)
	var total float64
	count := 0
	for i, y := range targets {
		if y < 0 || y == ignoreIndex {
			continue
		}
		if int(y) >= C {
			panic(fmt.Sprintf("nn: CrossEntropy: target %d at row %d outside [0, %d)", y, i, C))
		}
		count++
		row, p := logits.Data[i*C:(i+1)*C], probs[i*C:(i+1)*C]
		m := float64(row[0])
		for _, v := range row {
			m = max(m, float64(v))
		}
		var sum float64
		for j, v := range row {
			e := math.Exp(float64(v) - m)
			p[j] = T(e)
			sum += e
		}
		logZ := m + math.Log(sum)
		for j := range p {
			p[j] = T(float64(p[j]) / sum)
		}
		nll := logZ - float64(row[y])
		if eps > 0 {
			var meanNLL float64
			for _, v := range row {
				meanNLL += logZ - float64(v)
			}
			nll = (1-eps)*nll + eps*meanNLL/float64(C)
		}
		total += nll
	}
	norm := float64(count)
	if opts.Sequences > 0 {
		norm = float64(opts.Sequences)
	}
	loss := NewTensor[T](1)
	if norm > 0 {
		loss.Data[0] = T(total / norm)
	}
	tp.Record(func() {
		if loss.Grad == nil || norm == 0 {
			return
		}
		scale := loss.Grad[0] / T(norm)
		dx := logits.EnsureGrad()
		off := T(eps / float64(C))
		for i, y := range targets {
			if y < 0 || y == ignoreIndex {
				continue
			}
			p, d := probs[i*C:(i+1)*C], dx[i*C:(i+1)*C]
			for j, v := range p {
				d[j] += scale * (v - off)
			}
			d[y] -= scale * T(1-eps)
		}
	})
	return loss
}
