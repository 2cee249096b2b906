package tagging

import (
	"encoding/json"
	"errors"
	"math"

	"github.com/seqkit/seqkit/onnx"
	"github.com/seqkit/seqkit/tasks/kit"
)

// ExportONNX implements [onnx.Exporter]: the encoder and the tag layer give
// emissions [T, B, tags]. Under a softmax head their softmax is output too;
// under a CRF head its scores are outputs (constants), for the caller's
// Viterbi: a tag path y of length L scores
//
//	start_transitions[y₀] + Σₜ emissions[t, yₜ] + Σₜ₌₁ transitions[yₜ₋₁, yₜ] + end_transitions[y_L₋₁]
//
// and the best path is the prediction. Transitions the tag scheme forbids
// (task.constrain) score -inf. A joint head adds label_logits and
// label_probabilities [B, labels].
func (t *Task) ExportONNX() ([]onnx.Part, error) {
	if t.ens != nil {
		return nil, errors.New("tagging: an ensemble does not export; export each member")
	}
	g := onnx.NewGraph("tagging", "seqkit tagger: per-token tag emissions (CRF scores for Viterbi, or softmax) of a time-major batch")
	enc := t.enc.ONNX(g, kit.ONNXOptions{})
	C := len(t.model)
	em := onnx.Linear(g, t.head, enc.Out)
	g.Output(em, "emissions", onnx.Float, "T", "B", C)
	if t.crf == nil {
		g.Output(g.Op("Softmax", []string{em}, onnx.AInt("axis", 2)), "probabilities", onnx.Float, "T", "B", C)
	} else {
		trans := append([]float32(nil), t.crf.Trans.Data...)
		start := append([]float32(nil), t.crf.Start.Data...)
		end := append([]float32(nil), t.crf.End.Data...)
		forbid := func(x []float32, ok []bool) {
			for i := range x {
				if ok != nil && !ok[i] {
					x[i] = float32(math.Inf(-1))
				}
			}
		}
		forbid(trans, t.allowed.Trans)
		forbid(start, t.allowed.StartOK)
		forbid(end, t.allowed.EndOK)
		g.Output(g.Weights(t.crf.Trans.Name, trans, C, C), "transitions", onnx.Float, C, C)
		g.Output(g.Weights(t.crf.Start.Name, start, C), "start_transitions", onnx.Float, C)
		g.Output(g.Weights(t.crf.End.Name, end, C), "end_transitions", onnx.Float, C)
		g.Meta("seqkit.decode", "viterbi: start_transitions[y0] + sum emissions[t, y_t] + sum transitions[y_t-1, y_t] + end_transitions[y_L-1]")
	}
	tags, err := json.Marshal(t.model)
	if err != nil {
		return nil, err
	}
	g.Meta("seqkit.tags", string(tags))
	scheme := t.opts.Scheme
	if t.convert {
		scheme = t.opts.TrainScheme // the data's scheme is seqkit.recipe's task.scheme
	}
	g.Meta("seqkit.tag_scheme", string(scheme))
	if t.clf != nil {
		lg := onnx.Linear(g, t.clf, t.pool.ONNX(g, enc.Out, enc.Lens, t.enc.OutputSize()))
		if t.ngrams != nil {
			lg = g.Op("Add", []string{lg, t.ngrams.ONNX(g)})
			t.ngrams.Meta(g)
		}
		L := t.labels.Len()
		g.Output(lg, "label_logits", onnx.Float, "B", L)
		g.Output(g.Op("Softmax", []string{lg}, onnx.AInt("axis", 1)), "label_probabilities", onnx.Float, "B", L)
	}
	return []onnx.Part{{Graph: g}}, nil
}
