package nn_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/seqkit/seqkit/nn"
	"github.com/seqkit/seqkit/nn/nntest"
)

// python is Debian's interpreter, where python3-torch installs; a python3 earlier
// on PATH (pyenv, a venv) usually lacks torch.
const python = "/usr/bin/python3"

// needTorch skips the test when PyTorch is not installed, except under CI, where
// .ci/run installs it and a skip would hide a broken parity test.
func needTorch(t *testing.T) {
	t.Helper()
	if out, err := exec.Command(python, "-c", "import torch").CombinedOutput(); err != nil {
		msg := fmt.Sprintf("PyTorch parity needs %s with torch (apt-get install python3-torch): %v: %s", python, err, out)
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
}

type parityCase struct {
	cfg     nn.RNNConfig
	rnn     *nn.RNN[float32]
	out     *nn.Tensor[float32]
	final   nn.State[float32]
	grads   []*nn.Tensor[float32] // weights, then x, h0, c0, each named "grad.NAME"
	lengths []int
}

// TestTorchParity runs seqkit's RNN, LSTM and GRU (1 and 2 layers, uni- and
// bidirectional, mixed lengths) and torch.nn's on the same safetensors weights and
// compares outputs and final states (1e-5) and the gradients of a weighted-sum loss
// with respect to every weight, the input and the initial states (1e-4).
func TestTorchParity(t *testing.T) {
	needTorch(t)
	dir := t.TempDir()
	const steps, In, H = 6, 5, 7
	lengths := []int{6, 2, 4, 1, 6} // torch's packing rejects empty sequences
	B := len(lengths)
	var cases []*parityCase
	for _, cell := range []nn.Cell{nn.RNNTanh, nn.RNNReLU, nn.LSTM, nn.GRU} {
		for _, layers := range []int{1, 2} {
			for _, bi := range []bool{false, true} {
				cfg := nn.RNNConfig{Cell: cell, InputSize: In, HiddenSize: H, Layers: layers, Bidirectional: bi}
				k := len(cases)
				rng := rand.New(rand.NewPCG(uint64(k), 11))
				r, err := nn.NewRNN[float32]("rnn", cfg, rng)
				if err != nil {
					t.Fatal(err)
				}
				for _, p := range r.Params() { // nonzero biases exercise both bias vectors
					for i := range p.Data {
						p.Data[i] += float32(rng.Float64()-0.5) * 0.4
					}
				}
				S := layers * cfg.OutputSize() / H
				named := func(name string, shape ...int) *nn.Tensor[float32] {
					x := nn.NewTensor[float32](shape...)
					x.Name = name
					for i := range x.Data {
						x.Data[i] = float32(rng.Float64()*2 - 1)
					}
					return x
				}
				x, h0, c0 := named("x", steps, B, In), named("h0", S, B, H), named("c0", S, B, H)
				wOut, wH, wC := named("w_out", steps, B, cfg.OutputSize()), named("w_h", S, B, H), named("w_c", S, B, H)
				lens := nn.NewTensor[float32](B)
				lens.Name = "lengths"
				for i, n := range lengths {
					lens.Data[i] = float32(n)
				}
				init := nn.State[float32]{H: h0}
				if cell == nn.LSTM {
					init.C = c0
				}
				c := &parityCase{cfg: cfg, rnn: r, lengths: lengths}
				nn.ZeroGrads(r.Params())
				tp := new(nn.Tape)
				c.out, c.final = r.Forward(tp, x, lengths, init, nil)
				nn.Backward(tp, nntest.WeightedSum(tp, []*nn.Tensor[float32]{c.out, c.final.H, c.final.C}, [][]float32{wOut.Data, wH.Data, wC.Data}))
				for _, p := range append(r.Params(), x, h0) {
					c.grads = append(c.grads, &nn.Tensor[float32]{Name: "grad." + p.Name, Shape: p.Shape, Data: p.Grad})
				}
				if cell == nn.LSTM {
					c.grads = append(c.grads, &nn.Tensor[float32]{Name: "grad.c0", Shape: c0.Shape, Data: c0.Grad})
				}
				meta := map[string]string{"cell": cell.String(), "input_size": strconv.Itoa(In), "hidden_size": strconv.Itoa(H),
					"layers": strconv.Itoa(layers), "bidirectional": strconv.FormatBool(bi)}
				tensors := append(r.Params(), x, h0, c0, wOut, wH, wC, lens)
				if err := nn.SaveSafetensors(filepath.Join(dir, fmt.Sprintf("case_%02d.safetensors", k)), tensors, meta); err != nil {
					t.Fatal(err)
				}
				cases = append(cases, c)
			}
		}
	}
	cmd := exec.Command(python, "testdata/torch_parity.py", dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("torch_parity.py: %v\n%s", err, out)
	}
	for k, c := range cases {
		name := fmt.Sprintf("%v/layers=%d/bi=%v", c.cfg.Cell, max(c.cfg.Layers, 1), c.cfg.Bidirectional)
		t.Run(name, func(t *testing.T) {
			want := []*nn.Tensor[float32]{shaped("out", c.out), shaped("hn", c.final.H)}
			if c.final.C != nil {
				want = append(want, shaped("cn", c.final.C))
			}
			for _, g := range c.grads {
				want = append(want, shaped(g.Name, g))
			}
			if _, err := nn.LoadSafetensors(filepath.Join(dir, fmt.Sprintf("result_%02d.safetensors", k)), want); err != nil {
				t.Fatal(err)
			}
			got := append([]*nn.Tensor[float32]{c.out, c.final.H}, c.final.C)
			if c.final.C == nil {
				got = got[:2]
			}
			got = append(got, c.grads...)
			worstOut, worstGrad := 0.0, 0.0
			for i, w := range want {
				tol := 1e-5
				if i >= len(want)-len(c.grads) {
					tol = 1e-4
				}
				worst := 0.0
				for j := range w.Data {
					worst = max(worst, math.Abs(float64(w.Data[j]-got[i].Data[j]))/max(1, math.Abs(float64(w.Data[j]))))
				}
				if worst > tol {
					t.Errorf("%s differs from PyTorch by %.3g (tolerance %g)", w.Name, worst, tol)
				}
				if tol == 1e-5 {
					worstOut = max(worstOut, worst)
				} else {
					worstGrad = max(worstGrad, worst)
				}
			}
			t.Logf("largest difference from PyTorch: outputs and states %.2g, gradients %.2g", worstOut, worstGrad)
		})
	}
}

func shaped(name string, like *nn.Tensor[float32]) *nn.Tensor[float32] {
	x := nn.NewTensor[float32](like.Shape...)
	x.Name = name
	return x
}
