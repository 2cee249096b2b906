package classify

import (
	"encoding/json"
	"errors"

	"github.com/seqkit/seqkit/onnx"
	"github.com/seqkit/seqkit/tasks/kit"
)

// ExportONNX implements [onnx.Exporter]: the encoder, the pooling and the
// linear layer (plus the n-gram layer) give logits [B, classes] and their
// probabilities, a softmax, or for multi-label each class's sigmoid.
func (t *Task) ExportONNX() ([]onnx.Part, error) {
	if t.ens != nil {
		return nil, errors.New("classify: an ensemble does not export; export each member")
	}
	g := onnx.NewGraph("classify", "seqkit classifier: logits and probabilities of each class for a batch of sequences")
	enc := t.enc.ONNX(g, kit.ONNXOptions{})
	lg := onnx.Linear(g, t.out, t.pool.ONNX(g, enc.Out, enc.Lens, t.enc.OutputSize()))
	if t.ngrams != nil {
		lg = g.Op("Add", []string{lg, t.ngrams.ONNX(g)})
		t.ngrams.Meta(g)
	}
	C := len(t.classes)
	g.Output(lg, "logits", onnx.Float, "B", C)
	probs := "Softmax"
	if t.opts.MultiLabel {
		probs = "Sigmoid"
	}
	var attrs []onnx.Attr
	if probs == "Softmax" {
		attrs = append(attrs, onnx.AInt("axis", 1))
	}
	g.Output(g.Op(probs, []string{lg}, attrs...), "probabilities", onnx.Float, "B", C)
	classes, err := json.Marshal(t.classes)
	if err != nil {
		return nil, err
	}
	g.Meta("seqkit.classes", string(classes))
	if t.opts.MultiLabel {
		g.Meta("seqkit.multi_label", "true")
	}
	return []onnx.Part{{Graph: g}}, nil
}
