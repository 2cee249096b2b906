package tasks

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/seqkit/seqkit/nn"
	"github.com/seqkit/seqkit/pipeline"
	"github.com/seqkit/seqkit/recipes"

	"github.com/seqkit/seqkit/internal/atomicfile"
	"github.com/seqkit/seqkit/tasks/rundir"
)

// RunOptions control [Run].
type RunOptions struct {
	Dir string
	// Force empties an existing run directory; Resume continues its last checkpoint.
	Force, Resume bool
	// InitFrom loads the best weights of another run before training.
	InitFrom string
	Registry *Registry
	Prepare  PrepareOptions
	Observe  func(Event)
	// NoTest skips the final test evaluation, predictions and report (seqkit train).
	NoTest bool
}

// RunResult is what a run produced.
type RunResult struct {
	Dir      string
	Train    *Result
	Dev      Metrics
	Test     Metrics
	Examples []map[string]any // predictions for the recipe's output.examples
	// Generated holds what a generator task generated with its recipe's settings
	// (also written to samples.jsonl).
	Generated []Generated
	Files     []string
}

// Run trains the recipe in a run directory, then evaluates the best checkpoint on
// dev and test, writes test predictions, learning curves and report.md, and
// predicts the recipe's examples.
func Run(ctx context.Context, r *recipes.Recipe, opt RunOptions) (*RunResult, error) {
	start := time.Now()
	// Preparing the data points a generated recipe's splits at their files:
	// on a copy, so the caller's recipe stays as written (a second Run of it
	// saves the same recipe.yaml).
	rc := *r
	r = &rc
	dir := opt.Dir
	fresh, unlock, err := rundir.Open(dir, opt.Force, opt.Resume)
	if err != nil {
		return nil, err
	}
	defer unlock()
	// What a killed run was writing is never taken as written.
	if err := rundir.RemoveTemps(dir); err != nil {
		return nil, err
	}
	if !fresh {
		if err := sameRecipe(dir, r); err != nil {
			return nil, err
		}
	} else {
		y, err := r.YAML()
		if err != nil {
			return nil, err
		}
		if err := pipeline.WriteFileAtomic(filepath.Join(dir, rundir.RecipeFile), y); err != nil {
			return nil, err
		}
	}
	task, err := opt.Registry.New(r.Task.Type)
	if err != nil {
		return nil, err
	}
	if opt.InitFrom != "" {
		if err := rundir.Inside(opt.InitFrom, "vocab", rundir.BestDir); err != nil {
			return nil, fmt.Errorf("init-from: %w", err)
		}
	}
	if opt.InitFrom != "" && fresh {
		// Fine-tuning keeps the ids the weights were trained with.
		v, err := rundir.LoadVocabs(rundir.VocabDir(opt.InitFrom), r.Data.Limits.Pipeline())
		if err != nil {
			return nil, fmt.Errorf("init-from: %w", err)
		}
		if err := rundir.SaveVocabs(rundir.VocabDir(dir), v); err != nil {
			return nil, err
		}
	}
	popt := opt.Prepare
	popt.Context = ctx
	data, err := Prepare(r, dir, popt)
	if err != nil {
		return nil, err
	}
	defer data.Close()
	tr := &Trainer{Recipe: r, Task: task, Data: data, Dir: dir, Resume: !fresh, InitFrom: opt.InitFrom, Observe: opt.Observe}
	res, err := tr.Train(ctx)
	if err != nil {
		return nil, err
	}
	out := &RunResult{Dir: dir, Train: res, Dev: res.Best}
	if opt.NoTest {
		return out, writeResults(r, task.Info(), out, time.Since(start))
	}
	// The best model is opened as any trained run is: LoadRun, which
	// model.Open (seqkit predict, eval, generate) goes through too.
	loaded, err := LoadRun(dir, opt.Registry, "")
	if err != nil {
		return nil, err
	}
	best := loaded.Task
	if data.Test != nil || data.Whole {
		if err := test(ctx, best, r, dir, data, out); err != nil {
			return nil, err
		}
	}
	if r.Output.Plots {
		metric, _ := tr.metric()
		files, err := rundir.Curves(dir, metric)
		if err != nil {
			return nil, fmt.Errorf("learning curves: %w", err)
		}
		out.Files = append(out.Files, files...)
	}
	if len(r.Output.Examples) > 0 {
		if out.Examples, err = PredictTexts(best, r.Output.Examples, data.Tokenizer, data.Vocabs); err != nil {
			return nil, fmt.Errorf("examples: %w", err)
		}
	}
	if gen, ok := best.(Generator); ok {
		if err := sample(gen, dir, out); err != nil {
			return nil, err
		}
	}
	if err := writeReport(r, best.Info(), res, dir, out); err != nil {
		return nil, err
	}
	return out, writeResults(r, task.Info(), out, time.Since(start))
}

// writeResults writes results.json, last: a run that has one is finished.
// Seconds is the wall time of this process's part of the run: training, and
// the test evaluation and predictions.
func writeResults(r *recipes.Recipe, info Info, out *RunResult, took time.Duration) error {
	res := out.Train
	return rundir.WriteResults(out.Dir, rundir.Results{Task: info.Name, Metric: info.Metric, Seed: r.Train.Seed, Steps: res.Steps, Epochs: res.Epochs,
		BestStep: res.BestStep, Averaged: res.Averaged, StillImproving: res.StillImproving, Seconds: took.Seconds(), Dev: out.Dev, Test: out.Test})
}

// sameRecipe checks that the run in dir was trained with r: a resumed run
// continues only the recipe it started with.
func sameRecipe(dir string, r *recipes.Recipe) error {
	saved, err := pipeline.ReadFileLimited(filepath.Join(dir, rundir.RecipeFile), 1<<20)
	if err != nil {
		return err
	}
	now, err := r.YAML()
	if err != nil {
		return err
	}
	if string(saved) != string(now) {
		return fmt.Errorf("%w %s was trained with a different recipe; resume with the same recipe and overrides (see %s)", rundir.ErrRunDir, dir, filepath.Join(dir, rundir.RecipeFile))
	}
	return nil
}

// test evaluates the best model on the test split once, and writes its
// figures and test predictions.
func test(ctx context.Context, best Task, r *recipes.Recipe, dir string, data *Data, out *RunResult) (err error) {
	if out.Test, err = best.Evaluate(Until(ctx, SplitBatches(data, "test", r))); err == nil && ctx.Err() != nil {
		err = fmt.Errorf("%w: %w before the test evaluation finished", ErrStopped, context.Cause(ctx))
	}
	if err != nil {
		return fmt.Errorf("test evaluation: %w", err)
	}
	if f, ok := best.(Figures); ok {
		files, err := f.Figures(dir)
		if err != nil {
			return err
		}
		out.Files = append(out.Files, files...)
	}
	if r.Output.Predictions && data.Whole {
		p := filepath.Join(dir, rundir.PredictionsFile)
		if err := predictSplit(best, "test", p); err != nil {
			return fmt.Errorf("test predictions: %w", err)
		}
		out.Files = append(out.Files, p)
	} else if r.Output.Predictions && (r.Data.Prepared == "" || readable(r.Data.Test.Pipeline())) {
		// A prepared dataset may have travelled without its sources: then
		// the test split is evaluated but its predictions are not written.
		p := filepath.Join(dir, rundir.PredictionsFile)
		if err := predictFile(ctx, best, r.Data.Test.Pipeline(), data, r.Data.Limits.Pipeline(), p); err != nil {
			return fmt.Errorf("test predictions: %w", err)
		}
		out.Files = append(out.Files, p)
	}
	return nil
}

// sample generates the recipe's samples into samples.jsonl. A generator
// conditioned on vectors has no default condition: its generations are in
// the test predictions instead.
func sample(gen Generator, dir string, out *RunResult) (err error) {
	out.Generated, err = gen.Generate(gen.GenerateDefaults())
	if err != nil && !errors.Is(err, ErrConditionNeeded) {
		return fmt.Errorf("generating samples: %w", err)
	}
	var buf bytes.Buffer
	for _, g := range out.Generated {
		line, _ := json.Marshal(g)
		buf.Write(append(line, '\n'))
	}
	p := filepath.Join(dir, rundir.SamplesFile)
	if err := pipeline.WriteFileAtomic(p, buf.Bytes()); err != nil {
		return err
	}
	out.Files = append(out.Files, p)
	return nil
}

// writeReport writes report.md, listing the files of the run.
func writeReport(r *recipes.Recipe, info Info, res *Result, dir string, out *RunResult) error {
	rep := rundir.Report{Name: r.Name, Description: r.Description, Task: info.Name, Metric: info.Metric, Steps: res.Steps, Epochs: res.Epochs,
		Elapsed: res.Elapsed, BestStep: res.BestStep, Averaged: res.Averaged, StillImproving: res.StillImproving, Dev: out.Dev, Test: out.Test}
	if c, err := ReadCoverage(dir); err != nil {
		return err
	} else if c != nil {
		rep.Embedding = c.Text()
	}
	for _, f := range append([]string{filepath.Join(dir, rundir.RecipeFile), filepath.Join(dir, rundir.MetricsFile), filepath.Join(dir, rundir.BestDir, rundir.ModelFile)}, out.Files...) {
		rel, _ := filepath.Rel(dir, f)
		rep.Files = append(rep.Files, rel)
	}
	p := filepath.Join(dir, rundir.ReportFile)
	if err := pipeline.WriteFileAtomic(p, []byte(rep.Markdown())); err != nil {
		return err
	}
	out.Files = append(out.Files, p)
	return nil
}

func predictFile(ctx context.Context, task Task, src pipeline.Source, data *Data, limits pipeline.Limits, path string) error {
	return writeRows(path, func(w rundir.RowWriter) error {
		_, err := Predict(ctx, task, src, data.Tokenizer, data.Vocabs, w, PredictOptions{Gold: true, Limits: limits})
		return err
	})
}

// predictSplit writes a whole-dataset task's predictions of split name to
// path.
func predictSplit(task Task, name, path string) error {
	return writeRows(path, func(w rundir.RowWriter) error {
		rec, err := task.Predict(&pipeline.Batch{Split: name})
		if err != nil {
			return err
		}
		defer rec.Release()
		return w.Write(rec)
	})
}

// writeRows writes the rows fill gives to path, in the format of its
// extension (rundir.NewRowWriter), whole or not at all.
func writeRows(path string, fill func(w rundir.RowWriter) error) error {
	f, err := atomicfile.Create(path)
	if err != nil {
		return err
	}
	defer f.Abort()
	w, err := rundir.NewRowWriter(path, f)
	if err != nil {
		return err
	}
	if err := fill(w); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return f.Commit()
}

// collect keeps written rows in memory.
type collect struct{ rows []map[string]any }

func (c *collect) Write(rec arrow.RecordBatch) error {
	for i := range int(rec.NumRows()) {
		row := map[string]any{}
		for k, f := range rec.Schema().Fields() {
			row[f.Name] = rundir.Cell(rec.Column(k), i, true)
		}
		c.rows = append(c.rows, row)
	}
	return nil
}

func (c *collect) Close() error { return nil }

// PredictTexts predicts a few input strings and returns one row per text: the
// text and the task's output columns.
func PredictTexts(task Task, texts []string, tok *pipeline.Tokenizer, v pipeline.Vocabs) ([]map[string]any, error) {
	mem := memory.DefaultAllocator
	rb := array.NewInt64Builder(mem)
	tb := array.NewStringBuilder(mem)
	defer rb.Release()
	defer tb.Release()
	for i, t := range texts {
		rb.Append(int64(i))
		tb.Append(strings.TrimSpace(t))
	}
	rows, text := rb.NewArray(), tb.NewArray()
	defer rows.Release()
	defer text.Release()
	in := array.NewRecordBatch(pipeline.Schema([]pipeline.Role{pipeline.RoleText}), []arrow.Array{rows, text}, int64(len(texts)))
	defer in.Release()
	var c collect
	enc := &pipeline.Encoder{Tokenizer: tok, Vocabs: pipeline.Vocabs{Input: v.Input, Chars: v.Chars, Feature: v.Feature}}
	ids, _, err := enc.Encode(in)
	if err != nil {
		return nil, err
	}
	defer ids.Release()
	if err := predictRecord(context.Background(), task, noLock{}, in, ids, &c, 64, PredictOptions{}); err != nil {
		return nil, err
	}
	for _, row := range c.rows {
		delete(row, pipeline.RowField)
	}
	return c.rows, nil
}

// Loaded is a trained run opened for evaluation or prediction.
type Loaded struct {
	Dir    string
	Recipe *recipes.Recipe
	Task   Task
	Vocabs pipeline.Vocabs
	Tok    *pipeline.Tokenizer
}

// LoadRun opens the run in dir with its best weights, for inference: the task
// is frozen (Freezer). Only files inside dir are read: its recipe.yaml, vocab/
// and checkpoints/best. sets override the recipe's decoding options
// (recipes.DecodeKeys, such as task.beam=5); any other key is refused, since
// it would not describe the trained weights.
func LoadRun(dir string, reg *Registry, dataRoot string, sets ...string) (*Loaded, error) {
	rp := filepath.Join(dir, rundir.RecipeFile)
	if _, err := os.Stat(rp); err != nil {
		return nil, fmt.Errorf("%w %s: no %s here; give the folder a seqkit run wrote (-o)", rundir.ErrRunDir, dir, rundir.RecipeFile)
	}
	if err := rundir.Inside(dir, rundir.RecipeFile, "vocab", rundir.BestDir); err != nil {
		return nil, err
	}
	r, err := recipes.Load(rp, recipes.Options{Tasks: reg, SkipData: true, DataRoot: dataRoot, Alone: true})
	if err != nil {
		return nil, err
	}
	if len(sets) > 0 {
		if err := recipes.CheckDecodeSets(reg, r.Task.Type, sets); err != nil {
			return nil, err
		}
		if r, err = recipes.Load(rp, recipes.Options{Tasks: reg, SkipData: true, DataRoot: dataRoot, Alone: true, Sets: sets}); err != nil {
			return nil, err
		}
	}
	var v pipeline.Vocabs // none when the task trains on whole tables
	if !r.Data.Whole() {
		if v, err = rundir.LoadVocabs(rundir.VocabDir(dir), r.Data.Limits.Pipeline()); err != nil {
			return nil, err
		}
	}
	tok, err := pipeline.NewTokenizer(r.Data.Tokenizer.Pipeline())
	if err != nil {
		return nil, err
	}
	if err := checkSize(r, v); err != nil {
		return nil, err // vocabularies of a doctored folder, before the weights are allocated
	}
	if err := rundir.CheckVocabSums(filepath.Join(dir, rundir.BestDir), v); err != nil {
		return nil, err
	}
	task, err := reg.New(r.Task.Type)
	if err != nil {
		return nil, err
	}
	if err := task.Init(Setup{Recipe: r, Vocabs: v, Table: TableReader(context.Background(), r)}); err != nil {
		return nil, err
	}
	if err := task.Load(filepath.Join(dir, rundir.BestDir), false); err != nil {
		if errors.Is(err, nn.ErrCheckpoint) {
			err = fmt.Errorf("%w; the model folder is damaged, or its files come from different runs: copy it again from where it came from, or retrain", err)
		}
		return nil, err
	}
	if f, ok := task.(Freezer); ok {
		f.Freeze(true)
	}
	return &Loaded{Dir: dir, Recipe: r, Task: task, Vocabs: v, Tok: tok}, nil
}

// readable reports whether every file of src is there to read.
func readable(src pipeline.Source) bool {
	files := []string{src.Files.Text, src.Files.Tokens, src.Files.Tags, src.Files.Label, src.Files.Target, src.Files.Feature, src.Files.Vector}
	if src.Path != "" || len(src.Paths) > 0 {
		shards, err := src.Shards()
		if err != nil {
			return false
		}
		files = append(files, shards...)
	}
	for _, f := range files {
		if _, err := os.Stat(f); f != "" && err != nil {
			return false
		}
	}
	return true
}
