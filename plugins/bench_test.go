package plugins_test

import (
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/seqkit/seqkit/pipeline"
	"github.com/seqkit/seqkit/plugins"
	"github.com/seqkit/seqkit/recipes"
	"github.com/seqkit/seqkit/tasks"
	"github.com/seqkit/seqkit/tasks/classify"
)

// BenchmarkTrainStep measures one training step of a small classifier (batch
// 32 × 20 tokens, embedding and hidden 64) in-process and through the test
// plugin: the difference is the cost of the process boundary per batch (Arrow
// IPC encoding, gRPC over a local socket with mTLS, decoding).
func BenchmarkTrainStep(b *testing.B) {
	dir := b.TempDir()
	buildPlugin(b, dir)
	h := &plugins.Host{Dirs: []string{dir}}
	defer h.Close()
	var reg tasks.Registry
	reg.Register(classify.Type())
	reg.Register(h.Type())
	c := pipeline.Counter{}
	for i := range 100 {
		c.Add(string(rune('a'+i%26)) + string(rune('a'+i/26)))
	}
	v := pipeline.Vocabs{Input: c.Build(pipeline.VocabConfig{}), Labels: pipeline.Counter{"0": 1, "1": 1}.BuildLabels()}
	rng := rand.New(rand.NewPCG(1, 1))
	const B, T = 32, 20
	batch := &pipeline.Batch{T: T, B: B, IDs: make([]int32, T*B), Lengths: make([]int, B), Labels: make([]int32, B), Rows: make([]int64, B)}
	for j := range B {
		batch.Lengths[j] = T
		batch.Labels[j] = int32(rng.IntN(2))
	}
	for i := range batch.IDs {
		batch.IDs[i] = int32(4 + rng.IntN(100))
	}
	for _, task := range []string{"{type: classify}", "{type: plugin, name: testclassify}"} {
		rp := filepath.Join(b.TempDir(), "r.yaml")
		writeRecipeFile(b, rp, task)
		r, err := recipes.Load(rp, recipes.Options{Tasks: &reg, SkipData: true})
		if err != nil {
			b.Fatal(err)
		}
		tk, _ := reg.New(r.Task.Type)
		if err := tk.Init(tasks.Setup{Recipe: r, Vocabs: v}); err != nil {
			b.Fatal(err)
		}
		b.Run(r.Task.Type, func(b *testing.B) {
			for b.Loop() {
				if _, err := tk.TrainStep(batch, 1e-3); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func writeRecipeFile(b *testing.B, path, task string) {
	body := "data: {train: {path: x.jsonl, columns: {text: text, label: label}}}\nmodel: {embedding: 64, hidden: 64}\ntask: " + task + "\n"
	if err := writeFile(path, body); err != nil {
		b.Fatal(err)
	}
}
