package nn_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/seqkit/seqkit/nn"
)

// TestLookup checks that a Lookup gives the outputs and final states of the
// embedding and stack it wraps, before its table exists (the first batch reads
// fewer tokens than the vocabulary has rows) and after, for every cell, one
// and two layers, one and two directions, with padding and an initial state.
func TestLookup(t *testing.T) {
	cfgs := []nn.RNNConfig{
		{Cell: nn.GRU}, {Cell: nn.LSTM, Peephole: true}, {Cell: nn.RNNTanh},
		{Cell: nn.GRU, Bidirectional: true, Layers: 2}, {Cell: nn.LSTM, Bidirectional: true},
	}
	const V, E, H, steps, B = 50, 6, 5, 4, 6
	for _, cfg := range cfgs {
		t.Run(fmt.Sprintf("%v/bi=%v/layers=%d", cfg.Cell, cfg.Bidirectional, cfg.Layers), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 2))
			cfg.InputSize, cfg.HiddenSize = E, H
			emb := nn.NewEmbedding[float32]("emb", V, E, 0, rng)
			r, err := nn.NewRNN[float32]("rnn", cfg, rng)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range r.Params() { // biases are zero or one at first
				nn.Uniform(p.Data, 0.5, rng)
			}
			l, err := nn.NewLookup(emb, r)
			if err != nil {
				t.Fatal(err)
			}
			lengths := []int{4, 1, 3, 0, 4, 2}
			L := max(cfg.Layers, 1) * map[bool]int{false: 1, true: 2}[cfg.Bidirectional]
			init := nn.State[float32]{H: nn.NewTensor[float32](L, B, H)}
			nn.Uniform(init.H.Data, 1, rng)
			if cfg.Cell == nn.LSTM {
				init.C = nn.NewTensor[float32](L, B, H)
				nn.Uniform(init.C.Data, 1, rng)
			}
			for batch := range 4 { // 24 tokens a batch: the table comes with the third
				ids := make([]int32, steps*B)
				for i := range ids {
					ids[i] = int32(rng.IntN(V))
				}
				want, wantSt := r.Forward(nil, emb.Forward(nil, ids, steps, B), lengths, init, nil)
				got, gotSt := l.Forward(ids, steps, B, lengths, init)
				close := func(what string, got, want *nn.Tensor[float32]) {
					t.Helper()
					if got == nil && want == nil {
						return
					}
					for i := range want.Data {
						if d := math.Abs(float64(got.Data[i] - want.Data[i])); d > 1e-5 {
							t.Fatalf("batch %d: %s[%d] = %g, want %g", batch, what, i, got.Data[i], want.Data[i])
						}
					}
				}
				close("output", got, want)
				close("final h", gotSt.H, wantSt.H)
				close("final c", gotSt.C, wantSt.C)
			}
			if !l.Built() {
				t.Fatal("no table after 96 tokens of a 50-row vocabulary")
			}
			func() {
				defer func() {
					if recover() == nil {
						t.Error("an id past the vocabulary did not panic")
					}
				}()
				ids := make([]int32, steps*B)
				ids[5] = V
				l.Forward(ids, steps, B, lengths, init)
			}()
		})
	}
}

// TestLookupTooLarge checks that a vocabulary whose table would pass
// MaxLookupBytes keeps the product (and still answers).
func TestLookupTooLarge(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	V := nn.MaxLookupBytes/(4*3*8) + 1 // a GRU of 8: three gates of 8 floats a row
	emb := &nn.Embedding[float32]{W: nn.NewTensor[float32](V, 2), Vocab: V, Dim: 2, PaddingIdx: -1}
	r, err := nn.NewRNN[float32]("rnn", nn.RNNConfig{Cell: nn.GRU, InputSize: 2, HiddenSize: 8}, rng)
	if err != nil {
		t.Fatal(err)
	}
	l, err := nn.NewLookup(emb, r)
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]int32, V)
	lengths := make([]int, V)
	for i := range lengths {
		lengths[i] = 1
	}
	if out, _ := l.Forward(ids, 1, V, lengths, nn.State[float32]{}); len(out.Data) != V*8 || l.Built() {
		t.Fatalf("output of %d floats, table built %v", len(out.Data), l.Built())
	}
	if _, err := nn.NewLookup(emb, &nn.RNN[float32]{Config: nn.RNNConfig{InputSize: 3}}); err == nil {
		t.Fatal("a Lookup of a 2-wide embedding into a 3-input stack was accepted")
	}
}
