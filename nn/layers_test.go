package nn_test

import (
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"

	"github.com/seqkit/seqkit/nn"
	"github.com/seqkit/seqkit/nn/nntest"
)

func TestLinearGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	l := nn.NewLinear[float64]("head", 5, 3, rng)
	nn.Uniform(l.B.Data, 1, rng)
	x := nntest.RandTensor[float64](rng, 4, 2, 5)
	w := nntest.RandSlice(rng, 4*2*3)
	loss := func(tp *nn.Tape) *nn.Tensor[float64] {
		return nntest.WeightedSum(tp, []*nn.Tensor[float64]{l.Forward(tp, x)}, [][]float64{w})
	}
	nntest.GradCheck(t, append(l.Params(), x), loss, nntest.GradTol)
}

func TestLinearValues(t *testing.T) {
	l := &nn.Linear[float64]{W: nn.FromData([]float64{1, 2, 3, 4, 5, 6}, 2, 3), B: nn.FromData([]float64{0.5, -1}, 2), In: 3, Out: 2}
	y := l.Forward(nil, nn.FromData([]float64{1, 0, -1}, 1, 3))
	if want := []float64{1 - 3 + 0.5, 4 - 6 - 1}; y.Data[0] != want[0] || y.Data[1] != want[1] {
		t.Fatalf("Linear = %v, want %v", y.Data, want)
	}
}

func TestEmbeddingGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 1))
	const pad = 0
	e := nn.NewEmbedding[float64]("embedding", 6, 4, pad, rng)
	for j := 0; j < 4; j++ {
		if e.W.Data[pad*4+j] != 0 {
			t.Fatal("padding row is not zero at construction")
		}
	}
	ids := []int32{1, 0, 3, 3, 5, 0}
	w := nntest.RandSlice(rng, len(ids)*4)
	loss := func(tp *nn.Tape) *nn.Tensor[float64] {
		return nntest.WeightedSum(tp, []*nn.Tensor[float64]{e.Forward(tp, ids, 3, 2)}, [][]float64{w})
	}
	// The padding row is used twice but must get no gradient: the finite
	// difference is nonzero there, so check the other rows and the pad row apart.
	nn.ZeroGrads(e.Params())
	tp := new(nn.Tape)
	nn.Backward(tp, loss(tp))
	for j := 0; j < 4; j++ {
		if g := e.W.Grad[pad*4+j]; g != 0 {
			t.Fatalf("padding row got gradient %g", g)
		}
	}
	// Row 3 appears twice: its gradient is the sum of both positions' weights.
	for j := 0; j < 4; j++ {
		want := w[2*4+j] + w[3*4+j]
		if g := e.W.Grad[3*4+j]; math.Abs(g-want) > 1e-12 {
			t.Fatalf("row 3 gradient %g, want %g", g, want)
		}
	}
	noPad := nn.NewEmbedding[float64]("embedding", 6, 4, -1, rng)
	loss2 := func(tp *nn.Tape) *nn.Tensor[float64] {
		return nntest.WeightedSum(tp, []*nn.Tensor[float64]{noPad.Forward(tp, ids, 6)}, [][]float64{w})
	}
	nntest.GradCheck(t, noPad.Params(), loss2, nntest.GradTol)
}

func TestDropout(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 1))
	x := nntest.RandTensor[float64](rng, 50, 8, 16)
	for _, variational := range []bool{false, true} {
		y := nn.Dropout(nil, x, 0.25, variational, rand.New(rand.NewPCG(9, 9)))
		zeros := 0
		for i, v := range y.Data {
			switch {
			case v == 0:
				zeros++
			case math.Abs(v-x.Data[i]/0.75) > 1e-12:
				t.Fatalf("kept element %d = %g, want %g", i, v, x.Data[i]/0.75)
			}
			if variational && (v == 0) != (y.Data[i%(8*16)] == 0) {
				t.Fatalf("variational mask differs across time at element %d", i)
			}
		}
		if frac := float64(zeros) / float64(len(y.Data)); math.Abs(frac-0.25) > 0.05 {
			t.Errorf("variational=%v: dropped %.3f, want about 0.25", variational, frac)
		}
		w := nntest.RandSlice(rng, x.Len())
		loss := func(tp *nn.Tape) *nn.Tensor[float64] {
			y := nn.Dropout(tp, x, 0.25, variational, rand.New(rand.NewPCG(9, 9)))
			return nntest.WeightedSum(tp, []*nn.Tensor[float64]{y}, [][]float64{w})
		}
		nntest.GradCheck(t, []*nn.Tensor[float64]{x}, loss, nntest.GradTol)
	}
	if y := nn.Dropout(nil, x, 0.25, false, nil); y != x {
		t.Error("Dropout without an rng (evaluation) must return its input")
	}
}

func TestCrossEntropyGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 1))
	logits := nntest.RandTensor[float64](rng, 3, 2, 5)
	for i := range logits.Data {
		logits.Data[i] *= 3
	}
	targets := []int32{1, 4, -1, 0, 2, 2} // row 2 ignored by sign, row 3 by ignoreIndex 0
	for _, opts := range []nn.CEOptions{{}, {LabelSmoothing: 0.1}, {Sequences: 2}, {LabelSmoothing: 0.2, Sequences: 2},
		{Weights: []float64{0.5, 1, 2, 3, 0.25}}, {Weights: []float64{0.5, 1, 2, 3, 0.25}, LabelSmoothing: 0.1}} {
		loss := func(tp *nn.Tape) *nn.Tensor[float64] { return nn.CrossEntropy(tp, logits, targets, 0, opts) }
		nntest.GradCheck(t, []*nn.Tensor[float64]{logits}, loss, nntest.GradTol)
		// Ignored rows (target -1, and target 0 = ignoreIndex) get no gradient.
		for _, row := range []int{2, 3} {
			for j := 0; j < 5; j++ {
				if g := logits.Grad[row*5+j]; g != 0 {
					t.Fatalf("%+v: ignored row %d got gradient %g", opts, row, g)
				}
			}
		}
	}
}

// TestCrossEntropyCores runs a loss large enough to be shared among the
// cores (200 rows of 600 logits) on one core and on two, twice on two so that
// the second reuses the first's buffer: the loss and the gradient must be the
// same bits each time, the loss as a float64 computation gives it, and the
// ignored rows must get no gradient.
func TestCrossEntropyCores(t *testing.T) {
	const n, C = 200, 600
	rng := rand.New(rand.NewPCG(4, 2))
	data := make([]float32, n*C)
	for i := range data {
		data[i] = float32(4 * rng.NormFloat64())
	}
	targets := make([]int32, n)
	for i := range targets {
		targets[i] = int32(rng.IntN(C))
		if i%7 == 2 {
			targets[i] = -1
		}
	}
	weights := make([]float64, C)
	for i := range weights {
		weights[i] = 0.5 + rng.Float64()
	}
	for _, opts := range []nn.CEOptions{{}, {LabelSmoothing: 0.1, Weights: weights}} {
		var loss0 float32
		var grad0 []float32
		for run, procs := range []int{1, 2, 2} {
			was := runtime.GOMAXPROCS(procs)
			logits := nn.FromData(slices.Clone(data), n, C)
			tp := &nn.Tape{}
			loss := nn.CrossEntropy(tp, logits, targets, int32(C-1), opts)
			nn.Backward(tp, loss)
			runtime.GOMAXPROCS(was)
			if run == 0 {
				loss0, grad0 = loss.Data[0], logits.Grad
				continue
			}
			if math.Float32bits(loss.Data[0]) != math.Float32bits(loss0) {
				t.Fatalf("%+v, run %d on %d cores: loss %v, on one core %v", opts, run, procs, loss.Data[0], loss0)
			}
			for i, g := range logits.Grad {
				if math.Float32bits(g) != math.Float32bits(grad0[i]) {
					t.Fatalf("%+v, run %d on %d cores: gradient %d = %v, on one core %v", opts, run, procs, i, g, grad0[i])
				}
			}
		}
		for i, y := range targets {
			if y >= 0 && y != C-1 {
				continue
			}
			for _, g := range grad0[i*C : (i+1)*C] {
				if g != 0 {
					t.Fatalf("ignored row %d got gradient %g", i, g)
				}
			}
		}
		if opts.Weights != nil {
			continue
		}
		var total float64
		count := 0
		for i, y := range targets {
			if y < 0 || y == C-1 {
				continue
			}
			row := data[i*C : (i+1)*C]
			m := float64(slices.Max(row))
			var sum float64
			for _, v := range row {
				sum += math.Exp(float64(v) - m)
			}
			total += m + math.Log(sum) - float64(row[y])
			count++
		}
		if want := total / float64(count); math.Abs(float64(loss0)-want) > 1e-5*want {
			t.Fatalf("loss %v, float64 computation %v", loss0, want)
		}
	}
}

func TestCrossEntropyValue(t *testing.T) {
	// Two classes with logits (0, log 3): p = (1/4, 3/4).
	logits := nn.FromData([]float64{0, math.Log(3), 0, math.Log(3)}, 2, 2)
	got := nn.CrossEntropy(nil, logits, []int32{1, 0}, -1, nn.CEOptions{}).Data[0]
	want := (-math.Log(0.75) - math.Log(0.25)) / 2
	if math.Abs(got-want) > 1e-12 {
		t.Fatalf("mean per token = %g, want %g", got, want)
	}
	got = nn.CrossEntropy(nil, logits, []int32{1, 0}, -1, nn.CEOptions{Sequences: 1}).Data[0]
	if math.Abs(got-2*want) > 1e-12 {
		t.Fatalf("mean per sequence = %g, want %g", got, 2*want)
	}
	// Label smoothing ε: (1-ε)·NLL + ε·mean_c(-log p_c), as torch computes it.
	eps := 0.1
	got = nn.CrossEntropy(nil, logits, []int32{1, -1}, -1, nn.CEOptions{LabelSmoothing: eps}).Data[0]
	want = (1-eps)*-math.Log(0.75) + eps*(-math.Log(0.25)-math.Log(0.75))/2
	if math.Abs(got-want) > 1e-12 {
		t.Fatalf("smoothed = %g, want %g", got, want)
	}
	// Class weights: Σ w_y·NLL / Σ w_y, as torch's weighted mean.
	got = nn.CrossEntropy(nil, logits, []int32{1, 0}, -1, nn.CEOptions{Weights: []float64{3, 1}}).Data[0]
	want = (-1*math.Log(0.75) - 3*math.Log(0.25)) / 4
	if math.Abs(got-want) > 1e-12 {
		t.Fatalf("weighted = %g, want %g", got, want)
	}
	if got := nn.CrossEntropy(nil, logits, []int32{-1, -1}, -1, nn.CEOptions{}).Data[0]; got != 0 {
		t.Fatalf("all ignored = %g, want 0", got)
	}
}

func TestBCEWithLogits(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 1))
	logits := nntest.RandTensor[float64](rng, 3, 4)
	for i := range logits.Data {
		logits.Data[i] *= 4
	}
	targets := []float64{1, 0, 0, 1, 0, 1, 1, 0, 0, 0, 1, 1}
	loss := func(tp *nn.Tape) *nn.Tensor[float64] { return nn.BCEWithLogits(tp, logits, targets) }
	nntest.GradCheck(t, []*nn.Tensor[float64]{logits}, loss, nntest.GradTol)
	want := 0.0
	for i, x := range logits.Data {
		p := 1 / (1 + math.Exp(-x))
		want -= targets[i]*math.Log(p) + (1-targets[i])*math.Log(1-p)
	}
	want /= 12
	if got := nn.BCEWithLogits(nil, logits, targets).Data[0]; math.Abs(got-want) > 1e-12 {
		t.Fatalf("BCE %g, want %g", got, want)
	}
}

// TestHuber checks the gradient of the Huber loss (and of MSE, delta 0) and its
// value against the definitions.
func TestHuber(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 2))
	pred := nntest.RandTensor[float64](rng, 3, 4)
	targets := make([]float64, 12)
	for i := range targets {
		targets[i] = 2 * rng.NormFloat64()
	}
	for _, delta := range []float64{0, 1} {
		loss := func(tp *nn.Tape) *nn.Tensor[float64] { return nn.Huber(tp, pred, targets, delta) }
		nntest.GradCheck(t, []*nn.Tensor[float64]{pred}, loss, nntest.GradTol)
		want := 0.0
		for i, p := range pred.Data {
			d := math.Abs(p - targets[i])
			switch {
			case delta == 0:
				want += d * d
			case d <= delta:
				want += d * d / 2
			default:
				want += delta * (d - delta/2)
			}
		}
		want /= 12
		if got := nn.Huber(nil, pred, targets, delta).Data[0]; math.Abs(got-want) > 1e-12 {
			t.Fatalf("delta %g: loss %g, want %g", delta, got, want)
		}
	}
}

// TestRecycle: a recycled tensor loses its data, and the inference outputs that
// reuse its buffer (Linear, Concat, Tanh) hold exactly what a recorded pass,
// which zeroes its outputs, computes.
func TestRecycle(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	lin := nn.NewLinear[float32]("l", 5, 7, rng)
	nn.Normal(lin.B.Data, 1, rng)
	x := nn.NewTensor[float32](6, 5)
	nn.Normal(x.Data, 1, rng)
	for range 3 {
		y := lin.Forward(nil, x)
		c := nn.Concat(nil, y, y)
		h := nn.Tanh(nil, c)
		tp := new(nn.Tape)
		yw := lin.Forward(tp, x)
		hw := nn.Tanh(tp, nn.Concat(tp, yw, yw))
		if !slices.Equal(h.Data, hw.Data) || !slices.Equal(y.Data, yw.Data) {
			t.Fatalf("inference outputs on recycled buffers differ from a recorded pass")
		}
		for i := range y.Data {
			y.Data[i] = 1e30 // stale values, should the next pass read them
		}
		nn.Recycle(y, c, h)
		if y.Data != nil || h.Data != nil {
			t.Fatal("Recycle left data on a tensor")
		}
	}
}
