// Package kit is the model kit the built-in tasks and task plugins compose: the
// shared encoder (embeddings, character features and the recurrent stack), the
// training core (optimizer, clipping, moving average, resumable state),
// pooling for sentence-level heads and hashed n-gram features.
package kit

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"

	"github.com/seqkit/seqkit/nn"
	"github.com/seqkit/seqkit/pipeline"
	"github.com/seqkit/seqkit/recipes"
	"github.com/seqkit/seqkit/tasks"
	"github.com/seqkit/seqkit/tasks/rundir"
)

// Encoder is the part of the model every built-in task shares: a token embedding
// and the recurrent stack of the recipe's model section, with dropout on the
// embeddings and on the output.
type Encoder struct {
	Emb         *nn.Embedding[float32]
	RNN         *nn.RNN[float32]
	Dropout     float64
	Variational bool
	// CharEmb and CharRNN read each word's characters (model.char); nil without.
	CharEmb *nn.Embedding[float32]
	CharRNN *nn.RNN[float32]
	// FeatEmb embeds the per-token feature column; nil when the data has none.
	FeatEmb *nn.Embedding[float32]
	// lookup runs Emb and RNN in inference while the weights are frozen.
	lookup *nn.Lookup[float32]
}

// Freeze(true) promises that the weights will not change until Freeze(false).
// Inference may then run the embedding and the stack as an [nn.Lookup], which
// precomputes the first layer's input projection of every token once it has
// read as many tokens as the vocabulary has; an encoder that also reads
// features or characters keeps the plain pass.
func (e *Encoder) Freeze(on bool) {
	e.lookup = nil
	if on && e.FeatEmb == nil && e.CharRNN == nil {
		e.lookup, _ = nn.NewLookup(e.Emb, e.RNN) // nil for an encoder with extra inputs
	}
}

// Frozen reports whether inference runs through an nn.Lookup (Freeze).
func (e *Encoder) Frozen() bool { return e.lookup != nil }

// EmbeddingName names the token embedding (EmbeddingName.weight), the one
// model.embedding_init fills and may freeze.
const EmbeddingName = "embedding"

// NewEncoder builds the encoder of recipe r for the input vocabularies.
func NewEncoder(r *recipes.Recipe, v pipeline.Vocabs, rng *rand.Rand) (*Encoder, error) {
	return NewEncoderWith(r, v, 0, rng)
}

// NewEncoderWith is NewEncoder for extra more inputs at every step besides the
// token's (ForwardWith): what a generator is conditioned on.
func NewEncoderWith(r *recipes.Recipe, v pipeline.Vocabs, extra int, rng *rand.Rand) (*Encoder, error) {
	cfg, err := r.RNNConfig()
	if err != nil {
		return nil, err
	}
	cfg.InputSize += extra
	emb := nn.NewEmbedding[float32](EmbeddingName, v.Input.Len(), r.Model.Embedding, int(pipeline.PadID), rng)
	emb.Frozen = r.Model.EmbeddingInit != nil && r.Model.EmbeddingInit.Freeze
	e := &Encoder{Emb: emb, Dropout: r.Model.Dropout, Variational: r.Model.Variational}
	if c := r.Model.Char; c != nil {
		if v.Chars == nil {
			return nil, fmt.Errorf("tasks: model.char needs a character vocabulary")
		}
		cell, err := c.Cell.NN()
		if err != nil {
			return nil, err
		}
		e.CharEmb = nn.NewEmbedding[float32]("char_embedding", v.Chars.Len(), c.Embedding, int(pipeline.PadID), rng)
		e.CharRNN, err = nn.NewRNN[float32]("char_rnn", nn.RNNConfig{Cell: cell, InputSize: c.Embedding, HiddenSize: c.Hidden, Bidirectional: true}, rng)
		if err != nil {
			return nil, err
		}
		cfg.InputSize += 2 * c.Hidden
	}
	if v.Feature != nil {
		e.FeatEmb = nn.NewEmbedding[float32]("feature_embedding", v.Feature.Len(), r.Model.FeatureEmbedding, int(pipeline.PadID), rng)
		cfg.InputSize += r.Model.FeatureEmbedding
	}
	rnn, err := nn.NewRNN[float32]("rnn", cfg, rng)
	if err != nil {
		return nil, err
	}
	e.RNN = rnn
	return e, nil
}

// Check reports what the encoder reads that batch b lacks (a feature column,
// characters) or a batch whose shape does not add up, so that a task returns
// an error where Forward would panic. Batches of the pipeline built with the
// run's vocabularies always pass; a plugin's or a caller's own may not.
func (e *Encoder) Check(b *pipeline.Batch) error {
	switch {
	case b.T < 0 || b.B < 0 || len(b.IDs) != b.T*b.B || len(b.Lengths) != b.B:
		return fmt.Errorf("kit: a batch of %d ids and %d lengths, not %d×%d", len(b.IDs), len(b.Lengths), b.T, b.B)
	case e.FeatEmb != nil && len(b.Feature) != b.T*b.B:
		return errors.New("kit: the model reads a feature column (columns.feature) that the batch lacks")
	case e.CharRNN != nil && len(b.Chars) != b.T*b.B:
		return errors.New("kit: model.char needs batches with the characters of every token")
	}
	for _, n := range b.Lengths {
		if n < 0 || n > b.T {
			return fmt.Errorf("kit: a sequence of %d steps in a batch of %d", n, b.T)
		}
	}
	return nil
}

// Forward encodes a batch into [T, B, OutputSize] and returns the final states
// too. A nil rng means evaluation: no dropout.
func (e *Encoder) Forward(tp *nn.Tape, b *pipeline.Batch, rng *rand.Rand) (*nn.Tensor[float32], nn.State[float32]) {
	return e.ForwardFrom(tp, b, nn.State[float32]{}, rng)
}

// ForwardFrom is Forward from the initial state init (zeros where nil): a
// generator conditioned on a label, or one step of sampling.
func (e *Encoder) ForwardFrom(tp *nn.Tape, b *pipeline.Batch, init nn.State[float32], rng *rand.Rand) (*nn.Tensor[float32], nn.State[float32]) {
	return e.ForwardWith(tp, b, init, nil, rng)
}

// ForwardWith is ForwardFrom with extra [T, B, extra] beside the token
// embeddings at every step (nil for an encoder built without extra inputs).
func (e *Encoder) ForwardWith(tp *nn.Tape, b *pipeline.Batch, init nn.State[float32], extra *nn.Tensor[float32], rng *rand.Rand) (*nn.Tensor[float32], nn.State[float32]) {
	if e.lookup != nil && extra == nil && rng == nil && !tp.Recording() {
		return e.lookup.Forward(b.IDs, b.T, b.B, b.Lengths, init)
	}
	x := e.Emb.Forward(tp, b.IDs, b.T, b.B)
	if extra != nil {
		x = nn.Concat(tp, x, extra)
	}
	if e.FeatEmb != nil {
		if b.Feature == nil {
			panic("kit: the model reads a feature column that the batch lacks (Check refuses such a batch)")
		}
		x = nn.Concat(tp, x, e.FeatEmb.Forward(tp, b.Feature, b.T, b.B))
	}
	if e.CharRNN != nil {
		x = nn.Concat(tp, x, e.charFeatures(tp, b))
	}
	x = nn.Dropout(tp, x, e.Dropout, e.Variational, rng)
	out, st := e.RNN.Forward(tp, x, b.Lengths, init, rng)
	return nn.Dropout(tp, out, e.Dropout, e.Variational, rng), st
}

// OutputSize is the feature size of Forward's output.
func (e *Encoder) OutputSize() int { return e.RNN.Config.OutputSize() }

// Params are the encoder's trainable tensors.
func (e *Encoder) Params() []*nn.Tensor[float32] {
	ps := append(e.Emb.Params(), e.RNN.Params()...)
	if e.CharRNN != nil {
		ps = append(append(ps, e.CharEmb.Params()...), e.CharRNN.Params()...)
	}
	if e.FeatEmb != nil {
		ps = append(ps, e.FeatEmb.Params()...)
	}
	return ps
}

// charFeatures runs the character layer over every word of the batch (as one
// batch of words, time-major over characters) and returns the final forward and
// backward states of each word at its position, [T, B, 2·hidden], zero at
// padding.
func (e *Encoder) charFeatures(tp *nn.Tape, b *pipeline.Batch) *nn.Tensor[float32] {
	if b.Chars == nil {
		panic("kit: model.char needs batches with characters (Check refuses such a batch)")
	}
	var pos []int // batch position t·B+b of each word
	W := 1
	for t := range b.T {
		for j := range b.B {
			if t < b.Lengths[j] {
				pos = append(pos, t*b.B+j)
				W = max(W, len(b.Chars[t*b.B+j]))
			}
		}
	}
	N := len(pos)
	ids := make([]int32, W*N)
	lengths := make([]int, N)
	for n, p := range pos {
		cs := b.Chars[p]
		if len(cs) == 0 {
			cs = []int32{pipeline.UnkID}
		}
		for w, c := range cs {
			ids[w*N+n] = c
		}
		lengths[n] = len(cs)
	}
	ce := e.CharEmb.Forward(tp, ids, W, N)
	_, st := e.CharRNN.Forward(tp, ce, lengths, nn.State[float32]{}, nil)
	H := e.CharRNN.Config.HiddenSize
	out := nn.NewTensor[float32](b.T, b.B, 2*H)
	// st.H is [2, N, H]: forward then backward direction.
	for n, p := range pos {
		copy(out.Data[p*2*H:p*2*H+H], st.H.Data[n*H:(n+1)*H])
		copy(out.Data[p*2*H+H:(p+1)*2*H], st.H.Data[(N+n)*H:(N+n+1)*H])
	}
	tp.Record(func() {
		if out.Grad == nil {
			return
		}
		g := st.H.EnsureGrad()
		for n, p := range pos {
			for k := range H {
				g[n*H+k] += out.Grad[p*2*H+k]
				g[(N+n)*H+k] += out.Grad[p*2*H+H+k]
			}
		}
	})
	return out
}

// Core is the training machinery of a model: its parameters, the optimizer of
// the recipe, gradient clipping and the dropout random source. It saves and
// restores all of it, so a task built on it resumes exactly.
type Core struct {
	// Params are every weight of the model, which checkpoints hold; train
	// those the optimizer updates: all but a frozen pretrained embedding
	// (model.embedding_init.freeze).
	Params []*nn.Tensor[float32]
	train  []*nn.Tensor[float32]
	// RNG drives dropout during training.
	RNG  *rand.Rand
	pcg  *rand.PCG
	opt  nn.Stateful[float32]
	ema  *nn.EMA[float32] // the average of the weights (train.ema); nil without
	clip float64
}

// InitRNG is the random source for a model's initial weights, derived from the
// recipe's seed (a different stream from dropout's).
func InitRNG(r *recipes.Recipe) *rand.Rand {
	return rand.New(rand.NewPCG(r.Train.Seed, 0x5eed_1417))
}

// NewCore sets up training for params as the recipe's train section says.
func NewCore(r *recipes.Recipe, params []*nn.Tensor[float32]) (*Core, error) {
	t := r.Train
	c := &Core{Params: params, clip: t.Clip, pcg: rand.NewPCG(t.Seed, 0xd509_0417)}
	c.RNG = rand.New(c.pcg)
	frozen := r.Model.EmbeddingInit != nil && r.Model.EmbeddingInit.Freeze
	for _, p := range params {
		if frozen && p.Name == EmbeddingName+".weight" {
			continue
		}
		p.EnsureGrad()
		c.train = append(c.train, p)
	}
	switch t.Optimizer {
	case recipes.Adam:
		c.opt = nn.NewAdam(c.train, nn.AdamConfig{WeightDecay: t.Decay})
	case recipes.AdamW:
		c.opt = nn.NewAdamW(c.train, nn.AdamConfig{WeightDecay: t.Decay})
	case recipes.SGD:
		c.opt = nn.NewSGD(c.train, nn.SGDConfig{Momentum: t.Momentum, WeightDecay: t.Decay})
	default:
		return nil, fmt.Errorf("kit: unknown optimizer %q", t.Optimizer)
	}
	if t.EMA > 0 {
		c.ema = nn.NewEMA(c.opt, c.train, t.EMA)
		c.opt = c.ema
	}
	return c, nil
}

// Average(true) lends the weights the values of their moving average
// (train.ema), which dev evaluation and the best checkpoint use; Average(false)
// gives them back their own, for training to go on. Without train.ema both do
// nothing.
func (c *Core) Average(on bool) {
	if c.ema != nil {
		c.ema.Use(on)
	}
}

// Update runs the backward pass from loss, clips the gradients, and applies one
// optimizer step at rate lr, then clears the gradients. A loss or gradient norm
// that is NaN or infinite stops before the weights change.
func (c *Core) Update(tp *nn.Tape, loss *nn.Tensor[float32], lr float64) (gradNorm float64, err error) {
	defer nn.ZeroGrads(c.train)
	if l := float64(loss.Data[0]); math.IsNaN(l) || math.IsInf(l, 0) {
		return 0, fmt.Errorf("%w: loss is %v", tasks.ErrDiverged, l)
	}
	nn.Backward(tp, loss)
	norm := nn.ClipGradNorm(c.train, c.clip)
	if math.IsNaN(norm) || math.IsInf(norm, 0) {
		return norm, fmt.Errorf("%w: gradient norm is %v", tasks.ErrDiverged, norm)
	}
	c.opt.Step(lr)
	return norm, nil
}

// File names inside a checkpoint folder, besides rundir.ModelFile.
const (
	OptimizerFile = "optimizer.safetensors"
	rngFile       = "rng.json"
)

type coreState struct {
	Steps int    `json:"optimizer_steps"`
	RNG   []byte `json:"dropout_rng"`
}

// Save writes the weights to dir/model.safetensors and, when resumable, the
// optimizer state and the dropout random state beside them.
func (c *Core) Save(dir string, resumable bool, meta map[string]string) error {
	if err := nn.SaveSafetensors(filepath.Join(dir, rundir.ModelFile), c.Params, meta); err != nil {
		return err
	}
	if !resumable {
		return nil
	}
	if err := nn.SaveSafetensors(filepath.Join(dir, OptimizerFile), c.opt.State(), nil); err != nil {
		return err
	}
	rs, err := c.pcg.MarshalBinary()
	if err != nil {
		return err
	}
	b, err := json.Marshal(coreState{Steps: c.opt.Steps(), RNG: rs})
	if err != nil {
		return err
	}
	return pipeline.WriteFileAtomic(filepath.Join(dir, rngFile), b)
}

// Load reads what Save wrote.
func (c *Core) Load(dir string, resumable bool) error {
	if _, err := nn.LoadSafetensors(filepath.Join(dir, rundir.ModelFile), c.Params); err != nil {
		return err
	}
	if !resumable {
		return nil
	}
	if _, err := nn.LoadSafetensors(filepath.Join(dir, OptimizerFile), c.opt.State()); err != nil {
		return err
	}
	b, err := pipeline.ReadFileLimited(filepath.Join(dir, rngFile), 1<<16)
	if err != nil {
		return err
	}
	var st coreState
	if err := json.Unmarshal(b, &st); err != nil {
		return fmt.Errorf("tasks: %s: %w", filepath.Join(dir, rngFile), err)
	}
	c.opt.SetSteps(st.Steps)
	return c.pcg.UnmarshalBinary(st.RNG)
}

// Pooler turns encoder outputs [T, B, D] into one vector per sequence [B, D], by
// nn.Pool (last, mean, max) or attention, for the sentence-level heads.
type Pooler struct {
	mode nn.Pooling
	attn *nn.AttnPool[float32]
	bidi bool
}

// NewPooler returns pooling of the given kind (last, mean, max, attention) over
// outputs of size d; name prefixes the attention parameters.
func NewPooler(name, kind string, d int, bidirectional bool, rng *rand.Rand) (*Pooler, error) {
	p := &Pooler{bidi: bidirectional}
	if kind == "attention" {
		p.attn = nn.NewAttnPool[float32](name, d, d/2+1, rng)
		return p, nil
	}
	var err error
	p.mode, err = nn.ParsePooling(kind)
	return p, err
}

// Forward pools out [T, B, D] over each sequence's length.
func (p *Pooler) Forward(tp *nn.Tape, out *nn.Tensor[float32], lengths []int) *nn.Tensor[float32] {
	if p.attn != nil {
		pooled, _ := p.attn.Forward(tp, out, lengths)
		return pooled
	}
	return nn.Pool(tp, out, lengths, p.mode, p.bidi)
}

// Params are the attention parameters; other poolings have none.
func (p *Pooler) Params() []*nn.Tensor[float32] {
	if p.attn != nil {
		return p.attn.Params()
	}
	return nil
}
