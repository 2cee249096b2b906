package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

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
	seeds     int
	jobs      int
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

--seeds N trains N runs, seed-1 … seed-N under the run directory (train.seed,
train.seed+1, …; the data splits stay the same), at most --jobs at a time, and
writes the mean, standard deviation, min and max of every dev and test metric
over them into report.md and seeds.json. --resume continues such a folder.
seqkit eval and predict take the folder as an ensemble of its seeds.

The run directory (-o, default runs/NAME) holds the effective recipe, the
vocabularies, checkpoints/best and checkpoints/last, metrics.jsonl and the report.`,
		Example: `  seqkit run
  seqkit run recipes/my.yaml -o runs/exp1 --set train.epochs=3
  seqkit run recipes/my.yaml -o runs/exp1 --resume     # after an interruption
  seqkit run conll2000-chunk --seeds 3 -o runs/chunk  # runs/chunk/seed-1..3, report.md: mean ± std`,
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
	c.Flags().IntVar(&f.seeds, "seeds", 0, fmt.Sprintf("train this many runs with successive seeds and summarise them (at most %d)", tasks.MaxSeeds))
	c.Flags().IntVar(&f.jobs, "jobs", 1, "with --seeds: runs trained at a time")
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
	if c.Flags().Changed("seeds") || c.Flags().Changed("jobs") {
		return runSeeds(c, name, r, dir, f, full)
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
	if err := f.resumable(c, name, dir, err); err != nil {
		return err
	}
	out := c.OutOrStdout()
	fmt.Fprintf(out, "trained %d steps (%d epochs) in %s\n", res.Train.Steps, res.Train.Epochs, res.Train.Elapsed.Round(1e7))
	if res.Train.StillImproving {
		fmt.Fprintf(c.ErrOrStderr(), "seqkit: dev was still improving when training ended (the last evaluation was the best): more epochs would likely help (--set train.epochs=N)\n")
	}
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

// resumable adds to a stopped run's error the command that continues it.
func (f *runFlags) resumable(c *cobra.Command, name, dir string, err error) error {
	if errors.Is(err, tasks.ErrStopped) || errors.Is(err, tasks.ErrWrite) {
		again := []string{"seqkit", c.Name(), shellQuote(name)}
		for _, s := range f.sets {
			again = append(again, "--set", shellQuote(s))
		}
		if f.dataRoot != "" {
			again = append(again, "--data-root", shellQuote(f.dataRoot))
		}
		if f.seeds > 0 {
			again = append(again, "--seeds", fmt.Sprint(f.seeds))
		}
		if pd := c.Flags().Lookup("plugin-dir"); pd != nil && pd.Changed {
			// A plugin's run is continued by the same plugin.
			again = append(again, "--plugin-dir", shellQuote(pd.Value.String()))
		}
		return fmt.Errorf("%w; continue it with: %s -o %s --resume", err, strings.Join(again, " "), shellQuote(dir))
	}
	if errors.Is(err, rundir.ErrRunDir) {
		return usageError{err}
	}
	return err
}

// runSeeds trains the recipe once per seed (--seeds) and prints the summary.
func runSeeds(c *cobra.Command, name string, r *recipes.Recipe, dir string, f *runFlags, full bool) error {
	if f.seeds < 1 || f.seeds > tasks.MaxSeeds {
		return usageError{fmt.Errorf("--seeds must be in [1, %d], got %d", tasks.MaxSeeds, f.seeds)}
	}
	if f.jobs < 1 || f.jobs > f.seeds {
		return usageError{fmt.Errorf("--jobs must be in [1, --seeds], got %d", f.jobs)}
	}
	if f.initFrom != "" {
		return usageError{errors.New("--init-from and --seeds exclude each other: fine-tune one run at a time")}
	}
	f.env.graceful.Store(true)
	reps := make([]*reporter, f.seeds+1)
	rep := func(i int) *reporter {
		if reps[i] == nil {
			reps[i], _ = newReporter(os.Stderr, f.logFormat)
			reps[i].prefix, reps[i].seed = fmt.Sprintf("seed %d/%d: ", i, f.seeds), i
			if f.jobs > 1 {
				reps[i].tty = false // bars of several runs at once would overwrite each other
			}
		}
		return reps[i]
	}
	top, _ := newReporter(os.Stderr, f.logFormat)
	top.logf("seqkit: %s (%s), %d seeds, %d at a time → %s", r.Name, r.Task.Type, f.seeds, f.jobs, dir)
	popt := tasks.PrepareOptions{CacheDir: f.cacheDir}
	if f.jobs == 1 {
		popt.Progress = top.progress
	}
	var mu sync.Mutex
	sum, err := tasks.RunSeeds(c.Context(), r, tasks.SeedsOptions{
		RunOptions: tasks.RunOptions{Dir: dir, Force: f.force, Resume: f.resume, Registry: f.env.registry(), Prepare: popt, NoTest: !full},
		Seeds:      f.seeds, Jobs: f.jobs,
		ObserveSeed: func(i int, e tasks.Event) {
			mu.Lock()
			defer mu.Unlock()
			rep(i).event(e)
		},
		Finished: func(i int, res rundir.Results) {
			mu.Lock()
			defer mu.Unlock()
			rep(i).done()
			main := res.Metric
			msg := fmt.Sprintf("seed %d/%d (train.seed %d): %d steps in %.0f s", i, f.seeds, res.Seed, res.Steps, res.Seconds)
			if v, ok := res.Dev[main]; ok {
				msg += fmt.Sprintf(", dev %s %.*f", main, rundir.Digits(v), v)
			}
			if v, ok := res.Test[main]; ok {
				msg += fmt.Sprintf(", test %s %.*f", main, rundir.Digits(v), v)
			}
			top.logf("%s", msg)
		},
	})
	for _, r := range reps {
		if r != nil {
			r.done()
		}
	}
	if err := f.resumable(c, name, dir, err); err != nil {
		return err
	}
	out := c.OutOrStdout()
	for _, part := range []struct {
		split string
		stats map[string]rundir.Stat
	}{{"dev", sum.Dev}, {"test", sum.Test}} {
		if len(part.stats) > 0 {
			fmt.Fprintf(out, "%s over %d seeds: %s\n", part.split, len(sum.Runs), statsText(part.stats, sum.Metric))
		}
	}
	if e := sum.Ensemble; e != nil && e.Test != nil {
		fmt.Fprintf(out, "test, ensemble of %d: %s\n", e.Members, metricsText(e.Test, sum.Metric))
	}
	fmt.Fprintf(out, "summary: %s\n", filepath.Join(dir, rundir.ReportFile))
	return nil
}

// statsText prints mean ± std of the main metric first, then the others.
func statsText(stats map[string]rundir.Stat, main string) string {
	keys := make([]string, 0, len(stats))
	for k := range stats {
		if k != main && !strings.Contains(k, "/") {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	if _, ok := stats[main]; ok {
		keys = append([]string{main}, keys...)
	}
	parts := make([]string, len(keys))
	for i, k := range keys {
		d := rundir.Digits(stats[k].Mean)
		parts[i] = fmt.Sprintf("%s %.*f ± %.*f", k, d, stats[k].Mean, d, stats[k].Std)
	}
	return strings.Join(parts, "  ")
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
