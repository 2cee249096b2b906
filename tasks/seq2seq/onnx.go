package seq2seq

import (
	"errors"
	"fmt"

	"github.com/seqkit/seqkit/nn"
	"github.com/seqkit/seqkit/onnx"
	"github.com/seqkit/seqkit/pipeline"
	"github.com/seqkit/seqkit/tasks/kit"
)

// ExportONNX implements [onnx.Exporter] with two graphs, as CTranslate2 and
// OpenNMT export such models: the encoder, run once per batch, and one step
// of the decoder, run once per output token with the state it returned.
//
// The encoder reads the source batch (ids, lengths, ...) and gives memory
// [Ts, B, D] and the decoder's first state h [layers, B, H] (with c, zeros,
// for an LSTM decoder, and feed, zeros, with input feeding).
//
// The decoder step reads token [B] (<bos> first), memory, lengths and the
// state, and gives logits and log_probabilities [B, V] of the next token,
// attention [B, Ts] and the next state h_out (c_out, feed_out). Greedy
// decoding feeds back the most likely token until <eos>; seqkit never
// emits <pad> or <bos>, and stops at max_len_a·source length + max_len_b
// tokens (metadata seqkit.decode).
func (t *Task) ExportONNX() ([]onnx.Part, error) {
	if t.ens != nil {
		return nil, errors.New("seq2seq: an ensemble does not export; export each member")
	}
	H, L, D := t.combine.W.Shape[0], len(t.bridge), t.enc.OutputSize()
	lstm := t.dec.Config.Cell == nn.LSTM
	decode := fmt.Sprintf(`{"bos": %d, "eos": %d, "banned": [%d, %d], "max_len_a": %g, "max_len_b": %d}`,
		pipeline.BOSID, pipeline.EOSID, pipeline.PadID, pipeline.BOSID, t.opts.MaxLenA, t.opts.MaxLenB)

	enc := onnx.NewGraph("seq2seq_encoder", "seqkit seq2seq encoder: memory and the decoder's first state for a source batch")
	e := t.enc.ONNX(enc, kit.ONNXOptions{})
	summary := onnx.Pool(enc, e.Out, e.Lens, nn.PoolLast, t.bidir, D)
	hs := make([]string, L)
	for l, br := range t.bridge {
		hs[l] = enc.Op("Unsqueeze", []string{onnx.Tanh(enc, onnx.Linear(enc, br, summary)), enc.Ints(0)})
	}
	h := hs[0]
	if L > 1 {
		h = enc.Op("Concat", hs, onnx.AInt("axis", 0))
	}
	enc.Output(e.Out, "memory", onnx.Float, "Ts", "B", D)
	enc.Output(h, "h", onnx.Float, L, "B", H)
	zero := enc.Scalar(0)
	if lstm {
		enc.Output(enc.Op("Mul", []string{h, zero}), "c", onnx.Float, L, "B", H)
	}
	if t.opts.InputFeeding {
		enc.Output(enc.Op("Mul", []string{hs[0], zero}), "feed", onnx.Float, 1, "B", H)
	}
	enc.Meta("seqkit.decode", decode)

	dec := onnx.NewGraph("seq2seq_decoder", "seqkit seq2seq decoder step: next-token scores and the next state")
	tok := dec.Input("token", onnx.Int64, "B")
	mem := dec.Input("memory", onnx.Float, "Ts", "B", D)
	lens := onnx.NewLengths(dec, dec.Input(kit.InputLengths, onnx.Int32, "B"), mem)
	h0 := dec.Input("h", onnx.Float, L, "B", H)
	c0 := ""
	if lstm {
		c0 = dec.Input("c", onnx.Float, L, "B", H)
	}
	x := onnx.Embedding(dec, t.emb, dec.Op("Unsqueeze", []string{tok, dec.Ints(0)})) // [1, B, E]
	if t.opts.InputFeeding {
		x = dec.Op("Concat", []string{x, dec.Input("feed", onnx.Float, 1, "B", H)}, onnx.AInt("axis", 2))
	}
	y, hn, cn := onnx.RNN(dec, t.dec, x, "", h0, c0)
	q := dec.Op("Squeeze", []string{y, dec.Ints(0)}) // [B, H]
	ctx, w := onnx.Attention(dec, t.att, q, mem, lens)
	att := onnx.Tanh(dec, onnx.Linear(dec, t.combine, dec.Op("Concat", []string{ctx, q}, onnx.AInt("axis", 1))))
	lg := onnx.Linear(dec, t.out, att)
	V := t.target.Len()
	dec.Output(lg, "logits", onnx.Float, "B", V)
	dec.Output(dec.Op("LogSoftmax", []string{lg}, onnx.AInt("axis", 1)), "log_probabilities", onnx.Float, "B", V)
	dec.Output(w, "attention", onnx.Float, "B", "Ts")
	dec.Output(hn, "h_out", onnx.Float, L, "B", H)
	if lstm {
		dec.Output(cn, "c_out", onnx.Float, L, "B", H)
	}
	if t.opts.InputFeeding {
		dec.Output(dec.Op("Unsqueeze", []string{att, dec.Ints(0)}), "feed_out", onnx.Float, 1, "B", H)
	}
	dec.Meta("seqkit.decode", decode)
	return []onnx.Part{{Name: "encoder", Graph: enc}, {Name: "decoder", Graph: dec}}, nil
}
