package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/seqkit/seqkit/internal/progress"
	"github.com/seqkit/seqkit/pipeline"
	"github.com/seqkit/seqkit/scaleout"
	"github.com/seqkit/seqkit/tasks"
	"github.com/seqkit/seqkit/tasks/prepared"
)

func newDataCmd(e *env) *cobra.Command {
	c := &cobra.Command{
		Use:   "data",
		Short: "Inspect data files and prepare a recipe's data",
		Example: `  seqkit data inspect train.conll
  seqkit data prepare my.yaml`,
	}
	c.AddCommand(newInspectCmd(e), newPrepareCmd(e))
	return c
}

func newInspectCmd(e *env) *cobra.Command {
	var (
		format, vocab, output string
		cols                  pipeline.Columns
		tok                   pipeline.TokenizerConfig
		noHeader              bool
		beam                  beamFlags
	)
	c := &cobra.Command{
		Use:   "inspect FILE|GLOB|DIR... [--runner R [-- RUNNER FLAGS]]",
		Short: "Summarise a data file: rows, tokens, lengths, vocabulary, labels and tags",
		Long: `inspect reads a data file, a glob or folder of shards, or several files, and prints
its rows, tokens, length percentiles, vocabulary size, label and tag counts and, with
--vocab, the share of tokens missing from a vocabulary. The format comes from
--format or the extension; a .txt file whose lines hold a fixed number of columns
with blank lines between sentences is read as CoNLL, and inspect says so. With
--runner it runs as an Apache Beam job, shard by shard, with the same result.`,
		Example: `  seqkit data inspect ../shared/datasets/conll2000/train.txt   # a CoNLL file named .txt: sniffed
  seqkit data inspect reviews.csv --text review --label sentiment
  seqkit data inspect names.txt --tokenizer char
  seqkit data inspect 'corpus/train-*.jsonl.gz' --text text --label label --vocab runs/x/vocab/input.txt
  seqkit data inspect 'corpus/train-*.jsonl.gz' --text text --runner prism`,
		Args: args(cobra.ArbitraryArgs),
		RunE: func(c *cobra.Command, all []string) error {
			a, runnerArgs, err := beam.split(c, all, -1)
			if err != nil {
				return err
			}
			src := pipeline.Source{Path: a[0], Format: pipeline.Format(format), Columns: cols, NoHeader: noHeader}
			if len(a) > 1 {
				src.Path, src.Paths = "", a
			}
			if src.Format == "" {
				f, err := src.DetectFormat()
				if err != nil && strings.Contains(err.Error(), "extension") {
					return usageError{fmt.Errorf("%w; name it with --format", err)}
				}
				if err != nil {
					return err
				}
				src.Format = f
				// A .txt file may be a CoNLL column file (CoNLL-2000's
				// train.txt): read as lines, it would count every token
				// line as an example.
				if f == pipeline.Text && !src.Sharded() && cols == (pipeline.Columns{}) {
					if n, ok := pipeline.SniffCoNLL(src.Path); ok {
						src.Format = pipeline.CoNLL
						fmt.Fprintf(c.ErrOrStderr(), "%s looks like a CoNLL file (%d columns on every line, blank lines between sentences): read as CoNLL, tokens in column 1 and tags in the last; --format text reads it as lines\n", src.Path, n)
					}
				}
			}
			if cols == (pipeline.Columns{}) && src.Format != pipeline.CoNLL && src.Format != pipeline.Text {
				src.Columns.Text = "text"
			}
			t, err := pipeline.NewTokenizer(tok)
			if err != nil {
				return usageError{err}
			}
			var voc *pipeline.Vocab
			if vocab != "" {
				if voc, err = pipeline.LoadVocab(vocab, 0); err != nil {
					return err
				}
			}
			var p pipeline.Profile
			if beam.runner != "" {
				if p, err = inspectBeam(c.Context(), e, &beam, src, tok, vocab, output, runnerArgs); err != nil {
					return err
				}
			} else {
				report, finish := progress.Bar(os.Stderr, "reading")
				r, err := pipeline.Open(src, pipeline.WithProgress(report), pipeline.WithContext(c.Context()))
				if err != nil {
					finish()
					return err
				}
				p, err = pipeline.ProfileRecords(r, t, voc, pipeline.Limits{})
				r.Release()
				finish()
				if err != nil {
					return err
				}
			}
			printSummary(c.OutOrStdout(), strings.Join(a, " "), p, voc, vocab)
			return nil
		},
	}
	c.Flags().StringVar(&format, "format", "", "input format: "+fmt.Sprint(formats())+" (default: from the extension)")
	c.Flags().StringVar(&cols.Text, "text", "", "column of the text")
	c.Flags().StringVar(&cols.Tokens, "tokens", "", "column of pre-split tokens (CoNLL: a column number)")
	c.Flags().StringVar(&cols.Tags, "tags", "", "column of the tags (CoNLL: a column number)")
	c.Flags().StringVar(&cols.Label, "label", "", "column of the label")
	c.Flags().StringVar(&cols.Target, "target", "", "column of the target text")
	c.Flags().BoolVar(&noHeader, "no-header", false, "CSV/TSV without a header row (columns by number)")
	c.Flags().StringVar(&tok.Kind, "tokenizer", "whitespace", "whitespace, char or regex")
	c.Flags().StringVar(&tok.Pattern, "pattern", "", "token pattern for --tokenizer regex")
	c.Flags().BoolVar(&tok.Lower, "lower", false, "lower-case first")
	c.Flags().StringVar(&vocab, "vocab", "", "a vocabulary file (one token per line, as a run's vocab/input.txt) to measure the OOV rate against")
	c.Flags().StringVar(&output, "output", "", "with --runner: the file the job writes its summary to (JSON), on a filesystem the workers share (default: a temporary file, for prism)")
	beam.add(c)
	return c
}

// inspectBeam runs the inspection as a Beam job and reads its profile.
func inspectBeam(ctx context.Context, e *env, b *beamFlags, src pipeline.Source, tok pipeline.TokenizerConfig, vocab, output string, runnerArgs []string) (pipeline.Profile, error) {
	p := pipeline.NewProfile()
	if output == "" {
		f, err := os.CreateTemp("", "seqkit-inspect-*.json")
		if err != nil {
			return p, err
		}
		f.Close()
		output = f.Name()
		e.temp(output)
		defer os.Remove(output)
	}
	var err error
	if output, err = filepath.Abs(output); err != nil {
		return p, err
	}
	if src, err = absSource(src); err != nil {
		return p, err
	}
	if vocab != "" {
		if vocab, err = filepath.Abs(vocab); err != nil {
			return p, err
		}
	}
	job := scaleout.Job{Inspect: &scaleout.InspectJob{Input: src, Tokenizer: tok, Vocab: vocab, Out: output}}
	if _, err := e.runBeam(ctx, b, job, runnerArgs); err != nil {
		return p, err
	}
	data, err := pipeline.ReadFileLimited(output, 1<<30)
	if err != nil {
		return p, err
	}
	if err := json.Unmarshal(data, &p); err != nil {
		return p, fmt.Errorf("%s: %w", output, err)
	}
	return p, nil
}

// absSource makes a source's paths absolute: a job's workers do not share
// seqkit's working folder.
func absSource(src pipeline.Source) (pipeline.Source, error) {
	var err error
	abs := func(p *string) {
		if *p != "" && err == nil {
			*p, err = filepath.Abs(*p)
		}
	}
	abs(&src.Path)
	src.Paths = slices.Clone(src.Paths)
	for i := range src.Paths {
		abs(&src.Paths[i])
	}
	return src, err
}

func printSummary(w io.Writer, name string, p pipeline.Profile, voc *pipeline.Vocab, vocabFile string) {
	s := p.Summary()
	fmt.Fprintf(w, "%s\n", name)
	fmt.Fprintf(w, "  rows        %d\n", s.Rows)
	fmt.Fprintf(w, "  tokens      %d (vocabulary %d with specials)\n", s.Tokens, len(p.Input)+len(pipeline.Specials))
	fmt.Fprintf(w, "  length      min %d  p50 %d  p90 %d  p99 %d  max %d  mean %.1f\n", s.MinLen, s.P50, s.P90, s.P99, s.MaxLen, s.MeanLen)
	if voc != nil {
		fmt.Fprintf(w, "  oov         %.2f%% of tokens not in %s (%d entries)\n", 100*s.OOVRate, vocabFile, voc.Len())
	}
	if len(p.Target) > 0 {
		var n int
		for _, c := range p.Target {
			n += c
		}
		fmt.Fprintf(w, "  target      %d tokens, vocabulary %d\n", n, len(p.Target)+len(pipeline.Specials))
	}
	for _, d := range []struct {
		name string
		m    map[string]int
	}{{"labels", s.Labels}, {"tags", s.Tags}} {
		if len(d.m) == 0 {
			continue
		}
		total := 0
		keys := make([]string, 0, len(d.m))
		for k, n := range d.m {
			keys = append(keys, k)
			total += n
		}
		slices.SortFunc(keys, func(a, b string) int { return d.m[b] - d.m[a] })
		fmt.Fprintf(w, "  %-11s %d distinct\n", d.name, len(keys))
		for i, k := range keys {
			if i == 15 {
				fmt.Fprintf(w, "    … %d more\n", len(keys)-15)
				break
			}
			fmt.Fprintf(w, "    %-30s %7d  %5.1f%%\n", k, d.m[k], 100*float64(d.m[k])/float64(total))
		}
	}
}

func newPrepareCmd(e *env) *cobra.Command {
	f := recipeFlags{env: e}
	var (
		out, cacheDir string
		beam          beamFlags
	)
	c := &cobra.Command{
		Use:   "prepare RECIPE [-o DIR] [--runner R [-- RUNNER FLAGS]]",
		Short: "Build a recipe's vocabularies and encode its splits, without training",
		Long: `prepare reads a recipe's splits, builds the vocabularies from the training split and
encodes every split. With -o DIR it writes a prepared dataset that you own: DIR/vocab/,
each split as Arrow IPC shards (DIR/train/part-00000.arrow, one per input shard),
DIR/data.yaml (the data section it was prepared from) and DIR/manifest.json, written
last, so a half-written folder is never taken for a dataset. A recipe with
data.prepared: DIR trains from it without reading the sources again. Without -o the
splits are encoded into the cache that train and run use.

With --runner (and -o) the same dataset, byte for byte, is written by an Apache Beam
job: prism runs it on this machine; flink, spark, dataflow and universal on a cluster
whose workers see DIR and the sources at the same paths.`,
		Example: `  seqkit data prepare my.yaml -o data/my-prepared
  seqkit data prepare taipei
  seqkit data prepare my.yaml -o data/my-prepared --runner prism
  seqkit data prepare my.yaml -o /shared/my-prepared --runner flink -- --endpoint=localhost:8099 --environment_type=LOOPBACK`,
		Args: args(cobra.ArbitraryArgs),
		RunE: func(c *cobra.Command, all []string) error {
			a, runnerArgs, err := beam.split(c, all, 1)
			if err != nil {
				return err
			}
			if beam.runner != "" && out == "" {
				return usageError{fmt.Errorf("--runner writes a prepared dataset: give -o DIR")}
			}
			r, err := f.load(a[0], false)
			if err != nil {
				return err
			}
			rep, _ := newReporter(os.Stderr, "text")
			opt := tasks.PrepareOptions{CacheDir: cacheDir, Progress: rep.progress, Context: c.Context()}
			w := c.OutOrStdout()
			if out != "" {
				var m *prepared.Manifest
				if beam.runner != "" {
					job, err := scaleout.NewPrepareJob(r, out)
					if err != nil {
						return err
					}
					for name, src := range job.Splits {
						if job.Splits[name], err = absSource(src); err != nil {
							return err
						}
					}
					if _, err := e.runBeam(c.Context(), &beam, scaleout.Job{Prepare: job}, runnerArgs); err != nil {
						return err
					}
					if m, err = prepared.Open(out); err != nil {
						return err
					}
				} else if m, err = tasks.PrepareDataset(r, out, opt); err != nil {
					return err
				}
				reports := map[string]pipeline.Report{}
				for name, sp := range m.Splits {
					reports[name] = pipeline.Report{EncodeStats: sp.Stats, Skipped: sp.Skipped}
				}
				v, err := m.LoadVocabs(out, r.Data.Limits.Pipeline())
				if err != nil {
					return err
				}
				printPrepared(w, reports, v)
				fmt.Fprintf(w, "prepared dataset: %s (train with data.prepared: %s)\n", out, out)
				return nil
			}
			tmp, err := os.MkdirTemp("", "seqkit-prepare")
			if err != nil {
				return err
			}
			e.temp(tmp)
			defer os.RemoveAll(tmp)
			data, err := tasks.Prepare(r, tmp, opt)
			if err != nil {
				return err
			}
			defer data.Close()
			printPrepared(w, data.Reports, data.Vocabs)
			return nil
		},
	}
	f.add(c)
	c.Flags().StringVarP(&out, "output", "o", "", "folder to write the prepared dataset to")
	c.Flags().StringVar(&cacheDir, "cache-dir", "", "folder for encoded datasets without -o (default: the user cache folder)")
	beam.add(c)
	return c
}

// printPrepared prints what preparing each split found.
func printPrepared(w io.Writer, reports map[string]pipeline.Report, v pipeline.Vocabs) {
	for _, name := range []string{"train", "dev", "test"} {
		rp, ok := reports[name]
		if !ok {
			continue
		}
		state := "encoded"
		if rp.Cached {
			state = "cached"
		}
		fmt.Fprintf(w, "%-5s %7d rows %9d tokens  OOV %.2f%%  %s\n", name, rp.Rows, rp.Tokens, 100*rp.OOVRate(), state)
		for _, u := range []struct {
			kind string
			m    map[string]int
		}{{"tag", rp.UnknownTags}, {"label", rp.UnknownLabels}} {
			for _, k := range slices.Sorted(maps.Keys(u.m)) {
				fmt.Fprintf(w, "      %s %q not in training data: %d\n", u.kind, k, u.m[k])
			}
		}
	}
	fmt.Fprintf(w, "vocabulary: %d input tokens", v.Input.Len())
	if v.Tags != nil {
		fmt.Fprintf(w, ", %d tags", v.Tags.Len())
	}
	if v.Labels != nil {
		fmt.Fprintf(w, ", %d labels", v.Labels.Len())
	}
	fmt.Fprintln(w)
}
