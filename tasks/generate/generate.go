package generate

import (
	"fmt"
	"iter"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"unicode"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/seqkit/seqkit/nn"
	"github.com/seqkit/seqkit/pipeline"
	"github.com/seqkit/seqkit/recipes"
	"github.com/seqkit/seqkit/tasks"
	"github.com/seqkit/seqkit/tasks/kit"

	"github.com/seqkit/seqkit/internal/quote"
)

// Condition names task.condition: what the generator is conditioned on.
type Condition string

// The conditionings.
const (
	NoCondition    Condition = "none"
	ConditionInit  Condition = "init"  // the label or vector sets the first hidden state of every layer
	ConditionInput Condition = "input" // an extra input at every step
)

// Options is the generate task's recipe section.
type Options struct {
	// Condition conditions the model on the label column ("generate a name in
	// language L") or on the vector column ("generate a caption for this image
	// embedding"): with init the condition sets the first hidden state of every
	// layer, with input it is an extra input at every step.
	Condition Condition `yaml:"condition" doc:"condition on the label or vector column: none, init (it sets the first hidden state of every layer) or input (an extra input at every step)" enum:"none,init,input"`
	// Samples, MaxLen, Temperature, TopK and TopP are the defaults of seqkit
	// generate and what seqkit run shows after training.
	Samples     int     `yaml:"samples" doc:"sequences generated and shown after training" decode:"true" min:"0" max:"10000"`
	MaxLen      int     `yaml:"max_len" doc:"longest generated sequence, in tokens" decode:"true" min:"1" max:"100000"`
	Temperature float64 `yaml:"temperature" doc:"sampling temperature (0: always the most likely token)" decode:"true" min:"0" max:"100"`
	TopK        int     `yaml:"top_k,omitempty" doc:"sample among the k most likely tokens (0: all)" decode:"true" min:"0"`
	TopP        float64 `yaml:"top_p,omitempty" doc:"sample among the most likely tokens holding this much probability (0 or 1: all)" decode:"true" min:"0" max:"1"`
}

// Type registers the generate task: task: {type: generate}.
func Type() tasks.Type {
	return tasks.Type{
		Name:    "generate",
		Options: func() any { return &Options{Condition: NoCondition, Samples: 20, MaxLen: 50, Temperature: 1} },
		Check:   check,
		New:     func() tasks.Task { return &Task{} },
	}
}

func check(r *recipes.Recipe) []recipes.KeyError {
	o := r.Task.Options.(*Options)
	var errs []recipes.KeyError
	if r.Model.Bidirectional {
		errs = append(errs, recipes.KeyError{Key: "model.bidirectional", Msg: "a generator reads left to right only; set it to false"})
	}
	if r.Model.Char != nil {
		errs = append(errs, recipes.KeyError{Key: "model.char", Msg: "character features of the input words do not apply to generation"})
	}
	if r.Train.BPTT > 0 && o.Condition != NoCondition {
		errs = append(errs, recipes.KeyError{Key: "task.condition", Msg: "a model trained over one stream (train.bptt) has no per-sequence condition; set it to none"})
	}
	for name, src := range r.Data.Splits() {
		if r.Train.BPTT > 0 && !src.Stream {
			errs = append(errs, recipes.KeyError{Key: "data." + name + ".stream", Msg: "train.bptt reads each split as one continuous text: set stream: true"})
		}
		if r.Train.BPTT == 0 && src.Stream {
			errs = append(errs, recipes.KeyError{Key: "train.bptt", Msg: "data." + name + " is a stream: set the truncated BPTT length (e.g. 64)"})
		}
		if src.Columns.Tags != "" || src.Files.Tags != "" || src.Columns.Target != "" || src.Files.Target != "" {
			errs = append(errs, recipes.KeyError{Key: "data." + name + ".columns", Msg: "the generate task reads a text column (and a label column to condition on), not tags or targets"})
		}
		hasLabel := src.Columns.Label != "" || src.Files.Label != ""
		hasVector := src.Columns.Vector != "" || src.Files.Vector != ""
		switch {
		case o.Condition != NoCondition && !hasLabel && !hasVector:
			errs = append(errs, recipes.KeyError{Key: "data." + name + ".columns", Msg: "condition: " + string(o.Condition) + " needs a label or a vector column to condition on"})
		case hasLabel && hasVector:
			errs = append(errs, recipes.KeyError{Key: "data." + name + ".columns", Msg: "a generator is conditioned on a label or on a vector, not both"})
		}
	}
	return errs
}

// Task is a left-to-right language model over the input text: the shared encoder
// (unidirectional) reads <bos> and the tokens, and a linear layer predicts each
// next token and finally <eos>. With condition "init" the first hidden state of
// every layer comes from the sequence's label.
//
// With train.bptt the text is one stream instead (data.*.stream), cut into
// windows of that many steps in parallel streams: the state at the end of a
// window starts the next one (stateful training), while gradients stop at the
// window's start (truncated BPTT).
type Task struct {
	opts   *Options
	recipe *recipes.Recipe
	vocab  *pipeline.Vocab
	labels *pipeline.Vocab // conditioned on the label column; else nil
	vector int             // conditioned on a vector column of this length; else 0
	tok    *pipeline.Tokenizer
	enc    *kit.Encoder
	out    *nn.Linear[float32]
	// The condition's parameters: for a label an embedding, [layers·(labels+1),
	// hidden] (init) or [labels+1, embedding] (input), the extra row for a label
	// not seen in training; for a vector one linear layer per decoder layer
	// (init) or one (input), each followed by tanh.
	cond  *nn.Embedding[float32]
	condW []*nn.Linear[float32]
	core  *kit.Core
	// carry is the training stream's state after the last window (truncated
	// BPTT); zero at the start of a pass.
	carry nn.State[float32]
	// ens are the members of an ensemble (Ensemble), the receiver first; nil
	// for one model.
	ens []*Task
}

// Ensemble implements [tasks.Ensembler]: the members' next-token
// probabilities are averaged at every step, in scoring (nll), sampling,
// greedy and beam generation, each member reading the same tokens with its
// own state.
func (t *Task) Ensemble(others []tasks.Task) (tasks.Task, error) {
	ens, err := tasks.Gather(t, others, func(m *Task) error {
		switch {
		case m.vector != t.vector || (m.labels == nil) != (t.labels == nil):
			return fmt.Errorf("the members are conditioned differently (task.condition)")
		case m.startID() != t.startID():
			return fmt.Errorf("some members read streams (train.bptt) and some sequences")
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	e := *t
	e.ens = ens
	return &e, nil
}

// errEnsemble is the error of training or saving an ensemble.
var errEnsemble = fmt.Errorf("generate: an ensemble evaluates, predicts and generates; it does not train or save")

// Info implements tasks.Task. The main metric is the negative log-likelihood per
// predicted token (<eos> included), in nats.
// InputEmbedding implements tasks.Embedder: the encoder's token embedding,
// which model.embedding_init fills.
func (t *Task) InputEmbedding() *nn.Embedding[float32] { return t.enc.Emb }

func (t *Task) Info() tasks.Info {
	return tasks.Info{Name: "generate", Version: "1", Metric: "nll", HigherIsBetter: false, Lower: []string{"perplexity"}}
}

// Init implements tasks.Task.
func (t *Task) Init(s tasks.Setup) error {
	opts, ok := s.Recipe.Task.Options.(*Options)
	if !ok {
		return fmt.Errorf("generate: options of type %T", s.Recipe.Task.Options)
	}
	if s.Vocabs.Input == nil {
		return fmt.Errorf("generate: the data has no text column")
	}
	t.opts, t.recipe, t.vocab = opts, s.Recipe, s.Vocabs.Input
	var err error
	if t.tok, err = pipeline.NewTokenizer(s.Recipe.Data.Tokenizer.Pipeline()); err != nil {
		return err
	}
	rng := kit.InitRNG(s.Recipe)
	r := s.Recipe
	L, H, E := max(r.Model.Layers, 1), r.Model.Hidden, r.Model.Embedding
	extra := 0
	if opts.Condition == ConditionInput {
		extra = E
	}
	if t.enc, err = kit.NewEncoderWith(r, s.Vocabs, extra, rng); err != nil {
		return err
	}
	params := t.enc.Params()
	t.out = nn.NewLinear[float32]("output", t.enc.OutputSize(), t.vocab.Len(), rng)
	params = append(params, t.out.Params()...)
	if opts.Condition == NoCondition {
		t.core, err = kit.NewCore(r, params)
		return err
	}
	switch {
	case s.Vocabs.Labels != nil:
		t.labels = s.Vocabs.Labels
		rows, width := L*(t.labels.Len()+1), H
		if opts.Condition == ConditionInput {
			rows, width = t.labels.Len()+1, E
		}
		t.cond = nn.NewEmbedding[float32]("condition", rows, width, -1, rng)
		if opts.Condition == ConditionInit {
			// Small first states: hidden states live in (-1, 1).
			for i := range t.cond.W.Data {
				t.cond.W.Data[i] *= 0.1
			}
		}
		params = append(params, t.cond.Params()...)
	case s.Vocabs.Vector > 0:
		t.vector = s.Vocabs.Vector
		if opts.Condition == ConditionInput {
			t.condW = []*nn.Linear[float32]{nn.NewLinear[float32]("condition", t.vector, E, rng)}
		} else {
			for l := range L {
				t.condW = append(t.condW, nn.NewLinear[float32](fmt.Sprintf("condition.%d", l), t.vector, H, rng))
			}
		}
		for _, w := range t.condW {
			params = append(params, w.Params()...)
		}
	default:
		return fmt.Errorf("generate: condition %s needs a label or a vector column", opts.Condition)
	}
	t.core, err = kit.NewCore(s.Recipe, params)
	return err
}

// shift turns a batch of sequences into the model's input, <bos> then the tokens,
// [T+1, B], and its targets, the tokens then <eos>, with -1 (no loss) at padding.
func shift(b *pipeline.Batch) (*pipeline.Batch, []int32) {
	T, B := b.T+1, b.B
	in := &pipeline.Batch{T: T, B: B, IDs: make([]int32, T*B), Lengths: make([]int, B), Labels: b.Labels, Rows: b.Rows}
	targets := make([]int32, T*B)
	for i := range targets {
		targets[i] = -1
	}
	for j, n := range b.Lengths {
		in.IDs[j] = pipeline.BOSID
		for i := range n {
			id := b.IDs[i*B+j]
			in.IDs[(i+1)*B+j] = id
			targets[i*B+j] = id
		}
		targets[n*B+j] = pipeline.EOSID
		in.Lengths[j] = n + 1
	}
	return in, targets
}

// condition is what each sequence of a batch is conditioned on: labels [B] (-1:
// not seen in training) or vectors [B, t.vector]; B counts the sequences.
type condition struct {
	labels []int32
	vector []float32
	B      int
}

func batchCondition(b *pipeline.Batch) condition {
	return condition{labels: b.Labels, vector: b.Vector, B: b.B}
}

// conditioned says whether the model reads a condition.
func (t *Task) conditioned() bool { return t.labels != nil || t.vector > 0 }

// labelIDs maps labels to rows of the condition embedding, the last row for
// unseen labels, offset by layer·(labels+1) for each of L layers.
func (t *Task) labelIDs(labels []int32, L int) []int32 {
	n := t.labels.Len() + 1
	ids := make([]int32, L*len(labels))
	for l := range L {
		for j, lab := range labels {
			if lab < 0 {
				lab = int32(n - 1)
			}
			ids[l*len(labels)+j] = int32(l*n) + lab
		}
	}
	return ids
}

// vectors returns the condition vectors as a [B, t.vector] tensor.
func (t *Task) vectors(c condition) *nn.Tensor[float32] {
	return &nn.Tensor[float32]{Data: c.vector, Shape: []int{c.B, t.vector}}
}

// initState is the first state of a batch: zeros, or the one the condition sets
// (condition: init).
func (t *Task) initState(tp *nn.Tape, c condition) nn.State[float32] {
	if t.opts.Condition != ConditionInit {
		return nn.State[float32]{}
	}
	L := max(t.enc.RNN.Config.Layers, 1)
	if t.labels != nil {
		return nn.State[float32]{H: t.cond.Forward(tp, t.labelIDs(c.labels, L), L, c.B)}
	}
	hs := make([]*nn.Tensor[float32], L)
	for l, w := range t.condW {
		hs[l] = nn.Tanh(tp, w.Forward(tp, t.vectors(c)))
	}
	return nn.State[float32]{H: nn.Stack(tp, hs)}
}

// extraInput is the condition as an input at each of T steps, [T, B, embedding]
// (condition: input); nil otherwise.
func (t *Task) extraInput(tp *nn.Tape, c condition, T int) *nn.Tensor[float32] {
	if t.opts.Condition != ConditionInput {
		return nil
	}
	var x *nn.Tensor[float32]
	if t.labels != nil {
		x = t.cond.Forward(tp, t.labelIDs(c.labels, 1), 1, c.B)
	} else {
		x = nn.Tanh(tp, t.condW[0].Forward(tp, t.vectors(c)))
	}
	steps := nn.Stack(tp, slices.Repeat([]*nn.Tensor[float32]{x}, T))
	steps.Shape = []int{T, c.B, x.Len() / c.B}
	return steps
}

// forward runs the model over in from the condition's first state.
func (t *Task) forward(tp *nn.Tape, in *pipeline.Batch, c condition, init nn.State[float32], rng *rand.Rand) (*nn.Tensor[float32], nn.State[float32]) {
	if init.H == nil {
		init = t.initState(tp, c)
	}
	return t.enc.ForwardWith(tp, in, init, t.extraInput(tp, c, in.T), rng)
}

func (t *Task) logits(tp *nn.Tape, b *pipeline.Batch, rng *rand.Rand) (*nn.Tensor[float32], []int32) {
	in, targets := shift(b)
	out, _ := t.forward(tp, in, batchCondition(b), nn.State[float32]{}, rng)
	return t.out.Forward(tp, out), targets
}

// window runs a window of a stream from carry (zero at the start of a pass) and
// returns the logits, the next tokens to predict and the detached state to carry
// into the next window.
func (t *Task) window(tp *nn.Tape, b *pipeline.Batch, carry nn.State[float32], rng *rand.Rand) (*nn.Tensor[float32], []int32, nn.State[float32]) {
	if b.Offset == 0 || (carry.H != nil && carry.H.Shape[1] != b.B) {
		carry = nn.State[float32]{}
	}
	out, st := t.enc.ForwardFrom(tp, b, carry, rng)
	return t.out.Forward(tp, out), b.Next, nn.State[float32]{H: st.H.Detach(), C: st.C.Detach()}
}

// checkCondition checks that a batch has what the model is conditioned on.
func (t *Task) checkCondition(b *pipeline.Batch) error {
	if err := t.enc.Check(b); err != nil {
		return err
	}
	switch {
	case t.labels != nil && b.Labels == nil:
		return fmt.Errorf("generate: the model is conditioned on a label, and the data has no label column")
	case t.vector > 0 && b.Vector == nil:
		return fmt.Errorf("generate: the model is conditioned on a vector, and the data has no vector column")
	case t.vector > 0 && b.VectorDim != t.vector:
		return fmt.Errorf("generate: the model is conditioned on vectors of %d numbers, the data has %d", t.vector, b.VectorDim)
	}
	return nil
}

// TrainStep implements tasks.Task.
func (t *Task) TrainStep(b *pipeline.Batch, lr float64) (tasks.Step, error) {
	if t.ens != nil {
		return tasks.Step{}, errEnsemble
	}
	if err := t.checkCondition(b); err != nil {
		return tasks.Step{}, err
	}
	tp := new(nn.Tape)
	if b.Next != nil {
		lg, targets, carry := t.window(tp, b, t.carry, t.core.RNG)
		t.carry = carry
		loss := nn.CrossEntropy(tp, lg, targets, -1, nn.CEOptions{})
		norm, err := t.core.Update(tp, loss, lr)
		return tasks.Step{Loss: float64(loss.Data[0]), Tokens: b.Tokens(), GradNorm: norm}, err
	}
	lg, targets := t.logits(tp, b, t.core.RNG)
	loss := nn.CrossEntropy(tp, lg, targets, -1, nn.CEOptions{})
	norm, err := t.core.Update(tp, loss, lr)
	return tasks.Step{Loss: float64(loss.Data[0]), Tokens: b.Tokens() + b.B, GradNorm: norm}, err
}

// seqNLL returns the summed negative log-likelihood of each sequence and the
// number of tokens it counts (<eos> included).
func seqNLL(lg *nn.Tensor[float32], targets []int32, B int) ([]float64, []int) {
	V := lg.Shape[len(lg.Shape)-1]
	nll, n := make([]float64, B), make([]int, B)
	for i, y := range targets {
		if y < 0 {
			continue
		}
		row := lg.Data[i*V : (i+1)*V]
		nll[i%B] += logSumExp(row) - float64(row[y])
		n[i%B]++
	}
	return nll, n
}

func logSumExp(row []float32) float64 {
	mx := float64(slices.Max(row))
	var z float64
	for _, v := range row {
		z += math.Exp(float64(v) - mx)
	}
	return mx + math.Log(z)
}

// Evaluate implements tasks.Task: nll (nats per token, <eos> included, over all
// tokens of the split), perplexity, bpc (bits per token: per character with a
// character tokenizer) and, for a conditional model, nll/LABEL per label. A
// stream is read in order, each window starting from the state the previous one
// ended in.
func (t *Task) Evaluate(batches iter.Seq[*pipeline.Batch]) (tasks.Metrics, error) {
	var sum float64
	var count int
	perLabel := map[string][2]float64{}
	models := t.models()
	carry := make([]nn.State[float32], len(models))
	for b := range batches {
		if err := t.checkCondition(b); err != nil {
			return nil, err
		}
		lgs := make([]*nn.Tensor[float32], len(models))
		var targets []int32
		for i, m := range models {
			if b.Next != nil {
				lgs[i], targets, carry[i] = m.window(nil, b, carry[i], nil)
			} else {
				lgs[i], targets = m.logits(nil, b, nil)
			}
		}
		nll, n := seqNLL(kit.LogMeanProbs(lgs), targets, b.B)
		for j := range b.B {
			sum += nll[j]
			count += n[j]
			if t.labels != nil && b.Labels[j] >= 0 {
				name := t.labels.Token(b.Labels[j])
				s := perLabel[name]
				perLabel[name] = [2]float64{s[0] + nll[j], s[1] + float64(n[j])}
			}
		}
	}
	m := tasks.Metrics{}
	if count == 0 {
		return m, nil
	}
	nll := sum / float64(count)
	m["nll"], m["loss"] = nll, nll
	m["perplexity"] = math.Exp(nll)
	m["bpc"] = nll / math.Ln2
	m["tokens"] = float64(count)
	for name, s := range perLabel {
		m["nll/"+name] = s[0] / s[1]
	}
	return m, nil
}

// Predict implements tasks.Task: it scores each sequence: "nll" (nats per token,
// <eos> included) and "logprob" (the summed log-probability). A conditional
// model also writes "generated": the most likely sequence (greedy) for the row's
// label or vector, the caption of an image embedding.
func (t *Task) Predict(b *pipeline.Batch) (arrow.RecordBatch, error) {
	if err := t.checkCondition(b); err != nil {
		return nil, err
	}
	lgs := make([]*nn.Tensor[float32], len(t.models()))
	var targets []int32
	for i, m := range t.models() {
		lgs[i], targets = m.logits(nil, b, nil)
	}
	nll, n := seqNLL(kit.LogMeanProbs(lgs), targets, b.B)
	mem := memory.DefaultAllocator
	nb, lb := array.NewFloat64Builder(mem), array.NewFloat64Builder(mem)
	defer nb.Release()
	defer lb.Release()
	for j := range b.B {
		nb.Append(nll[j] / float64(max(n[j], 1)))
		lb.Append(-nll[j])
	}
	cols := []arrow.Array{nb.NewArray(), lb.NewArray()}
	fields := []arrow.Field{{Name: "nll", Type: arrow.PrimitiveTypes.Float64}, {Name: "logprob", Type: arrow.PrimitiveTypes.Float64}}
	if t.conditioned() {
		gb := array.NewStringBuilder(mem)
		defer gb.Release()
		for _, g := range t.sample(nil, batchCondition(b), tasks.GenerateOptions{MaxLen: t.opts.MaxLen}) {
			gb.Append(g.Text)
		}
		cols = append(cols, gb.NewArray())
		fields = append(fields, arrow.Field{Name: "generated", Type: arrow.BinaryTypes.String})
	}
	for _, c := range cols {
		defer c.Release()
	}
	return array.NewRecordBatch(arrow.NewSchema(fields, nil), cols, int64(b.B)), nil
}

// Save implements tasks.Task.
func (t *Task) Save(dir string, resumable bool) error {
	if t.ens != nil {
		return errEnsemble
	}
	return t.core.Save(dir, resumable, map[string]string{"task": "generate", "condition": string(t.opts.Condition)})
}

// Load implements tasks.Task.
func (t *Task) Load(dir string, resumable bool) error { return t.core.Load(dir, resumable) }

// Average implements [tasks.Averager].
func (t *Task) Average(on bool) { t.core.Average(on) }

// GenerateDefaults implements tasks.Generator with the recipe's settings.
func (t *Task) GenerateDefaults() tasks.GenerateOptions {
	return tasks.GenerateOptions{Num: t.opts.Samples, MaxLen: t.opts.MaxLen, Temperature: t.opts.Temperature,
		TopK: t.opts.TopK, TopP: t.opts.TopP, Seed: t.recipe.Train.Seed}
}

// maxLogits bounds the logits of one sampling step (a row per sequence), 256 MB.
const maxLogits = 1 << 26

// Generate implements tasks.Generator: it samples o.Num sequences at once, one
// batched step per token, each until <eos> or o.MaxLen tokens; with o.Beam it
// searches for the most likely ones instead.
func (t *Task) Generate(o tasks.GenerateOptions) ([]tasks.Generated, error) {
	if o.MaxLen <= 0 {
		return nil, fmt.Errorf("generate: the maximum length must be positive, got %d", o.MaxLen)
	}
	prefix := t.tok.Tokens(nil, o.Prefix)
	if o.Beam > 0 {
		return t.beams(o, prefix)
	}
	if o.Num <= 0 {
		return nil, nil
	}
	if n := float64(o.Num) * float64(t.vocab.Len()); n > maxLogits {
		return nil, fmt.Errorf("generate: %d sequences at once over a vocabulary of %d would hold %.3g logits a step, more than %d: generate fewer at a time", o.Num, t.vocab.Len(), n, maxLogits)
	}
	c, names, err := t.conditions(o.Condition, o.Num)
	if err != nil {
		return nil, err
	}
	res := t.sample(prefix, c, o)
	for j := range res {
		if names != nil {
			res[j].Condition = names[j]
		}
	}
	return res, nil
}

// sample draws one sequence for each of the c.B conditions after the prefix.
func (t *Task) sample(prefix []string, c condition, o tasks.GenerateOptions) []tasks.Generated {
	B := c.B
	rng := rand.New(rand.NewPCG(o.Seed, 0x6e6e))
	lg, state := t.start(prefix, c)
	res := make([]tasks.Generated, B)
	toks := make([][]string, B)
	done := make([]bool, B)
	V := t.vocab.Len()
	probs := make([]float64, V)
	ids := make([]int32, B)
	for n := 0; n < o.MaxLen; n++ {
		left := false
		for j := range B {
			if done[j] {
				continue
			}
			id, logp := draw(lg.Data[j*V:(j+1)*V], probs, o, rng)
			res[j].LogProb += logp
			res[j].Tokens++
			ids[j] = id
			if id == pipeline.EOSID {
				done[j] = true
				continue
			}
			toks[j] = append(toks[j], t.vocab.Token(id))
			left = true
		}
		if !left || n == o.MaxLen-1 {
			break
		}
		lg, state = t.next(ids, state, c)
	}
	for j := range res {
		res[j].Text = t.join(prefix, toks[j])
	}
	return res
}

// join writes a generated sequence after its prefix as text.
func (t *Task) join(prefix, toks []string) string {
	sep := " "
	tc := t.recipe.Data.Tokenizer.Pipeline()
	if strings.EqualFold(tc.Kind, "char") {
		sep = ""
	}
	return tc.ComposeText(strings.Join(append(slices.Clone(prefix), toks...), sep))
}

// start reads <bos> and the prefix for c.B sequences of condition c in one pass
// and returns the scores of the first generated token [B, V] (logits; an
// ensemble's log of its members' mean probabilities) and each model's state
// after the prefix.
func (t *Task) start(prefix []string, c condition) (*nn.Tensor[float32], states) {
	models := t.models()
	lgs, st := make([]*nn.Tensor[float32], len(models)), make(states, len(models))
	for i, m := range models {
		lgs[i], st[i] = m.startOne(prefix, c)
	}
	return kit.LogMeanProbs(lgs), st
}

// next feeds one token per sequence of condition c and returns the next
// scores [B, V] and states.
func (t *Task) next(ids []int32, st states, c condition) (*nn.Tensor[float32], states) {
	models := t.models()
	lgs, out := make([]*nn.Tensor[float32], len(models)), make(states, len(models))
	for i, m := range models {
		lgs[i], out[i] = m.nextOne(ids, st[i], c)
	}
	return kit.LogMeanProbs(lgs), out
}

// states are the recurrent states of every model of an ensemble (of one
// model alone), in generation.
type states []nn.State[float32]

// Select keeps rows of every state (beam search).
func (s states) Select(rows []int) states {
	out := make(states, len(s))
	for i := range s {
		out[i] = s[i].Select(rows)
	}
	return out
}

// models are the members of an ensemble, or the model alone.
func (t *Task) models() []*Task {
	if t.ens != nil {
		return t.ens
	}
	return []*Task{t}
}

// startOne is start for one model.
func (t *Task) startOne(prefix []string, c condition) (*nn.Tensor[float32], nn.State[float32]) {
	B := c.B
	feed := make([]int32, 0, len(prefix)+1)
	feed = append(feed, t.startID())
	for _, tok := range prefix {
		id, ok := t.vocab.ID(tok)
		if !ok {
			id = pipeline.UnkID
		}
		feed = append(feed, id)
	}
	step := &pipeline.Batch{T: len(feed), B: B, IDs: make([]int32, len(feed)*B), Lengths: slices.Repeat([]int{len(feed)}, B)}
	for i, id := range feed {
		for j := range B {
			step.IDs[i*B+j] = id
		}
	}
	out, state := t.forward(nil, step, c, nn.State[float32]{}, nil)
	H := out.Shape[2]
	return t.out.Forward(nil, &nn.Tensor[float32]{Data: out.Data[(len(feed)-1)*B*H:], Shape: []int{B, H}}), state
}

// startID is the token a generated sequence starts from: <bos>, or for a model
// of a stream (which never saw <bos>) a line break when it is a token, so that
// samples start at the beginning of a line.
func (t *Task) startID() int32 {
	if t.recipe.Train.BPTT > 0 {
		if id, ok := t.vocab.ID("\n"); ok {
			return id
		}
	}
	return pipeline.BOSID
}

// nextOne is next for one model.
func (t *Task) nextOne(ids []int32, state nn.State[float32], c condition) (*nn.Tensor[float32], nn.State[float32]) {
	B := len(ids)
	out, state := t.forward(nil, &pipeline.Batch{T: 1, B: B, IDs: ids, Lengths: slices.Repeat([]int{1}, B)}, c, state, nil)
	return t.out.Forward(nil, &nn.Tensor[float32]{Data: out.Data, Shape: []int{B, out.Shape[2]}}), state
}

// beams returns the o.Beam most likely sequences after the prefix, found by beam
// search of that width: for the asked condition, or for every label in turn when
// the model is conditional and none is asked.
func (t *Task) beams(o tasks.GenerateOptions, prefix []string) ([]tasks.Generated, error) {
	asked := []string{o.Condition}
	if t.labels != nil && o.Condition == "" {
		asked = t.labelNames()
	}
	var res []tasks.Generated
	for _, cond := range asked {
		c, names, err := t.conditions(cond, o.Beam)
		if err != nil {
			return nil, err
		}
		for _, h := range t.beam(prefix, c, o.MaxLen) {
			g := tasks.Generated{Text: t.join(prefix, h.toks), LogProb: h.logp, Tokens: h.n}
			if names != nil {
				g.Condition = names[0]
			}
			res = append(res, g)
		}
	}
	return res, nil
}

type beamHyp struct {
	toks []string
	logp float64
	n    int // tokens scored, <eos> included
}

// beam searches with K rows: at every step the 2K best extensions of the live
// sequences are taken in order; one ending in <eos> is finished, the others fill
// the K live rows. It stops when K sequences have finished or at maxLen (the
// live ones then count as finished), and returns them most likely first.
func (t *Task) beam(prefix []string, c condition, maxLen int) []beamHyp {
	K := c.B
	lg, state := t.start(prefix, c)
	V := t.vocab.Len()
	alive := []beamHyp{{}}
	var finished []beamHyp
	type cand struct {
		k    int
		id   int32
		logp float64
	}
	var cands []cand
	for step := 0; len(alive) > 0 && len(finished) < K; step++ {
		cands = cands[:0]
		for k, h := range alive {
			row := lg.Data[k*V : (k+1)*V]
			lse := logSumExp(row)
			for id := range V {
				if !drawable(id) {
					continue
				}
				cands = append(cands, cand{k, int32(id), h.logp + float64(row[id]) - lse})
			}
		}
		slices.SortFunc(cands, func(a, b cand) int {
			if a.logp != b.logp {
				if a.logp > b.logp {
					return -1
				}
				return 1
			}
			if a.k != b.k {
				return a.k - b.k
			}
			return int(a.id - b.id)
		})
		var keep []beamHyp
		parents := make([]int, K)
		ids := make([]int32, K)
		for _, c := range cands[:min(len(cands), 2*K)] {
			if len(keep) == K {
				break
			}
			h := alive[c.k]
			if c.id == pipeline.EOSID {
				if len(finished) < K {
					finished = append(finished, beamHyp{toks: h.toks, logp: c.logp, n: h.n + 1})
				}
				continue
			}
			parents[len(keep)], ids[len(keep)] = c.k, c.id
			keep = append(keep, beamHyp{
				toks: append(slices.Clone(h.toks), t.vocab.Token(c.id)),
				logp: c.logp, n: h.n + 1,
			})
		}
		alive = keep
		if step+1 >= maxLen {
			finished = append(finished, alive[:min(len(alive), K-min(len(finished), K))]...)
			break
		}
		if len(alive) == 0 || len(finished) >= K {
			break
		}
		state = state.Select(parents)
		lg, state = t.next(ids, state, c)
	}
	slices.SortStableFunc(finished, func(a, b beamHyp) int {
		switch {
		case a.logp > b.logp:
			return -1
		case a.logp < b.logp:
			return 1
		}
		return 0
	})
	return finished[:min(len(finished), K)]
}

// conditions returns the condition of n sequences and its name for each: the
// label asked for, or the training labels in turn; the vector asked for.
func (t *Task) conditions(cond string, n int) (condition, []string, error) {
	c := condition{B: n}
	switch {
	case t.labels != nil:
		c.labels = make([]int32, n)
		names := t.labelNames()
		if cond != "" {
			if _, ok := t.labels.ID(cond); !ok {
				return c, nil, fmt.Errorf("generate: unknown condition %s; the model knows %s", quote.Q(cond), strings.Join(names, ", "))
			}
			names = []string{cond}
		}
		out := make([]string, n)
		for j := range n {
			out[j] = names[j%len(names)]
			c.labels[j], _ = t.labels.ID(out[j])
		}
		return c, out, nil
	case t.vector > 0:
		v, err := parseVector(cond, t.vector)
		if err != nil {
			return c, nil, err
		}
		c.vector = slices.Repeat(v, n)
		return c, slices.Repeat([]string{cond}, n), nil
	case cond != "":
		return c, nil, fmt.Errorf("generate: this model is not conditioned (condition: none), so --condition %s does not apply", quote.Q(cond))
	}
	return c, nil, nil
}

// parseVector reads a condition vector of n numbers, separated by spaces or
// commas.
func parseVector(s string, n int) ([]float32, error) {
	if s == "" {
		return nil, fmt.Errorf("generate: %w: this model is conditioned on a vector of %d numbers; give them (--condition \"x1 x2 …\")", tasks.ErrConditionNeeded, n)
	}
	fields := strings.FieldsFunc(s, func(r rune) bool { return r == ',' || unicode.IsSpace(r) })
	if len(fields) != n {
		return nil, fmt.Errorf("generate: the condition has %d numbers; this model reads vectors of %d", len(fields), n)
	}
	v, err := pipeline.ParseVector(fields)
	if err != nil {
		return nil, fmt.Errorf("generate: condition: %w", err)
	}
	return v, nil
}

// labelNames lists the labels, special symbols left out.
func (t *Task) labelNames() []string {
	names := t.labels.Tokens()
	if t.labels.HasSpecials() {
		names = names[len(pipeline.Specials):]
	}
	return names
}

// draw draws the next token from logits row: never <pad>, <unk> or <bos>; at
// temperature 0 the most likely token. It returns the token and its
// log-probability under the model (temperature 1, no truncation).
func draw(row []float32, probs []float64, o tasks.GenerateOptions, rng *rand.Rand) (int32, float64) {
	lse := logSumExp(row)
	if o.Temperature == 0 {
		best := -1
		for id, v := range row {
			if drawable(id) && (best < 0 || v > row[best]) {
				best = id
			}
		}
		return int32(best), float64(row[best]) - lse
	}
	mx := math.Inf(-1)
	for id, v := range row {
		if drawable(id) {
			mx = max(mx, float64(v))
		}
	}
	order := make([]int, 0, len(row))
	for id, v := range row {
		probs[id] = 0
		if drawable(id) {
			probs[id] = math.Exp((float64(v) - mx) / o.Temperature)
			order = append(order, id)
		}
	}
	if o.TopK > 0 || (o.TopP > 0 && o.TopP < 1) {
		slices.SortFunc(order, func(a, b int) int {
			if probs[a] != probs[b] {
				if probs[a] > probs[b] {
					return -1
				}
				return 1
			}
			return a - b
		})
		if o.TopK > 0 && o.TopK < len(order) {
			order = order[:o.TopK]
		}
		if o.TopP > 0 && o.TopP < 1 {
			var total float64
			for _, id := range order {
				total += probs[id]
			}
			var acc float64
			for k, id := range order {
				acc += probs[id]
				if acc >= o.TopP*total {
					order = order[:k+1]
					break
				}
			}
		}
	}
	var total float64
	for _, id := range order {
		total += probs[id]
	}
	u := rng.Float64() * total
	pick := order[len(order)-1]
	for _, id := range order {
		if u < probs[id] {
			pick = id
			break
		}
		u -= probs[id]
	}
	return int32(pick), float64(row[pick]) - lse
}

// drawable says whether a generator may emit the token: never <pad>, <unk> or
// <bos>.
func drawable(id int) bool {
	return int32(id) != pipeline.PadID && int32(id) != pipeline.UnkID && int32(id) != pipeline.BOSID
}
