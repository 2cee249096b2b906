package tasks

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"github.com/seqkit/seqkit/pipeline"
	"github.com/seqkit/seqkit/recipes"
	"github.com/seqkit/seqkit/tasks/prepared"
	"github.com/seqkit/seqkit/tasks/rundir"
)

// PrepareDataset writes the recipe's data into dir as a prepared dataset (see
// package prepared): the vocabularies built from the training split, every
// split encoded shard by shard (one output shard per input shard), the data
// section it was prepared from, and the manifest, last. An earlier dataset in
// dir stops counting as one when this starts, and counts again only once
// this finishes; run again after a crash, it writes the same bytes.
func PrepareDataset(r *recipes.Recipe, dir string, opt PrepareOptions) (*prepared.Manifest, error) {
	r, dir, err := BeginDataset(r, dir)
	if err != nil {
		return nil, err
	}
	ctx := opt.Context
	if ctx == nil {
		ctx = context.Background()
	}
	tok, err := pipeline.NewTokenizer(r.Data.Tokenizer.Pipeline())
	if err != nil {
		return nil, err
	}
	lim := r.Data.Limits.Pipeline()
	read := []pipeline.Option{pipeline.WithLimits(lim), pipeline.WithContext(ctx)}
	cfg := r.Data.Vocab.Pipeline()
	cfg.Chars = r.Model.Char != nil
	cfg.Limits = lim
	splits := r.Data.Splits()
	if r.Data.SkipErrors {
		read = append(read, pipeline.WithRejects(pipeline.IgnoreRejects)) // the encoding writes them
	}
	v, err := pipeline.VocabsOf(splits["train"], tok, cfg, read...)
	if err != nil {
		return nil, fmt.Errorf("train split: %w", err)
	}
	if err := checkSize(r, v); err != nil {
		return nil, err
	}
	if err := rundir.SaveVocabs(filepath.Join(dir, prepared.VocabDir), v); err != nil {
		return nil, err
	}
	workers := opt.Workers
	if workers == 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	enc := &pipeline.Encoder{Tokenizer: tok, Vocabs: v, MaxTokens: lim.MaxTokens}
	m := &prepared.Manifest{Tokenizer: r.Data.Tokenizer.Pipeline(), Vocabs: rundir.VocabSums(v), Splits: map[string]*prepared.Split{}}
	for _, name := range []string{"train", "dev", "test"} {
		src, ok := splits[name]
		if !ok {
			continue
		}
		inputs, err := src.Inputs()
		if err != nil {
			return nil, fmt.Errorf("%s split: %w", name, err)
		}
		sp, err := prepared.NewSplit(src, enc, len(inputs))
		if err != nil {
			return nil, fmt.Errorf("%s split: %w", name, err)
		}
		popts := []pipeline.Option{pipeline.WithLimits(lim), pipeline.WithContext(ctx)}
		if r.Data.SkipErrors {
			f, err := os.Create(filepath.Join(dir, rundir.RejectsFile(name)))
			if err != nil {
				return nil, err
			}
			defer f.Close()
			popts = append(popts, pipeline.WithSkipErrors(f))
		}
		// One bar for the split: each shard reports past the ones before it.
		var report func(done, total int64)
		var before, total int64
		if opt.Progress != nil {
			report = opt.Progress(name)
			for _, f := range inputs {
				if st, err := os.Stat(f); err == nil {
					total += st.Size()
				}
			}
		}
		for i, input := range inputs {
			shardOpts := popts
			if report != nil {
				shardOpts = append(popts[:len(popts):len(popts)], pipeline.WithProgress(func(done, _ int64) { report(before+done, total) }))
			}
			sh, st, skipped, err := prepared.EncodeShard(dir, name, src, i, input, enc, workers, shardOpts...)
			if err != nil {
				return nil, fmt.Errorf("%s split: %w", name, err)
			}
			sp.Set(i, sh, st, skipped)
			if fi, err := os.Stat(input); err == nil {
				before += fi.Size()
			}
		}
		if sp.Rows == 0 {
			return nil, fmt.Errorf("%s split: no examples: its files are empty or every example was rejected", name)
		}
		m.Splits[name] = sp
	}
	y, err := r.Data.PreparedYAML(dir)
	if err != nil {
		return nil, err
	}
	if err := pipeline.WriteFileAtomic(filepath.Join(dir, prepared.DataFile), y); err != nil {
		return nil, err
	}
	return m, prepared.Commit(dir, m)
}

// BeginDataset is how writing a prepared dataset in dir starts, in one process
// and before a distributed job alike: the folder stops counting as a dataset
// (prepared.Begin) and the recipe's generated splits are written into it. It
// returns a copy of the recipe pointing at those files (the caller's stays as
// written) and dir made absolute.
func BeginDataset(r *recipes.Recipe, dir string) (*recipes.Recipe, string, error) {
	if r.Data.Whole() {
		return nil, "", fmt.Errorf("%w: data: %s trains on whole tables (data.tables), which its task reads when a run starts; there are no splits to prepare", recipes.ErrRecipe, r.Name)
	}
	rc := *r
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, "", err
	}
	if err := prepared.Begin(dir); err != nil {
		return nil, "", err
	}
	if err := rc.Materialize(filepath.Join(dir, rundir.DataDir)); err != nil {
		return nil, "", err
	}
	return &rc, dir, nil
}
