// Package model opens a trained run directory as a library: a Model predicts
// Arrow record batches, without the CLI. seqkit predict goes through it.
//
// Memory: Open loads the best weights once (the size of
// checkpoints/best/model.safetensors, and for a frozen encoder a lookup table
// of at most 256 MB). Each Predict reader holds at most three record batches
// of its input and their predictions. A Model is safe for use by several
// goroutines: their readers encode in parallel and take turns for each
// prediction batch, so N goroutines cost N readers' buffers, not N models.
package model

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"

	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/seqkit/seqkit/pipeline"
	"github.com/seqkit/seqkit/recipes"
	"github.com/seqkit/seqkit/tasks"
	"github.com/seqkit/seqkit/tasks/classify"
	"github.com/seqkit/seqkit/tasks/generate"
	"github.com/seqkit/seqkit/tasks/rundir"
	"github.com/seqkit/seqkit/tasks/seq2seq"
	"github.com/seqkit/seqkit/tasks/tagging"
)

// Options tune Open.
type Options struct {
	// Registry holds the task types the run may need; nil means the
	// built-in tasks (a run of a plugin task needs a registry with the
	// plugin host's type).
	Registry *tasks.Registry
	// DataRoot resolves ${data} in the run's recipe; predicting reads none
	// of its data.
	DataRoot string
	// BatchSize is the sequences of one prediction batch (default 64).
	BatchSize int
	// Sets override the run's decoding options, KEY=VALUE (task.beam=5; see
	// recipes.DecodeKeys); a key that would change the model is refused.
	Sets []string
	// AttentionDir, when set, receives the attention weights behind every
	// prediction of a model that attends (seq2seq), as JSON and heat maps.
	AttentionDir string
}

// Model is a trained run, or an ensemble of runs, ready to predict.
type Model struct {
	run     *tasks.Loaded
	members []*tasks.Loaded // the runs of an ensemble; run alone otherwise
	opt     Options
	turn    sync.Mutex // held around each prediction batch
}

// Builtin is a registry of the built-in task types.
func Builtin() *tasks.Registry {
	var reg tasks.Registry
	for _, t := range []tasks.Type{tagging.Type(), classify.Type(), generate.Type(), seq2seq.Type()} {
		if err := reg.Register(t); err != nil {
			panic(err) // two built-in tasks of one name: a programming error
		}
	}
	return &reg
}

// Open loads the run in dir (the folder seqkit run or train wrote) with its
// best weights. Only files inside dir are read: recipe.yaml, vocab/ and
// checkpoints/best. A folder of seeds (seqkit run --seeds) opens as the
// ensemble of its finished seeds.
func Open(dir string, opt Options) (*Model, error) {
	return OpenEnsemble([]string{dir}, opt)
}

// OpenEnsemble loads the runs in dirs (each a run directory or a folder of
// seeds) as one model that predicts from all of them: an ensemble, whose
// members must share their task type, vocabularies and tokenizer. Each
// task's Ensemble says how it combines them; one run is the run itself.
// Memory is the sum of the members'.
func OpenEnsemble(dirs []string, opt Options) (*Model, error) {
	if opt.Registry == nil {
		opt.Registry = Builtin()
	}
	if opt.BatchSize < 0 || opt.BatchSize > 100_000 {
		return nil, fmt.Errorf("model: batch size must be in [1, 100000], got %d", opt.BatchSize)
	}
	run, members, err := tasks.LoadEnsemble(dirs, opt.Registry, opt.DataRoot, opt.Sets...)
	if err != nil {
		return nil, err
	}
	if _, ok := run.Task.(tasks.Attender); opt.AttentionDir != "" && !ok {
		return nil, fmt.Errorf("model: %s: %w", run.Task.Info().Name, ErrNoAttention)
	}
	return &Model{run: run, members: members, opt: opt}, nil
}

// Members are the runs of an ensemble, each a model of its own (one, the
// model itself, for a single run): for comparing the ensemble with its
// members.
func (m *Model) Members() []*Model {
	if len(m.members) == 1 {
		return []*Model{m}
	}
	out := make([]*Model, len(m.members))
	for i, r := range m.members {
		out[i] = &Model{run: r, members: []*tasks.Loaded{r}, opt: m.opt}
	}
	return out
}

// Dir is the run directory (of an ensemble: its first member's).
func (m *Model) Dir() string { return m.run.Dir }

// Recipe is the run's recipe, every default stated.
func (m *Model) Recipe() *recipes.Recipe { return m.run.Recipe }

// Task is the loaded task, for what goes beyond predicting (evaluating,
// generating). Calls on it are not shared with Predict's turns.
func (m *Model) Task() tasks.Task { return m.run.Task }

// Source is src with the input columns of the training data filled in where
// src maps none: what seqkit predict reads from a file by default.
func (m *Model) Source(src pipeline.Source) pipeline.Source {
	if src.Columns != (pipeline.Columns{}) || src.Files != (pipeline.Columns{}) {
		return src
	}
	train := m.run.Recipe.Data.Train.Columns
	switch src.Format {
	case pipeline.Text:
	case pipeline.CoNLL:
		src.Columns = pipeline.Columns{Tokens: cmp.Or(train.Tokens, "1"), Feature: train.Feature}
	default:
		src.Columns = pipeline.Columns{Text: train.Text, Tokens: train.Tokens, Feature: train.Feature, Vector: train.Vector}
		if src.Columns.Text == "" && src.Columns.Tokens == "" {
			src.Columns.Text = "text"
		}
	}
	return src
}

// PredictTexts predicts a few texts held in memory, one row each, as
// seqkit run prints its examples.
func (m *Model) PredictTexts(texts []string) ([]map[string]any, error) {
	if err := m.examples(); err != nil {
		return nil, err
	}
	m.turn.Lock()
	defer m.turn.Unlock()
	return tasks.PredictTexts(m.run.Task, texts, m.run.Tok, m.run.Vocabs)
}

// ErrWhole is the error of predicting new examples with a task that trains on
// whole tables: it predicts the nodes of its own tables.
var ErrWhole = errors.New("the task trains on whole tables and predicts their rows, not new examples")

// PredictsExamples says whether the model predicts new examples (seqkit
// predict, serve): ErrWhole, with where its predictions are, when it does
// not.
func (m *Model) PredictsExamples() error { return m.examples() }

func (m *Model) examples() error {
	if info := m.run.Task.Info(); info.WholeDataset {
		return fmt.Errorf("model: %s: %w: its test predictions are in %s (seqkit eval -m %s --split dev scores another split)",
			info.Name, ErrWhole, filepath.Join(m.run.Dir, rundir.PredictionsFile), m.run.Dir)
	}
	return nil
}

// ErrNoAttention is Open's error for an AttentionDir and a task that does not
// attend.
var ErrNoAttention = errors.New("the task has no attention weights to write")

// Predict reads the record batches of in (the schema pipeline.Open reads: a
// row column and the input columns) and returns a reader of the input
// columns beside the predictions, in input order. Errors of the input,
// including an example over the run's data.limits, come from the reader's Err.
// It stops, with ctx's cause, once ctx is done. Release the reader when done;
// in stays the caller's.
func (m *Model) Predict(ctx context.Context, in array.RecordReader) (array.RecordReader, error) {
	if err := m.examples(); err != nil {
		return nil, err
	}
	s := in.Schema()
	if len(s.FieldIndices(pipeline.RoleText.String())) == 0 && len(s.FieldIndices(pipeline.RoleTokens.String())) == 0 {
		return nil, fmt.Errorf("model: the input has no %s or %s column (it has %v)", pipeline.RoleText, pipeline.RoleTokens, s)
	}
	opt := tasks.PredictOptions{BatchSize: m.opt.BatchSize, Limits: m.run.Recipe.Data.Limits.Pipeline(), AttentionDir: m.opt.AttentionDir}
	return tasks.PredictRecords(ctx, m.run.Task, &m.turn, in, m.run.Tok, m.run.Vocabs, opt), nil
}
