package kit_test

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/seqkit/seqkit/nn"
	"github.com/seqkit/seqkit/pipeline"
	"github.com/seqkit/seqkit/recipes"
	"github.com/seqkit/seqkit/tasks"
	"github.com/seqkit/seqkit/tasks/kit"
)

// TestUpdateRefusesNonFinite checks the divergence check itself (the trainer's
// tests script ErrDiverged): a NaN or infinite loss, or an infinite gradient,
// is ErrDiverged, and neither the weights nor the optimizer move.
func TestUpdateRefusesNonFinite(t *testing.T) {
	for _, c := range []struct {
		name string
		loss float32
		grad float32
		want string
	}{
		{"NaN loss", float32(math.NaN()), 0.5, "loss is NaN"},
		{"infinite loss", float32(math.Inf(1)), 0.5, "loss is +Inf"},
		{"infinite gradient", 1, float32(math.Inf(-1)), "gradient norm is"},
		{"finite", 1, 0.5, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := recipes.Default()
			w := nn.NewTensor[float32](2)
			w.Name, w.Data = "w", []float32{1, 2}
			core, err := kit.NewCore(&r, []*nn.Tensor[float32]{w})
			if err != nil {
				t.Fatal(err)
			}
			copy(w.EnsureGrad(), []float32{c.grad, 0.25}) // what a backward pass left
			loss := nn.NewTensor[float32](1)
			loss.Data[0] = c.loss
			_, err = core.Update(new(nn.Tape), loss, 0.1)
			if c.want == "" {
				if err != nil || slices.Equal(w.Data, []float32{1, 2}) {
					t.Fatalf("finite step: %v, weights %v", err, w.Data)
				}
				return
			}
			if !errors.Is(err, tasks.ErrDiverged) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v; want ErrDiverged saying %q", err, c.want)
			}
			if !slices.Equal(w.Data, []float32{1, 2}) {
				t.Errorf("the weights moved to %v", w.Data)
			}
		})
	}
}

// TestFrozenEncoder checks that a frozen encoder encodes as the plain pass
// does before and after its nn.Lookup builds its table, and that a training
// pass of a frozen encoder still reaches the embedding's gradient (it must not
// take the Lookup).
func TestFrozenEncoder(t *testing.T) {
	r := recipes.Default()
	r.Model.Embedding, r.Model.Hidden, r.Model.Cell, r.Model.Bidirectional, r.Model.Layers = 8, 6, "gru", true, 2
	toks := slices.Clone(pipeline.Specials)
	for i := range 26 {
		toks = append(toks, fmt.Sprint("w", i))
	}
	in, err := pipeline.NewVocab(toks, true)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := kit.NewEncoder(&r, pipeline.Vocabs{Input: in}, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	batch := func() *pipeline.Batch {
		b := &pipeline.Batch{T: 5, B: 4, IDs: make([]int32, 20), Lengths: []int{5, 2, 4, 1}}
		for i := range b.IDs {
			if t, j := i/4, i%4; t < b.Lengths[j] {
				b.IDs[i] = int32(rng.IntN(in.Len()))
			}
		}
		return b
	}
	enc.Freeze(true)
	for i := range 3 { // 20 tokens a batch, 30 in the vocabulary: the table comes with the second
		b := batch()
		want, _ := enc.Forward(new(nn.Tape), b, nil) // a training pass: the plain one
		got, _ := enc.Forward(nil, b, nil)
		for j := range want.Data {
			if math.Abs(float64(got.Data[j]-want.Data[j])) > 1e-5 {
				t.Fatalf("batch %d: frozen output[%d] = %g, plain %g", i, j, got.Data[j], want.Data[j])
			}
		}
	}
	tp := new(nn.Tape)
	out, _ := enc.Forward(tp, batch(), nil)
	for j, g := range out.EnsureGrad() {
		out.Grad[j] = g + 1
	}
	tp.Replay()
	if enc.Emb.W.Grad == nil {
		t.Fatal("a training pass of a frozen encoder left the embedding without a gradient")
	}
}

// TestEncoderCheck: a batch without what the encoder reads (a feature
// column), or whose shape does not add up, is an error from Check, which
// the tasks return, instead of a panic in Forward.
func TestEncoderCheck(t *testing.T) {
	r := recipes.Default()
	r.Model.Embedding, r.Model.Hidden = 8, 6
	toks := append(slices.Clone(pipeline.Specials), "arrive", "taipei")
	in, _ := pipeline.NewVocab(toks, true)
	feat, _ := pipeline.NewVocab(append(slices.Clone(pipeline.Specials), "VB", "NN"), true)
	enc, err := kit.NewEncoder(&r, pipeline.Vocabs{Input: in, Feature: feat}, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	good := &pipeline.Batch{T: 2, B: 1, IDs: []int32{4, 5}, Lengths: []int{2}, Feature: []int32{4, 5}}
	if err := enc.Check(good); err != nil {
		t.Errorf("a whole batch: %v", err)
	}
	for name, b := range map[string]*pipeline.Batch{
		"no feature":      {T: 2, B: 1, IDs: []int32{4, 5}, Lengths: []int{2}},
		"ids short":       {T: 2, B: 1, IDs: []int32{4}, Lengths: []int{2}, Feature: []int32{4, 5}},
		"length too long": {T: 2, B: 1, IDs: []int32{4, 5}, Lengths: []int{3}, Feature: []int32{4, 5}},
	} {
		if err := enc.Check(b); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
