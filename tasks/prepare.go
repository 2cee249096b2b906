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
	rc := *r // materializing generated splits points the recipe at them
	r = &rc
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if err := prepared.Begin(dir); err != nil {
		return nil, err
	}
	if err := r.Materialize(filepath.Join(dir, rundir.DataDir)); err != nil {
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
		sp, err := prepared.NewSplit(src, enc)
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
		if opt.Progress != nil {
			popts = append(popts, pipeline.WithProgress(opt.Progress(name)))
		}
		for i := range len(sp.Shards) {
			sh, st, skipped, err := prepared.EncodeShard(dir, name, src, i, enc, workers, popts...)
			if err != nil {
				return nil, fmt.Errorf("%s split: %w", name, err)
			}
			sp.Set(i, sh, st, skipped)
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
