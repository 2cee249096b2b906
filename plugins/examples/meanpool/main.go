// Command seqkit-plugin-meanpool is the smallest useful task plugin, the one
// README's "Writing a task plugin" builds: a classifier that averages the
// recurrent encoder's outputs over time. Everything but the head comes from
// seqkit's building blocks.
package main

import (
	"iter"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/seqkit/seqkit/nn"
	"github.com/seqkit/seqkit/pipeline"
	"github.com/seqkit/seqkit/plugins/sdk"
	"github.com/seqkit/seqkit/tasks"
	"github.com/seqkit/seqkit/tasks/kit"
)

// Options are the recipe keys of the task: task.options in a recipe.
type Options struct {
	Smoothing float64 `yaml:"smoothing" doc:"label smoothing of the loss" min:"0" max:"0.5"`
}

func main() {
	sdk.Serve(sdk.Type{
		Name:    "meanpool",
		Options: func() any { return &Options{} },
		New:     func() sdk.Task { return &task{} },
	})
}

type task struct {
	opts *Options
	enc  *kit.Encoder        // embedding and recurrent stack of the recipe
	out  *nn.Linear[float32] // the head: mean of the outputs → labels
	core *kit.Core           // optimizer, clipping, checkpoints
}

func (t *task) Info() tasks.Info {
	return tasks.Info{Name: "meanpool", Version: "1.0.0", Metric: "accuracy", HigherIsBetter: true}
}

func (t *task) Description() string { return "mean-pooled recurrent classifier (README example)" }

func (t *task) Init(s tasks.Setup) error {
	t.opts = s.Recipe.Task.Options.(*Options)
	rng := kit.InitRNG(s.Recipe)
	var err error
	if t.enc, err = kit.NewEncoder(s.Recipe, s.Vocabs, rng); err != nil {
		return err
	}
	t.out = nn.NewLinear[float32]("output", t.enc.OutputSize(), s.Vocabs.Labels.Len(), rng)
	t.core, err = kit.NewCore(s.Recipe, append(t.enc.Params(), t.out.Params()...))
	return err
}

// logits runs the model on a batch: [B, labels].
func (t *task) logits(tp *nn.Tape, b *pipeline.Batch, train bool) *nn.Tensor[float32] {
	rng := t.core.RNG
	if !train {
		rng = nil // no dropout
	}
	h, _ := t.enc.Forward(tp, b, rng)
	return t.out.Forward(tp, nn.Pool(tp, h, b.Lengths, nn.PoolMean, false))
}

func (t *task) TrainStep(b *pipeline.Batch, lr float64) (tasks.Step, error) {
	tp := new(nn.Tape)
	loss := nn.CrossEntropy(tp, t.logits(tp, b, true), b.Labels, -1, nn.CEOptions{LabelSmoothing: t.opts.Smoothing})
	norm, err := t.core.Update(tp, loss, lr)
	return tasks.Step{Loss: float64(loss.Data[0]), Tokens: b.Tokens(), GradNorm: norm}, err
}

func (t *task) Evaluate(batches iter.Seq[*pipeline.Batch]) (tasks.Metrics, error) {
	var loss, right, n float64
	for b := range batches {
		lg := t.logits(nil, b, false)
		loss += float64(nn.CrossEntropy(nil, lg, b.Labels, -1, nn.CEOptions{}).Data[0]) * float64(b.B)
		for j, p := range argmax(lg) {
			if p == b.Labels[j] {
				right++
			}
			n++
		}
	}
	return tasks.Metrics{"loss": loss / max(n, 1), "accuracy": 100 * right / max(n, 1)}, nil
}

func (t *task) Predict(b *pipeline.Batch) (arrow.RecordBatch, error) {
	lb := array.NewInt32Builder(memory.DefaultAllocator)
	defer lb.Release()
	lb.AppendValues(argmax(t.logits(nil, b, false)), nil)
	col := lb.NewArray()
	defer col.Release()
	schema := arrow.NewSchema([]arrow.Field{{Name: "label_id", Type: arrow.PrimitiveTypes.Int32}}, nil)
	return array.NewRecordBatch(schema, []arrow.Array{col}, int64(b.B)), nil
}

func (t *task) Save(dir string, resumable bool) error { return t.core.Save(dir, resumable, nil) }
func (t *task) Load(dir string, resumable bool) error { return t.core.Load(dir, resumable) }

// argmax returns the most likely label of each row of logits [B, labels].
func argmax(lg *nn.Tensor[float32]) []int32 {
	B, L := lg.Shape[0], lg.Shape[len(lg.Shape)-1]
	out := make([]int32, B)
	for j := range B {
		row := lg.Data[j*L : (j+1)*L]
		for k, v := range row {
			if v > row[out[j]] {
				out[j] = int32(k)
			}
		}
	}
	return out
}
