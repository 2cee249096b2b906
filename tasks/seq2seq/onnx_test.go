package seq2seq

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/seqkit/seqkit/onnx/onnxtest"
	"github.com/seqkit/seqkit/pipeline"
	"github.com/seqkit/seqkit/tasks/tasktest"
)

// TestONNXParity exports small trained seq2seq models (cmudict-g2p: BiGRU
// encoder, general attention; reverse with a two-layer LSTM, additive
// attention and input feeding) and runs the encoder and six greedy decoder
// steps in ONNX Runtime on test batches, feeding back the state it returns:
// memory, first state, logits, attention weights and states are seqkit's
// within 1e-5 at every step.
func TestONNXParity(t *testing.T) {
	onnxtest.Need(t)
	cases := []struct {
		name string
		sets func(t *testing.T, tmp string) (string, []string)
	}{
		{"cmudict-g2p", func(t *testing.T, tmp string) (string, []string) {
			dir := tasktest.NeedData(t, "cmudict")
			train := tasktest.Slice(t, filepath.Join(dir, "cmudict.train.dict"), tmp, "train.dict", 40, 0)
			test := tasktest.Slice(t, filepath.Join(dir, "cmudict.test.dict"), tmp, "test.dict", 20, 0)
			return "cmudict-g2p", []string{"data.train.path=" + train, "data.dev.path=" + test, "data.test.path=" + test,
				"model.hidden=16", "model.embedding=16", "train.epochs=1"}
		}},
		{"reverse-lstm-feeding", func(t *testing.T, tmp string) (string, []string) {
			return "reverse", []string{"data.generate.train=500", "model.cell=lstm", "model.layers=2", "model.hidden=16",
				"task.attention=additive", "task.input_feeding=true", "train.epochs=1"}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			recipe, sets := c.sets(t, t.TempDir())
			run := onnxtest.Trained(t, Type(), recipe, sets...)
			task := run.Task.(*Task)
			models := onnxtest.Export(t, task)
			b := onnxtest.TestBatches(t, run, 1)[0]
			encOut := onnxtest.Run(t, models["encoder"], onnxtest.Feeds(b)).Runs[0]
			mem, s := task.encode(nil, b, nil)
			onnxtest.Near(t, "memory", encOut["memory"], mem.keys.Data, func(i int) bool {
				D := mem.keys.Shape[2]
				return i/D/b.B < b.Lengths[i/D%b.B]
			})
			onnxtest.Near(t, "h", encOut["h"], s.st.H.Data, nil)

			state := map[string]onnxtest.Value{"h": encOut["h"]}
			for _, k := range []string{"c", "feed"} {
				if v, ok := encOut[k]; ok {
					state[k] = v
				}
			}
			ids := slices.Repeat([]int32{pipeline.BOSID}, b.B)
			ones := slices.Repeat([]int{1}, b.B)
			for step := range 6 {
				feed := map[string]onnxtest.Value{
					"token":   onnxtest.I64(ids, b.B),
					"memory":  encOut["memory"],
					"lengths": onnxtest.I32(b.Lengths, b.B),
				}
				for k, v := range state {
					feed[k] = v
				}
				out := onnxtest.Run(t, models["decoder"], feed).Runs[0]
				att, next, w := task.decode(nil, ids, 1, b.B, ones, s, mem, nil)
				lg := task.out.Forward(nil, att)
				onnxtest.Near(t, "logits", out["logits"], lg.Data, nil)
				onnxtest.Near(t, "attention", out["attention"], w.Data, nil)
				onnxtest.Near(t, "h_out", out["h_out"], next.st.H.Data, nil)
				state["h"] = out["h_out"]
				if next.st.C != nil {
					onnxtest.Near(t, "c_out", out["c_out"], next.st.C.Data, nil)
					state["c"] = out["c_out"]
				}
				if next.feed != nil {
					onnxtest.Near(t, "feed_out", out["feed_out"], next.feed.Data, nil)
					state["feed"] = out["feed_out"]
				}
				s = next
				V := lg.Shape[len(lg.Shape)-1]
				for j := range ids {
					ids[j] = int32(argmaxOf(lg.Data[j*V : (j+1)*V]))
				}
				t.Logf("step %d done", step)
			}
		})
	}
}

func argmaxOf(row []float32) int {
	best := 0
	for i, v := range row {
		if v > row[best] {
			best = i
		}
	}
	return best
}
