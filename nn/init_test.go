package nn_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/seqkit/seqkit/nn"
)

func TestOrthogonal(t *testing.T) {
	const n = 16
	w := make([]float64, n*n)
	nn.Orthogonal(w, n, rand.New(rand.NewPCG(1, 1)))
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			var dot float64
			for k := 0; k < n; k++ {
				dot += w[i*n+k] * w[j*n+k]
			}
			want := 0.0
			if i == j {
				want = 1
			}
			if math.Abs(dot-want) > 1e-12 {
				t.Fatalf("(W Wᵀ)[%d,%d] = %g, want %g", i, j, dot, want)
			}
		}
	}
}

func TestRNNInitialisation(t *testing.T) {
	const H, In = 8, 5
	r, err := nn.NewRNN[float64]("rnn", nn.RNNConfig{Cell: nn.LSTM, InputSize: In, HiddenSize: H}, rand.New(rand.NewPCG(2, 2)))
	if err != nil {
		t.Fatal(err)
	}
	ps := r.Params()
	wih, whh, bih, bhh := ps[0], ps[1], ps[2], ps[3]
	limit := math.Sqrt(6.0 / (In + H))
	for _, v := range wih.Data {
		if math.Abs(v) > limit {
			t.Fatalf("weight_ih element %g outside the Glorot bound %g", v, limit)
		}
	}
	for g := 0; g < 4; g++ { // each gate's recurrent block is orthogonal
		blk := whh.Data[g*H*H : (g+1)*H*H]
		for i := 0; i < H; i++ {
			var sq float64
			for k := 0; k < H; k++ {
				sq += blk[i*H+k] * blk[i*H+k]
			}
			if math.Abs(sq-1) > 1e-12 {
				t.Fatalf("gate %d recurrent row %d has norm² %g, want 1", g, i, sq)
			}
		}
	}
	for j := 0; j < 4*H; j++ {
		want := 0.0
		if j >= H && j < 2*H {
			want = 1 // forget gate
		}
		if bih.Data[j] != want || bhh.Data[j] != 0 {
			t.Fatalf("bias element %d: ih %g hh %g, want %g and 0", j, bih.Data[j], bhh.Data[j], want)
		}
	}
	// The same seed gives the same weights: no hidden global randomness.
	r2, _ := nn.NewRNN[float64]("rnn", nn.RNNConfig{Cell: nn.LSTM, InputSize: In, HiddenSize: H}, rand.New(rand.NewPCG(2, 2)))
	for k, p := range r2.Params() {
		for i := range p.Data {
			if p.Data[i] != ps[k].Data[i] {
				t.Fatal("same seed, different weights")
			}
		}
	}
}

func TestRNNConfigErrors(t *testing.T) {
	bad := []nn.RNNConfig{
		{Cell: nn.LSTM, InputSize: 0, HiddenSize: 4},
		{Cell: nn.LSTM, InputSize: 3, HiddenSize: -1},
		{Cell: nn.GRU, InputSize: 3, HiddenSize: 4, Peephole: true},
		{Cell: nn.RNNTanh, InputSize: 3, HiddenSize: 4, NoForgetGate: true},
		{Cell: nn.LSTM, InputSize: 3, HiddenSize: 4, Dropout: 1},
		{Cell: nn.Cell(9), InputSize: 3, HiddenSize: 4},
	}
	for _, cfg := range bad {
		if _, err := nn.NewRNN[float32]("rnn", cfg, rand.New(rand.NewPCG(1, 1))); err == nil {
			t.Errorf("%+v: no error", cfg)
		}
	}
	for _, name := range []string{"rnn", "RNN_TANH", "rnn_relu", "lstm", "gru"} {
		if _, err := nn.ParseCell(name); err != nil {
			t.Errorf("ParseCell(%q): %v", name, err)
		}
	}
	if _, err := nn.ParseCell("transformer"); err == nil {
		t.Error("ParseCell accepted an unknown cell")
	}
}
