package kit_test

import (
	"math"
	"testing"

	"github.com/seqkit/seqkit/nn"
	"github.com/seqkit/seqkit/tasks/kit"
)

func softmax(row []float32) []float64 {
	mx := math.Inf(-1)
	for _, v := range row {
		mx = max(mx, float64(v))
	}
	out := make([]float64, len(row))
	var z float64
	for i, v := range row {
		out[i] = math.Exp(float64(v) - mx)
		z += out[i]
	}
	for i := range out {
		out[i] /= z
	}
	return out
}

// TestLogMeanProbs: the combined scores' softmax is the members' mean
// distribution, row by row, even where a member's logits are far apart; one
// member's logits come back unchanged.
func TestLogMeanProbs(t *testing.T) {
	a := &nn.Tensor[float32]{Data: []float32{1, 2, 3, -50, 0, 0, 0, 0}, Shape: []int{2, 4}}
	b := &nn.Tensor[float32]{Data: []float32{0, 0, 5, 0, 80, -3, 1, 2}, Shape: []int{2, 4}}
	c := &nn.Tensor[float32]{Data: []float32{-2, 4, 0, 1, 1, 1, 1, 9}, Shape: []int{2, 4}}
	if kit.LogMeanProbs([]*nn.Tensor[float32]{a}) != a {
		t.Error("one member's logits were recomputed")
	}
	got := kit.LogMeanProbs([]*nn.Tensor[float32]{a, b, c})
	for r := range 2 {
		pa, pb, pc := softmax(a.Data[r*4:(r+1)*4]), softmax(b.Data[r*4:(r+1)*4]), softmax(c.Data[r*4:(r+1)*4])
		var sum float64
		for k := range 4 {
			want := (pa[k] + pb[k] + pc[k]) / 3
			p := math.Exp(float64(got.Data[r*4+k]))
			sum += p
			if math.Abs(p-want) > 1e-6 {
				t.Errorf("row %d class %d: probability %g, want %g", r, k, p, want)
			}
		}
		if math.Abs(sum-1) > 1e-6 {
			t.Errorf("row %d: probabilities sum to %g", r, sum)
		}
	}
}

// TestLogitMeanSigmoid: the combined logit's sigmoid is the mean of the
// members' sigmoids.
func TestLogitMeanSigmoid(t *testing.T) {
	a := &nn.Tensor[float32]{Data: []float32{-3, 0, 2, 40}, Shape: []int{1, 4}}
	b := &nn.Tensor[float32]{Data: []float32{1, 0, -2, 30}, Shape: []int{1, 4}}
	got := kit.LogitMeanSigmoid([]*nn.Tensor[float32]{a, b})
	sig := func(x float64) float64 { return 1 / (1 + math.Exp(-x)) }
	for i := range a.Data {
		want := (sig(float64(a.Data[i])) + sig(float64(b.Data[i]))) / 2
		if p := sig(float64(got.Data[i])); math.Abs(p-want) > 1e-6 {
			t.Errorf("%d: %g, want %g", i, p, want)
		}
	}
}

// TestMean: the element-wise mean.
func TestMean(t *testing.T) {
	a := &nn.Tensor[float32]{Data: []float32{1, 2, 3}, Shape: []int{3}}
	b := &nn.Tensor[float32]{Data: []float32{3, -2, 0}, Shape: []int{3}}
	got := kit.Mean([]*nn.Tensor[float32]{a, b})
	for i, want := range []float32{2, 0, 1.5} {
		if got.Data[i] != want {
			t.Errorf("%d: %g, want %g", i, got.Data[i], want)
		}
	}
}
