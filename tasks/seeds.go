package tasks

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"github.com/seqkit/seqkit/pipeline"
	"github.com/seqkit/seqkit/recipes"
	"github.com/seqkit/seqkit/tasks/rundir"
)

// MaxSeeds bounds seqkit run --seeds: every seed is a whole run directory.
const MaxSeeds = 1000

// SeedsOptions control [RunSeeds]. Run's options apply to every seed: Dir is
// the folder of seeds, Force and Resume apply to it and to each seed's run
// directory, and Observe is replaced by ObserveSeed.
type SeedsOptions struct {
	RunOptions
	// Seeds is the number of runs; Jobs how many train at a time (default 1).
	Seeds, Jobs int
	// ObserveSeed, if set, sees every event of the i-th seed (from 1). With
	// Jobs > 1 it is called from several goroutines.
	ObserveSeed func(i int, e Event)
	// Finished, if set, is told of each seed as it ends, from the goroutine
	// that ran it (under a lock).
	Finished func(i int, res rundir.Results)
}

// RunSeeds trains the recipe once per seed, each a whole run in its own run
// directory (rundir.SeedDir: seed-1, seed-2, …), the i-th with train.seed
// increased by i−1 (so seed-1 is the run the recipe alone makes, and the data
// splits, whose seeds are their own, stay the same). After each seed it writes
// the summary: mean, sample standard deviation, min and max of every dev and
// test metric, into seeds.json and report.md. With Resume, finished seeds (a
// results.json) are read back, an interrupted one continues from its last
// checkpoint, and the others start. A failing seed stops the others (at their
// next step, with a checkpoint) and its error is returned.
func RunSeeds(ctx context.Context, r *recipes.Recipe, opt SeedsOptions) (rundir.Seeds, error) {
	if opt.Seeds < 1 || opt.Seeds > MaxSeeds {
		return rundir.Seeds{}, fmt.Errorf("tasks: the number of seeds must be in [1, %d], got %d", MaxSeeds, opt.Seeds)
	}
	jobs := min(max(opt.Jobs, 1), opt.Seeds)
	if _, err := opt.Registry.New(r.Task.Type); err != nil {
		return rundir.Seeds{}, err
	}
	unlock, err := rundir.OpenSeeds(opt.Dir, opt.Force, opt.Resume)
	if err != nil {
		return rundir.Seeds{}, err
	}
	defer unlock()
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var (
		mu    sync.Mutex
		done  = make([]*rundir.Results, opt.Seeds)
		errs  []error
		wg    sync.WaitGroup
		slots = make(chan struct{}, jobs)
	)
	summary := func() rundir.Seeds {
		var runs []rundir.SeedRun
		for i, res := range done {
			if res != nil {
				runs = append(runs, rundir.SeedRun{Dir: filepath.Base(rundir.SeedDir(opt.Dir, i+1)), Results: *res})
			}
		}
		return rundir.NewSeeds(r.Name, r.Description, runs)
	}
	finish := func(i int, res rundir.Results) error {
		mu.Lock()
		defer mu.Unlock()
		done[i-1] = &res
		if opt.Finished != nil {
			opt.Finished(i, res)
		}
		return rundir.WriteSeeds(opt.Dir, summary())
	}
	for i := 1; i <= opt.Seeds; i++ {
		dir := rundir.SeedDir(opt.Dir, i)
		if opt.Resume {
			if res, err := rundir.ReadResults(dir); err == nil {
				if err := sameRecipe(dir, seedRecipe(r, i)); err != nil {
					return rundir.Seeds{}, err
				}
				if err := finish(i, res); err != nil {
					return rundir.Seeds{}, err
				}
				continue
			}
		}
		slots <- struct{}{}
		if ctx.Err() != nil {
			<-slots
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			err := runSeed(ctx, r, opt, i, dir, finish)
			if err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("seed %d (%s): %w", i, dir, err))
				mu.Unlock()
				cancel(err)
			}
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		return summary(), errors.Join(errs...)
	}
	if ctx.Err() != nil {
		return summary(), fmt.Errorf("%w: %w", ErrStopped, context.Cause(ctx))
	}
	s := summary()
	if opt.NoTest || opt.Seeds < 2 {
		return s, nil
	}
	dirs := make([]string, opt.Seeds)
	for i := range dirs {
		dirs[i] = rundir.SeedDir(opt.Dir, i+1)
	}
	ens, err := seedsEnsemble(ctx, opt, dirs)
	switch {
	case errors.Is(err, ErrEnsemble):
		return s, nil // a task that does not combine (a plugin's)
	case err != nil:
		return s, fmt.Errorf("the ensemble of the seeds: %w", err)
	}
	s.Ensemble = ens
	return s, rundir.WriteSeeds(opt.Dir, s)
}

// seedsEnsemble evaluates the seeds' models as one ensemble on dev and test.
func seedsEnsemble(ctx context.Context, opt SeedsOptions, dirs []string) (*rundir.Ensemble, error) {
	start := time.Now()
	run, _, err := LoadEnsemble(dirs, opt.Registry, "")
	if err != nil {
		return nil, err
	}
	data, err := Prepare(run.Recipe, dirs[0], PrepareOptions{CacheDir: opt.Prepare.CacheDir, Splits: []string{"dev", "test"}, Context: ctx})
	if err != nil {
		return nil, err
	}
	defer data.Close()
	res := &rundir.Ensemble{Members: len(dirs)}
	for _, split := range []struct {
		ds  *pipeline.Dataset
		out *Metrics
	}{{data.Dev, &res.Dev}, {data.Test, &res.Test}} {
		if split.ds == nil {
			continue
		}
		if *split.out, err = run.Task.Evaluate(Until(ctx, EvalBatches(split.ds, run.Recipe))); err != nil {
			return nil, err
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%w: %w", ErrStopped, context.Cause(ctx))
		}
	}
	res.Seconds = time.Since(start).Seconds()
	return res, nil
}

// seedRecipe is the recipe of the i-th seed: train.seed increased by i−1.
func seedRecipe(r *recipes.Recipe, i int) *recipes.Recipe {
	rc := *r
	rc.Train.Seed = r.Train.Seed + uint64(i-1)
	return &rc
}

// runSeed runs the i-th seed in dir and files its results.
func runSeed(ctx context.Context, r *recipes.Recipe, opt SeedsOptions, i int, dir string, finish func(int, rundir.Results) error) error {
	ro := opt.RunOptions
	ro.Dir = dir
	ro.Observe = nil
	if opt.ObserveSeed != nil {
		ro.Observe = func(e Event) { opt.ObserveSeed(i, e) }
	}
	if _, err := Run(ctx, seedRecipe(r, i), ro); err != nil {
		return err
	}
	res, err := rundir.ReadResults(dir)
	if err != nil {
		return err
	}
	return finish(i, res)
}
