package generate

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/seqkit/seqkit/pipeline"
	"github.com/seqkit/seqkit/tasks"
)

// TestShift: the input is <bos> and the tokens; the targets are the tokens and
// <eos>, with -1 at padding.
func TestShift(t *testing.T) {
	// [T=2, B=2]: "5 6" and "7".
	b := &pipeline.Batch{T: 2, B: 2, IDs: []int32{5, 7, 6, pipeline.PadID}, Lengths: []int{2, 1}}
	in, tg := shift(b)
	if want := []int32{pipeline.BOSID, pipeline.BOSID, 5, 7, 6, pipeline.PadID}; !slices.Equal(in.IDs, want) {
		t.Errorf("input %v, want %v", in.IDs, want)
	}
	if want := []int32{5, 7, 6, pipeline.EOSID, pipeline.EOSID, -1}; !slices.Equal(tg, want) {
		t.Errorf("targets %v, want %v", tg, want)
	}
	if !slices.Equal(in.Lengths, []int{3, 2}) {
		t.Errorf("lengths %v, want [3 2]", in.Lengths)
	}
}

// TestSample: the special input symbols are never drawn, temperature 0 is the
// argmax, top-k 1 and a tiny top-p are greedy too, a seed repeats a draw, and
// draws follow the softmax.
func TestSample(t *testing.T) {
	// <pad>, <unk>, <bos> have the largest logits and must never come out.
	row := []float32{9, 9, 9, 0.5, 1, 2, 0}
	probs := make([]float64, len(row))
	rng := rand.New(rand.NewPCG(1, 1))
	greedy, lp := draw(row, probs, tasks.GenerateOptions{}, rng)
	if greedy != 5 {
		t.Fatalf("temperature 0 drew %d, want 5", greedy)
	}
	if want := 2 - logSumExp(row); math.Abs(lp-want) > 1e-9 {
		t.Errorf("log-probability %g, want %g (under the whole softmax)", lp, want)
	}
	for _, o := range []tasks.GenerateOptions{{Temperature: 1, TopK: 1}, {Temperature: 1, TopP: 1e-6}} {
		for range 50 {
			if id, _ := draw(row, probs, o, rng); id != 5 {
				t.Fatalf("%+v drew %d, want 5", o, id)
			}
		}
	}
	counts := make([]int, len(row))
	const n = 200000
	for range n {
		id, _ := draw(row, probs, tasks.GenerateOptions{Temperature: 1}, rng)
		counts[id]++
	}
	if counts[0]+counts[1]+counts[2] > 0 {
		t.Fatalf("drew special symbols: %v", counts[:3])
	}
	allowed := row[3:]
	z := 0.0
	for _, v := range allowed {
		z += math.Exp(float64(v))
	}
	for k, v := range allowed {
		want := math.Exp(float64(v)) / z
		if got := float64(counts[3+k]) / n; math.Abs(got-want) > 0.005 {
			t.Errorf("token %d drawn %.4f of the time, want %.4f", 3+k, got, want)
		}
	}
	// Top-k 2 keeps the two most likely tokens only.
	seen := map[int32]bool{}
	for range 1000 {
		id, _ := draw(row, probs, tasks.GenerateOptions{Temperature: 1, TopK: 2}, rng)
		seen[id] = true
	}
	if len(seen) != 2 || !seen[5] || !seen[4] {
		t.Errorf("top-k 2 drew %v, want 4 and 5", seen)
	}
	a, _ := draw(row, probs, tasks.GenerateOptions{Temperature: 1}, rand.New(rand.NewPCG(9, 9)))
	b, _ := draw(row, probs, tasks.GenerateOptions{Temperature: 1}, rand.New(rand.NewPCG(9, 9)))
	if a != b {
		t.Errorf("the same seed drew %d and %d", a, b)
	}
}
