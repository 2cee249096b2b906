package generate

import (
	"errors"
	"fmt"

	"github.com/seqkit/seqkit/nn"
	"github.com/seqkit/seqkit/onnx"
	"github.com/seqkit/seqkit/pipeline"
	"github.com/seqkit/seqkit/tasks/kit"
)

// ExportONNX implements [onnx.Exporter]: one graph that reads T tokens per
// sequence (ids [T, B]; a prefix, or the one token just drawn) from the
// state h (and c for an LSTM) [layers, B, H], zeros at the start, and gives
// the scores of the next token after each, logits and log_probabilities
// [T, B, V], and the state after the last, h_out (c_out). Generation starts
// from the token in metadata seqkit.decode and stops at <eos>.
//
// A model conditioned on a label reads label [B] (the index in
// seqkit.vocab.labels; their count for a label unseen in training); one
// conditioned on a vector reads vector [B, n]. With condition init the graph
// also gives initial_h, the first state the condition sets, which the
// caller passes as h to the first step.
func (t *Task) ExportONNX() ([]onnx.Part, error) {
	if t.ens != nil {
		return nil, errors.New("generate: an ensemble does not export; export each member")
	}
	cfg := t.enc.RNN.Config
	if cfg.Bidirectional {
		return nil, errors.New("generate: a bidirectional generator has no next-token step to export")
	}
	g := onnx.NewGraph("generate", "seqkit generator step: next-token scores and the state after a batch of tokens")
	L, H := max(cfg.Layers, 1), cfg.HiddenSize
	lstm := cfg.Cell == nn.LSTM
	var cond string
	switch {
	case t.labels != nil:
		cond = g.Input("label", onnx.Int64, "B")
	case t.vector > 0:
		cond = g.Input("vector", onnx.Float, "B", t.vector)
	}
	h0 := g.Input("h", onnx.Float, L, "B", H)
	c0 := ""
	if lstm {
		c0 = g.Input("c", onnx.Float, L, "B", H)
	}
	opts := kit.ONNXOptions{H0: h0, C0: c0, Full: true}
	switch t.opts.Condition {
	case ConditionInput:
		opts.Extra = func(ids string) string {
			var x string // [B, E]
			if t.labels != nil {
				x = onnx.Embedding(g, t.cond, cond)
			} else {
				x = onnx.Tanh(g, onnx.Linear(g, t.condW[0], cond))
			}
			E := t.recipe.Model.Embedding
			shape := g.Op("Concat", []string{g.Op("Shape", []string{ids}), g.Ints(int64(E))}, onnx.AInt("axis", 0))
			return g.Op("Expand", []string{g.Op("Unsqueeze", []string{x, g.Ints(0)}), shape})
		}
	case ConditionInit:
		hs := make([]string, L)
		var table string
		if t.labels != nil {
			table = g.Weights(t.cond.W.Name, t.cond.W.Data, t.cond.Vocab, t.cond.Dim)
		}
		for l := range L {
			var x string
			if t.labels != nil {
				rows := g.Op("Add", []string{cond, g.IntScalar(int64(l * (t.labels.Len() + 1)))})
				x = g.Op("Gather", []string{table, rows})
			} else {
				x = onnx.Tanh(g, onnx.Linear(g, t.condW[l], cond))
			}
			hs[l] = g.Op("Unsqueeze", []string{x, g.Ints(0)})
		}
		init := hs[0]
		if L > 1 {
			init = g.Op("Concat", hs, onnx.AInt("axis", 0))
		}
		g.Output(init, "initial_h", onnx.Float, L, "B", H)
	}
	enc := t.enc.ONNX(g, opts)
	V := t.vocab.Len()
	lg := onnx.Linear(g, t.out, enc.Out)
	g.Output(lg, "logits", onnx.Float, "T", "B", V)
	g.Output(g.Op("LogSoftmax", []string{lg}, onnx.AInt("axis", 2)), "log_probabilities", onnx.Float, "T", "B", V)
	g.Output(enc.HN, "h_out", onnx.Float, L, "B", H)
	if lstm {
		g.Output(enc.CN, "c_out", onnx.Float, L, "B", H)
	}
	g.Meta("seqkit.decode", fmt.Sprintf(`{"start": %d, "eos": %d, "banned": [%d, %d]}`, t.startID(), pipeline.EOSID, pipeline.PadID, pipeline.BOSID))
	return []onnx.Part{{Graph: g}}, nil
}
