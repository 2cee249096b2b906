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
	// Weights, when set, weighs each row's loss by the weight of its target class
	// and divides by the summed weights, as torch.nn.CrossEntropyLoss(weight=…)
	// with reduction "mean" (Sequences then does not apply).
	Weights []float64
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
	count := 0
	for i, y := range targets {
		if y < 0 || y == ignoreIndex {
			continue
		}
		if int(y) >= C {
			panic(fmt.Sprintf("nn: CrossEntropy: target %d at row %d outside [0, %d)", y, i, C))
		}
		count++
	}
	// The rows' softmax and loss, shared among the cores for a large output
	// (on one core, the seq2seq benchmark's 640 rows of 5000 logits took about
	// 5% of a training batch's CPU, AMD EPYC with AVX-512 on its AVX2 path,
	// with its zeroed buffer and the backward pass); probs is borrowed,
	// written for the counted rows only and read for them only, and given back
	// by the backward pass.
	probs := borrow[T](n * C)
	nlls := make([]float64, n)
	byLogitRows(n, C, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			y := targets[i]
			if y < 0 || y == ignoreIndex {
				continue
			}
			row, p := logits.Data[i*C:(i+1)*C], probs[i*C:(i+1)*C]
			m := maxOf(row)
			// The exponentials in T (float32: vmath's, eight at a time), their sum
			// in float64.
			expShiftTo(p, row, m)
			sum := sum64(p)
			logZ := float64(m) + math.Log(sum)
			scaleBy(p, T(1/sum))
			nll := logZ - float64(row[y])
			if eps > 0 {
				var meanNLL float64
				for _, v := range row {
					meanNLL += logZ - float64(v)
				}
				nll = (1-eps)*nll + eps*meanNLL/float64(C)
			}
			nlls[i] = nll
		}
	})
	// Summed in row order, whatever the number of cores.
	var total, wsum float64
	for i, y := range targets {
		if y < 0 || y == ignoreIndex {
			continue
		}
		total += weight(opts.Weights, y) * nlls[i]
		wsum += weight(opts.Weights, y)
	}
	norm := float64(count)
	if opts.Sequences > 0 {
		norm = float64(opts.Sequences)
	}
	if opts.Weights != nil {
		norm = wsum
	}
	loss := NewTensor[T](1)
	if norm > 0 {
		loss.Data[0] = T(total / norm)
	}
	if !tp.Recording() {
		giveBack(probs)
		return loss
	}
	tp.Record(func() {
		defer giveBack(probs) // the tape runs this once
		if loss.Grad == nil || norm == 0 {
			return
		}
		scale := loss.Grad[0] / T(norm)
		dx := logits.EnsureGrad()
		off := T(eps / float64(C))
		byLogitRows(n, C, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				y := targets[i]
				if y < 0 || y == ignoreIndex {
					continue
				}
				p, d := probs[i*C:(i+1)*C], dx[i*C:(i+1)*C]
				sc := scale * T(weight(opts.Weights, y))
				if off == 0 {
					axpy(d, p, sc)
				} else {
					for j, v := range p {
						d[j] += sc * (v - off)
					}
				}
				d[y] -= sc * T(1-eps)
			}
		})
	})
	return loss
}

// byLogitRows runs f over the rows [0, n) of an [n, C] output, split among
// the cores when there are enough values to pay for it.
func byLogitRows(n, C int, f func(lo, hi int)) {
	if n*C < parallelMin {
		f(0, n)
		return
	}
	parallel(n, f)
}

func weight(w []float64, y int32) float64 {
	if w == nil {
		return 1
	}
	return w[y]
}

// BCEWithLogits is the binary cross-entropy of sigmoid(logits) against 0/1
// targets of the same shape, averaged over all elements (multi-label
// classification), as torch.nn.BCEWithLogitsLoss. It is computed in the stable
// form max(x,0) − x·y + log(1 + e^−|x|).
func BCEWithLogits[T Float](tp *Tape, logits *Tensor[T], targets []T) *Tensor[T] {
	if len(targets) != logits.Len() {
		panic(fmt.Sprintf("nn: BCEWithLogits: %d targets for %d logits", len(targets), logits.Len()))
	}
	loss := NewTensor[T](1)
	n := logits.Len()
	if n == 0 {
		return loss
	}
	var total float64
	for i, v := range logits.Data {
		x, y := float64(v), float64(targets[i])
		total += max(x, 0) - x*y + math.Log1p(math.Exp(-math.Abs(x)))
	}
	loss.Data[0] = T(total / float64(n))
	tp.Record(func() {
		if loss.Grad == nil {
			return
		}
		g := float64(loss.Grad[0]) / float64(n)
		dx := logits.EnsureGrad()
		for i, v := range logits.Data {
			dx[i] += T(g * (1/(1+math.Exp(-float64(v))) - float64(targets[i])))
		}
	})
	return loss
}

// Huber is the Huber loss of predictions against targets of the same shape,
// averaged over all elements, as torch.nn.HuberLoss: ½d² where |d| ≤ delta,
// delta·(|d| − ½delta) beyond, d = prediction − target. A delta of 0 gives the
// mean squared error (torch.nn.MSELoss), the regression loss of forecasting.
func Huber[T Float](tp *Tape, pred *Tensor[T], targets []T, delta float64) *Tensor[T] {
	if len(targets) != pred.Len() {
		panic(fmt.Sprintf("nn: Huber: %d targets for %d predictions", len(targets), pred.Len()))
	}
	loss := NewTensor[T](1)
	n := pred.Len()
	if n == 0 {
		return loss
	}
	var total float64
	for i, v := range pred.Data {
		d := float64(v) - float64(targets[i])
		switch {
		case delta == 0:
			total += d * d
		case math.Abs(d) <= delta:
			total += 0.5 * d * d
		default:
			total += delta * (math.Abs(d) - 0.5*delta)
		}
	}
	loss.Data[0] = T(total / float64(n))
	tp.Record(func() {
		if loss.Grad == nil {
			return
		}
		g := float64(loss.Grad[0]) / float64(n)
		dp := pred.EnsureGrad()
		for i, v := range pred.Data {
			d := float64(v) - float64(targets[i])
			switch {
			case delta == 0:
				dp[i] += T(g * 2 * d)
			case math.Abs(d) <= delta:
				dp[i] += T(g * d)
			default:
				dp[i] += T(g * delta * math.Copysign(1, d))
			}
		}
	})
	return loss
}
