package seq2seq

import (
	"math"
	"math/rand/v2"
	"regexp"
	"slices"
	"sync"
	"testing"

	"github.com/seqkit/seqkit/nn"
	"github.com/seqkit/seqkit/pipeline"
	"github.com/seqkit/seqkit/tasks"
	"github.com/seqkit/seqkit/tasks/tasktest"
)

var (
	trainOnce sync.Once
	trained   *tasks.Loaded
	trainRes  *tasks.RunResult
)

// reverseModel trains the built-in reverse recipe once for the decoding tests.
func reverseModel(t *testing.T) (*Task, *tasks.Loaded, *tasks.RunResult) {
	trainOnce.Do(func() {
		var reg tasks.Registry
		if err := reg.Register(Type()); err != nil {
			t.Fatal(err)
		}
		trainRes = tasktest.Run(t, &reg, "reverse")
		run, err := tasks.LoadRun(trainRes.Dir, &reg, tasktest.DataRoot)
		if err != nil {
			t.Fatal(err)
		}
		trained = run
	})
	if trained == nil {
		t.Fatal("training the reverse recipe failed")
	}
	return trained.Task.(*Task), trained, trainRes
}

// TestLoadRunFrozen: a loaded run is for inference, so its encoder is frozen
// (its predictions go through an nn.Lookup).
func TestLoadRunFrozen(t *testing.T) {
	task, _, _ := reverseModel(t)
	if !task.enc.Frozen() {
		t.Error("the encoder of a loaded run is not frozen")
	}
}

// sources builds a decoding batch of random digit strings of 3 to 12 digits.
func sources(t *testing.T, v *pipeline.Vocab, n int, seed uint64) *pipeline.Batch {
	rng := rand.New(rand.NewPCG(seed, 1))
	seqs := make([][]int32, n)
	T := 0
	for j := range seqs {
		for range 3 + rng.IntN(10) {
			id, ok := v.ID(string(rune('0' + rng.IntN(10))))
			if !ok {
				t.Fatal("a digit is not in the source vocabulary")
			}
			seqs[j] = append(seqs[j], id)
		}
		T = max(T, len(seqs[j]))
	}
	return batchOf(seqs, T)
}

func batchOf(seqs [][]int32, T int) *pipeline.Batch {
	B := len(seqs)
	b := &pipeline.Batch{T: T, B: B, IDs: make([]int32, T*B), Lengths: make([]int, B)}
	for j, s := range seqs {
		b.Lengths[j] = len(s)
		for i, id := range s {
			b.IDs[i*B+j] = id
		}
	}
	return b
}

// TestReverseRecipe: the sanity recipe gets at least 99% of the test sequences
// exactly right.
func TestReverseRecipe(t *testing.T) {
	_, _, res := reverseModel(t)
	t.Logf("dev %v\ntest %v", res.Dev, res.Test)
	if em := res.Test["exact_match"]; em < 99 {
		t.Errorf("test exact match %.2f, want ≥ 99", em)
	}
}

// TestBeamOneIsGreedy: beam search of width 1 returns greedy decoding's
// sequences and scores.
func TestBeamOneIsGreedy(t *testing.T) {
	task, run, _ := reverseModel(t)
	b := sources(t, run.Vocabs.Input, 64, 1)
	g, bm := task.greedy(b), task.beam(b, 1)
	for j := range g {
		if !slices.Equal(g[j].tokens, bm[j][0].tokens) || math.Abs(g[j].score-bm[j][0].score) > 1e-9 {
			t.Fatalf("sequence %d: greedy %v (%g), beam 1 %v (%g)", j, g[j].tokens, g[j].score, bm[j][0].tokens, bm[j][0].score)
		}
	}
}

// TestBeamNotWorseThanGreedy: with beam 5 (no length penalty) the best sequence's
// log-probability is never below greedy's, and the n best are sorted and
// distinct.
func TestBeamNotWorseThanGreedy(t *testing.T) {
	task, run, _ := reverseModel(t)
	b := sources(t, run.Vocabs.Input, 64, 2)
	saved := *task.opts
	defer func() { *task.opts = saved }()
	task.opts.Beam, task.opts.LengthPenalty = 5, 0
	g := task.greedy(b)
	hyps := task.Decode(b)
	better := 0
	for j := range g {
		h := hyps[j]
		if h[0].score > g[j].score+1e-9 {
			better++
		}
		if len(h) == 0 || h[0].score < g[j].score-1e-9 {
			t.Fatalf("sequence %d: beam best %v, greedy %g", j, h, g[j].score)
		}
		for k := 1; k < len(h); k++ {
			if h[k].norm > h[k-1].norm || slices.Equal(h[k].tokens, h[k-1].tokens) {
				t.Fatalf("sequence %d: n-best not sorted or repeated: %v", j, h)
			}
		}
	}
	t.Logf("beam 5 beat greedy on %d of %d sequences", better, len(g))
}

// TestPaddingIgnored: decoding a source inside a padded batch gives what
// decoding it alone gives.
func TestPaddingIgnored(t *testing.T) {
	task, run, _ := reverseModel(t)
	b := sources(t, run.Vocabs.Input, 16, 3)
	all := task.greedy(b)
	for j := range b.B {
		seq := make([]int32, b.Lengths[j])
		for i := range seq {
			seq[i] = b.IDs[i*b.B+j]
		}
		alone := task.greedy(batchOf([][]int32{seq}, len(seq)))[0]
		if !slices.Equal(alone.tokens, all[j].tokens) || math.Abs(alone.score-all[j].score) > 1e-4 {
			t.Fatalf("sequence %d: alone %v (%g), in a padded batch %v (%g)", j, alone.tokens, alone.score, all[j].tokens, all[j].score)
		}
	}
}

func TestEditDistance(t *testing.T) {
	for _, c := range []struct {
		a, b string
		d    int
	}{{"", "", 0}, {"abc", "", 3}, {"kitten", "sitting", 3}, {"flaw", "lawn", 2}, {"abc", "abc", 0}} {
		if d := editDistance([]rune(c.a), []rune(c.b)); d != c.d {
			t.Errorf("editDistance(%q, %q) = %d, want %d", c.a, c.b, d, c.d)
		}
	}
}

// TestMultipleReferences: rows with one source are one example whose references
// are their targets; a prediction matching any of them is exact. With
// strip_pattern the stripped metrics are reported too.
func TestMultipleReferences(t *testing.T) {
	task, run, _ := reverseModel(t)
	in, out := run.Vocabs.Input, run.Vocabs.Target
	id := func(v *pipeline.Vocab, s string) int32 {
		x, ok := v.ID(s)
		if !ok {
			t.Fatalf("%q not in the vocabulary", s)
		}
		return x
	}
	src := []int32{id(in, "1"), id(in, "2"), id(in, "3")}
	b := batchOf([][]int32{src, src}, 3)
	// Targets <bos> … <eos>: "9 9 9" and the right "3 2 1".
	rows := [][]string{{"9", "9", "9"}, {"3", "2", "1"}}
	b.TargetT, b.TargetLengths = 5, []int{5, 5}
	b.Target = make([]int32, 5*2)
	for j, r := range rows {
		b.Target[j] = pipeline.BOSID
		for i, tok := range r {
			b.Target[(i+1)*2+j] = id(out, tok)
		}
		b.Target[4*2+j] = pipeline.EOSID
	}
	saved := *task.opts
	defer func() { *task.opts = saved; task.strip = nil }()
	task.strip = regexp.MustCompile("[0-9]")
	m, err := task.Evaluate(func(yield func(*pipeline.Batch) bool) { yield(b) })
	if err != nil {
		t.Fatal(err)
	}
	if m["exact_match"] != 100 || m["token_error_rate"] != 0 {
		t.Errorf("one example with references 999 and 321, predicted 321: %v", m)
	}
	if _, ok := m["exact_match_stripped"]; !ok {
		t.Errorf("no stripped metrics: %v", m)
	}
}

// TestScheduledSampling: fed the gold tokens step by step (probability 0 of
// sampling) the decoder gives teacher forcing's loss and gradients; with
// probability 1 it reads its own predictions and still trains (a finite loss,
// gradients on the weights).
func TestScheduledSampling(t *testing.T) {
	task, run, _ := reverseModel(t)
	in := run.Vocabs.Input
	b := sources(t, in, 8, 4)
	// Targets: the reversed sources.
	B := b.B
	b.TargetT = b.T + 2
	b.Target = make([]int32, b.TargetT*B)
	b.TargetLengths = make([]int, B)
	for j := range B {
		n := b.Lengths[j]
		b.TargetLengths[j] = n + 2
		b.Target[j] = pipeline.BOSID
		for i := range n {
			tok := in.Token(b.IDs[(n-1-i)*B+j])
			id, _ := task.target.ID(tok)
			b.Target[(i+1)*B+j] = id
		}
		b.Target[(n+1)*B+j] = pipeline.EOSID
	}
	m, s := task.encode(nil, b, nil)
	ids, gold, T, lengths := teacher(b)
	att, _, _ := task.decode(nil, ids, T, B, lengths, s, m, nil)
	want := nn.CrossEntropy(nil, task.out.Forward(nil, att), gold, -1, nn.CEOptions{}).Data[0]
	saved := *task.opts
	defer func() { *task.opts = saved }()
	task.opts.ScheduledSampling = 0
	got := nn.CrossEntropy(nil, task.sampled(nil, ids, T, B, s, m, rand.New(rand.NewPCG(1, 1))), gold, -1, nn.CEOptions{}).Data[0]
	if math.Abs(float64(got-want)) > 1e-5 {
		t.Errorf("step by step with gold inputs: loss %g, teacher forcing %g", got, want)
	}
	task.opts.ScheduledSampling = 1
	tp := new(nn.Tape)
	loss := task.loss(tp, b, rand.New(rand.NewPCG(2, 2)))
	if l := float64(loss.Data[0]); math.IsNaN(l) || l <= 0 {
		t.Fatalf("loss with sampled inputs: %g", l)
	}
	nn.Backward(tp, loss)
	var norm float64
	for _, p := range task.core.Params {
		for _, g := range p.Grad {
			norm += float64(g * g)
		}
	}
	nn.ZeroGrads(task.core.Params)
	if norm == 0 || math.IsNaN(norm) {
		t.Errorf("gradient norm² %g with sampled inputs", norm)
	}
}

// TestAttentionWeights: the weights behind each prediction sum to one over the
// source, equal those greedy decoding saw, and, for the reverse task, put most
// of each output digit's weight on its mirror position in the source.
func TestAttentionWeights(t *testing.T) {
	task, run, _ := reverseModel(t)
	b := sources(t, run.Vocabs.Input, 40, 7)
	maps, err := task.Attention(b)
	if err != nil {
		t.Fatal(err)
	}
	greedy := task.greedy(b)
	mirrored, outputs := 0, 0
	for j, m := range maps {
		n := b.Lengths[j]
		if len(m.Source) != n || len(m.Weights) != len(m.Output) || len(m.Weights) != len(greedy[j].attn) {
			t.Fatalf("sequence %d: %d source tokens for length %d, %d weight rows for %d outputs (greedy %d)", j, len(m.Source), n, len(m.Weights), len(m.Output), len(greedy[j].attn))
		}
		for i, row := range m.Weights {
			var sum float64
			for k, w := range row {
				sum += w
				if math.Abs(w-greedy[j].attn[i][k]) > 1e-4 {
					t.Fatalf("sequence %d output %d source %d: weight %g, greedy decoding saw %g", j, i, k, w, greedy[j].attn[i][k])
				}
			}
			if math.Abs(sum-1) > 1e-4 {
				t.Errorf("sequence %d output %d: weights sum to %g", j, i, sum)
			}
			if i < n {
				outputs++
				if best := slices.Index(row, slices.Max(row)); best == n-1-i {
					mirrored++
				}
			}
		}
	}
	if mirrored < outputs*8/10 {
		t.Errorf("%d of %d output digits attend most to their mirror position, want at least 80%%", mirrored, outputs)
	}
}
