package nntest

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/seqkit/seqkit/nn"
)

// Tolerances of the suite.
const (
	GradTol    = 1e-6 // float64 analytic vs finite-difference gradients (RelErr)
	PadTol     = 1e-9 // float64 alone vs batched beside longer sequences
	Float32Tol = 1e-5 // float32 vs float64 forward values
)

// Batch is the shape the suite runs on: mixed lengths including the full length,
// a short one and an empty one.
var (
	Steps   = 5
	Lengths = []int{5, 2, 0, 3}
)

// CheckRNN is the conformance suite every recurrent configuration runs. It checks
// output and state shapes, zero outputs at padded steps, gradients of every weight,
// the input and the initial states against finite differences (dropout included,
// with a fixed mask), padding invariance of outputs, final states and weight
// gradients, float32 agreement with float64, and that weights a configuration does
// not use (the LSTM forget gate of the 1997 cell) get no gradient.
func CheckRNN(t *testing.T, cfg nn.RNNConfig) {
	t.Run("shapes", func(t *testing.T) { checkShapes(t, cfg) })
	t.Run("gradients", func(t *testing.T) { checkGradients(t, cfg) })
	t.Run("padding", func(t *testing.T) { checkPadding(t, cfg) })
	t.Run("float32", func(t *testing.T) { checkFloat32(t, cfg) })
	t.Run("float32 gradients", func(t *testing.T) { checkFloat32Grads(t, cfg) })
	if cfg.NoForgetGate {
		t.Run("unused", func(t *testing.T) { checkUnused(t, cfg) })
	}
}

func newRNN[T nn.Float](t testing.TB, cfg nn.RNNConfig, seed uint64) *nn.RNN[T] {
	t.Helper()
	r, err := nn.NewRNN[T]("rnn", cfg, rand.New(rand.NewPCG(seed, 1)))
	if err != nil {
		t.Fatal(err)
	}
	// Move every weight away from its structured initialisation (zero biases,
	// exact forget bias) so that every term of the backward pass is exercised.
	rng := rand.New(rand.NewPCG(seed, 2))
	for _, p := range r.Params() {
		for i := range p.Data {
			if p.Data[i] != 0 || !cfg.NoForgetGate {
				p.Data[i] += T(rng.Float64() - 0.5)
			}
		}
	}
	return r
}

// RandTensor returns a tensor of the given shape with elements uniform in [-1, 1).
func RandTensor[T nn.Float](rng *rand.Rand, shape ...int) *nn.Tensor[T] {
	x := nn.NewTensor[T](shape...)
	for i := range x.Data {
		x.Data[i] = T(rng.Float64()*2 - 1)
	}
	return x
}

// RandSlice returns n numbers uniform in [-1, 1).
func RandSlice(rng *rand.Rand, n int) []float64 {
	w := make([]float64, n)
	for i := range w {
		w[i] = rng.Float64()*2 - 1
	}
	return w
}

type problem struct {
	x      *nn.Tensor[float64]
	init   nn.State[float64]
	steps  int
	batch  int
	stateN int
}

func newProblem(cfg nn.RNNConfig, seed uint64) problem {
	rng := rand.New(rand.NewPCG(seed, 3))
	L := max(cfg.Layers, 1)
	D := 1
	if cfg.Bidirectional {
		D = 2
	}
	B := len(Lengths)
	p := problem{steps: Steps, batch: B, stateN: L * D}
	p.x = RandTensor[float64](rng, Steps, B, cfg.InputSize)
	p.init.H = RandTensor[float64](rng, L*D, B, cfg.HiddenSize)
	if cfg.Cell == nn.LSTM {
		p.init.C = RandTensor[float64](rng, L*D, B, cfg.HiddenSize)
	}
	return p
}

func checkShapes(t *testing.T, cfg nn.RNNConfig) {
	r := newRNN[float64](t, cfg, 1)
	p := newProblem(cfg, 1)
	out, final := r.Forward(nil, p.x, Lengths, p.init, nil)
	wantOut := []int{Steps, p.batch, cfg.OutputSize()}
	if !equalInts(out.Shape, wantOut) {
		t.Errorf("output shape %v, want %v", out.Shape, wantOut)
	}
	wantState := []int{p.stateN, p.batch, cfg.HiddenSize}
	if !equalInts(final.H.Shape, wantState) {
		t.Errorf("final H shape %v, want %v", final.H.Shape, wantState)
	}
	if (final.C != nil) != (cfg.Cell == nn.LSTM) {
		t.Errorf("final C present = %v for cell %v", final.C != nil, cfg.Cell)
	}
	F := cfg.OutputSize()
	for s := 0; s < Steps; s++ {
		for b, n := range Lengths {
			row := out.Data[(s*p.batch+b)*F : (s*p.batch+b+1)*F]
			for _, v := range row {
				if s >= n && v != 0 {
					t.Fatalf("output at padded step %d of sequence %d (length %d) is %g, want 0", s, b, n, v)
				}
				if s < n && math.IsNaN(v) {
					t.Fatalf("NaN output at step %d of sequence %d", s, b)
				}
			}
		}
	}
	// An empty sequence's final state is its initial state.
	for b, n := range Lengths {
		if n != 0 {
			continue
		}
		H := cfg.HiddenSize
		for k := 0; k < p.stateN; k++ {
			for j := 0; j < H; j++ {
				i := (k*p.batch+b)*H + j
				if final.H.Data[i] != p.init.H.Data[i] {
					t.Fatalf("empty sequence %d: final state differs from initial state", b)
				}
			}
		}
	}
}

func checkGradients(t *testing.T, cfg nn.RNNConfig) {
	if cfg.Layers > 1 && cfg.Dropout == 0 {
		cfg.Dropout = 0.3 // dropout between layers is part of the stack's backward pass
	}
	if cfg.Layers > 1 && cfg.WeightDropout == 0 {
		cfg.WeightDropout = 0.3 // and so is weight dropout, when there is any
	}
	r := newRNN[float64](t, cfg, 2)
	p := newProblem(cfg, 2)
	wrng := rand.New(rand.NewPCG(2, 4))
	wOut := RandSlice(wrng, Steps*p.batch*cfg.OutputSize())
	wH := RandSlice(wrng, p.stateN*p.batch*cfg.HiddenSize)
	wC := RandSlice(wrng, p.stateN*p.batch*cfg.HiddenSize)
	loss := func(tp *nn.Tape) *nn.Tensor[float64] {
		drop := rand.New(rand.NewPCG(7, 7)) // the same masks on every evaluation
		out, final := r.Forward(tp, p.x, Lengths, p.init, drop)
		return WeightedSum(tp, []*nn.Tensor[float64]{out, final.H, final.C}, [][]float64{wOut, wH, wC})
	}
	wrt := append(r.Params(), p.x, p.init.H)
	if p.init.C != nil {
		wrt = append(wrt, p.init.C)
	}
	worst := GradCheck(t, wrt, loss, GradTol)
	t.Logf("%v: worst gradient error %.2g over %d tensors", cfg.Cell, worst, len(wrt))
}

// checkPadding runs each sequence alone (T = its length, B = 1) and beside the
// others, and compares outputs, final states and weight gradients of a loss on that
// sequence only.
func checkPadding(t *testing.T, cfg nn.RNNConfig) {
	cfg.Dropout = 0
	r := newRNN[float64](t, cfg, 3)
	p := newProblem(cfg, 3)
	H, F, B, In := cfg.HiddenSize, cfg.OutputSize(), p.batch, cfg.InputSize
	wrng := rand.New(rand.NewPCG(3, 4))
	wOut := RandSlice(wrng, Steps*F)
	wH := RandSlice(wrng, p.stateN*H)
	for b, n := range Lengths {
		// Batched: weights only on sequence b.
		bw := make([]float64, Steps*B*F)
		bh := make([]float64, p.stateN*B*H)
		for s := 0; s < Steps; s++ {
			copy(bw[(s*B+b)*F:(s*B+b+1)*F], wOut[s*F:(s+1)*F])
		}
		for k := 0; k < p.stateN; k++ {
			copy(bh[(k*B+b)*H:(k*B+b+1)*H], wH[k*H:(k+1)*H])
		}
		nn.ZeroGrads(r.Params())
		tp := new(nn.Tape)
		out, final := r.Forward(tp, p.x, Lengths, p.init, nil)
		nn.Backward(tp, WeightedSum(tp, []*nn.Tensor[float64]{out, final.H, final.C}, [][]float64{bw, bh, bh}))
		batched := snapshot(r.Params())

		// Alone: the same sequence, cut to its own length.
		xa := nn.NewTensor[float64](n, 1, In)
		for s := 0; s < n; s++ {
			copy(xa.Data[s*In:(s+1)*In], p.x.Data[(s*B+b)*In:(s*B+b+1)*In])
		}
		ia := nn.State[float64]{H: column(p.init.H, b, B, H)}
		if p.init.C != nil {
			ia.C = column(p.init.C, b, B, H)
		}
		nn.ZeroGrads(r.Params())
		tp = new(nn.Tape)
		outA, finalA := r.Forward(tp, xa, []int{n}, ia, nil)
		nn.Backward(tp, WeightedSum(tp, []*nn.Tensor[float64]{outA, finalA.H, finalA.C}, [][]float64{wOut[:n*F], wH, wH}))
		alone := snapshot(r.Params())

		for s := 0; s < n; s++ {
			for j := 0; j < F; j++ {
				if d := math.Abs(out.Data[(s*B+b)*F+j] - outA.Data[s*F+j]); d > PadTol {
					t.Fatalf("sequence %d: output at step %d differs by %g alone and batched", b, s, d)
				}
			}
		}
		compareState := func(what string, batched, alone *nn.Tensor[float64]) {
			if batched == nil {
				return
			}
			got := column(batched, b, B, H)
			for i := range got.Data {
				if d := math.Abs(got.Data[i] - alone.Data[i]); d > PadTol {
					t.Fatalf("sequence %d: final %s differs by %g alone and batched", b, what, d)
				}
			}
		}
		compareState("H", final.H, finalA.H)
		compareState("C", final.C, finalA.C)
		for k, g := range batched {
			for i := range g {
				if d := RelErr(g[i], alone[k][i]); d > PadTol {
					t.Fatalf("sequence %d: gradient of %s[%d] differs by %g alone and batched", b, r.Params()[k].Name, i, d)
				}
			}
		}
	}
}

func checkFloat32(t *testing.T, cfg nn.RNNConfig) {
	r64 := newRNN[float64](t, cfg, 4)
	r32 := newRNN[float32](t, cfg, 4)
	p := newProblem(cfg, 4)
	x32 := convert(p.x)
	init32 := nn.State[float32]{H: convert(p.init.H), C: convert(p.init.C)}
	out64, fin64 := r64.Forward(nil, p.x, Lengths, p.init, nil)
	out32, fin32 := r32.Forward(nil, x32, Lengths, init32, nil)
	for i := range out64.Data {
		if d := math.Abs(out64.Data[i] - float64(out32.Data[i])); d > Float32Tol {
			t.Fatalf("float32 output %d differs from float64 by %g", i, d)
		}
	}
	for i := range fin64.H.Data {
		if d := math.Abs(fin64.H.Data[i] - float64(fin32.H.Data[i])); d > Float32Tol {
			t.Fatalf("float32 final state %d differs from float64 by %g", i, d)
		}
		if fin64.C == nil {
			continue
		}
		if d := math.Abs(fin64.C.Data[i] - float64(fin32.C.Data[i])); d > Float32Tol {
			t.Fatalf("float32 final cell state %d differs from float64 by %g", i, d)
		}
	}
}

// checkFloat32Grads trains one step in float32 and in float64 from the same
// weights and requires the same gradients to float32's precision. Two passes
// go on the tape, and an inference pass runs between them and the backward
// pass: float32 training borrows its buffers from the pool that inference
// uses, so one given back before the backward pass is done with it is
// overwritten and the gradients go wrong.
func checkFloat32Grads(t *testing.T, cfg nn.RNNConfig) {
	grads := func(r64 *nn.RNN[float64], r32 *nn.RNN[float32], p problem) ([][]float64, [][]float32) {
		x32 := convert(p.x)
		init32 := nn.State[float32]{H: convert(p.init.H), C: convert(p.init.C)}
		w := RandSlice(rand.New(rand.NewPCG(9, 9)), p.x.Len()/cfg.InputSize*cfg.OutputSize())
		w32 := make([]float32, len(w))
		for i, v := range w {
			w32[i] = float32(v)
		}
		tp64, tp32 := new(nn.Tape), new(nn.Tape)
		var outs64 []*nn.Tensor[float64]
		var outs32 []*nn.Tensor[float32]
		for range 2 {
			o64, _ := r64.Forward(tp64, p.x, Lengths, p.init, nil)
			o32, _ := r32.Forward(tp32, x32, Lengths, init32, nil)
			outs64, outs32 = append(outs64, o64), append(outs32, o32)
		}
		r32.Forward(nil, x32, Lengths, init32, nil) // borrows from the pool
		nn.Backward(tp64, WeightedSum(tp64, outs64, [][]float64{w, w}))
		nn.Backward(tp32, WeightedSum(tp32, outs32, [][]float32{w32, w32}))
		var g64 [][]float64
		var g32 [][]float32
		for k := range r64.Params() {
			g64, g32 = append(g64, r64.Params()[k].Grad), append(g32, r32.Params()[k].Grad)
		}
		return g64, g32
	}
	r64, r32 := newRNN[float64](t, cfg, 4), newRNN[float32](t, cfg, 4)
	nn.ZeroGrads(r64.Params())
	nn.ZeroGrads(r32.Params())
	g64, g32 := grads(r64, r32, newProblem(cfg, 4))
	for k := range g64 {
		for i, v := range g64[k] {
			if d := math.Abs(v-float64(g32[k][i])) / max(1, math.Abs(v)); d > 1e-4 {
				t.Fatalf("%s[%d]: float32 gradient %g, float64 %g", r64.Params()[k].Name, i, g32[k][i], v)
			}
		}
	}
}

// checkUnused verifies that the forget-gate rows of the 1997 LSTM get no gradient.
func checkUnused(t *testing.T, cfg nn.RNNConfig) {
	r := newRNN[float64](t, cfg, 5)
	p := newProblem(cfg, 5)
	H := cfg.HiddenSize
	nn.ZeroGrads(r.Params())
	tp := new(nn.Tape)
	out, final := r.Forward(tp, p.x, Lengths, p.init, nil)
	w := RandSlice(rand.New(rand.NewPCG(5, 5)), out.Len())
	wh := RandSlice(rand.New(rand.NewPCG(5, 6)), final.H.Len())
	nn.Backward(tp, WeightedSum(tp, []*nn.Tensor[float64]{out, final.H, final.C}, [][]float64{w, wh, wh}))
	for _, prm := range r.Params() {
		cols := 1 // the f block is rows [H, 2H) of [4H, cols] weights, row 1 of [3, H] peepholes
		if len(prm.Shape) == 2 && prm.Shape[0] == 4*H {
			cols = prm.Shape[1]
		}
		for i := H * cols; i < 2*H*cols; i++ {
			if prm.Grad[i] != 0 {
				t.Fatalf("%s: forget-gate element %d has gradient %g, want none", prm.Name, i, prm.Grad[i])
			}
		}
	}
}

func column(s *nn.Tensor[float64], b, B, H int) *nn.Tensor[float64] {
	n := s.Shape[0]
	c := nn.NewTensor[float64](n, 1, H)
	for k := 0; k < n; k++ {
		copy(c.Data[k*H:(k+1)*H], s.Data[(k*B+b)*H:(k*B+b+1)*H])
	}
	return c
}

func snapshot(ps []*nn.Tensor[float64]) [][]float64 {
	out := make([][]float64, len(ps))
	for k, p := range ps {
		out[k] = append([]float64(nil), p.Grad...)
	}
	return out
}

func convert(x *nn.Tensor[float64]) *nn.Tensor[float32] {
	if x == nil {
		return nil
	}
	y := nn.NewTensor[float32](x.Shape...)
	for i, v := range x.Data {
		y.Data[i] = float32(v)
	}
	return y
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
