package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/seqkit/seqkit/internal/progress"
	"github.com/seqkit/seqkit/model"
	"github.com/seqkit/seqkit/pipeline"
	"github.com/seqkit/seqkit/scaleout"
	"github.com/seqkit/seqkit/tasks"

	"github.com/seqkit/seqkit/internal/atomicfile"
	"github.com/seqkit/seqkit/tasks/rundir"
)

func newEvalCmd(e *env) *cobra.Command {
	var (
		dirs                      []string
		split, dataRoot, cacheDir string
		asJSON                    bool
		sets                      []string
	)
	c := &cobra.Command{
		Use:   "eval -m RUN_DIR [-m RUN_DIR …]",
		Short: "Evaluate a trained run's best checkpoint, or an ensemble of runs, on a split of its recipe",
		Long: `eval scores the best checkpoint of a run on a split of its recipe's data.
Several -m, or a folder of seeds (seqkit run --seeds), evaluate their ensemble: the
models must share task, vocabularies and tokenizer. A classifier's ensemble averages
the class probabilities; a tagger's averages a CRF's emissions and transitions (a
softmax head's probabilities); seq2seq and generate average the next-token
probabilities at every decoding step. Each member is evaluated too, and their mean
printed beside the ensemble's. --set changes how the model decodes and scores,
with the task options that leave the trained weights alone: task.beam,
task.length_penalty, task.max_len_a and task.max_len_b for seq2seq,
task.constrain for a CRF tagger, task.threshold for a multi-label classifier.
Any other key is refused by name.`,
		Example: `  seqkit eval -m runs/taipei
  seqkit eval -m runs/taipei --split dev --json
  seqkit eval -m runs/cmudict-g2p --set task.beam=5   # trained greedily, scored with a beam
  seqkit eval -m runs/chunk-seeds          # the ensemble of a folder of seeds
  seqkit eval -m runs/g2p-a -m runs/g2p-b`,
		Args: args(cobra.NoArgs),
		RunE: func(c *cobra.Command, _ []string) error {
			if len(dirs) == 0 {
				return usageError{fmt.Errorf("eval needs the run directory: -m RUN_DIR")}
			}
			if split != "train" && split != "dev" && split != "test" {
				return usageError{fmt.Errorf("--split %q: want train, dev or test", split)}
			}
			if dataRoot == "" {
				dataRoot = os.Getenv("SEQKIT_DATA")
			}
			run, err := model.OpenEnsemble(dirs, model.Options{Registry: e.registry(), DataRoot: dataRoot, Sets: sets})
			if errors.Is(err, tasks.ErrEnsemble) {
				return usageError{err}
			}
			if err != nil {
				return err
			}
			dir := run.Dir()
			data, err := tasks.Prepare(run.Recipe(), dir, tasks.PrepareOptions{CacheDir: cacheDir, Splits: []string{split}, Context: c.Context()})
			if err != nil {
				return err
			}
			defer data.Close()
			ds := map[string]*pipeline.Dataset{"train": data.Train, "dev": data.Dev, "test": data.Test}[split]
			if ds == nil && !data.Whole {
				return usageError{fmt.Errorf("the recipe in %s has no %s split", filepath.Join(dir, rundir.RecipeFile), split)}
			}
			evaluate := func(task tasks.Task) (tasks.Metrics, error) {
				m, err := task.Evaluate(tasks.Until(c.Context(), tasks.SplitBatches(data, split, run.Recipe())))
				if err == nil && c.Context().Err() != nil {
					err = context.Cause(c.Context())
				}
				return m, err
			}
			m, err := evaluate(run.Task())
			if err != nil {
				return err
			}
			main, out := run.Task().Info().Metric, c.OutOrStdout()
			res := map[string]any{"split": split, "metrics": m}
			members := run.Members()
			var mean map[string]rundir.Stat
			if len(members) > 1 {
				each := make([]tasks.Metrics, len(members))
				for i, mm := range members {
					if each[i], err = evaluate(mm.Task()); err != nil {
						return fmt.Errorf("member %s: %w", mm.Dir(), err)
					}
				}
				mean = rundir.Summarize(each)
				res["members"], res["members_mean"] = each, mean
			}
			switch {
			case asJSON:
				b, _ := json.Marshal(res)
				fmt.Fprintln(out, string(b))
			case mean == nil:
				fmt.Fprintf(out, "%s: %s\n", split, metricsText(m, main))
			default:
				fmt.Fprintf(out, "%s, ensemble of %d: %s\n", split, len(members), metricsText(m, main))
				fmt.Fprintf(out, "%s, members' mean ± std: %s\n", split, statsText(mean, main))
			}
			return nil
		},
	}
	c.Flags().StringArrayVarP(&dirs, "model", "m", nil, "run directory written by seqkit run or train, or a folder of seeds; repeat it for an ensemble")
	c.Flags().StringVar(&split, "split", "test", "split to evaluate: train, dev or test")
	c.Flags().StringVar(&dataRoot, "data-root", "", "data root for recipes that use ${data}")
	c.Flags().StringVar(&cacheDir, "cache-dir", "", "folder for encoded datasets")
	c.Flags().BoolVar(&asJSON, "json", false, "print the metrics as JSON")
	c.Flags().StringArrayVar(&sets, "set", nil, "change a decoding option of the model, KEY=VALUE (repeatable), e.g. --set task.beam=5")
	return c
}

// Long on purpose: a cobra command is its help, flags and run in one literal.
func newPredictCmd(e *env) *cobra.Command {
	var (
		dirs           []string
		output, format string
		inputs         []string
		cols           pipeline.Columns
		batch          int
		attention      string
		outFormat      string
		sets           []string
		beam           beamFlags
	)
	c := &cobra.Command{
		Use:   "predict -m RUN_DIR --input FILE|GLOB|DIR --output FILE|DIR [--runner R [-- RUNNER FLAGS]]",
		Short: "Predict a file (or stdin) in batch with a trained run, streaming",
		Long: `predict reads any input format the pipeline reads (text lines, CSV, TSV, JSON Lines,
CoNLL, Parquet, Arrow), record batch by record batch, and writes the input columns
with the predictions as JSON Lines, CSV, TSV or Parquet, chosen by the output
file's extension. --input - reads text lines from stdin; --output - writes JSON
Lines to stdout. Memory stays bounded whatever the size of the input.
The input may be sharded: a glob, a folder of shards, or --input given several
times; .gz and .zst files are read by extension. The rows of a sharded input
keep their order key, the shard and row columns.
Several -m, or a folder of seeds, predict as their ensemble (see seqkit eval --help).
--set changes how the model decodes, as for seqkit eval (task.beam=5, …).
--attention DIR writes, for a seq2seq model, the attention weights behind every
prediction as DIR/attention-ROW.json and a heat map DIR/attention-ROW.png.

With --runner it runs as an Apache Beam job: --output is then a folder that receives
one output shard per input shard (part-00000.jsonl, …, rows in input order, each with
its shard and row), rejects/ (bad rows with their shard, row and reason, counted, not
fatal) and _manifest.json, written last. The predictions are those of one process.`,
		Example: `  seqkit predict -m runs/taipei --input requests.txt --output tags.jsonl
  echo "arrive Taipei on November 2nd" | seqkit predict -m runs/taipei --input - --output -
  seqkit predict -m runs/intent --input test.csv --text utterance --output out.parquet
  seqkit predict -m runs/intent --input 'shards/part-*.jsonl.gz' --text text --output out.jsonl
  echo "seqkit" | seqkit predict -m runs/cmudict-g2p --input - --output - --attention att/
  seqkit predict -m runs/intent --input 'shards/*.jsonl.gz' --output preds/ --runner prism
  seqkit predict -m runs/intent-seeds --input test.csv --output out.jsonl   # the ensemble of its seeds`,
		Args: args(cobra.ArbitraryArgs),
		RunE: func(c *cobra.Command, all []string) error {
			_, runnerArgs, err := beam.split(c, all, 0)
			if err != nil {
				return err
			}
			if len(dirs) == 0 || len(inputs) == 0 || output == "" {
				return usageError{fmt.Errorf("predict needs -m RUN_DIR, --input FILE and --output FILE")}
			}
			if batch < 1 || batch > 100_000 {
				return usageError{fmt.Errorf("--batch-size must be in [1, 100000], got %d", batch)}
			}
			m, err := model.OpenEnsemble(dirs, model.Options{Registry: e.registry(), DataRoot: os.Getenv("SEQKIT_DATA"), BatchSize: batch, AttentionDir: attention, Sets: sets})
			if errors.Is(err, model.ErrNoAttention) || errors.Is(err, tasks.ErrEnsemble) {
				return usageError{fmt.Errorf("--attention: %w", err)}
			}
			if err != nil {
				return err
			}
			if err := m.PredictsExamples(); err != nil {
				return usageError{err}
			}
			input := inputs[0]
			src := pipeline.Source{Path: input, Format: pipeline.Format(format), Columns: cols}
			if len(inputs) > 1 {
				src.Path, src.Paths = "", inputs
				if slices.Contains(inputs, "-") {
					return usageError{fmt.Errorf("--input - (stdin) cannot be one of several inputs")}
				}
			}
			if input == "-" {
				src.Path, src.Format = "/dev/stdin", pipeline.Text
			}
			if src.Format == "" {
				f, err := src.DetectFormat()
				if err != nil {
					return usageError{fmt.Errorf("%w; name it with --format", err)}
				}
				src.Format = f
			}
			src = m.Source(src)
			if beam.runner != "" {
				job := scaleout.PredictJob{Models: dirs, Input: src, Out: output, Ext: "." + outFormat, BatchSize: batch, Sets: sets}
				return predictBeam(c, e, &beam, job, attention, runnerArgs)
			}
			if output != "-" && input != "-" {
				// The output replaces its file at the end: naming the input
				// there would lose it.
				shards, err := src.Shards()
				if err != nil {
					return err
				}
				b, errB := os.Stat(output)
				for _, in := range shards {
					if a, errA := os.Stat(in); errA == nil && errB == nil && os.SameFile(a, b) {
						return usageError{fmt.Errorf("--output %s is the input file: predicting would overwrite it; write elsewhere", output)}
					}
				}
			}
			var out io.Writer = os.Stdout
			var file *atomicfile.File
			if output != "-" {
				if file, err = atomicfile.Create(output); err != nil {
					return err
				}
				e.temp(file.Name())
				defer file.Abort()
				out = file
			}
			w, err := rundir.NewRowWriter(output, out)
			if err != nil {
				return usageError{err}
			}
			ropts := []pipeline.Option{pipeline.WithLimits(m.Recipe().Data.Limits.Pipeline()), pipeline.WithContext(c.Context())}
			if input != "-" {
				report, finish := progress.Bar(os.Stderr, "predict "+filepath.Base(input))
				defer finish()
				ropts = append(ropts, pipeline.WithProgress(report))
			}
			rd, err := pipeline.Open(src, ropts...)
			if err != nil {
				return err
			}
			defer rd.Release()
			preds, err := m.Predict(c.Context(), rd)
			if err != nil {
				return err
			}
			defer preds.Release()
			n, err := rundir.WriteAll(w, preds)
			if err != nil {
				return err
			}
			if err := w.Close(); err != nil {
				return err
			}
			if file != nil {
				if err := file.Commit(); err != nil {
					return err
				}
				fmt.Fprintf(c.ErrOrStderr(), "predicted %d rows → %s\n", n, output)
			}
			return nil
		},
	}
	c.Flags().StringArrayVarP(&dirs, "model", "m", nil, "run directory written by seqkit run or train, or a folder of seeds; repeat it for an ensemble")
	c.Flags().StringArrayVar(&inputs, "input", nil, "input file, glob or folder of shards (repeat for a list), or - for text lines on stdin")
	c.Flags().StringVar(&output, "output", "", "output file (.jsonl, .csv, .tsv, .parquet), or - for JSON Lines on stdout")
	c.Flags().StringVar(&format, "format", "", "input format: "+strings.Join(formats(), ", ")+" (default: from the extension)")
	c.Flags().StringVar(&cols.Text, "text", "", "input column holding the text")
	c.Flags().StringVar(&cols.Tokens, "tokens", "", "input column holding pre-split tokens")
	c.Flags().StringVar(&cols.Feature, "feature", "", "input column holding the per-token feature the model reads (e.g. POS)")
	c.Flags().StringVar(&cols.Label, "label", "", "input column holding the label a conditional generator generates for")
	c.Flags().StringVar(&cols.Vector, "vector", "", "input column holding the vector a conditional generator generates for")
	c.Flags().IntVar(&batch, "batch-size", 64, "sequences per prediction batch")
	c.Flags().StringVar(&attention, "attention", "", "folder for the attention weights and heat maps of every prediction (seq2seq)")
	c.Flags().StringArrayVar(&sets, "set", nil, "change a decoding option of the model, KEY=VALUE (repeatable), e.g. --set task.beam=5")
	c.Flags().StringVar(&outFormat, "output-format", "jsonl", "with --runner: the format of the output shards (jsonl, csv, tsv or parquet)")
	beam.add(c)
	return c
}

// predictBeam runs the prediction job, whose paths it makes absolute for the
// workers, as a Beam job into the folder job.Out.
func predictBeam(c *cobra.Command, e *env, b *beamFlags, job scaleout.PredictJob, attention string, runnerArgs []string) error {
	if job.Out == "-" || job.Input.Path == "/dev/stdin" || attention != "" {
		return usageError{fmt.Errorf("--runner reads files and writes a folder of shards: no stdin, stdout or --attention")}
	}
	if !slices.Contains([]string{".jsonl", ".csv", ".tsv", ".parquet"}, job.Ext) {
		return usageError{fmt.Errorf("--output-format %q: want jsonl, csv, tsv or parquet", strings.TrimPrefix(job.Ext, "."))}
	}
	var err error
	if job.Input, err = absSource(job.Input); err != nil {
		return err
	}
	models := make([]string, len(job.Models))
	for i, d := range job.Models {
		if models[i], err = filepath.Abs(d); err != nil {
			return err
		}
	}
	job.Models = models
	if job.Out, err = filepath.Abs(job.Out); err != nil {
		return err
	}
	if err := scaleout.BeginPredict(job.Out); err != nil {
		return err
	}
	counts, err := e.runBeam(c.Context(), b, scaleout.Job{Predict: &job}, runnerArgs)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.ErrOrStderr(), "predicted %d rows → %s", counts.Rows, job.Out)
	if counts.Rejected > 0 {
		fmt.Fprintf(c.ErrOrStderr(), " (%d bad rows rejected: %s)", counts.Rejected, filepath.Join(job.Out, scaleout.RejectsDir))
	}
	fmt.Fprintln(c.ErrOrStderr())
	return nil
}

func formats() []string {
	return []string{"text", "csv", "tsv", "jsonl", "conll", "parquet", "arrow", "arrows"}
}
