package nn_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/seqkit/seqkit/nn"
	"github.com/seqkit/seqkit/nn/nntest"
)

// TestRNNConformance runs the shared suite for every cell × {uni, bi} × {1, 2 layers},
// the peephole and the no-forget-gate LSTM included.
func TestRNNConformance(t *testing.T) {
	type variant struct {
		name     string
		cell     nn.Cell
		noForget bool
		peephole bool
	}
	variants := []variant{
		{"rnn_tanh", nn.RNNTanh, false, false},
		{"rnn_relu", nn.RNNReLU, false, false},
		{"lstm", nn.LSTM, false, false},
		{"lstm_peephole", nn.LSTM, false, true},
		{"lstm_1997", nn.LSTM, true, false},
		{"lstm_1997_peephole", nn.LSTM, true, true},
		{"gru", nn.GRU, false, false},
	}
	for _, v := range variants {
		for _, bi := range []bool{false, true} {
			for _, layers := range []int{1, 2} {
				cfg := nn.RNNConfig{Cell: v.cell, InputSize: 3, HiddenSize: 4, Layers: layers,
					Bidirectional: bi, NoForgetGate: v.noForget, Peephole: v.peephole}
				t.Run(fmt.Sprintf("%s/bi=%v/layers=%d", v.name, bi, layers), func(t *testing.T) {
					nntest.CheckRNN(t, cfg)
				})
			}
		}
	}
}

// TestSameBitsAnyCores runs float32 layers forward and backward on one core and
// on two and three, where the batch rows are swept in separate chunks and the
// directions side by side, and requires the same bits in every output, final
// state and gradient, and in inference passes (which reuse scratch buffers).
// Lengths vary, so some rows are padding at some steps.
func TestSameBitsAnyCores(t *testing.T) {
	cells := []nn.RNNConfig{
		{Cell: nn.LSTM}, {Cell: nn.LSTM, Peephole: true}, {Cell: nn.GRU}, {Cell: nn.RNNTanh},
		{Cell: nn.LSTM, Bidirectional: true, Layers: 2}, {Cell: nn.GRU, Bidirectional: true},
	}
	const steps, B = 7, 40
	run := func(cfg nn.RNNConfig, procs int) [][]float32 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		rng := rand.New(rand.NewPCG(7, 8))
		r, err := nn.NewRNN[float32]("rnn", cfg, rng)
		if err != nil {
			t.Fatal(err)
		}
		x := nn.NewTensor[float32](steps, B, cfg.InputSize)
		nn.Normal(x.Data, 1, rng)
		n := cfg.Layers
		if n == 0 {
			n = 1
		}
		if cfg.Bidirectional {
			n *= 2
		}
		h0 := nn.NewTensor[float32](n, B, cfg.HiddenSize)
		nn.Normal(h0.Data, 1, rng)
		lengths := make([]int, B)
		for i := range lengths {
			lengths[i] = 1 + rng.IntN(steps)
		}
		// Inference passes first, twice: they borrow scratch buffers, the
		// second one buffers the first left dirty; they must match the
		// recorded pass below.
		var inf [][]float32
		for range 2 {
			o, f := r.Forward(nil, x, lengths, nn.State[float32]{H: h0}, nil)
			inf = [][]float32{o.Data, f.H.Data}
		}
		tp := new(nn.Tape)
		out, final := r.Forward(tp, x, lengths, nn.State[float32]{H: h0}, nil)
		for i, v := range [][]float32{out.Data, final.H.Data} {
			for j := range v {
				if math.Float32bits(v[j]) != math.Float32bits(inf[i][j]) {
					t.Fatalf("%+v: inference value %d of result %d is %g, training pass %g", cfg, j, i, inf[i][j], v[j])
				}
			}
		}
		w := make([]float32, out.Len())
		nn.Normal(w, 1, rng)
		loss := nntest.WeightedSum(tp, []*nn.Tensor[float32]{out, final.H}, [][]float32{w, w[:final.H.Len()]})
		nn.Backward(tp, loss)
		got := [][]float32{out.Data, final.H.Data, x.Grad, h0.Grad}
		for _, p := range r.Params() {
			got = append(got, p.Grad)
		}
		return got
	}
	for _, cfg := range cells {
		cfg.InputSize, cfg.HiddenSize = 5, 24
		want := run(cfg, 1)
		for _, procs := range []int{2, 3} {
			got := run(cfg, procs)
			for i := range want {
				for j := range want[i] {
					if math.Float32bits(got[i][j]) != math.Float32bits(want[i][j]) {
						t.Fatalf("%+v on %d cores: value %d of result %d is %g, on one core %g", cfg, procs, j, i, got[i][j], want[i][j])
					}
				}
			}
		}
	}
}

// TestNoAllocationPerStep: an inference pass allocates about the same number of
// times for 5 steps as for 40 (its buffers per pass, nothing per step), for
// each cell, one and two directions, and batches swept whole or in chunks.
func TestNoAllocationPerStep(t *testing.T) {
	if raceOn {
		t.Skip("the race detector makes sync.Pool drop buffers at random; allocation counts mean nothing")
	}
	for _, cfg := range []nn.RNNConfig{{Cell: nn.LSTM}, {Cell: nn.GRU}, {Cell: nn.RNNTanh}, {Cell: nn.LSTM, Bidirectional: true}} {
		cfg.InputSize, cfg.HiddenSize = 16, 32
		for _, B := range []int{4, 32} {
			r, err := nn.NewRNN[float32]("rnn", cfg, rand.New(rand.NewPCG(1, 1)))
			if err != nil {
				t.Fatal(err)
			}
			allocs := func(steps int) float64 {
				x := nn.NewTensor[float32](steps, B, cfg.InputSize)
				lengths := make([]int, B)
				for i := range lengths {
					lengths[i] = steps
				}
				return testing.AllocsPerRun(5, func() { r.Forward(nil, x, lengths, nn.State[float32]{}, nil) })
			}
			// One allocation a step would add 35; allow the odd one from a
			// sync.Pool refill or a goroutine start.
			if a5, a40 := allocs(5), allocs(40); a40 > a5+5 {
				t.Errorf("%v B=%d: %.0f allocations for 5 steps, %.0f for 40", cfg.Cell, B, a5, a40)
			}
		}
	}
}
