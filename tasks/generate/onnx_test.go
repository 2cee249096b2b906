package generate

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/seqkit/seqkit/nn"
	"github.com/seqkit/seqkit/onnx/onnxtest"
	"github.com/seqkit/seqkit/pipeline"
	"github.com/seqkit/seqkit/tasks/tasktest"
)

// writeClasses writes n JSON lines of text in a class's letters with the
// class as a label and as a noisy one-hot vector.
func writeClasses(t *testing.T, path string, n int, seed uint64) string {
	rng := rand.New(rand.NewPCG(seed, 3))
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	enc := json.NewEncoder(f)
	for range n {
		c := rng.IntN(3)
		vec := []float64{0.1 * rng.NormFloat64(), 0.1 * rng.NormFloat64(), 0.1 * rng.NormFloat64()}
		vec[c]++
		text := ""
		for range 2 + rng.IntN(4) {
			text += []string{"ab", "cd", "ef"}[c]
		}
		enc.Encode(map[string]any{"text": text, "class": fmt.Sprint("c", c), "vec": vec})
	}
	return path
}

// TestONNXParity exports small trained generators and runs them in ONNX
// Runtime on prefixes of test sequences, then one more step from the state
// it returned: names-lm (two-layer LSTM), names-by-language-gen (label,
// condition init) and synthetic data conditioned on a vector (init, GRU) and
// a label (input). Logits, states and the conditioned first state are
// seqkit's within 1e-5.
func TestONNXParity(t *testing.T) {
	onnxtest.Need(t)
	small := []string{"model.hidden=16", "model.embedding=8", "train.epochs=1"}
	synthetic := func(column, mode string, extra ...string) func(t *testing.T, tmp string) (string, []string) {
		return func(t *testing.T, tmp string) (string, []string) {
			train := writeClasses(t, filepath.Join(tmp, "train.jsonl"), 300, 1)
			test := writeClasses(t, filepath.Join(tmp, "test.jsonl"), 64, 2)
			cols := fmt.Sprintf("{text: text, %s: %s}", column, map[string]string{"vector": "vec", "label": "class"}[column])
			sets := append([]string{"task.condition=" + mode}, extra...)
			for split, path := range map[string]string{"train": train, "dev": test, "test": test} {
				sets = append(sets, "data."+split+".path="+path, "data."+split+".columns="+cols, "data."+split+".format=jsonl")
			}
			return "names-lm", sets
		}
	}
	cases := []struct {
		name string
		sets func(t *testing.T, tmp string) (string, []string)
	}{
		{"names-lm", func(t *testing.T, tmp string) (string, []string) {
			dir := tasktest.NeedData(t, "names")
			train := tasktest.Slice(t, filepath.Join(dir, "names.train.txt"), tmp, "train.txt", 20, 0)
			test := tasktest.Slice(t, filepath.Join(dir, "names.test.txt"), tmp, "test.txt", 10, 0)
			return "names-lm", []string{"data.train.path=" + train, "data.dev.path=" + test, "data.test.path=" + test}
		}},
		{"names-by-language-gen", func(t *testing.T, tmp string) (string, []string) {
			dir := tasktest.NeedData(t, "names-by-language")
			train := tasktest.Slice(t, filepath.Join(dir, "names.train.tsv"), tmp, "train.tsv", 10, 0)
			test := tasktest.Slice(t, filepath.Join(dir, "names.test.tsv"), tmp, "test.tsv", 10, 0)
			return "names-by-language-gen", []string{"data.train.path=" + train, "data.dev.path=" + test, "data.test.path=" + test}
		}},
		{"vector-init-gru", synthetic("vector", "init", "model.cell=gru", "model.layers=2")},
		{"label-input", synthetic("label", "input", "model.layers=1")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			recipe, sets := c.sets(t, t.TempDir())
			run := onnxtest.Trained(t, Type(), recipe, append(sets, small...)...)
			task := run.Task.(*Task)
			model := onnxtest.Export(t, task)[""]
			b := onnxtest.TestBatches(t, run, 1)[0]
			cond := batchCondition(b)

			// A prefix every sequence of the batch fills.
			T := slices.Min(b.Lengths)
			prefix := &pipeline.Batch{T: T, B: b.B, IDs: b.IDs[:T*b.B], Lengths: slices.Repeat([]int{T}, b.B)}
			init := task.initState(nil, cond)
			cfg := task.enc.RNN.Config
			L, H := max(cfg.Layers, 1), cfg.HiddenSize
			if init.H == nil {
				init.H = nn.NewTensor[float32](L, b.B, H)
			}
			feed := map[string]onnxtest.Value{"ids": onnxtest.I64(prefix.IDs, T, b.B), "h": onnxtest.F32(init.H.Data, L, b.B, H)}
			if cfg.Cell == nn.LSTM {
				feed["c"] = onnxtest.F32(make([]float32, L*b.B*H), L, b.B, H)
			}
			if task.labels != nil {
				labels := make([]int32, b.B)
				for j, l := range cond.labels {
					labels[j] = l
					if l < 0 {
						labels[j] = int32(task.labels.Len())
					}
				}
				feed["label"] = onnxtest.I64(labels, b.B)
			}
			if task.vector > 0 {
				feed["vector"] = onnxtest.F32(cond.vector, b.B, task.vector)
			}
			out := onnxtest.Run(t, model, feed).Runs[0]
			if task.opts.Condition == ConditionInit {
				onnxtest.Near(t, "initial_h", out["initial_h"], init.H.Data, nil)
			}
			h, st := task.forward(nil, prefix, cond, nn.State[float32]{}, nil)
			lg := task.out.Forward(nil, h)
			onnxtest.Near(t, "logits", out["logits"], lg.Data, nil)
			onnxtest.Near(t, "h_out", out["h_out"], st.H.Data, nil)
			if st.C != nil {
				onnxtest.Near(t, "c_out", out["c_out"], st.C.Data, nil)
				feed["c"] = out["c_out"]
			}

			// One more token, from the state ONNX Runtime returned.
			V := task.vocab.Len()
			next := make([]int32, b.B)
			for j := range next {
				row := lg.Data[((T-1)*b.B+j)*V : ((T-1)*b.B+j+1)*V]
				next[j] = int32(slices.Index(row, slices.Max(row)))
			}
			feed["ids"], feed["h"] = onnxtest.I64(next, 1, b.B), out["h_out"]
			out = onnxtest.Run(t, model, feed).Runs[0]
			lg2, st2 := task.nextOne(next, st, cond)
			onnxtest.Near(t, "next logits", out["logits"], lg2.Data, nil)
			onnxtest.Near(t, "next h_out", out["h_out"], st2.H.Data, nil)
		})
	}
}
