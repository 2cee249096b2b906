package onnx_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/seqkit/seqkit/nn"
	"github.com/seqkit/seqkit/onnx"
	"github.com/seqkit/seqkit/onnx/onnxtest"
)

func randomize(ps []*nn.Tensor[float32], rng *rand.Rand) {
	for _, p := range ps {
		for i := range p.Data {
			p.Data[i] = float32(rng.NormFloat64() * 0.4)
		}
	}
}

// TestRNNParity runs every cell, stacked and bidirectional, with peepholes
// and without a forget gate, from given initial states over sequences of
// mixed lengths, in seqkit and in ONNX Runtime, and compares the outputs, the
// final states and the three poolings.
func TestRNNParity(t *testing.T) {
	onnxtest.Need(t)
	cases := []nn.RNNConfig{
		{Cell: nn.LSTM, Layers: 2, Bidirectional: true},
		{Cell: nn.LSTM, Peephole: true, Bidirectional: true},
		{Cell: nn.LSTM, NoForgetGate: true, Peephole: true},
		{Cell: nn.LSTM, NoForgetGate: true, Layers: 2},
		{Cell: nn.GRU, Layers: 2, Bidirectional: true},
		{Cell: nn.RNNTanh, Bidirectional: true},
		{Cell: nn.RNNReLU, Layers: 2},
	}
	for _, cfg := range cases {
		cfg.InputSize, cfg.HiddenSize = 5, 7
		name := fmt.Sprintf("%s/layers=%d/bidi=%v/peep=%v/noforget=%v", cfg.Cell, max(cfg.Layers, 1), cfg.Bidirectional, cfg.Peephole, cfg.NoForgetGate)
		t.Run(name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 2))
			r, err := nn.NewRNN[float32]("rnn", cfg, rng)
			if err != nil {
				t.Fatal(err)
			}
			randomize(r.Params(), rng)
			T, B, H := 6, 4, cfg.HiddenSize
			L, D := max(cfg.Layers, 1), 1
			if cfg.Bidirectional {
				D = 2
			}
			lengths := []int{6, 3, 1, 5}
			x := nn.NewTensor[float32](T, B, cfg.InputSize)
			randomize([]*nn.Tensor[float32]{x}, rng)
			init := nn.State[float32]{H: nn.NewTensor[float32](L*D, B, H)}
			randomize([]*nn.Tensor[float32]{init.H}, rng)
			if cfg.Cell == nn.LSTM {
				init.C = nn.NewTensor[float32](L*D, B, H)
				randomize([]*nn.Tensor[float32]{init.C}, rng)
			}
			y, st := r.Forward(nil, x, lengths, init, nil)

			g := onnx.NewGraph("rnn", "")
			xin := g.Input("x", onnx.Float, "T", "B", cfg.InputSize)
			lin := g.Input("lengths", onnx.Int32, "B")
			h0 := g.Input("h0", onnx.Float, L*D, "B", H)
			c0 := ""
			if cfg.Cell == nn.LSTM {
				c0 = g.Input("c0", onnx.Float, L*D, "B", H)
			}
			oy, ohn, ocn := onnx.RNN(g, r, xin, lin, h0, c0)
			g.Output(oy, "y", onnx.Float, "T", "B", D*H)
			g.Output(ohn, "hn", onnx.Float, L*D, "B", H)
			if ocn != "" {
				g.Output(ocn, "cn", onnx.Float, L*D, "B", H)
			}
			lens := onnx.NewLengths(g, lin, xin)
			for _, m := range []nn.Pooling{nn.PoolLast, nn.PoolMean, nn.PoolMax} {
				g.Output(onnx.Pool(g, oy, lens, m, cfg.Bidirectional, D*H), fmt.Sprint("pool", int(m)), onnx.Float, "B", D*H)
			}
			model, err := g.Marshal("test")
			if err != nil {
				t.Fatal(err)
			}
			in := map[string]onnxtest.Value{
				"x":       onnxtest.F32(x.Data, x.Shape...),
				"lengths": onnxtest.I32(lengths, B),
				"h0":      onnxtest.F32(init.H.Data, init.H.Shape...),
			}
			if c0 != "" {
				in["c0"] = onnxtest.F32(init.C.Data, init.C.Shape...)
			}
			got := onnxtest.Run(t, model, in).Runs[0]
			valid := func(i int) bool { return i/(D*H)/B < lengths[i/(D*H)%B] }
			onnxtest.Near(t, "y", got["y"], y.Data, valid)
			onnxtest.Near(t, "hn", got["hn"], st.H.Data, nil)
			if st.C != nil {
				onnxtest.Near(t, "cn", got["cn"], st.C.Data, nil)
			}
			for _, m := range []nn.Pooling{nn.PoolLast, nn.PoolMean, nn.PoolMax} {
				want := nn.Pool(nil, y, lengths, m, cfg.Bidirectional)
				onnxtest.Near(t, fmt.Sprint("pool", int(m)), got[fmt.Sprint("pool", int(m))], want.Data, nil)
			}
		})
	}
}
