package nntest

import (
	"fmt"
	"math"
	"testing"

	"github.com/seqkit/seqkit/nn"
	"gonum.org/v1/gonum/diff/fd"
)

// Step is the finite-difference step. With central differences in float64 the
// truncation error is O(Step²) ≈ 1e-12 and the rounding error about 1e-16/Step.
const Step = 1e-5

// RelErr is the error measure of the gradient checks: |a-n| / max(|a|, |n|, 1e-3).
// Gradients larger than 1e-3 in magnitude are compared relatively; below that the
// floor keeps an element whose true gradient is 0 from turning finite-difference
// rounding noise (about 1e-11) into a large relative error.
func RelErr(a, n float64) float64 {
	return math.Abs(a-n) / max(math.Abs(a), math.Abs(n), 1e-3)
}

// GradCheck compares the gradient of loss with respect to every element of every
// tensor in wrt, computed by the tape's backward pass, against central finite
// differences. loss must be deterministic (reseed any dropout inside it) and must
// build its graph on the tape it is given (nil when only values are wanted). It
// reports an error through t for each tensor whose worst element exceeds tol and
// returns the worst error seen.
func GradCheck(t testing.TB, wrt []*nn.Tensor[float64], loss func(tp *nn.Tape) *nn.Tensor[float64], tol float64) float64 {
	t.Helper()
	for _, w := range wrt {
		w.Grad = nil
	}
	tp := new(nn.Tape)
	nn.Backward(tp, loss(tp))
	settings := &fd.Settings{Formula: fd.Central, Step: Step}
	worst := 0.0
	for k, w := range wrt {
		name := w.Name
		if name == "" {
			name = fmt.Sprintf("input %d", k)
		}
		tensorWorst, at := 0.0, -1
		var aAt, nAt float64
		for i := range w.Data {
			x0 := w.Data[i]
			num := fd.Derivative(func(x float64) float64 {
				w.Data[i] = x
				return loss(nil).Data[0]
			}, x0, settings)
			w.Data[i] = x0
			var a float64
			if w.Grad != nil {
				a = w.Grad[i]
			}
			if e := RelErr(a, num); e > tensorWorst || at < 0 {
				tensorWorst, at, aAt, nAt = e, i, a, num
			}
		}
		if tensorWorst > tol {
			t.Errorf("%s: gradient error %.3g at element %d: analytic %.12g, numeric %.12g", name, tensorWorst, at, aAt, nAt)
		}
		worst = max(worst, tensorWorst)
	}
	return worst
}

// WeightedSum returns Σ_k Σ_i w_k[i]·x_k[i] as a scalar on the tape: a loss whose
// gradient with respect to x_k is w_k, for testing layers with several outputs.
// Nil tensors are skipped.
func WeightedSum[T nn.Float](tp *nn.Tape, xs []*nn.Tensor[T], ws [][]T) *nn.Tensor[T] {
	out := nn.NewTensor[T](1)
	for k, x := range xs {
		if x == nil {
			continue
		}
		for i, v := range x.Data {
			out.Data[0] += ws[k][i] * v
		}
	}
	tp.Record(func() {
		if out.Grad == nil {
			return
		}
		for k, x := range xs {
			if x == nil {
				continue
			}
			g := x.EnsureGrad()
			for i := range g {
				g[i] += out.Grad[0] * ws[k][i]
			}
		}
	})
	return out
}
