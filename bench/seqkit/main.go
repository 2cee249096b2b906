// Command seqkit is seqkit's side of the peer benchmark: the four
// configurations of ../shared/bench/README.md (tagger, classifier, lm,
// seq2seq) built from seqkit's layers, trained on random batches with Adam (lr
// 1e-3) and run for inference, printing one JSON object per configuration as
// bench/torch_bench.py does for PyTorch. bench/run.sh runs both and prints
// the ratios.
//
//	go run ./bench/seqkit --configs tagger,lm --train-batches 50
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/seqkit/seqkit/nn"
)

// config is one benchmark shape: B batch, T length (and Tt of the target), V
// vocabulary, E embedding, H hidden, C classes.
type config struct {
	B, T, Tt, V, E, H, C int
}

var configs = map[string]config{
	"tagger":     {B: 32, T: 20, V: 1000, E: 100, H: 128, C: 127},
	"classifier": {B: 64, T: 64, V: 20000, E: 128, H: 256, C: 2},
	"lm":         {B: 32, T: 35, V: 10000, E: 256, H: 512, C: 10000},
	"seq2seq":    {B: 32, T: 20, Tt: 20, V: 5000, E: 128, H: 256, C: 5000},
}

// model is a configuration's network: its parameters, and a forward pass from
// a batch to the loss (training) or the logits (inference, tp nil).
type model struct {
	params  []*nn.Tensor[float32]
	forward func(tp *nn.Tape, b batch) *nn.Tensor[float32]
	// stacks are the model's embeddings and the recurrent stacks over them;
	// lookups run them in inference (nn.Lookup), made anew by freshLookups
	// when the timed inference starts, so that its time includes the batches
	// before their tables and building them.
	stacks  map[*nn.RNN[float32]]*nn.Embedding[float32]
	lookups map[*nn.RNN[float32]]*nn.Lookup[float32]
	loss    func(tp *nn.Tape, logits *nn.Tensor[float32], b batch) *nn.Tensor[float32]
	tokens  int
}

type batch struct {
	src, tgtIn []int32 // [T, B] and [Tt, B]
	gold       []int32 // per token, or per sequence
}

func ones(B, T int) []int {
	l := make([]int, B)
	for i := range l {
		l[i] = T
	}
	return l
}

func build(name string, c config, rng *rand.Rand) (*model, error) {
	m := &model{}
	emb := nn.NewEmbedding[float32]("emb", c.V, c.E, -1, rng)
	m.params = emb.Params()
	add := func(ps ...*nn.Tensor[float32]) { m.params = append(m.params, ps...) }
	ce := func(tp *nn.Tape, lg *nn.Tensor[float32], b batch) *nn.Tensor[float32] {
		return nn.CrossEntropy(tp, lg, b.gold, -1, nn.CEOptions{})
	}
	m.loss = ce
	m.stacks = map[*nn.RNN[float32]]*nn.Embedding[float32]{}
	// encode runs an embedding and a stack: through a Lookup in inference.
	encode := func(tp *nn.Tape, emb *nn.Embedding[float32], rnn *nn.RNN[float32], ids []int32, T, B int, init nn.State[float32]) (*nn.Tensor[float32], nn.State[float32]) {
		m.stacks[rnn] = emb
		if l := m.lookups[rnn]; tp == nil && l != nil {
			return l.Forward(ids, T, B, ones(B, T), init)
		}
		return rnn.Forward(tp, emb.Forward(tp, ids, T, B), ones(B, T), init, nil)
	}
	switch name {
	case "tagger", "lm":
		cell, bidir := nn.LSTM, name == "tagger"
		rnn, err := nn.NewRNN[float32]("rnn", nn.RNNConfig{Cell: cell, InputSize: c.E, HiddenSize: c.H, Bidirectional: bidir}, rng)
		if err != nil {
			return nil, err
		}
		out := nn.NewLinear[float32]("out", rnn.Config.OutputSize(), c.C, rng)
		add(rnn.Params()...)
		add(out.Params()...)
		m.forward = func(tp *nn.Tape, b batch) *nn.Tensor[float32] {
			h, _ := encode(tp, emb, rnn, b.src, c.T, c.B, nn.State[float32]{})
			return out.Forward(tp, h)
		}
		m.tokens = c.B * c.T
	case "classifier":
		rnn, err := nn.NewRNN[float32]("rnn", nn.RNNConfig{Cell: nn.GRU, InputSize: c.E, HiddenSize: c.H}, rng)
		if err != nil {
			return nil, err
		}
		out := nn.NewLinear[float32]("out", c.H, c.C, rng)
		add(rnn.Params()...)
		add(out.Params()...)
		m.forward = func(tp *nn.Tape, b batch) *nn.Tensor[float32] {
			h, _ := encode(tp, emb, rnn, b.src, c.T, c.B, nn.State[float32]{})
			return out.Forward(tp, nn.Pool(tp, h, ones(c.B, c.T), nn.PoolLast, false))
		}
		m.tokens = c.B * c.T
	case "seq2seq":
		enc, err := nn.NewRNN[float32]("enc", nn.RNNConfig{Cell: nn.GRU, InputSize: c.E, HiddenSize: c.H}, rng)
		if err != nil {
			return nil, err
		}
		dec, err := nn.NewRNN[float32]("dec", nn.RNNConfig{Cell: nn.GRU, InputSize: c.E, HiddenSize: c.H}, rng)
		if err != nil {
			return nil, err
		}
		temb := nn.NewEmbedding[float32]("tgt_emb", c.V, c.E, -1, rng)
		att, err := nn.NewAttention[float32]("att", nn.Dot, c.H, c.H, c.H, rng)
		if err != nil {
			return nil, err
		}
		combine := nn.NewLinear[float32]("combine", 2*c.H, c.H, rng)
		out := nn.NewLinear[float32]("out", c.H, c.C, rng)
		add(enc.Params()...)
		add(dec.Params()...)
		add(temb.Params()...)
		add(combine.W) // no bias, as Luong's W_c
		add(out.Params()...)
		m.forward = func(tp *nn.Tape, b batch) *nn.Tensor[float32] {
			ls := ones(c.B, c.T)
			hs, st := encode(tp, emb, enc, b.src, c.T, c.B, nn.State[float32]{})
			ht, _ := encode(tp, temb, dec, b.tgtIn, c.Tt, c.B, st)
			ctx, _ := att.Forward(tp, ht, hs, ls)
			return out.Forward(tp, nn.Tanh(tp, combine.Forward(tp, nn.Concat(tp, ctx, ht))))
		}
		m.tokens = c.B * c.Tt
	default:
		return nil, fmt.Errorf("unknown configuration %q", name)
	}
	return m, nil
}

// freshLookups makes a new Lookup of every stack the forward pass has run.
func (m *model) freshLookups() error {
	m.lookups = map[*nn.RNN[float32]]*nn.Lookup[float32]{}
	for rnn, emb := range m.stacks {
		l, err := nn.NewLookup(emb, rnn)
		if err != nil {
			return err
		}
		m.lookups[rnn] = l
	}
	return nil
}

func randomBatch(name string, c config, rng *rand.Rand) batch {
	ids := func(n, v int) []int32 {
		out := make([]int32, n)
		for i := range out {
			out[i] = int32(rng.IntN(v))
		}
		return out
	}
	switch name {
	case "classifier":
		return batch{src: ids(c.T*c.B, c.V), gold: ids(c.B, c.C)}
	case "seq2seq":
		return batch{src: ids(c.T*c.B, c.V), tgtIn: ids(c.Tt*c.B, c.V), gold: ids(c.Tt*c.B, c.C)}
	}
	return batch{src: ids(c.T*c.B, c.V), gold: ids(c.T*c.B, c.C)}
}

// Long on purpose: the benchmark's flags, configurations and output
// table read as one script.
func main() {
	only := flag.String("configs", "tagger,classifier,lm,seq2seq", "configurations to run, comma-separated")
	trainN := flag.Int("train-batches", 50, "timed training batches")
	inferN := flag.Int("infer-batches", 100, "timed inference batches")
	warmup := flag.Int("warmup", 5, "untimed batches first")
	gemm := flag.Bool("gemm", false, "time SGEMM on the configurations' products (the shapes of bench/torch_bench.py's GEMM_SHAPES) instead")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the timed training to this file, and of the inference to this file with .infer appended")
	flag.Parse()
	enc := json.NewEncoder(os.Stdout)
	if *gemm {
		timeGemms(enc)
		return
	}
	for _, name := range strings.Split(*only, ",") {
		c, ok := configs[name]
		if !ok {
			fmt.Fprintf(os.Stderr, "seqkit bench: unknown configuration %q\n", name)
			os.Exit(2)
		}
		rng := rand.New(rand.NewPCG(1, 2))
		m, err := build(name, c, rng)
		if err != nil {
			fmt.Fprintln(os.Stderr, "seqkit bench:", err)
			os.Exit(1)
		}
		pool := make([]batch, 8)
		for i := range pool {
			pool[i] = randomBatch(name, c, rng)
		}
		opt := nn.NewAdam(m.params, nn.AdamConfig{})
		var train time.Duration
		var loss float32
		for i := range *warmup + *trainN {
			if i == *warmup && *cpuprofile != "" {
				f, err := os.Create(*cpuprofile)
				if err != nil {
					fmt.Fprintln(os.Stderr, "seqkit bench:", err)
					os.Exit(1)
				}
				pprof.StartCPUProfile(f)
				defer f.Close()
			}
			b := pool[i%len(pool)]
			t0 := time.Now()
			nn.ZeroGrads(m.params)
			tp := new(nn.Tape)
			l := m.loss(tp, m.forward(tp, b), b)
			nn.Backward(tp, l)
			opt.Step(1e-3)
			if i >= *warmup {
				train += time.Since(t0)
				loss = l.Data[0]
			}
		}
		if *cpuprofile != "" {
			pprof.StopCPUProfile()
		}
		var ru syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		trainRSS := float64(ru.Maxrss) / 1024
		var infer time.Duration
		for i := range *warmup + *inferN {
			if i == *warmup {
				if err := m.freshLookups(); err != nil {
					fmt.Fprintln(os.Stderr, "seqkit bench:", err)
					os.Exit(1)
				}
			}
			if i == *warmup && *cpuprofile != "" {
				f, err := os.Create(*cpuprofile + ".infer")
				if err != nil {
					fmt.Fprintln(os.Stderr, "seqkit bench:", err)
					os.Exit(1)
				}
				pprof.StartCPUProfile(f)
				defer f.Close()
			}
			t0 := time.Now()
			// The logits are dropped at once: their buffer is reused, as
			// PyTorch's caching allocator reuses a freed output's block.
			nn.Recycle(m.forward(nil, pool[i%len(pool)]))
			if i >= *warmup {
				infer += time.Since(t0)
			}
		}
		if *cpuprofile != "" {
			pprof.StopCPUProfile()
		}
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		nParams := 0
		for _, p := range m.params {
			nParams += p.Len()
		}
		enc.Encode(map[string]any{
			"peer": "seqkit", "config": name, "params": nParams, "threads": runtime.GOMAXPROCS(0),
			"train_tokens_per_s": float64(m.tokens**trainN) / train.Seconds(),
			"infer_tokens_per_s": float64(m.tokens**inferN) / infer.Seconds(),
			"train_ms_per_batch": train.Seconds() * 1e3 / float64(*trainN),
			"infer_ms_per_batch": infer.Seconds() * 1e3 / float64(*inferN),
			"final_loss":         loss, "peak_rss_mb": trainRSS, "peak_rss_infer_mb": float64(ru.Maxrss) / 1024,
		})
	}
}

// gemmShapes are the products of the configurations' forward passes, M×N×K
// (activations M×K times weights N×K, transposed): the recurrent steps, the
// input projections and the output layers. bench/torch_bench.py has the same list.
var gemmShapes = []string{"32x512x128", "640x512x100", "640x127x256", "64x768x256", "4096x768x128",
	"32x2048x512", "1120x2048x256", "1120x10000x512", "32x768x256", "640x5000x256"}

// timeGemms times each shape as seqkit computes it: a recurrent step (M of 32
// or 64) with its weights packed once, as the layers do, the rest plainly.
func timeGemms(enc *json.Encoder) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, shape := range gemmShapes {
		var m, n, k int
		fmt.Sscanf(shape, "%dx%dx%d", &m, &n, &k)
		x, w, c := make([]float32, m*k), make([]float32, n*k), make([]float32, m*n)
		nn.Normal(x, 1, rng)
		nn.Normal(w, 1, rng)
		run := func() { nn.Gemm(false, true, m, n, k, 1, x, k, w, k, 0, c, n) }
		if m <= 64 {
			p := nn.Pack(true, k, n, w, k)
			run = func() { nn.GemmPacked(m, 1, x, k, p, 0, c, n) }
		}
		reps := max(5, int(2e9/float64(2*m*n*k)))
		for range 3 {
			run()
		}
		t0 := time.Now()
		for range reps {
			run()
		}
		enc.Encode(map[string]any{"peer": "seqkit", "config": "gemm " + shape,
			"gflops": float64(reps) * 2 * float64(m*n*k) / time.Since(t0).Seconds() / 1e9})
	}
}
