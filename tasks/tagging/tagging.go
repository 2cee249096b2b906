package tagging

import (
	"fmt"
	"iter"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/seqkit/seqkit/nn"
	"github.com/seqkit/seqkit/pipeline"
	"github.com/seqkit/seqkit/recipes"
	"github.com/seqkit/seqkit/tasks"
)

// Options is the tagging task's recipe section.
type Options struct {
	// LabelSmoothing mixes each one-hot tag target with the uniform distribution.
	LabelSmoothing float64 `yaml:"label_smoothing,omitempty" doc:"label smoothing of the tag loss" min:"0" max:"0.5"`
}

// Type registers the tagging task: task: {type: tagging}.
func Type() tasks.Type {
	return tasks.Type{
		Name:    "tagging",
		Options: func() any { return &Options{} },
		Check:   check,
		New:     func() tasks.Task { return &Task{} },
	}
}

// check reports data that a tagger cannot use: every split needs tokens and tags.
func check(r *recipes.Recipe) []recipes.KeyError {
	var errs []recipes.KeyError
	if r.Train.BPTT > 0 {
		errs = append(errs, recipes.KeyError{Key: "train.bptt", Msg: "the tagging task trains on whole sentences; bptt applies to streamed text"})
	}
	splits := r.Data.Splits()
	for _, name := range []string{"train", "dev", "test"} {
		src, ok := splits[name]
		if !ok {
			continue
		}
		if src.Format == pipeline.CoNLL || (src.Format == "" && strings.HasSuffix(src.Path, ".conll")) {
			continue // CoNLL files default to the first column as tokens and the last as tags
		}
		if src.Columns.Tags == "" && src.Files.Tags == "" {
			errs = append(errs, recipes.KeyError{Key: "data." + name + ".columns.tags", Msg: "the tagging task needs a tags column (or files.tags)"})
		}
		if src.Columns.Label != "" || src.Files.Label != "" {
			errs = append(errs, recipes.KeyError{Key: "data." + name + ".columns.label", Msg: "the tagging task does not use a sentence label"})
		}
		if src.Columns.Target != "" || src.Files.Target != "" {
			errs = append(errs, recipes.KeyError{Key: "data." + name + ".columns.target", Msg: "the tagging task does not use a target sequence; seq2seq does"})
		}
	}
	return errs
}

// Task is a softmax tagger: encoder, a linear layer per token, cross-entropy.
type Task struct {
	opts *Options
	tags *pipeline.Vocab
	enc  *tasks.Encoder
	head *nn.Linear[float32]
	core *tasks.Core
}

// Info implements tasks.Task.
func (t *Task) Info() tasks.Info {
	return tasks.Info{Name: "tagging", Version: "1", Metric: "f1", HigherIsBetter: true}
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
	t.opts, t.tags = opts, s.Vocabs.Tags
	rng := tasks.InitRNG(s.Recipe)
	enc, err := tasks.NewEncoder(s.Recipe, s.Vocabs.Input.Len(), rng)
	if err != nil {
		return err
	}
	t.enc = enc
	t.head = nn.NewLinear[float32]("tagger", enc.OutputSize(), s.Vocabs.Tags.Len(), rng)
	t.core, err = tasks.NewCore(s.Recipe, append(enc.Params(), t.head.Params()...))
	return err
}

func (t *Task) logits(tp *nn.Tape, b *pipeline.Batch, train bool) *nn.Tensor[float32] {
	rng := t.core.RNG
	if !train {
		rng = nil
	}
	out, _ := t.enc.Forward(tp, b, rng)
	return t.head.Forward(tp, out)
}

// TrainStep implements tasks.Task.
func (t *Task) TrainStep(b *pipeline.Batch, lr float64) (tasks.Step, error) {
	if b.Tags == nil {
		return tasks.Step{}, fmt.Errorf("tagging: batch has no tags")
	}
	tp := new(nn.Tape)
	loss := nn.CrossEntropy(tp, t.logits(tp, b, true), b.Tags, -1, nn.CEOptions{LabelSmoothing: t.opts.LabelSmoothing})
	norm, err := t.core.Update(tp, loss, lr)
	return tasks.Step{Loss: float64(loss.Data[0]), Tokens: tokens(b), GradNorm: norm}, err
}

func tokens(b *pipeline.Batch) int {
	n := 0
	for _, l := range b.Lengths {
		n += l
	}
	return n
}

// decode returns the best tag id of every position.
func decode(logits *nn.Tensor[float32], C int) []int32 {
	n := len(logits.Data) / C
	out := make([]int32, n)
	for i := range n {
		row := logits.Data[i*C : (i+1)*C]
		best := 0
		for c, v := range row {
			if v > row[best] {
				best = c
			}
		}
		out[i] = int32(best)
	}
	return out
}

// Evaluate implements tasks.Task: loss, span precision/recall/F1 (conlleval's
// chunks), token accuracy and sentence accuracy.
func (t *Task) Evaluate(batches iter.Seq[*pipeline.Batch]) (tasks.Metrics, error) {
	var lossSum float64
	var lossTokens, correct, total, sentOK, sents int
	var spans SpanCounts
	C := t.tags.Len()
	for b := range batches {
		if b.Tags == nil {
			return nil, fmt.Errorf("tagging: evaluation data has no tags")
		}
		lg := t.logits(nil, b, false)
		n := 0
		for _, y := range b.Tags {
			if y >= 0 {
				n++
			}
		}
		lossSum += float64(nn.CrossEntropy(nil, lg, b.Tags, -1, nn.CEOptions{}).Data[0]) * float64(n)
		lossTokens += n
		pred := decode(lg, C)
		for j := range b.B {
			gold, guess := make([]string, b.Lengths[j]), make([]string, b.Lengths[j])
			ok := true
			for i := range b.Lengths[j] {
				k := i*b.B + j
				g := b.Tags[k]
				gold[i], guess[i] = "O", t.tags.Token(pred[k])
				if g >= 0 {
					gold[i] = t.tags.Token(g)
				}
				total++
				if g == pred[k] {
					correct++
				} else {
					ok = false
				}
			}
			spans.Add(gold, guess)
			sents++
			if ok {
				sentOK++
			}
		}
	}
	p, r, f := spans.PRF()
	m := tasks.Metrics{"precision": p, "recall": r, "f1": f}
	if lossTokens > 0 {
		m["loss"] = lossSum / float64(lossTokens)
	}
	if total > 0 {
		m["token_accuracy"] = 100 * float64(correct) / float64(total)
	}
	if sents > 0 {
		m["sentence_accuracy"] = 100 * float64(sentOK) / float64(sents)
	}
	return m, nil
}

// Predict implements tasks.Task: a "tags" column holding the list of tags of
// each sequence, one per token.
func (t *Task) Predict(b *pipeline.Batch) (arrow.RecordBatch, error) {
	pred := decode(t.logits(nil, b, false), t.tags.Len())
	lb := array.NewListBuilder(memory.DefaultAllocator, arrow.BinaryTypes.String)
	defer lb.Release()
	vb := lb.ValueBuilder().(*array.StringBuilder)
	for j := range b.B {
		lb.Append(true)
		for i := range b.Lengths[j] {
			vb.Append(t.tags.Token(pred[i*b.B+j]))
		}
	}
	col := lb.NewArray()
	defer col.Release()
	schema := arrow.NewSchema([]arrow.Field{{Name: "tags", Type: arrow.ListOf(arrow.BinaryTypes.String)}}, nil)
	return array.NewRecordBatch(schema, []arrow.Array{col}, int64(b.B)), nil
}

// Save implements tasks.Task.
func (t *Task) Save(dir string, resumable bool) error {
	return t.core.Save(dir, resumable, map[string]string{"task": "tagging"})
}

// Load implements tasks.Task.
func (t *Task) Load(dir string, resumable bool) error { return t.core.Load(dir, resumable) }
