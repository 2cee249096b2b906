package nn_test

import (
	"math/rand/v2"
	"testing"

	"github.com/seqkit/seqkit/nn"
	"github.com/seqkit/seqkit/nn/nntest"
)

// The recurrent layers of the configurations in ../shared/bench/README.md. The
// benchmarks time the recurrent stack alone (forward and backward through time, with
// a weighted-sum loss on its outputs), not the embedding, head or optimizer, and
// report tokens per second.
var benchShapes = []struct {
	name string
	cfg  nn.RNNConfig
	B, T int
}{
	{"tagger/BiLSTM-100-128", nn.RNNConfig{Cell: nn.LSTM, InputSize: 100, HiddenSize: 128, Bidirectional: true}, 32, 20},
	{"classifier/GRU-128-256", nn.RNNConfig{Cell: nn.GRU, InputSize: 128, HiddenSize: 256}, 64, 64},
	{"lm/LSTM-256-512", nn.RNNConfig{Cell: nn.LSTM, InputSize: 256, HiddenSize: 512}, 32, 35},
	{"seq2seq-encoder/GRU-128-256", nn.RNNConfig{Cell: nn.GRU, InputSize: 128, HiddenSize: 256}, 32, 20},
	// The names-lm recipe's stack, whose training draws a weight dropout mask
	// for each layer's 1M recurrent weights at every pass.
	{"names-lm/LSTM-64-512x2-wdrop", nn.RNNConfig{Cell: nn.LSTM, InputSize: 64, HiddenSize: 512, Layers: 2, Dropout: 0.3, WeightDropout: 0.4}, 32, 9},
}

func BenchmarkRNNTrain(b *testing.B) {
	for _, s := range benchShapes {
		b.Run(s.name, func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 1))
			r, err := nn.NewRNN[float32]("rnn", s.cfg, rng)
			if err != nil {
				b.Fatal(err)
			}
			x := nn.NewTensor[float32](s.T, s.B, s.cfg.InputSize)
			nn.Normal(x.Data, 1, rng)
			lengths := make([]int, s.B)
			for i := range lengths {
				lengths[i] = s.T
			}
			w := nn.NewTensor[float32](s.T, s.B, s.cfg.OutputSize())
			nn.Normal(w.Data, 1, rng)
			var drop *rand.Rand // training mode, for the shapes with dropout
			if s.cfg.Dropout > 0 || s.cfg.WeightDropout > 0 {
				drop = rng
			}
			for b.Loop() {
				nn.ZeroGrads(r.Params())
				x.Grad = nil
				tp := new(nn.Tape)
				out, _ := r.Forward(tp, x, lengths, nn.State[float32]{}, drop)
				nn.Backward(tp, nntest.WeightedSum(tp, []*nn.Tensor[float32]{out}, [][]float32{w.Data}))
			}
			b.ReportMetric(float64(s.B*s.T*b.N)/b.Elapsed().Seconds(), "tokens/s")
		})
	}
}

func BenchmarkRNNInfer(b *testing.B) {
	for _, s := range benchShapes {
		b.Run(s.name, func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 1))
			r, _ := nn.NewRNN[float32]("rnn", s.cfg, rng)
			x := nn.NewTensor[float32](s.T, s.B, s.cfg.InputSize)
			nn.Normal(x.Data, 1, rng)
			lengths := make([]int, s.B)
			for i := range lengths {
				lengths[i] = s.T
			}
			for b.Loop() {
				r.Forward(nil, x, lengths, nn.State[float32]{}, nil)
			}
			b.ReportMetric(float64(s.B*s.T*b.N)/b.Elapsed().Seconds(), "tokens/s")
		})
	}
}

// BenchmarkGemm512 is the SGEMM reference shape of the peer harness.
func BenchmarkGemm512(b *testing.B) {
	const n = 512
	rng := rand.New(rand.NewPCG(1, 1))
	a, c, d := make([]float32, n*n), make([]float32, n*n), make([]float32, n*n)
	nn.Normal(a, 1, rng)
	nn.Normal(c, 1, rng)
	for b.Loop() {
		nn.Gemm(false, false, n, n, n, 1, a, n, c, n, 0, d, n)
	}
	b.ReportMetric(2*n*n*n*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

// BenchmarkAdam is one Adam step over a million weights (the classifier's
// embedding table is 2.6 million).
func BenchmarkAdam(b *testing.B) {
	p := nn.NewTensor[float32](1 << 20)
	p.EnsureGrad()
	for i := range p.Data {
		p.Data[i], p.Grad[i] = float32(i%7)*0.1, float32(i%5)*0.01
	}
	opt := nn.NewAdam([]*nn.Tensor[float32]{p}, nn.AdamConfig{})
	for b.Loop() {
		opt.Step(1e-3)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(p.Len()), "ns/weight")
}
