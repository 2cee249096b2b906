package classify

import (
	"math"
	"path/filepath"
	"slices"
	"testing"

	"github.com/seqkit/seqkit/onnx/onnxtest"
	"github.com/seqkit/seqkit/tasks/tasktest"
)

// TestONNXParity exports small trained classifiers (a BiLSTM with max pooling
// and the n-gram layer on MR; a BiGRU with attention pooling on names) and
// runs them in ONNX Runtime on batches of their test split: the logits and
// probabilities are seqkit's within 1e-5.
func TestONNXParity(t *testing.T) {
	onnxtest.Need(t)
	cases := []struct {
		data, recipe, train, test string
		sets                      []string
	}{
		{"mr", "mr-sentiment", "mr.train.tsv", "mr.test.tsv", []string{"model.hidden=16", "model.embedding=16"}},
		{"names-by-language", "names-language", "names.train.tsv", "names.test.tsv", []string{"model.hidden=16", "task.pooling=attention"}},
	}
	for _, c := range cases {
		t.Run(c.recipe, func(t *testing.T) {
			dir := tasktest.NeedData(t, c.data)
			tmp := t.TempDir()
			train := tasktest.Slice(t, filepath.Join(dir, c.train), tmp, "train.tsv", 10, 0)
			test := tasktest.Slice(t, filepath.Join(dir, c.test), tmp, "test.tsv", 4, 0)
			run := onnxtest.Trained(t, Type(), c.recipe, append(c.sets, "data.train.path="+train, "data.dev.path="+test,
				"data.test.path="+test, "train.epochs=1")...)
			task := run.Task.(*Task)
			model := onnxtest.Export(t, task)[""]
			batches := onnxtest.TestBatches(t, run, 3)
			var feeds []map[string]onnxtest.Value
			for _, b := range batches {
				f := onnxtest.Feeds(b)
				if task.ngrams != nil {
					ids, K := task.ngrams.NGramInputs(b)
					f["ngrams"] = onnxtest.I64(ids, b.B, K)
				}
				feeds = append(feeds, f)
			}
			got := onnxtest.Run(t, model, feeds...)
			for i, b := range batches {
				lg := task.scores(b)
				onnxtest.Near(t, "logits", got.Runs[i]["logits"], lg.Data, nil)
				probs := make([]float32, len(lg.Data))
				C := len(task.classes)
				for j := range b.B {
					row := lg.Data[j*C : (j+1)*C]
					mx := slices.Max(row)
					var z float64
					for _, v := range row {
						z += math.Exp(float64(v - mx))
					}
					for k, v := range row {
						probs[j*C+k] = float32(math.Exp(float64(v-mx)) / z)
					}
				}
				onnxtest.Near(t, "probabilities", got.Runs[i]["probabilities"], probs, nil)
			}
		})
	}
}
