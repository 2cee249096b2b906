package main

import (
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/seqkit/seqkit/internal/progress"
	"github.com/seqkit/seqkit/pipeline"
	"github.com/seqkit/seqkit/tasks"
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
		format   string
		cols     pipeline.Columns
		tok      pipeline.TokenizerConfig
		noHeader bool
	)
	c := &cobra.Command{
		Use:   "inspect FILE|GLOB|DIR...",
		Short: "Summarise a data file: rows, tokens, lengths, vocabulary, labels and tags",
		Example: `  seqkit data inspect ../shared/datasets/conll2000/train.txt --format conll
  seqkit data inspect reviews.csv --text review --label sentiment
  seqkit data inspect names.txt --tokenizer char
  seqkit data inspect 'corpus/train-*.jsonl.gz' --text text --label label`,
		Args: args(cobra.MinimumNArgs(1)),
		RunE: func(c *cobra.Command, a []string) error {
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
			}
			if cols == (pipeline.Columns{}) && src.Format != pipeline.CoNLL && src.Format != pipeline.Text {
				src.Columns.Text = "text"
			}
			t, err := pipeline.NewTokenizer(tok)
			if err != nil {
				return usageError{err}
			}
			report, finish := progress.Bar(os.Stderr, "reading")
			v, err := pipeline.VocabsOf(src, t, pipeline.VocabConfig{}, pipeline.WithProgress(report), pipeline.WithContext(c.Context()))
			finish()
			if err != nil {
				return err
			}
			tmp, err := os.MkdirTemp("", "seqkit-inspect")
			if err != nil {
				return err
			}
			e.temp(tmp)
			defer os.RemoveAll(tmp)
			ds, rep, err := pipeline.Cache{Dir: tmp}.Prepare(src, &pipeline.Encoder{Tokenizer: t, Vocabs: v}, 0, pipeline.WithContext(c.Context()))
			if err != nil {
				return err
			}
			defer ds.Close()
			printSummary(c.OutOrStdout(), strings.Join(a, " "), pipeline.Summarize(ds, v), v, rep)
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
	return c
}

func printSummary(w io.Writer, name string, s pipeline.Summary, v pipeline.Vocabs, rep pipeline.Report) {
	fmt.Fprintf(w, "%s\n", name)
	fmt.Fprintf(w, "  rows        %d\n", s.Rows)
	fmt.Fprintf(w, "  tokens      %d (vocabulary %d with specials)\n", s.Tokens, v.Input.Len())
	fmt.Fprintf(w, "  length      min %d  p50 %d  p90 %d  p99 %d  max %d  mean %.1f\n", s.MinLen, s.P50, s.P90, s.P99, s.MaxLen, s.MeanLen)
	if v.Target != nil {
		fmt.Fprintf(w, "  target      %d tokens, vocabulary %d\n", rep.TargetTokens, v.Target.Len())
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
	var out, cacheDir string
	c := &cobra.Command{
		Use:   "prepare RECIPE [-o DIR]",
		Short: "Build a recipe's vocabularies and encode its splits, without training",
		Long: `prepare reads a recipe's splits, builds the vocabularies from the training split and
encodes every split. With -o DIR it writes a prepared dataset that you own: DIR/vocab/,
each split as Arrow IPC shards (DIR/train/part-00000.arrow, one per input shard),
DIR/data.yaml (the data section it was prepared from) and DIR/manifest.json, written
last, so a half-written folder is never taken for a dataset. A recipe with
data.prepared: DIR trains from it without reading the sources again. Without -o the
splits are encoded into the cache that train and run use.`,
		Example: `  seqkit data prepare my.yaml -o data/my-prepared
  seqkit data prepare taipei`,
		Args: args(cobra.ExactArgs(1)),
		RunE: func(c *cobra.Command, a []string) error {
			r, err := f.load(a[0], false)
			if err != nil {
				return err
			}
			rep, _ := newReporter(os.Stderr, "text")
			opt := tasks.PrepareOptions{CacheDir: cacheDir, Progress: rep.progress, Context: c.Context()}
			w := c.OutOrStdout()
			if out != "" {
				m, err := tasks.PrepareDataset(r, out, opt)
				if err != nil {
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
