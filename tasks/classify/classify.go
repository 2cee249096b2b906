package classify

import (
	"fmt"
	"iter"
	"math"
	"path/filepath"
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

// Options is the classify task's recipe section.
type Options struct {
	Pooling string `yaml:"pooling" doc:"how the encoder outputs become one vector per sequence" enum:"last,mean,max,attention"`
	// MultiLabel reads each label as a set joined by Separator and predicts every
	// class whose probability reaches Threshold (sigmoid outputs).
	MultiLabel bool    `yaml:"multi_label" doc:"several labels per example (sigmoid outputs)"`
	Separator  string  `yaml:"separator,omitempty" doc:"joins the labels of one example (multi_label)"`
	Threshold  float64 `yaml:"threshold,omitempty" doc:"probability from which a class is predicted (multi_label)" decode:"true" min:"0" max:"1"`
	// ClassWeights "balanced" weighs each class's loss by n / (classes · count),
	// as scikit-learn's class_weight="balanced", for imbalanced data.
	ClassWeights ClassWeights `yaml:"class_weights" doc:"loss weights per class" enum:"none,balanced"`
	// Baselines also reports a majority-class and a character-bigram naive Bayes
	// baseline, fitted on the training data during the first epoch.
	Baselines bool `yaml:"baselines,omitempty" doc:"also report majority-class and bigram naive-Bayes baselines"`
	// NGrams adds a linear model over the hashed 1- to n-grams of each sequence to
	// the logits: the "wide" half of a wide-and-deep classifier. Bags of n-grams are
	// strong on short-text sentiment (Wang and Manning 2012), and the recurrent
	// encoder learns what they miss.
	NGrams       int `yaml:"ngrams,omitempty" doc:"add a linear layer over hashed 1..n-grams of the tokens to the logits (0: off)" min:"0" max:"5"`
	NGramBuckets int `yaml:"ngram_buckets,omitempty" doc:"hash buckets of the n-gram features" min:"1024" max:"16777216"`
	// NGramDropout leaves each n-gram out of its bag with this probability in
	// training, so the linear part cannot simply memorise the training sentences.
	NGramDropout float64 `yaml:"ngram_dropout,omitempty" doc:"probability of leaving an n-gram out of its bag in training" min:"0" max:"0.9"`
}

// ClassWeights names task.class_weights.
type ClassWeights string

// The class weightings.
const (
	Unweighted ClassWeights = "none"
	Balanced   ClassWeights = "balanced"
)

// SizeOf implements recipes.Sizer: the output layer and the n-gram table,
// ngram_buckets rows of a weight per class.
func (o *Options) SizeOf(r *recipes.Recipe, out float64, s *recipes.Size) {
	s.Head(r, out)
	if o.NGrams > 0 {
		s.Add("task.ngram_buckets", float64(o.NGramBuckets)*out)
	}
}

// Type registers the classify task: task: {type: classify}.
func Type() tasks.Type {
	return tasks.Type{
		Name: "classify",
		Options: func() any {
			return &Options{Pooling: "max", ClassWeights: Unweighted, Threshold: 0.5, Separator: "#", NGramBuckets: 1 << 18}
		},
		Check: check,
		New:   func() tasks.Task { return &Task{} },
	}
}

func check(r *recipes.Recipe) []recipes.KeyError {
	o := r.Task.Options.(*Options)
	var errs []recipes.KeyError
	if r.Train.BPTT > 0 {
		errs = append(errs, recipes.KeyError{Key: "train.bptt", Msg: "the classify task reads whole sequences; bptt applies to streamed text"})
	}
	if o.MultiLabel && o.ClassWeights != Unweighted {
		errs = append(errs, recipes.KeyError{Key: "task.class_weights", Msg: "class weights apply to single-label classification"})
	}
	splits := r.Data.Splits()
	for _, name := range []string{"train", "dev", "test"} {
		src, ok := splits[name]
		if !ok {
			continue
		}
		if src.Columns.Label == "" && src.Files.Label == "" {
			errs = append(errs, recipes.KeyError{Key: "data." + name + ".columns.label", Msg: "the classify task needs a label column (or files.label)"})
		}
		if src.Columns.Tags != "" || src.Files.Tags != "" {
			errs = append(errs, recipes.KeyError{Key: "data." + name + ".columns.tags", Msg: "the classify task does not use tags; the tagging task with joint does both"})
		}
		if src.Columns.Target != "" || src.Files.Target != "" {
			errs = append(errs, recipes.KeyError{Key: "data." + name + ".columns.target", Msg: "the classify task does not use a target sequence"})
		}
	}
	return errs
}

// Task classifies a sequence: the shared encoder, pooling over time, a linear
// layer, and softmax cross-entropy (or per-class sigmoids for multi-label).
type Task struct {
	opts    *Options
	labels  *pipeline.Vocab
	classes []string // output classes: the labels, or for multi-label the split label set
	// members[l] lists the classes of label id l (multi-label).
	members [][]int
	weights []float64
	enc     *kit.Encoder
	pool    *kit.Pooler
	out     *nn.Linear[float32]
	ngrams  *kit.NGramLayer // nil unless opts.NGrams > 0
	core    *kit.Core
	base    *baseline
	// confusion of the last evaluation, [gold][pred] (single-label).
	confusion [][]int
	// ens are the members of an ensemble (Ensemble), the receiver first; nil
	// for one model.
	ens []*Task
}

// Ensemble implements [tasks.Ensembler]: the members' class probabilities are
// averaged (softmax, or each class's sigmoid for multi-label), and the
// prediction, score and loss are those of the average.
func (t *Task) Ensemble(others []tasks.Task) (tasks.Task, error) {
	ens, err := tasks.Gather(t, others, func(m *Task) error {
		if m.opts.MultiLabel != t.opts.MultiLabel || !slices.Equal(m.classes, t.classes) {
			return fmt.Errorf("the members predict different classes (multi_label or labels differ)")
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

// scores returns the logits of a batch for evaluation and prediction: the
// model's, or the ensemble's combined ones.
func (t *Task) scores(b *pipeline.Batch) *nn.Tensor[float32] {
	if t.ens == nil {
		return t.logits(nil, b, false)
	}
	lgs := make([]*nn.Tensor[float32], len(t.ens))
	for i, m := range t.ens {
		lgs[i] = m.logits(nil, b, false)
	}
	if t.opts.MultiLabel {
		return kit.LogitMeanSigmoid(lgs)
	}
	return kit.LogMeanProbs(lgs)
}

// errEnsemble is the error of training or saving an ensemble.
var errEnsemble = fmt.Errorf("classify: an ensemble evaluates and predicts; it does not train or save")

// Freeze implements tasks.Freezer.
func (t *Task) Freeze(on bool) { t.enc.Freeze(on) }

// Average implements [tasks.Averager].
func (t *Task) Average(on bool) { t.core.Average(on) }

// Info implements tasks.Task.
// InputEmbedding implements tasks.Embedder: the encoder's token embedding,
// which model.embedding_init fills.
func (t *Task) InputEmbedding() *nn.Embedding[float32] { return t.enc.Emb }

func (t *Task) Info() tasks.Info {
	return tasks.Info{Name: "classify", Version: "1", Metric: "accuracy", HigherIsBetter: true}
}

// Init implements tasks.Task.
func (t *Task) Init(s tasks.Setup) error {
	opts, ok := s.Recipe.Task.Options.(*Options)
	if !ok {
		return fmt.Errorf("classify: options of type %T", s.Recipe.Task.Options)
	}
	if s.Vocabs.Input == nil || s.Vocabs.Labels == nil {
		return fmt.Errorf("classify: the data has no text or no labels")
	}
	t.opts, t.labels = opts, s.Vocabs.Labels
	t.classes = t.labels.Tokens()
	if opts.MultiLabel {
		t.classes, t.members = splitLabels(t.labels.Tokens(), opts.Separator)
	}
	if opts.ClassWeights == Balanced && len(s.Train.Labels) > 0 {
		t.weights = balanced(t.classes, s.Train.Labels)
	}
	rng := kit.InitRNG(s.Recipe)
	enc, err := kit.NewEncoder(s.Recipe, s.Vocabs, rng)
	if err != nil {
		return err
	}
	t.enc = enc
	params := enc.Params()
	D := enc.OutputSize()
	if t.pool, err = kit.NewPooler("attention", opts.Pooling, D, s.Recipe.Model.Bidirectional, rng); err != nil {
		return err
	}
	params = append(params, t.pool.Params()...)
	t.out = nn.NewLinear[float32]("classifier", D, len(t.classes), rng)
	params = append(params, t.out.Params()...)
	if opts.NGrams > 0 {
		t.ngrams = kit.NewNGramLayer("ngrams", opts.NGrams, opts.NGramBuckets, opts.NGramDropout, len(t.classes))
		params = append(params, t.ngrams.Params()...)
	}
	if opts.Baselines {
		t.base = newBaseline(len(t.classes))
		t.base.rows = s.Train.Rows
	}
	t.core, err = kit.NewCore(s.Recipe, params)
	return err
}

// splitLabels turns label strings such as "flight#airfare" into a class list and
// the classes of each label.
func splitLabels(labels []string, sep string) ([]string, [][]int) {
	var classes []string
	index := map[string]int{}
	members := make([][]int, len(labels))
	for i, l := range labels {
		for _, c := range strings.Split(l, sep) {
			k, ok := index[c]
			if !ok {
				k = len(classes)
				index[c] = k
				classes = append(classes, c)
			}
			members[i] = append(members[i], k)
		}
	}
	return classes, members
}

// balanced returns n / (classes · count) per class; unseen classes get 1.
func balanced(classes []string, counts map[string]int) []float64 {
	n := 0
	for _, c := range counts {
		n += c
	}
	w := make([]float64, len(classes))
	for i, c := range classes {
		w[i] = 1
		if k := counts[c]; k > 0 {
			w[i] = float64(n) / float64(len(classes)*k)
		}
	}
	return w
}

func (t *Task) logits(tp *nn.Tape, b *pipeline.Batch, train bool) *nn.Tensor[float32] {
	rng := t.core.RNG
	if !train {
		rng = nil
	}
	out, _ := t.enc.Forward(tp, b, rng)
	lg := t.out.Forward(tp, t.pool.Forward(tp, out, b.Lengths))
	if t.ngrams != nil {
		lg = nn.Add(tp, lg, t.ngrams.Forward(tp, b, rng))
	}
	return lg
}

// multiTargets is the 0/1 target matrix [B, classes] of a multi-label batch;
// an example with an unknown label set gets no positive class.
func (t *Task) multiTargets(labels []int32) []float32 {
	C := len(t.classes)
	y := make([]float32, len(labels)*C)
	for j, l := range labels {
		if l < 0 {
			continue
		}
		for _, c := range t.members[l] {
			y[j*C+c] = 1
		}
	}
	return y
}

func (t *Task) loss(tp *nn.Tape, lg *nn.Tensor[float32], labels []int32) *nn.Tensor[float32] {
	if t.opts.MultiLabel {
		return nn.BCEWithLogits(tp, lg, t.multiTargets(labels))
	}
	return nn.CrossEntropy(tp, lg, labels, -1, nn.CEOptions{Weights: t.weights})
}

// TrainStep implements tasks.Task.
func (t *Task) TrainStep(b *pipeline.Batch, lr float64) (tasks.Step, error) {
	if t.ens != nil {
		return tasks.Step{}, errEnsemble
	}
	if b.Labels == nil {
		return tasks.Step{}, fmt.Errorf("classify: batch has no labels")
	}
	if err := t.enc.Check(b); err != nil {
		return tasks.Step{}, err
	}
	if t.base != nil && !t.base.done {
		t.base.observe(b, t.classesOf)
	}
	tp := new(nn.Tape)
	loss := t.loss(tp, t.logits(tp, b, true), b.Labels)
	norm, err := t.core.Update(tp, loss, lr)
	return tasks.Step{Loss: float64(loss.Data[0]), Tokens: b.Tokens(), GradNorm: norm}, err
}

// classesOf lists the class indexes of a label id.
func (t *Task) classesOf(l int32) []int {
	if l < 0 {
		return nil
	}
	if t.members != nil {
		return t.members[l]
	}
	return []int{int(l)}
}

// predict returns the predicted classes of each row and the probability of each
// class, [B, C].
func (t *Task) predict(lg *nn.Tensor[float32]) ([][]int, []float64) {
	B, C := lg.Shape[0], lg.Shape[1]
	probs := make([]float64, B*C)
	pred := make([][]int, B)
	for j := range B {
		row, p := lg.Data[j*C:(j+1)*C], probs[j*C:(j+1)*C]
		if t.opts.MultiLabel {
			for c, v := range row {
				p[c] = 1 / (1 + math.Exp(-float64(v)))
				if p[c] >= t.opts.Threshold {
					pred[j] = append(pred[j], c)
				}
			}
			continue
		}
		mx := float64(slices.Max(row))
		z := 0.0
		for c, v := range row {
			p[c] = math.Exp(float64(v) - mx)
			z += p[c]
		}
		best := 0
		for c := range p {
			p[c] /= z
			if p[c] > p[best] {
				best = c
			}
		}
		pred[j] = []int{best}
	}
	return pred, probs
}

// Evaluate implements tasks.Task: loss, accuracy (exact match of the label set),
// macro and micro F1, per-class precision/recall/F1 (precision/CLASS, …), and
// with baselines the majority and bigram baselines' accuracy.
func (t *Task) Evaluate(batches iter.Seq[*pipeline.Batch]) (tasks.Metrics, error) {
	C := len(t.classes)
	tp, fp, fn := make([]int, C), make([]int, C), make([]int, C)
	conf := make([][]int, C)
	for i := range conf {
		conf[i] = make([]int, C)
	}
	var lossSum float64
	var n, exact, baseMajority, baseBigram int
	for b := range batches {
		if err := t.enc.Check(b); err != nil {
			return nil, err
		}
		if b.Labels == nil {
			return nil, fmt.Errorf("classify: evaluation data has no labels")
		}
		lg := t.scores(b)
		lossSum += float64(t.loss(nil, lg, b.Labels).Data[0]) * float64(b.B)
		pred, _ := t.predict(lg)
		for j := range b.B {
			gold := t.classesOf(b.Labels[j])
			if slices.Equal(sortedCopy(gold), sortedCopy(pred[j])) && b.Labels[j] >= 0 {
				exact++
			}
			for _, c := range pred[j] {
				if slices.Contains(gold, c) {
					tp[c]++
				} else {
					fp[c]++
				}
			}
			for _, c := range gold {
				if !slices.Contains(pred[j], c) {
					fn[c]++
				}
			}
			if !t.opts.MultiLabel && len(gold) == 1 {
				conf[gold[0]][pred[j][0]]++
			}
			if t.base != nil {
				maj, bi := t.base.predict(b, j)
				if len(gold) == 1 && maj == gold[0] {
					baseMajority++
				}
				if len(gold) == 1 && bi == gold[0] {
					baseBigram++
				}
			}
			n++
		}
	}
	m := tasks.Metrics{}
	if n == 0 {
		return m, nil
	}
	m["loss"] = lossSum / float64(n)
	m["accuracy"] = 100 * float64(exact) / float64(n)
	var macro float64
	var classes int
	var sumTP, sumFP, sumFN int
	for c, name := range t.classes {
		sumTP, sumFP, sumFN = sumTP+tp[c], sumFP+fp[c], sumFN+fn[c]
		if tp[c]+fp[c]+fn[c] == 0 {
			continue // a class absent from both gold and predictions
		}
		p, r, f := prf(tp[c], fp[c], fn[c])
		m["precision/"+name], m["recall/"+name], m["f1/"+name] = p, r, f
		macro += f
		classes++
	}
	m["macro_f1"] = macro / float64(max(classes, 1))
	_, _, m["micro_f1"] = prf(sumTP, sumFP, sumFN)
	if t.base != nil {
		m["baseline_majority_accuracy"] = 100 * float64(baseMajority) / float64(n)
		m["baseline_bigram_accuracy"] = 100 * float64(baseBigram) / float64(n)
	}
	t.confusion = conf
	return m, nil
}

func sortedCopy(x []int) []int {
	y := slices.Clone(x)
	slices.Sort(y)
	return y
}

func prf(tp, fp, fn int) (p, r, f float64) {
	if tp+fp > 0 {
		p = 100 * float64(tp) / float64(tp+fp)
	}
	if tp+fn > 0 {
		r = 100 * float64(tp) / float64(tp+fn)
	}
	if p+r > 0 {
		f = 2 * p * r / (p + r)
	}
	return p, r, f
}

// Figures implements tasks.Figures: the confusion matrix of the last evaluation.
func (t *Task) Figures(dir string) ([]string, error) {
	if t.confusion == nil || t.opts.MultiLabel {
		return nil, nil
	}
	p := filepath.Join(dir, "confusion.png")
	return []string{p}, drawConfusion(p, t.classes, t.confusion)
}

// Predict implements tasks.Task: "label" (the predicted labels joined by the
// separator for multi-label) and "score" (the probability of the top class, or
// of the least likely predicted class for multi-label).
func (t *Task) Predict(b *pipeline.Batch) (arrow.RecordBatch, error) {
	if err := t.enc.Check(b); err != nil {
		return nil, err
	}
	pred, probs := t.predict(t.scores(b))
	C := len(t.classes)
	mem := memory.DefaultAllocator
	lb, sb := array.NewStringBuilder(mem), array.NewFloat64Builder(mem)
	defer lb.Release()
	defer sb.Release()
	for j := range b.B {
		names := make([]string, len(pred[j]))
		score := 1.0
		for k, c := range pred[j] {
			names[k] = t.classes[c]
			score = min(score, probs[j*C+c])
		}
		if len(pred[j]) == 0 {
			score = 0
		}
		lb.Append(strings.Join(names, t.opts.Separator))
		sb.Append(score)
	}
	cols := []arrow.Array{lb.NewArray(), sb.NewArray()}
	defer cols[0].Release()
	defer cols[1].Release()
	schema := arrow.NewSchema([]arrow.Field{{Name: "label", Type: arrow.BinaryTypes.String}, {Name: "score", Type: arrow.PrimitiveTypes.Float64}}, nil)
	return array.NewRecordBatch(schema, cols, int64(b.B)), nil
}

// Save implements tasks.Task.
func (t *Task) Save(dir string, resumable bool) error {
	if t.ens != nil {
		return errEnsemble
	}
	if err := t.core.Save(dir, resumable, map[string]string{"task": "classify", "pooling": t.opts.Pooling}); err != nil {
		return err
	}
	if t.base != nil {
		return t.base.save(dir)
	}
	return nil
}

// Load implements tasks.Task.
func (t *Task) Load(dir string, resumable bool) error {
	if err := t.core.Load(dir, resumable); err != nil {
		return err
	}
	if t.base != nil {
		return t.base.load(dir)
	}
	return nil
}
