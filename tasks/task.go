package tasks

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/seqkit/seqkit/pipeline"
	"github.com/seqkit/seqkit/recipes"
	"github.com/seqkit/seqkit/tasks/rundir"
)

// Task is one kind of sequence task: it owns a model (encoder, head, optimizer),
// trains it one batch at a time, evaluates and predicts. The shared loop ([Train])
// drives it and does the bookkeeping. Every argument and result is plain data
// (batches, numbers, Arrow records, folder paths), so that a task running in
// another process (a plugin) implements the same interface.
type Task interface {
	// Info describes the task type.
	Info() Info
	// Init builds the model with fresh weights for the data and recipe in s.
	Init(s Setup) error
	// TrainStep runs forward and backward passes on one batch and applies one
	// optimizer update at learning rate lr.
	TrainStep(b *pipeline.Batch, lr float64) (Step, error)
	// Evaluate scores the model on batches without changing it. The result holds
	// at least Info().Metric and "loss".
	Evaluate(batches iter.Seq[*pipeline.Batch]) (Metrics, error)
	// Predict returns one output row per sequence of b, in b's order: columns of
	// the task's choosing (tags, label, score, …). The caller releases it.
	Predict(b *pipeline.Batch) (arrow.RecordBatch, error)
	// Save writes the weights into dir; with resumable, also the optimizer state
	// and the task's random state, so that Load continues training exactly.
	Save(dir string, resumable bool) error
	// Load reads what Save wrote. Init must have run first with the same Setup.
	Load(dir string, resumable bool) error
}

// ErrDiverged reports a loss or gradient that is not a finite number: a
// TrainStep returns it (wrapped) when it did not apply the update, which the
// training loop stops on, or leaves the batch out with train.skip_nonfinite.
var ErrDiverged = errors.New("training diverged")

// Info describes a task type.
type Info struct {
	Name    string
	Version string
	// Metric is the main dev metric: the default for early stopping and for
	// choosing the best checkpoint. HigherIsBetter says which way it improves.
	Metric         string
	HigherIsBetter bool
	// Lower lists the task's other dev metrics that improve as they fall (a
	// word error rate), for early stopping on them; the loss always does, and
	// any other metric is taken to improve as it rises.
	Lower []string
	// Tables are the tables (recipe data.tables) the task reads in Init
	// through Setup.Table, each with the columns it needs.
	Tables []TableSpec
	// WholeDataset says the task trains on its tables whole rather than on
	// batches of examples (a graph's nodes, learned full-batch): its recipe
	// gives data.tables and no train, dev or test; every epoch is one
	// TrainStep, and every evaluation one Evaluate, on a batch without rows
	// that names its split (pipeline.Batch.Split), whose rows the task finds
	// in its tables. Predict gets such a batch too.
	WholeDataset bool
}

// TableSpec is a table a task reads: its name in the recipe's data.tables and
// the columns it needs, in order.
type TableSpec struct {
	Name    string
	Doc     string
	Columns []pipeline.TableColumn
}

// Better reports whether metric improves as it rises.
func (i Info) Better(metric string) (higher bool) {
	switch {
	case metric == i.Metric:
		return i.HigherIsBetter
	case metric == "loss", slices.Contains(i.Lower, metric):
		return false
	}
	return true
}

// Setup is what a task builds its model from: the whole recipe (model, training
// and the task's own options in Recipe.Task.Options) and the vocabularies of the
// training data.
type Setup struct {
	Recipe *recipes.Recipe
	Vocabs pipeline.Vocabs
	// Train describes the training split (label counts for class weights). It is
	// empty when a trained model is loaded for evaluation or prediction.
	Train pipeline.Summary
	// Table reads a table the task declared in Info.Tables: one record batch
	// of the declared columns, which the task releases. Nil when the caller
	// has no tables to give.
	Table func(spec TableSpec) (arrow.RecordBatch, error)
}

// TableReader is the Setup.Table of a recipe: it reads spec's table from the
// recipe's data.tables, through pipeline.ReadTable, until ctx is done.
func TableReader(ctx context.Context, r *recipes.Recipe) func(spec TableSpec) (arrow.RecordBatch, error) {
	return func(spec TableSpec) (arrow.RecordBatch, error) {
		t, ok := r.Data.Table(spec.Name)
		if !ok {
			return nil, fmt.Errorf("%w: data.tables: the %s task reads a table named %s (%s): give it with its file, columns %s", recipes.ErrRecipe, r.Task.Type, spec.Name, spec.Doc, columnList(spec.Columns))
		}
		return pipeline.ReadTable(ctx, t.Pipeline(), spec.Columns, r.Data.Limits.Pipeline())
	}
}

func columnList(cols []pipeline.TableColumn) string {
	var b strings.Builder
	for i, c := range cols {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s (%s)", c.Name, c.Type)
	}
	return b.String()
}

// Step is what one training step measured.
type Step struct {
	Loss     float64 // mean loss of the batch
	Tokens   int     // tokens processed (for throughput)
	GradNorm float64 // global gradient norm before clipping
}

// Metrics maps metric names to values: what Evaluate reports and
// metrics.jsonl records (rundir.Metrics).
type Metrics = rundir.Metrics

// Figures is implemented by tasks that draw figures of their last evaluation
// (a confusion matrix) into a folder; the run calls it after the test
// evaluation and lists the files in the report.
type Figures interface {
	Figures(dir string) ([]string, error)
}

// Generator is implemented by tasks that generate sequences (language models,
// conditional generators): seqkit generate calls it, and seqkit run shows what it
// generates after training.
type Generator interface {
	// GenerateDefaults are the recipe's generation settings.
	GenerateDefaults() GenerateOptions
	Generate(o GenerateOptions) ([]Generated, error)
}

// GenerateOptions say how to generate.
type GenerateOptions struct {
	Num    int // sequences to generate
	MaxLen int // tokens at most, after the prefix
	// Temperature divides the logits before sampling; 0 picks the most likely
	// token at every step (greedy).
	Temperature float64
	TopK        int     // sample among the k most likely tokens (0: all)
	TopP        float64 // sample among the most likely tokens holding this much probability (0 or 1: all)
	Seed        uint64
	Prefix      string // text every sequence starts with
	// Condition is the label to generate for (conditional models); empty cycles
	// through the labels. For a model conditioned on a vector it holds the
	// vector's numbers, separated by spaces or commas, and is required
	// (ErrConditionNeeded).
	Condition string
	// Beam, when positive, returns the Beam most likely sequences found by beam
	// search of that width instead of sampling (for each label when the model is
	// conditional and Condition is empty); Num and the sampling options do not
	// apply.
	Beam int
}

// Freezer is implemented by tasks whose inference gets faster when they are
// told the weights will not change (Encoder.Freeze). LoadRun freezes the runs it
// loads, and Run the best model it tests and predicts with.
type Freezer interface {
	Freeze(on bool)
}

// Averager is implemented by tasks that keep a moving average of their weights
// (train.ema, [Core.Average]). The training loop evaluates dev and saves the best
// checkpoint with Average(true), then trains on after Average(false).
type Averager interface {
	Average(on bool)
}

// Attender is implemented by tasks whose predictions attend over their input
// (seq2seq): the attention weights behind the predictions of a batch.
type Attender interface {
	Attention(b *pipeline.Batch) ([]AttentionMap, error)
}

// AttentionMap is how one predicted sequence attended over its source:
// Weights[i][k] is output token i's weight on source token k (the last output
// is <eos>).
type AttentionMap struct {
	Source  []string    `json:"source"`
	Output  []string    `json:"output"`
	Weights [][]float64 `json:"weights"`
}

// ErrConditionNeeded is returned by a generator asked to generate without the
// condition it cannot do without (a vector).
var ErrConditionNeeded = errors.New("a condition is needed")

// Generated is one generated sequence.
type Generated struct {
	Text      string  `json:"text"`
	Condition string  `json:"condition,omitempty"`
	LogProb   float64 `json:"logprob"` // natural log of its probability under the model (after the prefix, with <eos>)
	Tokens    int     `json:"tokens"`  // generated tokens, <eos> included
}

// Ensembler is implemented by tasks whose trained models combine into one that
// predicts from all of them (seqkit eval and predict with several -m):
// Ensemble returns a task that evaluates and predicts with the receiver and
// others together, each member unchanged. The ensemble does not train or save.
type Ensembler interface {
	Ensemble(others []Task) (Task, error)
}

// ErrEnsemble is wrapped by the errors of models that do not combine: another
// task, other vocabularies, another output layer.
var ErrEnsemble = errors.New("the models do not form an ensemble")
