package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/seqkit/seqkit/recipes"
	"github.com/seqkit/seqkit/tasks"
	"github.com/seqkit/seqkit/tasks/rundir"
)

// recipeFlags are the flags of every command that loads a recipe.
type recipeFlags struct {
	env      *env // the task types, plugins included
	sets     []string
	dataRoot string
}

func (f *recipeFlags) add(c *cobra.Command) {
	c.Flags().StringArrayVar(&f.sets, "set", nil, "override a recipe key, KEY=VALUE (repeatable), e.g. --set model.hidden=256")
	c.Flags().StringVar(&f.dataRoot, "data-root", "", "folder of the public datasets that built-in recipes use (default $"+recipes.DataRootEnv+", else "+recipes.DefaultDataRoot+")")
}

func (f *recipeFlags) root() string {
	if f.dataRoot != "" {
		return f.dataRoot
	}
	return os.Getenv(recipes.DataRootEnv)
}

func (f *recipeFlags) load(path string, skipData bool) (*recipes.Recipe, error) {
	return recipes.Load(path, recipes.Options{Sets: f.sets, DataRoot: f.root(), Tasks: f.env.registry(), SkipData: skipData})
}

// runFlags are the flags of run and train.
type runFlags struct {
	recipeFlags
	out       string
	force     bool
	resume    bool
	initFrom  string
	cacheDir  string
	logFormat string
}

func newRunCmd(e *env, full bool) *cobra.Command {
	f := runFlags{recipeFlags: recipeFlags{env: e}}
	c := &cobra.Command{
		Use:   "run [RECIPE]",
		Short: "Train a recipe, evaluate it on test and write a report (default: the Taipei demo)",
		Long: `run trains the recipe (a file, or the name of a built-in recipe), evaluates the best
checkpoint on the dev and test splits, writes test predictions, learning curves and
report.md into the run directory, and prints the recipe's example predictions.
With no RECIPE it runs the built-in Taipei demo.

The run directory (-o, default runs/NAME) holds the effective recipe, the
vocabularies, checkpoints/best and checkpoints/last, metrics.jsonl and the report.`,
		Example: `  seqkit run
  seqkit run recipes/my.yaml -o runs/exp1 --set train.epochs=3
  seqkit run recipes/my.yaml -o runs/exp1 --resume     # after an interruption`,
		Args: args(cobra.MaximumNArgs(1)),
	}
	if !full {
		c.Use = "train RECIPE"
		c.Short = "Train a recipe (no test evaluation or report)"
		c.Long = "train trains the recipe and keeps the best and last checkpoints in the run directory;\nseqkit eval evaluates it later."
		c.Example = "  seqkit train my.yaml -o runs/exp1\n  seqkit train my.yaml -o runs/exp2 --init-from runs/exp1"
		c.Args = args(cobra.ExactArgs(1))
	}
	f.add(c)
	c.Flags().StringVarP(&f.out, "output", "o", "", "run directory (default: output.dir of the recipe, else a new runs/NAME)")
	c.Flags().BoolVar(&f.force, "force", false, "replace an existing run directory (not one in use, and only if it holds nothing but a run's own files)")
	c.Flags().BoolVar(&f.resume, "resume", false, "continue the run in -o from its last checkpoint (a run killed before its first one starts again)")
	c.Flags().StringVar(&f.initFrom, "init-from", "", "start from the best weights of another run directory")
	c.Flags().StringVar(&f.cacheDir, "cache-dir", "", "folder for encoded datasets (default: the user cache folder)")
	c.Flags().StringVar(&f.logFormat, "log-format", "text", "progress output: text or json")
	c.RunE = func(c *cobra.Command, a []string) error {
		name := recipes.DefaultRecipe
		if len(a) > 0 {
			name = a[0]
		}
		return runRecipe(c, name, &f, full)
	}
	return c
}

func runRecipe(c *cobra.Command, name string, f *runFlags, full bool) error {
	if f.force && f.resume {
		return usageError{errors.New("--force and --resume exclude each other")}
	}
	rep, err := newReporter(os.Stderr, f.logFormat)
	if err != nil {
		return err
	}
	r, err := f.load(name, false)
	if err != nil {
		return err
	}
	dir := f.out
	if dir == "" {
		dir = r.Output.Dir
	}
	if dir == "" {
		if f.resume {
			return usageError{errors.New("--resume needs the run directory: -o DIR")}
		}
		dir = freeDir(filepath.Join("runs", r.Name))
	}
	rep.logf("seqkit: %s (%s) → %s", r.Name, r.Task.Type, dir)
	// Every phase of a run stops by itself at a signal (training with a
	// checkpoint), however long that takes.
	f.env.graceful.Store(true)
	res, err := tasks.Run(c.Context(), r, tasks.RunOptions{
		Dir: dir, Force: f.force, Resume: f.resume, InitFrom: f.initFrom, Registry: f.env.registry(),
		Prepare: tasks.PrepareOptions{CacheDir: f.cacheDir, Progress: rep.progress},
		Observe: rep.event, NoTest: !full,
	})
	rep.done()
	if errors.Is(err, tasks.ErrStopped) || errors.Is(err, tasks.ErrWrite) {
		again := []string{"seqkit", c.Name(), shellQuote(name)}
		for _, s := range f.sets {
			again = append(again, "--set", shellQuote(s))
		}
		if f.dataRoot != "" {
			again = append(again, "--data-root", shellQuote(f.dataRoot))
		}
		return fmt.Errorf("%w; continue it with: %s -o %s --resume", err, strings.Join(again, " "), shellQuote(dir))
	}
	if errors.Is(err, rundir.ErrRunDir) {
		return usageError{err}
	}
	if err != nil {
		return err
	}
	out := c.OutOrStdout()
	fmt.Fprintf(out, "trained %d steps (%d epochs) in %s\n", res.Train.Steps, res.Train.Epochs, res.Train.Elapsed.Round(1e7))
	if res.Train.Skipped > 0 {
		fmt.Fprintf(out, "skipped %d batches with a non-finite loss or gradient (train.skip_nonfinite; see metrics.jsonl)\n", res.Train.Skipped)
	}
	if res.Dev != nil {
		fmt.Fprintf(out, "dev:  %s\n", metricsText(res.Dev, ""))
	}
	if res.Test != nil {
		fmt.Fprintf(out, "test: %s\n", metricsText(res.Test, ""))
	}
	printExamples(out, res.Examples)
	printGenerated(out, res.Generated)
	fmt.Fprintf(out, "run directory: %s\n", dir)
	return nil
}

func printExamples(w io.Writer, rows []map[string]any) {
	for _, row := range rows {
		text, _ := row["text"].(string)
		fmt.Fprintf(w, "%s\n", text)
		keys := make([]string, 0, len(row))
		for k := range row {
			if k != "text" {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		for _, k := range keys {
			if tags, ok := row[k].([]string); ok && k == "tags" {
				fmt.Fprintf(w, "  %s\n", alignTags(text, tags))
				continue
			}
			fmt.Fprintf(w, "  %s: %v\n", k, row[k])
		}
	}
}

// alignTags writes each token with its tag: arrive/O Taipei/B-toloc.city_name.
func alignTags(text string, ts []string) string {
	toks := strings.Fields(text)
	if len(toks) != len(ts) {
		return strings.Join(ts, " ")
	}
	parts := make([]string, len(toks))
	for i := range toks {
		parts[i] = toks[i] + "/" + ts[i]
	}
	return strings.Join(parts, " ")
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,+@") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// freeDir returns dir, or dir-2, dir-3, … when it already exists.
func freeDir(dir string) string {
	for i := 1; ; i++ {
		d := dir
		if i > 1 {
			d = fmt.Sprintf("%s-%d", dir, i)
		}
		if _, err := os.Stat(d); os.IsNotExist(err) {
			return d
		}
	}
}
