package tagging

import (
	"fmt"
	"iter"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/seqkit/seqkit/nn"
	"github.com/seqkit/seqkit/pipeline"
	"github.com/seqkit/seqkit/recipes"
	"github.com/seqkit/seqkit/tasks"
	"github.com/seqkit/seqkit/tasks/kit"
)

// Options is the tagging task's recipe section.
type Options struct {
	Head Head `yaml:"head" doc:"output layer: a softmax per token, or a linear-chain CRF" enum:"softmax,crf"`
	// Scheme is how the data marks chunks; TrainScheme is the scheme the model
	// learns and predicts in (converted both ways), empty for the data's.
	Scheme      Scheme `yaml:"scheme" doc:"tag scheme of the data" enum:"iob1,bio,bioes"`
	TrainScheme Scheme `yaml:"train_scheme,omitempty" doc:"tag scheme the model learns in (default: the data's)" enum:"iob1,bio,bioes"`
	// Constrain forbids transitions the scheme does not allow when a CRF decodes.
	Constrain bool `yaml:"constrain" doc:"CRF decoding obeys the tag scheme (no I-x after O)" decode:"true"`
	// NBest writes the n best tag sequences with their scores when predicting (CRF).
	NBest          int     `yaml:"nbest,omitempty" doc:"predict the n best tag sequences (crf)" decode:"true" min:"0" max:"100"`
	LabelSmoothing float64 `yaml:"label_smoothing,omitempty" doc:"label smoothing of the softmax tag loss" min:"0" max:"0.5"`
	// Joint adds a sentence-label head (the intent in ATIS) on the same encoder.
	Joint *Joint `yaml:"joint,omitempty" doc:"also predict a sentence label from the same encoder"`
}

// SizeOf implements recipes.Sizer: the tag layer and the CRF's transitions;
// the joint head's n-gram table is counted at a weight per tag, as the
// labels are not known yet.
func (o *Options) SizeOf(r *recipes.Recipe, out float64, s *recipes.Size) {
	s.Head(r, out)
	s.Add("model.hidden", out*out) // CRF transitions
	if o.Joint != nil && o.Joint.NGrams > 0 {
		s.Add("task.joint.ngram_buckets", float64(o.Joint.NGramBuckets)*out)
	}
}

// Joint is the sentence-label head of a joint tagger.
type Joint struct {
	Pooling string  `yaml:"pooling" doc:"how the encoder outputs become one vector" enum:"last,mean,max,attention"`
	Weight  float64 `yaml:"weight" doc:"weight of the label loss beside the tag loss" min:"0"`
	// NGrams adds a linear layer over hashed 1..n-grams to the label logits, as
	// the classify task's option of the same name.
	NGrams       int     `yaml:"ngrams,omitempty" doc:"add a linear layer over hashed 1..n-grams of the tokens to the label logits (0: off)" min:"0" max:"5"`
	NGramBuckets int     `yaml:"ngram_buckets,omitempty" doc:"hash buckets of the n-gram features" min:"1024" max:"16777216"`
	NGramDropout float64 `yaml:"ngram_dropout,omitempty" doc:"probability of leaving an n-gram out of its bag in training" min:"0" max:"0.9"`
}

// Defaults implements recipes.Defaulter: "joint: {}" is max pooling, weight 1.
func (j *Joint) Defaults() { *j = Joint{Pooling: "max", Weight: 1, NGramBuckets: 1 << 18} }

// Type registers the tagging task: task: {type: tagging}.
func Type() tasks.Type {
	return tasks.Type{
		Name:    "tagging",
		Options: func() any { return &Options{Head: CRF, Scheme: BIO, Constrain: true} },
		Check:   check,
		New:     func() tasks.Task { return &Task{} },
	}
}

// check reports data and options that a tagger cannot use.
func check(r *recipes.Recipe) []recipes.KeyError {
	o := r.Task.Options.(*Options)
	var errs []recipes.KeyError
	if r.Train.BPTT > 0 {
		errs = append(errs, recipes.KeyError{Key: "train.bptt", Msg: "the tagging task trains on whole sentences; bptt applies to streamed text"})
	}
	if o.Head != CRF && o.NBest > 1 {
		errs = append(errs, recipes.KeyError{Key: "task.nbest", Msg: "n-best decoding needs head: crf"})
	}
	if o.Head != Softmax && o.LabelSmoothing > 0 {
		errs = append(errs, recipes.KeyError{Key: "task.label_smoothing", Msg: "label smoothing applies to head: softmax"})
	}
	splits := r.Data.Splits()
	for _, name := range []string{"train", "dev", "test"} {
		src, ok := splits[name]
		if !ok {
			continue
		}
		hasLabel := src.Columns.Label != "" || src.Files.Label != ""
		switch {
		case o.Joint != nil && !hasLabel:
			errs = append(errs, recipes.KeyError{Key: "data." + name, Msg: "task.joint predicts a sentence label: give a label column (columns.label or files.label)"})
		case o.Joint == nil && hasLabel:
			key := "data." + name + ".columns.label"
			if src.Files.Label != "" {
				key = "data." + name + ".files.label"
			}
			errs = append(errs, recipes.KeyError{Key: key, Msg: "the tagging task uses a sentence label only with task.joint"})
		}
		if src.Format == pipeline.CoNLL || (src.Format == "" && strings.HasSuffix(src.Path, ".conll")) {
			continue // CoNLL files default to the first column as tokens and the last as tags
		}
		if src.Columns.Tags == "" && src.Files.Tags == "" {
			errs = append(errs, recipes.KeyError{Key: "data." + name + ".columns.tags", Msg: "the tagging task needs a tags column (or files.tags)"})
		}
		if src.Columns.Target != "" || src.Files.Target != "" {
			errs = append(errs, recipes.KeyError{Key: "data." + name + ".columns.target", Msg: "the tagging task does not use a target sequence; seq2seq does"})
		}
	}
	return errs
}

// Task is a tagger: the shared encoder, a linear layer per token, and a softmax
// or a CRF over the tags; optionally a pooled sentence-label head beside it.
type Task struct {
	opts *Options
	// data is the tag vocabulary of the data; model holds the tags the model
	// predicts (the same unless TrainScheme converts), toModel maps between them.
	data    *pipeline.Vocab
	model   []string
	modelID map[string]int32
	convert bool
	allowed nn.Allowed

	labels *pipeline.Vocab
	enc    *kit.Encoder
	head   *nn.Linear[float32]
	crf    *nn.CRF[float32]
	pool   *kit.Pooler
	clf    *nn.Linear[float32]
	ngrams *kit.NGramLayer // of the label head; nil unless joint.ngrams
	core   *kit.Core
	// ens are the members of an ensemble (Ensemble), the receiver first; nil
	// for one model. An ensemble's crf holds the members' mean transitions.
	ens []*Task
}

// Ensemble implements [tasks.Ensembler]. Under a CRF head the members'
// emissions and transition scores are averaged: the result is a CRF whose
// distribution over tag sequences is the members' geometric mean,
// renormalised (a product of experts), decoded by Viterbi as one model is.
// Under a softmax head, and for the joint label head, the members' per-token
// (per-sentence) probabilities are averaged.
func (t *Task) Ensemble(others []tasks.Task) (tasks.Task, error) {
	ens, err := tasks.Gather(t, others, func(m *Task) error {
		switch {
		case (m.crf == nil) != (t.crf == nil):
			return fmt.Errorf("the members' heads differ (task.head)")
		case !slices.Equal(m.model, t.model):
			return fmt.Errorf("the members predict different tags (task.scheme or task.train_scheme differ)")
		case (m.clf == nil) != (t.clf == nil):
			return fmt.Errorf("some members have a joint label head and some do not (task.joint)")
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	e := *t
	e.ens = ens
	if t.crf != nil {
		var trans, start, end []*nn.Tensor[float32]
		for _, m := range e.ens {
			trans, start, end = append(trans, m.crf.Trans), append(start, m.crf.Start), append(end, m.crf.End)
		}
		e.crf = &nn.CRF[float32]{Trans: kit.Mean(trans), Start: kit.Mean(start), End: kit.Mean(end), C: t.crf.C}
	}
	return &e, nil
}

// scores returns the tag emissions and joint label logits for evaluation and
// prediction: the model's, or the ensemble's combined ones.
func (t *Task) scores(b *pipeline.Batch) (em, lg *nn.Tensor[float32]) {
	if t.ens == nil {
		return t.forward(nil, b, false)
	}
	ems, lgs := make([]*nn.Tensor[float32], len(t.ens)), make([]*nn.Tensor[float32], len(t.ens))
	for i, m := range t.ens {
		ems[i], lgs[i] = m.forward(nil, b, false)
	}
	if t.crf != nil {
		em = kit.Mean(ems)
	} else {
		em = kit.LogMeanProbs(ems)
	}
	if t.clf != nil {
		lg = kit.LogMeanProbs(lgs)
	}
	return em, lg
}

// errEnsemble is the error of training or saving an ensemble.
var errEnsemble = fmt.Errorf("tagging: an ensemble evaluates and predicts; it does not train or save")

// Freeze implements tasks.Freezer.
func (t *Task) Freeze(on bool) { t.enc.Freeze(on) }

// Average implements [tasks.Averager].
func (t *Task) Average(on bool) { t.core.Average(on) }

// Info implements tasks.Task.
// InputEmbedding implements tasks.Embedder: the encoder's token embedding,
// which model.embedding_init fills.
func (t *Task) InputEmbedding() *nn.Embedding[float32] { return t.enc.Emb }

func (t *Task) Info() tasks.Info {
	return tasks.Info{Name: "tagging", Version: "2", Metric: "f1", HigherIsBetter: true}
}

// modelTags lists the tags of scheme for the chunk types of the data's tags.
func modelTags(data []string, scheme Scheme) []string {
	out := []string{"O"}
	seen := map[string]bool{"O": true}
	add := func(t string) {
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	for _, tag := range data {
		p, typ := splitTag(tag)
		if p == "O" {
			continue
		}
		switch scheme {
		case BIOES:
			for _, q := range []string{"B", "I", "E", "S"} {
				add(q + "-" + typ)
			}
		default:
			for _, q := range []string{"B", "I"} {
				add(q + "-" + typ)
			}
		}
	}
	return out
}

// Init implements tasks.Task.
func (t *Task) Init(s tasks.Setup) error {
	opts, ok := s.Recipe.Task.Options.(*Options)
	if !ok {
		return fmt.Errorf("tagging: options of type %T", s.Recipe.Task.Options)
	}
	if s.Vocabs.Input == nil || s.Vocabs.Tags == nil {
		return fmt.Errorf("tagging: the data has no tokens or no tags")
	}
	t.opts, t.data = opts, s.Vocabs.Tags
	scheme := opts.Scheme
	t.model = s.Vocabs.Tags.Tokens()
	if err := checkTags(opts.Scheme, t.model); err != nil {
		return err
	}
	if opts.TrainScheme != "" && opts.TrainScheme != opts.Scheme {
		scheme, t.convert = opts.TrainScheme, true
		t.model = modelTags(t.model, scheme)
	}
	t.modelID = make(map[string]int32, len(t.model))
	for i, tag := range t.model {
		t.modelID[tag] = int32(i)
	}
	rng := kit.InitRNG(s.Recipe)
	enc, err := kit.NewEncoder(s.Recipe, s.Vocabs, rng)
	if err != nil {
		return err
	}
	t.enc = enc
	C := len(t.model)
	t.head = nn.NewLinear[float32]("tagger", enc.OutputSize(), C, rng)
	params := append(enc.Params(), t.head.Params()...)
	if opts.Head == CRF {
		t.crf = nn.NewCRF[float32]("crf", C, rng)
		params = append(params, t.crf.Params()...)
		if opts.Constrain {
			t.allowed = constraints(scheme, t.model)
		}
	}
	if opts.Joint != nil {
		if s.Vocabs.Labels == nil {
			return fmt.Errorf("tagging: joint needs sentence labels in the data")
		}
		t.labels = s.Vocabs.Labels
		D := enc.OutputSize()
		if t.pool, err = kit.NewPooler("label_attention", opts.Joint.Pooling, D, s.Recipe.Model.Bidirectional, rng); err != nil {
			return err
		}
		params = append(params, t.pool.Params()...)
		t.clf = nn.NewLinear[float32]("label", D, t.labels.Len(), rng)
		params = append(params, t.clf.Params()...)
		if j := opts.Joint; j.NGrams > 0 {
			t.ngrams = kit.NewNGramLayer("label_ngrams", j.NGrams, j.NGramBuckets, j.NGramDropout, t.labels.Len())
			params = append(params, t.ngrams.Params()...)
		}
	}
	t.core, err = kit.NewCore(s.Recipe, params)
	return err
}

// forward returns the tag emissions [T, B, C] and, with a joint head, the label
// logits [B, L].
func (t *Task) forward(tp *nn.Tape, b *pipeline.Batch, train bool) (*nn.Tensor[float32], *nn.Tensor[float32]) {
	rng := t.core.RNG
	if !train {
		rng = nil
	}
	out, _ := t.enc.Forward(tp, b, rng)
	em := t.head.Forward(tp, out)
	if t.clf == nil {
		return em, nil
	}
	lg := t.clf.Forward(tp, t.pool.Forward(tp, out, b.Lengths))
	if t.ngrams != nil {
		lg = nn.Add(tp, lg, t.ngrams.Forward(tp, b, rng))
	}
	return em, lg
}

// modelTargets maps a batch's tags (data vocabulary ids) to the model's tag ids.
func (t *Task) modelTargets(b *pipeline.Batch) []int32 {
	if !t.convert {
		return b.Tags
	}
	out := make([]int32, len(b.Tags))
	for i := range out {
		out[i] = -1
	}
	for j := range b.B {
		seq := make([]string, b.Lengths[j])
		known := true
		for i := range seq {
			id := b.Tags[i*b.B+j]
			if id < 0 {
				known = false
				break
			}
			seq[i] = t.data.Token(id)
		}
		if !known {
			continue // a tag unknown to training: leave the sequence out of the loss
		}
		conv, _ := Convert(seq, t.opts.TrainScheme)
		for i, tag := range conv {
			if id, ok := t.modelID[tag]; ok {
				out[i*b.B+j] = id
			}
		}
	}
	return out
}

func (t *Task) tagLoss(tp *nn.Tape, em *nn.Tensor[float32], targets []int32, b *pipeline.Batch) *nn.Tensor[float32] {
	if t.crf != nil {
		return t.crf.NLL(tp, em, targets, b.Lengths)
	}
	return nn.CrossEntropy(tp, em, targets, -1, nn.CEOptions{LabelSmoothing: t.opts.LabelSmoothing})
}

// TrainStep implements tasks.Task.
func (t *Task) TrainStep(b *pipeline.Batch, lr float64) (tasks.Step, error) {
	if t.ens != nil {
		return tasks.Step{}, errEnsemble
	}
	if b.Tags == nil {
		return tasks.Step{}, fmt.Errorf("tagging: batch has no tags")
	}
	if err := t.enc.Check(b); err != nil {
		return tasks.Step{}, err
	}
	tp := new(nn.Tape)
	em, lg := t.forward(tp, b, true)
	loss := t.tagLoss(tp, em, t.modelTargets(b), b)
	if lg != nil {
		loss = addScaled(tp, loss, nn.CrossEntropy(tp, lg, b.Labels, -1, nn.CEOptions{}), t.opts.Joint.Weight)
	}
	norm, err := t.core.Update(tp, loss, lr)
	return tasks.Step{Loss: float64(loss.Data[0]), Tokens: b.Tokens(), GradNorm: norm}, err
}

// addScaled is a + w·c for scalars.
func addScaled(tp *nn.Tape, a, c *nn.Tensor[float32], w float64) *nn.Tensor[float32] {
	out := nn.NewTensor[float32](1)
	out.Data[0] = a.Data[0] + float32(w)*c.Data[0]
	tp.Record(func() {
		if out.Grad == nil {
			return
		}
		a.EnsureGrad()[0] += out.Grad[0]
		c.EnsureGrad()[0] += float32(w) * out.Grad[0]
	})
	return out
}

// decode returns the n best model tag sequences of each sequence.
func (t *Task) decode(em *nn.Tensor[float32], lengths []int, n int) [][]nn.Path {
	if t.crf != nil {
		return t.crf.Decode(em, lengths, t.allowed, n)
	}
	B, C := em.Shape[1], em.Shape[2]
	out := make([][]nn.Path, B)
	for j := range B {
		p := nn.Path{Tags: make([]int32, lengths[j])}
		for i := range lengths[j] {
			row := em.Data[(i*B+j)*C : (i*B+j+1)*C]
			best := 0
			for c, v := range row {
				if v > row[best] {
					best = c
				}
			}
			p.Tags[i] = int32(best)
			p.Score += float64(row[best])
		}
		out[j] = []nn.Path{p}
	}
	return out
}

// dataTags turns model tag ids into tags of the data's scheme.
func (t *Task) dataTags(ids []int32) []string {
	tags := make([]string, len(ids))
	for i, id := range ids {
		tags[i] = t.model[id]
	}
	if t.convert {
		tags, _ = Convert(tags, t.opts.Scheme)
	}
	return tags
}

func argmax(row []float32) int32 {
	best := 0
	for c, v := range row {
		if v > row[best] {
			best = c
		}
	}
	return int32(best)
}

// Evaluate implements tasks.Task: loss, span precision/recall/F1 (conlleval's
// chunks, overall and per type as f1/TYPE), token accuracy, sentence accuracy
// (every tag right, and the label too with a joint head) and label accuracy.
func (t *Task) Evaluate(batches iter.Seq[*pipeline.Batch]) (tasks.Metrics, error) {
	var lossSum float64
	var lossN, correct, total, sentOK, sents, labelOK int
	var spans SpanCounts
	perType := map[string]*SpanCounts{}
	for b := range batches {
		if err := t.enc.Check(b); err != nil {
			return nil, err
		}
		if b.Tags == nil {
			return nil, fmt.Errorf("tagging: evaluation data has no tags")
		}
		em, lg := t.scores(b)
		loss := float64(t.tagLoss(nil, em, t.modelTargets(b), b).Data[0])
		if lg != nil {
			loss += t.opts.Joint.Weight * float64(nn.CrossEntropy(nil, lg, b.Labels, -1, nn.CEOptions{}).Data[0])
		}
		lossSum += loss * float64(b.B)
		lossN += b.B
		paths := t.decode(em, b.Lengths, 1)
		for j := range b.B {
			guess := t.dataTags(paths[j][0].Tags)
			gold := make([]string, b.Lengths[j])
			ok := true
			for i := range gold {
				g := b.Tags[i*b.B+j]
				gold[i] = "?" // a tag unknown to training never matches
				if g >= 0 {
					gold[i] = t.data.Token(g)
				}
				total++
				if gold[i] == guess[i] {
					correct++
				} else {
					ok = false
				}
			}
			spans.Add(gold, guess)
			addByType(perType, gold, guess)
			if lg != nil {
				L := t.labels.Len()
				right := argmax(lg.Data[j*L:(j+1)*L]) == b.Labels[j]
				if right {
					labelOK++
				}
				ok = ok && right
			}
			sents++
			if ok {
				sentOK++
			}
		}
	}
	p, r, f := spans.PRF()
	m := tasks.Metrics{"precision": p, "recall": r, "f1": f}
	for typ, c := range perType {
		_, _, ft := c.PRF()
		m["f1/"+typ] = ft
	}
	if lossN > 0 {
		m["loss"] = lossSum / float64(lossN)
	}
	if total > 0 {
		m["token_accuracy"] = 100 * float64(correct) / float64(total)
	}
	if sents > 0 {
		m["sentence_accuracy"] = 100 * float64(sentOK) / float64(sents)
		if t.clf != nil {
			m["label_accuracy"] = 100 * float64(labelOK) / float64(sents)
		}
	}
	return m, nil
}

// Predict implements tasks.Task: a "tags" column (the list of tags of each
// sequence), with a joint head a "label" column, and with nbest > 1 an "nbest"
// column of the n best tag sequences (space-joined) and "nbest_scores".
func (t *Task) Predict(b *pipeline.Batch) (arrow.RecordBatch, error) {
	if err := t.enc.Check(b); err != nil {
		return nil, err
	}
	em, lg := t.scores(b)
	defer nn.Recycle(em, lg) // the scores are read into paths and labels below
	n := max(t.opts.NBest, 1)
	paths := t.decode(em, b.Lengths, n)
	mem := memory.DefaultAllocator
	strList := arrow.ListOf(arrow.BinaryTypes.String)
	fields := []arrow.Field{{Name: "tags", Type: strList}}
	tb := array.NewListBuilder(mem, arrow.BinaryTypes.String)
	defer tb.Release()
	for j := range b.B {
		tb.Append(true)
		tb.ValueBuilder().(*array.StringBuilder).AppendValues(t.dataTags(paths[j][0].Tags), nil)
	}
	cols := []arrow.Array{tb.NewArray()}
	if lg != nil {
		lb := array.NewStringBuilder(mem)
		defer lb.Release()
		L := t.labels.Len()
		for j := range b.B {
			lb.Append(t.labels.Token(argmax(lg.Data[j*L : (j+1)*L])))
		}
		fields = append(fields, arrow.Field{Name: "label", Type: arrow.BinaryTypes.String})
		cols = append(cols, lb.NewArray())
	}
	if n > 1 {
		nb := array.NewListBuilder(mem, arrow.BinaryTypes.String)
		sb := array.NewListBuilder(mem, arrow.PrimitiveTypes.Float64)
		defer nb.Release()
		defer sb.Release()
		for j := range b.B {
			nb.Append(true)
			sb.Append(true)
			for _, p := range paths[j] {
				nb.ValueBuilder().(*array.StringBuilder).Append(strings.Join(t.dataTags(p.Tags), " "))
				sb.ValueBuilder().(*array.Float64Builder).Append(p.Score)
			}
		}
		fields = append(fields, arrow.Field{Name: "nbest", Type: strList}, arrow.Field{Name: "nbest_scores", Type: arrow.ListOf(arrow.PrimitiveTypes.Float64)})
		cols = append(cols, nb.NewArray(), sb.NewArray())
	}
	rec := array.NewRecordBatch(arrow.NewSchema(fields, nil), cols, int64(b.B))
	for _, c := range cols {
		c.Release()
	}
	return rec, nil
}

// Save implements tasks.Task.
func (t *Task) Save(dir string, resumable bool) error {
	if t.ens != nil {
		return errEnsemble
	}
	return t.core.Save(dir, resumable, map[string]string{"task": "tagging", "head": string(t.opts.Head)})
}

// Load implements tasks.Task.
func (t *Task) Load(dir string, resumable bool) error { return t.core.Load(dir, resumable) }
