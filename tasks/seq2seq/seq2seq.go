package seq2seq

import (
	"fmt"
	"iter"
	"math"
	"math/rand/v2"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/seqkit/seqkit/nn"
	"github.com/seqkit/seqkit/pipeline"
	"github.com/seqkit/seqkit/recipes"
	"github.com/seqkit/seqkit/tasks"
	"github.com/seqkit/seqkit/tasks/kit"
	"github.com/seqkit/seqkit/tasks/rundir"
)

// Options is the seq2seq task's recipe section.
type Options struct {
	Attention     string `yaml:"attention" doc:"attention score: dot or general (Luong), additive (Bahdanau)" enum:"dot,general,additive"`
	AttentionSize int    `yaml:"attention_size,omitempty" doc:"hidden size of the additive score (default: the decoder's hidden size)" min:"0"`
	// DecoderHidden sizes the decoder apart from the encoder: a bidirectional
	// encoder's outputs are twice model.hidden wide, and a decoder as wide
	// can hold more of what it attends to.
	DecoderHidden int `yaml:"decoder_hidden,omitempty" doc:"hidden size of the decoder (default: model.hidden)" min:"0"`
	// InputFeeding gives the decoder its previous attentional vector as input
	// (Luong et al. 2015), at the cost of running the decoder step by step.
	InputFeeding bool `yaml:"input_feeding" doc:"feed the previous attentional vector to the decoder"`
	// TieEmbeddings shares the target embedding with the output layer (needs
	// model.embedding equal to model.hidden).
	TieEmbeddings bool `yaml:"tie_embeddings,omitempty" doc:"share the target embedding and the output weights"`
	// Beam is the beam size of decoding; 1 is greedy.
	Beam          int     `yaml:"beam" doc:"beam size of decoding (1: greedy)" decode:"true" min:"1" max:"100"`
	LengthPenalty float64 `yaml:"length_penalty,omitempty" doc:"alpha of the GNMT length penalty ((5+len)/6)^alpha dividing beam scores (0: none)" decode:"true" min:"0" max:"5"`
	NBest         int     `yaml:"nbest,omitempty" doc:"predict the n best sequences with their scores (at most beam)" decode:"true" min:"0" max:"100"`
	// MaxLenA and MaxLenB bound the output length at a·source length + b.
	MaxLenA float64 `yaml:"max_len_a" doc:"output length limit: a·source length + b" decode:"true" min:"0" max:"10"`
	MaxLenB int     `yaml:"max_len_b" doc:"output length limit: a·source length + b" decode:"true" min:"1" max:"100000"`
	// ScheduledSampling feeds the decoder, in training, its own most likely
	// previous token instead of the gold one with this probability, so that it
	// learns to recover from its mistakes (Bengio et al. 2015, who raise the
	// probability over training; here it is fixed).
	ScheduledSampling float64 `yaml:"scheduled_sampling,omitempty" doc:"probability of feeding the decoder its own previous prediction instead of the gold token in training" min:"0" max:"1"`
	// StripPattern also scores with this regular expression removed from every
	// token ("[0-9]" drops CMUdict's stress digits).
	StripPattern string `yaml:"strip_pattern,omitempty" doc:"also score with this regular expression removed from every output token, e.g. \"[0-9]\" for stress digits" decode:"true"`
}

// SizeOf implements recipes.Sizer: the bridge, target embedding, decoder,
// attention and output layers Init builds.
func (o *Options) SizeOf(r *recipes.Recipe, out float64, s *recipes.Size) {
	dirs := 1.0
	if r.Model.Bidirectional {
		dirs = 2
	}
	D, H, E, L := dirs*float64(r.Model.Hidden), float64(o.decoderHidden(r)), float64(r.Model.Embedding), float64(max(r.Model.Layers, 1))
	key := "model.hidden"
	if o.DecoderHidden > 0 {
		key = "task.decoder_hidden"
	}
	in := E
	if o.InputFeeding {
		in += H
	}
	A := float64(o.AttentionSize)
	if A == 0 {
		A = H
	}
	s.Add(key, L*D*H)               // bridge
	s.Add("model.embedding", out*E) // target embedding
	s.RNN(key, "model.embedding", r.Model.Cell, in, H, L, false)
	if o.AttentionSize > 0 {
		s.Add("task.attention_size", A*(H+D+1))
	} else {
		s.Add(key, A*(H+D+1))
	}
	s.Add(key, (D+H)*H+H*out) // combine, output
	s.Activations += D + A + 2*out
}

// decoderHidden is the decoder's hidden size.
func (o *Options) decoderHidden(r *recipes.Recipe) int {
	if o.DecoderHidden > 0 {
		return o.DecoderHidden
	}
	return r.Model.Hidden
}

// Type registers the seq2seq task: task: {type: seq2seq}.
func Type() tasks.Type {
	return tasks.Type{
		Name:    "seq2seq",
		Options: func() any { return &Options{Attention: "general", Beam: 1, MaxLenA: 2, MaxLenB: 10} },
		Check:   check,
		New:     func() tasks.Task { return &Task{} },
	}
}

func check(r *recipes.Recipe) []recipes.KeyError {
	o := r.Task.Options.(*Options)
	var errs []recipes.KeyError
	if H := o.decoderHidden(r); o.TieEmbeddings && r.Model.Embedding != H {
		errs = append(errs, recipes.KeyError{Key: "task.tie_embeddings", Msg: fmt.Sprintf("tying needs model.embedding (%d) equal to the decoder's hidden size (%d)", r.Model.Embedding, H)})
	}
	if o.NBest > o.Beam {
		errs = append(errs, recipes.KeyError{Key: "task.nbest", Msg: fmt.Sprintf("nbest %d is more than the beam %d", o.NBest, o.Beam)})
	}
	D := r.Model.Hidden
	if r.Model.Bidirectional {
		D *= 2
	}
	score, err := nn.ParseScore(o.Attention)
	if err != nil {
		errs = append(errs, recipes.KeyError{Key: "task.attention", Msg: err.Error()})
	}
	if H := o.decoderHidden(r); err == nil && score == nn.Dot && D != H {
		errs = append(errs, recipes.KeyError{Key: "task.attention", Msg: fmt.Sprintf("dot attention needs encoder outputs (%d wide) of the decoder's size (%d): use general or additive, or set task.decoder_hidden", D, H)})
	}
	if r.Train.BPTT > 0 {
		errs = append(errs, recipes.KeyError{Key: "train.bptt", Msg: "the seq2seq task reads whole sequences"})
	}
	if _, err := regexp.Compile(o.StripPattern); err != nil {
		errs = append(errs, recipes.KeyError{Key: "task.strip_pattern", Msg: err.Error()})
	}
	for name, src := range r.Data.Splits() {
		format := src.Format
		if format == "" {
			format, _ = pipeline.FormatOf(src.Path)
		}
		if src.Columns.Target == "" && src.Files.Target == "" && format != pipeline.Dict {
			errs = append(errs, recipes.KeyError{Key: "data." + name + ".columns.target", Msg: "the seq2seq task needs a target column (or files.target)"})
		}
		if src.Columns.Tags != "" || src.Files.Tags != "" || src.Columns.Label != "" || src.Files.Label != "" {
			errs = append(errs, recipes.KeyError{Key: "data." + name + ".columns", Msg: "the seq2seq task reads a source and a target, not tags or labels"})
		}
	}
	return errs
}

// Task maps a source sequence to a target sequence: the shared encoder over the
// source, a bridge from its final states to the decoder's first states, and a
// recurrent decoder that attends over the encoder outputs at every step and
// predicts the next target token from its attentional vector
// tanh(W_c [context; state]).
type Task struct {
	opts      *Options
	target    *pipeline.Vocab
	sep       string                   // joins output tokens
	targetTok pipeline.TokenizerConfig // of the targets: composes output text
	enc       *kit.Encoder
	bridge    []*nn.Linear[float32] // encoder summary → first state of each decoder layer
	emb       *nn.Embedding[float32]
	dec       *nn.RNN[float32]
	att       *nn.Attention[float32]
	combine   *nn.Linear[float32]
	out       *nn.Linear[float32]
	dropout   float64
	bidir     bool
	core      *kit.Core
	source    *pipeline.Vocab
	strip     *regexp.Regexp // nil unless strip_pattern
	// shown keeps the first decoded sequences of the last evaluation, for the
	// attention plots.
	shown []shownSeq
	// ens are the members of an ensemble (Ensemble), the receiver first; nil
	// for one model.
	ens []*Task
}

// Ensemble implements [tasks.Ensembler]: at every step of greedy and beam
// decoding the members' next-token probabilities are averaged (each member
// decoding the same prefixes with its own state), as fairseq's ensembles do;
// the loss is the cross-entropy of the average. The attention weights shown
// are the first member's.
func (t *Task) Ensemble(others []tasks.Task) (tasks.Task, error) {
	ens, err := tasks.Gather(t, others, func(m *Task) error {
		if m.target.Len() != t.target.Len() {
			return fmt.Errorf("the members' target vocabularies differ")
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	e := *t
	e.shown, e.ens = nil, ens
	return &e, nil
}

// errEnsemble is the error of training or saving an ensemble.
var errEnsemble = fmt.Errorf("seq2seq: an ensemble evaluates and predicts; it does not train or save")

type shownSeq struct {
	src []string
	hyp hypothesis
}

// Freeze implements tasks.Freezer.
func (t *Task) Freeze(on bool) { t.enc.Freeze(on) }

// Average implements [tasks.Averager].
func (t *Task) Average(on bool) { t.core.Average(on) }

// Info implements tasks.Task. The main metric is exact match: the share of
// sequences decoded exactly right.
// InputEmbedding implements tasks.Embedder: the encoder's token embedding,
// which model.embedding_init fills.
func (t *Task) InputEmbedding() *nn.Embedding[float32] { return t.enc.Emb }

func (t *Task) Info() tasks.Info {
	return tasks.Info{Name: "seq2seq", Version: "1", Metric: "exact_match", HigherIsBetter: true, Lower: []string{"sequence_error_rate", "token_error_rate", "sequence_error_rate_stripped", "token_error_rate_stripped"}}
}

// Init implements tasks.Task.
func (t *Task) Init(s tasks.Setup) error {
	opts, ok := s.Recipe.Task.Options.(*Options)
	if !ok {
		return fmt.Errorf("seq2seq: options of type %T", s.Recipe.Task.Options)
	}
	if s.Vocabs.Input == nil || s.Vocabs.Target == nil {
		return fmt.Errorf("seq2seq: the data has no source or no target")
	}
	r := s.Recipe
	t.opts, t.target, t.source, t.dropout, t.bidir = opts, s.Vocabs.Target, s.Vocabs.Input, r.Model.Dropout, r.Model.Bidirectional
	t.sep = " "
	tc := r.Data.Tokenizer.Pipeline()
	if tc.Target != nil {
		tc = *tc.Target
	}
	kind := tc.Kind
	t.targetTok = tc
	if strings.EqualFold(kind, "char") {
		t.sep = ""
	}
	if opts.StripPattern != "" {
		var err error
		if t.strip, err = regexp.Compile(opts.StripPattern); err != nil {
			return fmt.Errorf("seq2seq: strip_pattern: %w", err)
		}
	}
	rng := kit.InitRNG(r)
	var err error
	if t.enc, err = kit.NewEncoder(r, s.Vocabs, rng); err != nil {
		return err
	}
	params := t.enc.Params()
	D, H, E, L := t.enc.OutputSize(), opts.decoderHidden(r), r.Model.Embedding, max(r.Model.Layers, 1)
	for l := range L {
		t.bridge = append(t.bridge, nn.NewLinear[float32](fmt.Sprintf("bridge.%d", l), D, H, rng))
		params = append(params, t.bridge[l].Params()...)
	}
	V := t.target.Len()
	t.emb = nn.NewEmbedding[float32]("target_embedding", V, E, int(pipeline.PadID), rng)
	params = append(params, t.emb.Params()...)
	cfg, err := r.RNNConfig()
	if err != nil {
		return err
	}
	cfg.Bidirectional = false
	cfg.HiddenSize = H
	cfg.InputSize = E
	if opts.InputFeeding {
		cfg.InputSize += H
	}
	if t.dec, err = nn.NewRNN[float32]("decoder", cfg, rng); err != nil {
		return err
	}
	params = append(params, t.dec.Params()...)
	score, err := nn.ParseScore(opts.Attention)
	if err != nil {
		return err
	}
	A := opts.AttentionSize
	if A == 0 {
		A = H
	}
	if t.att, err = nn.NewAttention[float32]("attention", score, H, D, A, rng); err != nil {
		return err
	}
	params = append(params, t.att.Params()...)
	t.combine = nn.NewLinear[float32]("combine", D+H, H, rng)
	params = append(params, t.combine.Params()...)
	t.out = nn.NewLinear[float32]("output", H, V, rng)
	if opts.TieEmbeddings {
		t.out.W = t.emb.W
		params = append(params, t.out.B)
	} else {
		params = append(params, t.out.Params()...)
	}
	t.core, err = kit.NewCore(r, params)
	return err
}

// encoded is what the decoder attends over.
type encoded struct {
	keys    *nn.Tensor[float32] // encoder outputs [Ts, B, D]
	lengths []int
}

// decState is the decoder's state between steps.
type decState struct {
	st   nn.State[float32]
	feed *nn.Tensor[float32] // previous attentional vector [1, B, H] (input feeding)
}

// encode runs the encoder and the bridge.
func (t *Task) encode(tp *nn.Tape, b *pipeline.Batch, rng *rand.Rand) (encoded, decState) {
	out, _ := t.enc.Forward(tp, b, rng)
	summary := nn.Pool(tp, out, b.Lengths, nn.PoolLast, t.bidir)
	hs := make([]*nn.Tensor[float32], len(t.bridge))
	for l, br := range t.bridge {
		hs[l] = nn.Tanh(tp, br.Forward(tp, summary))
	}
	s := decState{st: nn.State[float32]{H: nn.Stack(tp, hs)}}
	if t.opts.InputFeeding {
		s.feed = nn.NewTensor[float32](1, b.B, t.combine.W.Shape[0])
	}
	return encoded{keys: out, lengths: b.Lengths}, s
}

// decode runs the decoder over ids [T, B] from s and returns the attentional
// vectors [T, B, H], the state after the last step and the attention weights
// [T, B, Ts]. Without input feeding the T steps run as one recurrent pass.
func (t *Task) decode(tp *nn.Tape, ids []int32, T, B int, lengths []int, s decState, m encoded, rng *rand.Rand) (*nn.Tensor[float32], decState, *nn.Tensor[float32]) {
	if !t.opts.InputFeeding {
		x := nn.Dropout(tp, t.emb.Forward(tp, ids, T, B), t.dropout, false, rng)
		h, st := t.dec.Forward(tp, x, lengths, s.st, rng)
		att, w := t.attend(tp, h, m, rng)
		return att, decState{st: st}, w
	}
	steps := make([]*nn.Tensor[float32], T)
	ws := make([]*nn.Tensor[float32], T)
	ones := slices.Repeat([]int{1}, B)
	for i := range T {
		x := nn.Dropout(tp, t.emb.Forward(tp, ids[i*B:(i+1)*B], 1, B), t.dropout, false, rng)
		h, st := t.dec.Forward(tp, nn.Concat(tp, x, s.feed), ones, s.st, rng)
		att, w := t.attend(tp, h, m, rng)
		s = decState{st: st, feed: att}
		steps[i], ws[i] = att, w
	}
	att := nn.Stack(tp, steps)
	w := nn.Stack(nil, ws)
	return reshape3(att, T, B), s, reshape3(w, T, B)
}

// attend returns the attentional vectors tanh(W_c [context; h]) (with dropout in
// training) and the attention weights.
func (t *Task) attend(tp *nn.Tape, h *nn.Tensor[float32], m encoded, rng *rand.Rand) (*nn.Tensor[float32], *nn.Tensor[float32]) {
	ctx, w := t.att.Forward(tp, h, m.keys, m.lengths)
	att := nn.Tanh(tp, t.combine.Forward(tp, nn.Concat(tp, ctx, h)))
	return nn.Dropout(tp, att, t.dropout, false, rng), w
}

// reshape3 views a stack of T steps of [1, B, D] as [T, B, D]; the data and the
// gradient are laid out alike.
func reshape3(x *nn.Tensor[float32], T, B int) *nn.Tensor[float32] {
	x.Shape = []int{T, B, x.Len() / (T * B)}
	return x
}

// teacher splits a batch's targets (<bos> … <eos>) into the decoder's input (all
// but the last) and the tokens to predict (all but the first, -1 at padding).
func teacher(b *pipeline.Batch) (in []int32, gold []int32, T int, lengths []int) {
	T, B := b.TargetT-1, b.B
	in, gold = make([]int32, T*B), make([]int32, T*B)
	lengths = make([]int, B)
	for j := range B {
		lengths[j] = b.TargetLengths[j] - 1
	}
	for i := range T {
		for j := range B {
			in[i*B+j] = b.Target[i*B+j]
			gold[i*B+j] = -1
			if i+1 < b.TargetLengths[j] {
				gold[i*B+j] = b.Target[(i+1)*B+j]
			}
		}
	}
	return in, gold, T, lengths
}

// TrainStep implements tasks.Task: teacher forcing, cross-entropy per target
// token.
func (t *Task) TrainStep(b *pipeline.Batch, lr float64) (tasks.Step, error) {
	if t.ens != nil {
		return tasks.Step{}, errEnsemble
	}
	if b.Target == nil {
		return tasks.Step{}, fmt.Errorf("seq2seq: batch has no target")
	}
	if err := t.enc.Check(b); err != nil {
		return tasks.Step{}, err
	}
	tp := new(nn.Tape)
	loss := t.loss(tp, b, t.core.RNG)
	norm, err := t.core.Update(tp, loss, lr)
	return tasks.Step{Loss: float64(loss.Data[0]), Tokens: b.Tokens(), GradNorm: norm}, err
}

func (t *Task) loss(tp *nn.Tape, b *pipeline.Batch, rng *rand.Rand) *nn.Tensor[float32] {
	m, s := t.encode(tp, b, rng)
	in, gold, T, lengths := teacher(b)
	if rng != nil && t.opts.ScheduledSampling > 0 {
		return nn.CrossEntropy(tp, t.sampled(tp, in, T, b.B, s, m, rng), gold, -1, nn.CEOptions{})
	}
	att, _, _ := t.decode(tp, in, T, b.B, lengths, s, m, rng)
	return nn.CrossEntropy(tp, t.out.Forward(tp, att), gold, -1, nn.CEOptions{})
}

// sampled runs the decoder step by step over the teacher's input in, replacing
// each next gold token by the step's most likely one with probability
// scheduled_sampling, and returns the logits [T, B, V]. Positions past a
// sequence's end run too; the loss ignores them.
func (t *Task) sampled(tp *nn.Tape, in []int32, T, B int, s decState, m encoded, rng *rand.Rand) *nn.Tensor[float32] {
	ones := slices.Repeat([]int{1}, B)
	ids := slices.Clone(in[:B])
	steps := make([]*nn.Tensor[float32], T)
	for i := range T {
		att, s2, _ := t.decode(tp, ids, 1, B, ones, s, m, rng)
		s = s2
		lg := t.out.Forward(tp, att)
		steps[i] = lg
		if i+1 == T {
			break
		}
		V := lg.Shape[2]
		for j := range B {
			ids[j] = in[(i+1)*B+j]
			if rng.Float64() < t.opts.ScheduledSampling {
				row := lg.Data[j*V : (j+1)*V]
				best := 0
				for id, v := range row {
					if !banned(id) && (banned(best) || v > row[best]) {
						best = id
					}
				}
				ids[j] = int32(best)
			}
		}
	}
	return reshape3(nn.Stack(tp, steps), T, B)
}

// maxLen is the output length limit of a source of n tokens.
func (t *Task) maxLen(n int) int {
	return int(t.opts.MaxLenA*float64(n)) + t.opts.MaxLenB
}

// hypothesis is a decoded sequence and its log-probability.
type hypothesis struct {
	tokens []int32
	attn   [][]float64 // greedy only: each output token's (and <eos>'s) weights over the source
	score  float64     // summed log-probability (with <eos> when it ended there)
	norm   float64     // score divided by the length penalty: the rank in the beam
}

// logSoftmax returns the log-probabilities of a logits row.
func logSoftmax(row []float32, dst []float64) []float64 {
	mx := float64(row[0])
	for _, v := range row {
		mx = max(mx, float64(v))
	}
	var z float64
	for _, v := range row {
		z += math.Exp(float64(v) - mx)
	}
	lz := mx + math.Log(z)
	dst = dst[:0]
	for _, v := range row {
		dst = append(dst, float64(v)-lz)
	}
	return dst
}

// banned are the target symbols a decoder never emits.
func banned(id int) bool { return int32(id) == pipeline.PadID || int32(id) == pipeline.BOSID }

// greedy decodes a batch by taking the most likely token at every step.
func (t *Task) greedy(b *pipeline.Batch) []hypothesis {
	d := t.start(b)
	B := b.B
	hyps := make([]hypothesis, B)
	done := make([]bool, B)
	ids := make([]int32, B)
	for j := range ids {
		ids[j] = pipeline.BOSID
	}
	limit := 0
	for _, n := range b.Lengths {
		limit = max(limit, t.maxLen(n))
	}
	var lp []float64
	for step := 0; step < limit; step++ {
		lg, w := d.step(ids)
		V, Ts := lg.Shape[2], w.Shape[2]
		left := false
		for j := range B {
			if done[j] {
				continue
			}
			row := make([]float64, b.Lengths[j])
			for k := range row {
				row[k] = float64(w.Data[j*Ts+k])
			}
			hyps[j].attn = append(hyps[j].attn, row)
			lp = logSoftmax(lg.Data[j*V:(j+1)*V], lp)
			best := -1
			for id, v := range lp {
				if !banned(id) && (best < 0 || v > lp[best]) {
					best = id
				}
			}
			hyps[j].score += lp[best]
			ids[j] = int32(best)
			if int32(best) == pipeline.EOSID {
				done[j] = true
				continue
			}
			hyps[j].tokens = append(hyps[j].tokens, int32(best))
			if len(hyps[j].tokens) >= t.maxLen(b.Lengths[j]) {
				done[j] = true
				continue
			}
			left = true
		}
		nn.Recycle(lg) // read: its buffer serves the next step's logits
		if !left {
			break
		}
	}
	for j := range hyps {
		hyps[j].norm = hyps[j].score / t.penalty(len(hyps[j].tokens))
	}
	return hyps
}

// decoding is the state of greedy or beam decoding: of one model, or of
// every member of an ensemble, each decoder with its own state.
type decoding struct {
	models []*Task
	mem    []encoded
	st     []decState
	ones   []int // every row's length in one step, kept from step to step
}

// models are the members of an ensemble, or the model alone.
func (t *Task) models() []*Task {
	if t.ens != nil {
		return t.ens
	}
	return []*Task{t}
}

// start encodes a batch for decoding.
func (t *Task) start(b *pipeline.Batch) *decoding {
	d := &decoding{models: t.models()}
	for _, m := range d.models {
		e, s := m.encode(nil, b, nil)
		d.mem, d.st = append(d.mem, e), append(d.st, s)
	}
	return d
}

// step feeds one token per row and returns the next-token scores [1, N, V]
// (the model's logits; an ensemble's log of its members' mean probabilities,
// kit.LogMeanProbs) and the first model's attention weights [1, N, Ts].
func (d *decoding) step(ids []int32) (lg, w *nn.Tensor[float32]) {
	N := len(ids)
	if len(d.ones) != N {
		d.ones = slices.Repeat([]int{1}, N)
	}
	lgs := make([]*nn.Tensor[float32], len(d.models))
	for i, m := range d.models {
		att, s, wi := m.decode(nil, ids, 1, N, d.ones, d.st[i], d.mem[i], nil)
		d.st[i] = s
		lgs[i] = m.out.Forward(nil, att)
		if i == 0 {
			w = wi
		}
	}
	lg = kit.LogMeanProbs(lgs)
	if len(lgs) > 1 {
		nn.Recycle(lgs...)
	}
	return lg, w
}

// expand repeats every sequence K times (beam search): row j·K+k is a copy
// of row j.
func (d *decoding) expand(K int) {
	for i := range d.models {
		d.mem[i], d.st[i] = expand(d.mem[i], d.st[i], K)
	}
}

// reorder makes row r of every state a copy of row parents[r].
func (d *decoding) reorder(parents []int) {
	for i := range d.st {
		d.st[i] = reorder(d.st[i], parents)
	}
}

// ensembleLoss is the teacher-forced loss of an ensemble: the cross-entropy
// of the members' mean next-token probabilities.
func (t *Task) ensembleLoss(b *pipeline.Batch) float64 {
	in, gold, T, lengths := teacher(b)
	lgs := make([]*nn.Tensor[float32], len(t.ens))
	for i, m := range t.ens {
		e, s := m.encode(nil, b, nil)
		att, _, _ := m.decode(nil, in, T, b.B, lengths, s, e, nil)
		lgs[i] = m.out.Forward(nil, att)
	}
	return float64(nn.CrossEntropy(nil, kit.LogMeanProbs(lgs), gold, -1, nn.CEOptions{}).Data[0])
}

// penalty is the GNMT length penalty ((5+n)/6)^α.
func (t *Task) penalty(n int) float64 {
	if t.opts.LengthPenalty == 0 {
		return 1
	}
	return math.Pow((5+float64(n))/6, t.opts.LengthPenalty)
}

// Decode returns the n best hypotheses of every sequence of b, best first: greedy
// with a beam of 1, beam search otherwise. Beam search can lose the greedy
// sequence (its prefixes may fall out of the beam while the hypotheses that
// pushed them out end worse), so the greedy one, which costs a beam's 1/K,
// joins the beam's list when it ranks higher: the best is never worse than
// greedy.
func (t *Task) Decode(b *pipeline.Batch) [][]hypothesis {
	g := t.greedy(b)
	out := make([][]hypothesis, len(g))
	if t.opts.Beam <= 1 {
		for j := range g {
			out[j] = g[j : j+1]
		}
		return out
	}
	out = t.beam(b, t.opts.Beam)
	for j, h := range out {
		if slices.ContainsFunc(h, func(x hypothesis) bool { return slices.Equal(x.tokens, g[j].tokens) }) {
			continue
		}
		i := sort.Search(len(h), func(i int) bool { return h[i].norm < g[j].norm })
		if i < t.opts.Beam {
			out[j] = slices.Insert(h, i, g[j])[:min(len(h)+1, t.opts.Beam)]
		}
	}
	return out
}

// tokens returns the target ids of sequence j of b without <bos> and <eos>.
func goldTokens(b *pipeline.Batch, j int) []int32 {
	n := b.TargetLengths[j]
	out := make([]int32, 0, n)
	for i := 1; i < n-1; i++ {
		out = append(out, b.Target[i*b.B+j])
	}
	return out
}

func (t *Task) text(ids []int32) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = t.target.Token(id)
	}
	return out
}

// Evaluate implements tasks.Task. Rows with the same source are alternative
// references of one example (a word's pronunciations in a dictionary): a
// prediction is right when it equals any of them. Metrics: loss (teacher-forced
// cross-entropy per token), exact_match and sequence_error_rate (100 − exact
// match: WER for grapheme-to-phoneme) over distinct sources, token_error_rate
// (edit distance to the closest reference over that reference's length, summed:
// PER) and bleu (corpus BLEU over the target tokens as the recipe tokenizes them,
// no further tokenisation). With strip_pattern the first three are reported again
// on tokens with the pattern removed (exact_match_stripped, …).
func (t *Task) Evaluate(batches iter.Seq[*pipeline.Batch]) (tasks.Metrics, error) {
	type example struct {
		refs [][]string
		pred []string
	}
	var order []string
	examples := map[string]*example{}
	var lossSum float64
	var rows int
	t.shown = t.shown[:0]
	for b := range batches {
		if err := t.enc.Check(b); err != nil {
			return nil, err
		}
		if b.Target == nil {
			return nil, fmt.Errorf("seq2seq: evaluation data has no target")
		}
		if t.ens != nil {
			lossSum += t.ensembleLoss(b) * float64(b.B)
		} else {
			lossSum += float64(t.loss(nil, b, nil).Data[0]) * float64(b.B)
		}
		rows += b.B
		hyps := t.Decode(b)
		if len(t.shown) < plots {
			g := t.greedy(b)
			for j := 0; j < b.B && len(t.shown) < plots; j++ {
				t.shown = append(t.shown, shownSeq{t.sourceTokens(b, j), g[j]})
			}
		}
		for j := range b.B {
			key := strings.Join(t.sourceTokens(b, j), "\x00")
			ex, ok := examples[key]
			if !ok {
				ex = &example{pred: t.text(hyps[j][0].tokens)}
				examples[key] = ex
				order = append(order, key)
			}
			ex.refs = append(ex.refs, t.text(goldTokens(b, j)))
		}
	}
	m := tasks.Metrics{}
	if rows == 0 {
		return m, nil
	}
	m["loss"] = lossSum / float64(rows)
	var bl BLEU
	score := func(suffix string, clean func([]string) []string) {
		var exact, edits, refTokens int
		for _, key := range order {
			ex := examples[key]
			pred := clean(ex.pred)
			best, bestLen := -1, 0
			for _, r := range ex.refs {
				r = clean(r)
				if d := editDistance(r, pred); best < 0 || d < best || (d == best && len(r) > bestLen) {
					best, bestLen = d, len(r)
				}
			}
			if best == 0 {
				exact++
			}
			edits += best
			refTokens += bestLen
		}
		m["exact_match"+suffix] = 100 * float64(exact) / float64(len(order))
		m["sequence_error_rate"+suffix] = 100 - m["exact_match"+suffix]
		m["token_error_rate"+suffix] = 100 * float64(edits) / float64(max(refTokens, 1))
	}
	score("", func(x []string) []string { return x })
	if t.strip != nil {
		score("_stripped", func(x []string) []string {
			out := make([]string, 0, len(x))
			for _, tok := range x {
				if tok = t.strip.ReplaceAllString(tok, ""); tok != "" {
					out = append(out, tok)
				}
			}
			return out
		})
	}
	for _, key := range order {
		bl.Add(examples[key].pred, examples[key].refs)
	}
	m["bleu"] = bl.Score()
	return m, nil
}

// sourceTokens returns the source tokens of sequence j of b.
func (t *Task) sourceTokens(b *pipeline.Batch, j int) []string {
	src := make([]string, b.Lengths[j])
	for i := range src {
		src[i] = t.source.Token(b.IDs[i*b.B+j])
	}
	return src
}

// editDistance is the Levenshtein distance between two token sequences.
func editDistance[E comparable](a, b []E) int {
	prev, cur := make([]int, len(b)+1), make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			sub := prev[j-1]
			if a[i-1] != b[j-1] {
				sub++
			}
			cur[j] = min(sub, prev[j]+1, cur[j-1]+1)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// Predict implements tasks.Task: "output" (the best sequence, tokens joined),
// "score" (its log-probability) and with nbest > 1 "nbest" (the n best, each
// "score TAB sequence").
func (t *Task) Predict(b *pipeline.Batch) (arrow.RecordBatch, error) {
	if err := t.enc.Check(b); err != nil {
		return nil, err
	}
	hyps := t.Decode(b)
	mem := memory.DefaultAllocator
	ob, sb := array.NewStringBuilder(mem), array.NewFloat64Builder(mem)
	defer ob.Release()
	defer sb.Release()
	nb := array.NewListBuilder(mem, arrow.BinaryTypes.String)
	defer nb.Release()
	vb := nb.ValueBuilder().(*array.StringBuilder)
	for j := range b.B {
		ob.Append(t.targetTok.ComposeText(strings.Join(t.text(hyps[j][0].tokens), t.sep)))
		sb.Append(hyps[j][0].score)
		nb.Append(true)
		for k, h := range hyps[j] {
			if k >= max(t.opts.NBest, 1) {
				break
			}
			vb.Append(fmt.Sprintf("%.4f\t%s", h.score, t.targetTok.ComposeText(strings.Join(t.text(h.tokens), t.sep))))
		}
	}
	fields := []arrow.Field{{Name: "output", Type: arrow.BinaryTypes.String}, {Name: "score", Type: arrow.PrimitiveTypes.Float64}}
	cols := []arrow.Array{ob.NewArray(), sb.NewArray()}
	if t.opts.NBest > 1 {
		fields = append(fields, arrow.Field{Name: "nbest", Type: arrow.ListOf(arrow.BinaryTypes.String)})
		cols = append(cols, nb.NewArray())
	}
	defer func() {
		for _, c := range cols {
			c.Release()
		}
	}()
	return array.NewRecordBatch(arrow.NewSchema(fields, nil), cols, int64(b.B)), nil
}

// Attention implements tasks.Attender: the attention weights behind each
// sequence's best prediction (greedy or beam), from running the decoder over
// that prediction.
func (t *Task) Attention(b *pipeline.Batch) ([]tasks.AttentionMap, error) {
	hyps := t.Decode(b)
	B, T := b.B, 1
	for j := range B {
		T = max(T, len(hyps[j][0].tokens)+1)
	}
	// The decoder reads <bos> and the prediction, and attends before each
	// output token and before <eos>.
	in, lengths := make([]int32, T*B), make([]int, B)
	for j := range B {
		in[j] = pipeline.BOSID
		for i, id := range hyps[j][0].tokens {
			in[(i+1)*B+j] = id
		}
		lengths[j] = len(hyps[j][0].tokens) + 1
	}
	m, s := t.encode(nil, b, nil)
	_, _, w := t.decode(nil, in, T, B, lengths, s, m, nil)
	Ts := w.Shape[2]
	maps := make([]tasks.AttentionMap, B)
	for j := range B {
		am := tasks.AttentionMap{Source: t.sourceTokens(b, j), Output: append(t.text(hyps[j][0].tokens), "<eos>")}
		for i := range lengths[j] {
			row := make([]float64, b.Lengths[j])
			for k := range row {
				row[k] = float64(w.Data[(i*B+j)*Ts+k])
			}
			am.Weights = append(am.Weights, row)
		}
		maps[j] = am
	}
	return maps, nil
}

// plots is how many sequences of the test set get an attention heat map.
const plots = 3

// Figures implements tasks.Figures: attention heat maps (greedy decoding) of the
// first sequences of the last evaluation, attention-1.png and on.
func (t *Task) Figures(dir string) ([]string, error) {
	var files []string
	for i, s := range t.shown {
		out := append(t.text(s.hyp.tokens), "<eos>")[:len(s.hyp.attn)]
		p := filepath.Join(dir, fmt.Sprintf("attention-%d.png", i+1))
		if err := rundir.HeatMap(p, "attention", "source", "output", s.src, out, s.hyp.attn, nil); err != nil {
			return nil, fmt.Errorf("attention plot: %w", err)
		}
		files = append(files, p)
	}
	return files, nil
}

// Save implements tasks.Task.
func (t *Task) Save(dir string, resumable bool) error {
	if t.ens != nil {
		return errEnsemble
	}
	return t.core.Save(dir, resumable, map[string]string{"task": "seq2seq", "attention": t.opts.Attention})
}

// Load implements tasks.Task.
func (t *Task) Load(dir string, resumable bool) error { return t.core.Load(dir, resumable) }
