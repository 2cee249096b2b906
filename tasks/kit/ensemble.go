package kit

import (
	"math"

	"github.com/seqkit/seqkit/nn"
)

// The combinations of an ensemble's members' outputs. Each returns scores of
// the shape of one member's that the task then reads exactly as a single
// model's (its softmax, sigmoid, CRF or argmax), so that an ensemble is a
// model to everything after the head. One member's outputs come back as they
// are: an ensemble of one is the model.

// LogMeanProbs returns, row by row of the last dimension, the log of the
// mean of the members' softmax distributions: logits whose softmax is the
// members' average probability (as fairseq's ensembles average the next-token
// distributions). It is computed as logsumexp over the members' log-softmax
// less log n, in float64, so a token that every member finds unlikely keeps
// its finite log-probability.
func LogMeanProbs(lgs []*nn.Tensor[float32]) *nn.Tensor[float32] {
	if len(lgs) == 1 {
		return lgs[0]
	}
	first := lgs[0]
	V := first.Shape[len(first.Shape)-1]
	out := nn.NewTensor[float32](first.Shape...)
	M := float64(len(lgs))
	lse := make([]float64, len(lgs))
	for r := 0; r < len(first.Data); r += V {
		for m, lg := range lgs {
			lse[m] = logSumExp(lg.Data[r : r+V])
		}
		for c := range V {
			mx := math.Inf(-1)
			for m, lg := range lgs {
				mx = max(mx, float64(lg.Data[r+c])-lse[m])
			}
			var z float64
			for m, lg := range lgs {
				z += math.Exp(float64(lg.Data[r+c]) - lse[m] - mx)
			}
			out.Data[r+c] = float32(mx + math.Log(z/M))
		}
	}
	return out
}

// LogitMeanSigmoid returns the logit of the mean of the members' sigmoid
// probabilities, element by element: the multi-label twin of LogMeanProbs.
func LogitMeanSigmoid(lgs []*nn.Tensor[float32]) *nn.Tensor[float32] {
	if len(lgs) == 1 {
		return lgs[0]
	}
	out := nn.NewTensor[float32](lgs[0].Shape...)
	for i := range out.Data {
		var p float64
		for _, lg := range lgs {
			p += 1 / (1 + math.Exp(-float64(lg.Data[i])))
		}
		p /= float64(len(lgs))
		// Bounded away from 0 and 1, where the logit is infinite.
		p = min(max(p, 1e-30), 1-1e-16)
		out.Data[i] = float32(math.Log(p / (1 - p)))
	}
	return out
}

// Mean returns the element-wise mean of the members' tensors: the averaged
// emissions and transitions of CRF members, the scores of a CRF whose
// sequence distribution is the members' normalised geometric mean.
func Mean(ts []*nn.Tensor[float32]) *nn.Tensor[float32] {
	if len(ts) == 1 {
		return ts[0]
	}
	out := nn.NewTensor[float32](ts[0].Shape...)
	for i := range out.Data {
		var s float64
		for _, t := range ts {
			s += float64(t.Data[i])
		}
		out.Data[i] = float32(s / float64(len(ts)))
	}
	return out
}

func logSumExp(row []float32) float64 {
	mx := math.Inf(-1)
	for _, v := range row {
		mx = max(mx, float64(v))
	}
	var z float64
	for _, v := range row {
		z += math.Exp(float64(v) - mx)
	}
	return mx + math.Log(z)
}
