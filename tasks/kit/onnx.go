package kit

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	"github.com/seqkit/seqkit/onnx"
	"github.com/seqkit/seqkit/pipeline"
)

// The ONNX inputs of an exported encoder, time-major as seqkit's batches.
// Ids are the vocabulary ids of the run's vocab files (metadata
// seqkit.vocab.input), 0 at padding.
const (
	InputIDs         = "ids"          // int64 [T, B]
	InputLengths     = "lengths"      // int32 [B]
	InputFeatures    = "features"     // int64 [T, B], the feature column's ids (model.feature_embedding)
	InputChars       = "chars"        // int64 [T, B, W], each token's character ids (model.char)
	InputCharLengths = "char_lengths" // int32 [T, B], characters per token (at least 1 within a sequence)
)

// ONNXEncoder is what an exported encoder gives a task's head.
type ONNXEncoder struct {
	Out    string       // outputs [T, B, OutputSize]
	HN, CN string       // final states [layers·dirs, B, H]; CN "" but for LSTM
	Lens   onnx.Lengths // the lengths' forms; zero without a lengths input
	IDs    string       // the ids input
}

// ONNXOptions are the choices of an exported encoder.
type ONNXOptions struct {
	// Extra, given the ids input, adds a value [T, B, extra] to go beside the
	// token embeddings (a generator's condition); nil for none.
	Extra func(ids string) string
	// H0, C0 are initial states [layers·dirs, B, H], "" for zeros.
	H0, C0 string
	// Full leaves the lengths input out: every sequence fills all T steps (a
	// generator's step).
	Full bool
}

// ONNX adds the encoder to g with its inputs (ids, lengths, and features,
// chars and char_lengths when the model reads them), as ForwardWith computes
// it in inference.
func (e *Encoder) ONNX(g *onnx.Graph, o ONNXOptions) ONNXEncoder {
	var r ONNXEncoder
	r.IDs = g.Input(InputIDs, onnx.Int64, "T", "B")
	seqLens := ""
	if !o.Full {
		seqLens = g.Input(InputLengths, onnx.Int32, "B")
		r.Lens = onnx.NewLengths(g, seqLens, r.IDs)
	}
	parts := []string{onnx.Embedding(g, e.Emb, r.IDs)}
	if o.Extra != nil {
		parts = append(parts, o.Extra(r.IDs))
	}
	if e.FeatEmb != nil {
		f := g.Input(InputFeatures, onnx.Int64, "T", "B")
		parts = append(parts, onnx.Embedding(g, e.FeatEmb, f))
	}
	if e.CharRNN != nil {
		parts = append(parts, e.charONNX(g, r.IDs))
	}
	x := parts[0]
	if len(parts) > 1 {
		x = g.Op("Concat", parts, onnx.AInt("axis", 2))
	}
	r.Out, r.HN, r.CN = onnx.RNN(g, e.RNN, x, seqLens, o.H0, o.C0)
	return r
}

// charONNX is charFeatures: every token's characters [T, B, W] read as one
// batch of T·B words by the bidirectional character layer, whose final
// forward and backward states make [T, B, 2·hidden]. Padding positions read
// one character (ONNX Runtime wants lengths of at least 1); the main layer
// ignores them.
func (e *Encoder) charONNX(g *onnx.Graph, ids string) string {
	chars := g.Input(InputChars, onnx.Int64, "T", "B", "W")
	clen := g.Input(InputCharLengths, onnx.Int32, "T", "B")
	words := g.Op("Transpose", []string{g.Op("Flatten", []string{chars}, onnx.AInt("axis", 2))}, onnx.AInts("perm", 1, 0)) // [W, N]
	n := g.Op("Max", []string{g.Op("Reshape", []string{clen, g.Ints(-1)}), g.Op("Cast", []string{g.IntScalar(1)}, onnx.AInt("to", int64(onnx.Int32)))})
	_, hn, _ := onnx.RNN(g, e.CharRNN, onnx.Embedding(g, e.CharEmb, words), n, "", "") // [2, N, H]
	H := e.CharRNN.Config.HiddenSize
	perWord := g.Op("Transpose", []string{hn}, onnx.AInts("perm", 1, 0, 2)) // [N, 2, H]
	shape := g.Op("Concat", []string{g.Op("Shape", []string{ids}), g.Ints(int64(2 * H))}, onnx.AInt("axis", 0))
	return g.Op("Reshape", []string{perWord, shape})
}

// ONNX adds the pooling of out [T, B, D] to g.
func (p *Pooler) ONNX(g *onnx.Graph, out string, lens onnx.Lengths, D int) string {
	if p.attn == nil {
		return onnx.Pool(g, out, lens, p.mode, p.bidi, D)
	}
	return onnx.AttnPool(g, p.attn, out, lens)
}

// ONNX adds the n-gram layer to g with its input ngrams, int64 [B, K]: the
// bucket ids of each sequence's n-grams (NGrams), padded with the value
// Buckets, which looks up a row of zeros.
func (l *NGramLayer) ONNX(g *onnx.Graph) string {
	ids := g.Input(InputNGrams, onnx.Int64, "B", "K")
	w := l.Bag.W
	table := append(append([]float32(nil), w.Data...), make([]float32, l.Bag.Dim)...)
	rows := g.Op("Gather", []string{g.Weights(w.Name, table, l.Buckets+1, l.Bag.Dim), ids}) // [B, K, out]
	return g.Op("ReduceSum", []string{rows, g.Ints(1)}, onnx.AInt("keepdims", 0))
}

// InputNGrams is the ONNX input of an exported n-gram layer.
const InputNGrams = "ngrams"

// NGramInputs returns the ngrams input of an exported n-gram layer for batch
// b: NGrams's bucket ids [B, K], padded with the layer's Buckets.
func (l *NGramLayer) NGramInputs(b *pipeline.Batch) (ids []int32, K int) {
	flat, offsets := NGrams(b, l.N, l.Buckets)
	for j := range b.B {
		K = max(K, offsets[j+1]-offsets[j])
	}
	ids = make([]int32, b.B*K)
	for j := range b.B {
		row := ids[j*K : (j+1)*K]
		n := copy(row, flat[offsets[j]:offsets[j+1]])
		for k := n; k < K; k++ {
			row[k] = int32(l.Buckets)
		}
	}
	return ids, K
}

// ONNXMeta writes the metadata every exported model carries: the task, the
// recipe it was trained from, and the vocabularies, each a JSON list whose
// index is the id.
func ONNXMeta(g *onnx.Graph, task, recipe string, vocabs map[string]*pipeline.Vocab) error {
	g.Meta("seqkit.task", task)
	g.Meta("seqkit.recipe", recipe)
	for _, name := range slices.Sorted(maps.Keys(vocabs)) { // in order: the same run exports the same bytes
		v := vocabs[name]
		if v == nil {
			continue
		}
		b, err := json.Marshal(v.Tokens())
		if err != nil {
			return fmt.Errorf("kit: vocabulary %s: %w", name, err)
		}
		g.Meta("seqkit.vocab."+name, string(b))
	}
	return nil
}

// Meta records how an exported n-gram layer's input is made.
func (l *NGramLayer) Meta(g *onnx.Graph) {
	g.Meta("seqkit.ngrams", fmt.Sprintf(`{"n": %d, "buckets": %d, "pad": %d}`, l.N, l.Buckets, l.Buckets))
}
