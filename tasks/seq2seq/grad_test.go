package seq2seq

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/seqkit/seqkit/nn"
	"github.com/seqkit/seqkit/pipeline"
	"github.com/seqkit/seqkit/recipes"
	"github.com/seqkit/seqkit/tasks"
)

// tinyTask builds an untrained seq2seq model of the reverse recipe, shrunk, with
// the overrides sets.
func tinyTask(t *testing.T, sets ...string) (*Task, pipeline.Vocabs) {
	t.Helper()
	var reg tasks.Registry
	if err := reg.Register(Type()); err != nil {
		t.Fatal(err)
	}
	sets = append([]string{"model.hidden=6", "model.embedding=5", "model.dropout=0"}, sets...)
	r, err := recipes.Load("reverse", recipes.Options{Tasks: &reg, Sets: sets})
	if err != nil {
		t.Fatal(err)
	}
	c := pipeline.Counter{}
	for d := range 10 {
		c.Add(fmt.Sprint(d))
	}
	v := pipeline.Vocabs{Input: c.Build(pipeline.VocabConfig{}), Target: c.Build(pipeline.VocabConfig{})}
	task := &Task{}
	if err := task.Init(tasks.Setup{Recipe: r, Vocabs: v}); err != nil {
		t.Fatal(err)
	}
	return task, v
}

// randomPairs is a batch of random sources of 2 to 6 digits with random targets
// of 1 to 5 digits.
func randomPairs(v pipeline.Vocabs, B int, seed uint64) *pipeline.Batch {
	rng := rand.New(rand.NewPCG(seed, 9))
	src := make([][]int32, B)
	tgt := make([][]int32, B)
	T, TT := 0, 0
	for j := range B {
		for range 2 + rng.IntN(5) {
			id, _ := v.Input.ID(fmt.Sprint(rng.IntN(10)))
			src[j] = append(src[j], id)
		}
		tgt[j] = []int32{pipeline.BOSID}
		for range 1 + rng.IntN(5) {
			id, _ := v.Target.ID(fmt.Sprint(rng.IntN(10)))
			tgt[j] = append(tgt[j], id)
		}
		tgt[j] = append(tgt[j], pipeline.EOSID)
		T, TT = max(T, len(src[j])), max(TT, len(tgt[j]))
	}
	b := batchOf(src, T)
	b.TargetT, b.Target, b.TargetLengths = TT, make([]int32, TT*B), make([]int, B)
	for j, s := range tgt {
		b.TargetLengths[j] = len(s)
		for i, id := range s {
			b.Target[i*B+j] = id
		}
	}
	return b
}

// TestGradient checks the whole model's backward pass (encoder, bridge,
// decoder, attention, combination and output layers) against central finite
// differences of its training loss, for every attention score and with input
// feeding, tied embeddings and a decoder wider than the encoder, on a few
// coordinates of every parameter.
func TestGradient(t *testing.T) {
	for _, sets := range [][]string{
		{"task.attention=general"},
		{"task.attention=additive", "task.input_feeding=true"},
		{"task.attention=dot", "model.bidirectional=false", "model.layers=2"},
		{"task.attention=general", "model.embedding=6", "task.tie_embeddings=true", "model.cell=lstm"},
		{"task.attention=dot", "task.decoder_hidden=12", "task.input_feeding=true"}, // a decoder as wide as both directions
	} {
		t.Run(fmt.Sprint(sets), func(t *testing.T) {
			task, v := tinyTask(t, sets...)
			b := randomPairs(v, 5, 3)
			loss := func() float64 { return float64(task.loss(nil, b, nil).Data[0]) }
			tp := new(nn.Tape)
			nn.Backward(tp, task.loss(tp, b, nil))
			rng := rand.New(rand.NewPCG(4, 4))
			for _, p := range task.core.Params {
				grad := append([]float32(nil), p.Grad...)
				for range 4 {
					k := rng.IntN(len(p.Data))
					x := p.Data[k]
					const eps = 1e-2
					p.Data[k] = x + eps
					up := loss()
					p.Data[k] = x - eps
					down := loss()
					p.Data[k] = x
					num, got := (up-down)/(2*eps), float64(grad[k])
					if math.Abs(num-got) > 5e-4+0.02*math.Abs(num) {
						t.Errorf("%s[%d]: backward %.6f, finite difference %.6f", p.Name, k, got, num)
					}
				}
			}
		})
	}
}

// TestDecoderHidden: the decoder takes task.decoder_hidden, and dot attention
// is refused unless the encoder's outputs are as wide.
func TestDecoderHidden(t *testing.T) {
	task, _ := tinyTask(t, "task.decoder_hidden=9")
	if got := task.dec.Config.HiddenSize; got != 9 {
		t.Errorf("decoder hidden size %d, want 9", got)
	}
	var reg tasks.Registry
	if err := reg.Register(Type()); err != nil {
		t.Fatal(err)
	}
	_, err := recipes.Load("reverse", recipes.Options{Tasks: &reg, Sets: []string{"model.hidden=6", "task.attention=dot", "model.bidirectional=true"}})
	if err == nil || !strings.Contains(err.Error(), "dot attention needs encoder outputs (12 wide) of the decoder's size (6)") {
		t.Errorf("dot attention over a bidirectional encoder of 6: %v", err)
	}
}
