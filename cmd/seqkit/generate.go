package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/spf13/cobra"

	"github.com/seqkit/seqkit/model"
	"github.com/seqkit/seqkit/tasks"
)

// Long on purpose: a cobra command is its help, flags and run in one
// literal; the run checks every flag against the recipe's bounds.
func newGenerateCmd(e *env) *cobra.Command {
	var (
		dirs  []string
		judge string
		o     tasks.GenerateOptions
		asJS  bool
	)
	c := &cobra.Command{
		Use:   "generate -m RUN_DIR",
		Short: "Generate sequences with a trained generator (language model)",
		Long: `generate samples sequences from a run of the generate task: each starts at <bos>
(and the prefix, if given) and ends at <eos> or the maximum length. Temperature 0
takes the most likely token at every step; --top-k and --top-p sample among the
most likely tokens only. A model conditioned on a label generates for
--condition, or for each of its labels in turn; one conditioned on a vector
needs its numbers as --condition. A model of a text stream (train.bptt) starts
at a line break. Defaults come from the run's recipe; the same seed
gives the same sequences. --judge RUN_DIR classifies every generated sequence
with a trained classifier and reports the share assigned to the condition it was
generated for.`,
		Example: `  seqkit generate -m runs/names-lm --num 20
  seqkit generate -m runs/names-lm --temperature 0.7 --top-k 10 --prefix "mar"
  seqkit generate -m runs/names-lm --beam 10          # the 10 most likely names
  seqkit generate -m runs/names-lm-seeds --beam 10    # by the ensemble of a folder of seeds
  seqkit generate -m runs/names-by-language-gen --condition Italian --num 5 --json
  seqkit generate -m runs/names-by-language-gen --num 360 --judge runs/names-language
  seqkit generate -m runs/captions --condition "0.12 -0.5 0.33 0.9" --temperature 0`,
		Args: args(cobra.NoArgs),
		RunE: func(c *cobra.Command, _ []string) error {
			if len(dirs) == 0 {
				return usageError{fmt.Errorf("generate needs -m RUN_DIR")}
			}
			run, err := model.OpenEnsemble(dirs, model.Options{Registry: e.registry(), DataRoot: os.Getenv("SEQKIT_DATA")})
			if errors.Is(err, tasks.ErrEnsemble) {
				return usageError{err}
			}
			if err != nil {
				return err
			}
			gen, ok := run.Task().(tasks.Generator)
			if !ok {
				return usageError{fmt.Errorf("%s holds a %s model, which does not generate; train a recipe with task: {type: generate}", run.Dir(), run.Task().Info().Name)}
			}
			opts := gen.GenerateDefaults()
			f := c.Flags()
			if f.Changed("num") {
				opts.Num = o.Num
			}
			if f.Changed("max-len") {
				opts.MaxLen = o.MaxLen
			}
			if f.Changed("temperature") {
				opts.Temperature = o.Temperature
			}
			if f.Changed("top-k") {
				opts.TopK = o.TopK
			}
			if f.Changed("top-p") {
				opts.TopP = o.TopP
			}
			if f.Changed("seed") {
				opts.Seed = o.Seed
			}
			opts.Prefix, opts.Condition, opts.Beam = o.Prefix, o.Condition, o.Beam
			// The bounds are the recipe's (generate's samples and max_len,
			// seq2seq's beam): each sequence of a batch holds a row of logits.
			switch {
			case opts.Num < 1 || opts.Num > maxGenerate:
				return usageError{fmt.Errorf("--num must be in [1, %d], got %d", maxGenerate, opts.Num)}
			case opts.MaxLen < 1 || opts.MaxLen > maxGenerateLen:
				return usageError{fmt.Errorf("--max-len must be in [1, %d], got %d", maxGenerateLen, opts.MaxLen)}
			case !(opts.Temperature >= 0 && opts.Temperature <= 100):
				return usageError{fmt.Errorf("--temperature must be in [0, 100], got %g", opts.Temperature)}
			case opts.Beam < 0 || opts.Beam > maxBeam:
				return usageError{fmt.Errorf("--beam must be 0 (sampling) or up to %d, got %d", maxBeam, opts.Beam)}
			case opts.TopK < 0:
				return usageError{fmt.Errorf("--top-k must be 0 or more, got %d", opts.TopK)}
			case !(opts.TopP >= 0 && opts.TopP <= 1):
				return usageError{fmt.Errorf("--top-p must be in [0, 1], got %g", opts.TopP)}
			case len(opts.Prefix) > 1<<16 || len(opts.Condition) > 1<<20:
				return usageError{fmt.Errorf("--prefix is at most 64 KiB and --condition 1 MiB")}
			}
			out, err := gen.Generate(opts)
			if err != nil {
				return err
			}
			var judged []string
			if judge != "" {
				if judged, err = judgeAll(e, judge, out); err != nil {
					return err
				}
			}
			w := c.OutOrStdout()
			if asJS {
				enc := json.NewEncoder(w)
				for i, g := range out {
					row := struct {
						tasks.Generated
						Judged string `json:"judged,omitempty"`
					}{Generated: g}
					if judged != nil {
						row.Judged = judged[i]
					}
					if err := enc.Encode(row); err != nil {
						return err
					}
				}
				return nil
			}
			for _, g := range out {
				fmt.Fprintln(w, generatedLine(g))
			}
			if judged != nil {
				printJudged(w, out, judged)
			}
			return nil
		},
	}
	f := c.Flags()
	f.StringArrayVarP(&dirs, "model", "m", nil, "run directory of a trained generator, or a folder of seeds; repeat it to generate with an ensemble")
	f.IntVar(&o.Num, "num", 0, "sequences to generate (default: the recipe's samples)")
	f.IntVar(&o.MaxLen, "max-len", 0, "maximum generated tokens (default: the recipe's max_len)")
	f.Float64Var(&o.Temperature, "temperature", 0, "sampling temperature; 0 is greedy (default: the recipe's)")
	f.IntVar(&o.TopK, "top-k", 0, "sample among the k most likely tokens (0: all)")
	f.Float64Var(&o.TopP, "top-p", 0, "sample among the most likely tokens holding this much probability (0 or 1: all)")
	f.Uint64Var(&o.Seed, "seed", 0, "random seed (default: the recipe's train.seed)")
	f.StringVar(&o.Prefix, "prefix", "", "text every sequence starts with")
	f.StringVar(&o.Condition, "condition", "", "label to generate for, or the numbers of the vector (conditional models)")
	f.IntVar(&o.Beam, "beam", 0, "the K most likely sequences by beam search of width K instead of sampling (per label without --condition)")
	f.BoolVar(&asJS, "json", false, "write JSON Lines: text, condition, logprob, tokens (and judged)")
	f.StringVar(&judge, "judge", "", "run directory of a classifier that judges whether each sequence fits its condition")
	return c
}

// Bounds of the generate flags.
const (
	maxGenerate    = 10_000
	maxGenerateLen = 100_000
	maxBeam        = 100
)

func generatedLine(g tasks.Generated) string {
	if g.Condition != "" {
		return fmt.Sprintf("%s\t%s", g.Condition, g.Text)
	}
	return g.Text
}

func printGenerated(w io.Writer, gs []tasks.Generated) {
	if len(gs) == 0 {
		return
	}
	fmt.Fprintf(w, "generated (%d):\n", len(gs))
	for _, g := range gs {
		fmt.Fprintf(w, "  %s\n", generatedLine(g))
	}
}

// judgeAll classifies the generated texts with the classifier run in dir and
// returns the label it gives each.
func judgeAll(e *env, dir string, gs []tasks.Generated) ([]string, error) {
	run, err := model.Open(dir, model.Options{Registry: e.registry(), DataRoot: os.Getenv("SEQKIT_DATA")})
	if err != nil {
		return nil, fmt.Errorf("--judge: %w", err)
	}
	if run.Task().Info().Name != "classify" {
		return nil, usageError{fmt.Errorf("--judge %s holds a %s model; give a classify run", dir, run.Task().Info().Name)}
	}
	texts := make([]string, len(gs))
	for i, g := range gs {
		texts[i] = g.Text
	}
	rows, err := run.PredictTexts(texts)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i], _ = r["label"].(string)
	}
	return out, nil
}

// printJudged reports, per condition and overall, the share of sequences the
// judge assigned to the condition they were generated for.
func printJudged(w io.Writer, gs []tasks.Generated, judged []string) {
	type count struct{ n, same int }
	per := map[string]*count{}
	var conds []string
	var total count
	for i, g := range gs {
		c, ok := per[g.Condition]
		if !ok {
			c = &count{}
			per[g.Condition] = c
			conds = append(conds, g.Condition)
		}
		c.n++
		total.n++
		if judged[i] == g.Condition {
			c.same++
			total.same++
		}
	}
	slices.Sort(conds)
	fmt.Fprintf(w, "judged as their condition: %.1f%% of %d\n", 100*float64(total.same)/float64(max(total.n, 1)), total.n)
	for _, c := range conds {
		fmt.Fprintf(w, "  %-12s %5.1f%% of %d\n", c, 100*float64(per[c].same)/float64(per[c].n), per[c].n)
	}
}
