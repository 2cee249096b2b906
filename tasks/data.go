package tasks

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"

	"github.com/seqkit/seqkit/pipeline"
	"github.com/seqkit/seqkit/recipes"
	"github.com/seqkit/seqkit/tasks/prepared"
	"github.com/seqkit/seqkit/tasks/rundir"
)

// Data is a recipe's prepared data: the vocabularies (built from the training
// split) and each split encoded and memory-mapped.
type Data struct {
	Vocabs           pipeline.Vocabs
	Tokenizer        *pipeline.Tokenizer
	Train, Dev, Test *pipeline.Dataset
	// Whole says the recipe trains on whole tables (recipes.Data.Whole):
	// the splits are nil, and the task finds their rows in its tables.
	Whole   bool
	Reports map[string]pipeline.Report
	// Added are the words model.embedding_init.extend_vocab added to the
	// input vocabulary when it was built.
	Added             int
	rejects           []*os.File
	vocabDir, dataDir string
}

// Close releases the datasets.
func (d *Data) Close() error {
	var errs []error
	for _, ds := range []*pipeline.Dataset{d.Train, d.Dev, d.Test} {
		if ds != nil {
			errs = append(errs, ds.Close())
		}
	}
	for _, f := range d.rejects {
		errs = append(errs, f.Close())
	}
	return errors.Join(errs...)
}

// set keeps ds as split name.
func (d *Data) set(name string, ds *pipeline.Dataset) {
	*map[string]**pipeline.Dataset{"train": &d.Train, "dev": &d.Dev, "test": &d.Test}[name] = ds
}

// PrepareOptions tune [Prepare].
type PrepareOptions struct {
	// CacheDir holds encoded datasets across runs; empty means the user's cache
	// folder (seqkit under os.UserCacheDir), or DIR/cache when there is none.
	CacheDir string
	// Workers encode in parallel; 0 means GOMAXPROCS.
	Workers int
	// Splits limits which splits are encoded (nil: all the recipe has).
	Splits []string
	// Progress, if set, receives each split's read progress.
	Progress func(split string) func(done, total int64)
	// Context, if set, stops reading and encoding once it is done (a Ctrl-C),
	// with its cause as the error; what was being written is removed.
	Context context.Context
}

// checkSize refuses a model over the recipe's model.limits once the
// vocabularies are known (validation could only count the smallest), before
// anything is encoded or a weight allocated.
func checkSize(r *recipes.Recipe, v pipeline.Vocabs) error {
	in, out := 4, 0
	if v.Input != nil {
		in = v.Input.Len()
	}
	for _, voc := range []*pipeline.Vocab{v.Tags, v.Labels, v.Target} {
		if voc != nil {
			out = max(out, voc.Len())
		}
	}
	if out == 0 {
		out = in // a generator predicts its input tokens
	}
	if ke := r.CheckSize(in, out); ke != nil {
		return fmt.Errorf("%w: %s: %s (with the training data's vocabularies: input %d, output %d)", recipes.ErrRecipe, ke.Key, ke.Msg, in, out)
	}
	return nil
}

// Prepare makes the recipe's data ready in run directory dir: generated splits are
// written to DIR/data, the vocabularies are built from the training split (or read
// from DIR/vocab when a previous run saved them there, so a resumed run and
// eval and predict use the same ids) and every split is encoded into the cache.
//
// With data.prepared, the splits and vocabularies are those of the prepared
// dataset, memory-mapped shard by shard; nothing is read or encoded.
func Prepare(r *recipes.Recipe, dir string, opt PrepareOptions) (*Data, error) {
	if r.Data.Prepared != "" {
		return openPrepared(r, dir, opt)
	}
	if err := r.Materialize(filepath.Join(dir, rundir.DataDir)); err != nil {
		return nil, err
	}
	tok, err := pipeline.NewTokenizer(r.Data.Tokenizer.Pipeline())
	if err != nil {
		return nil, err
	}
	d := &Data{Tokenizer: tok, Reports: map[string]pipeline.Report{}, vocabDir: rundir.VocabDir(dir)}
	lim := r.Data.Limits.Pipeline()
	if r.Data.Whole() {
		// A task that trains on whole tables reads them in Init: there are
		// no splits to encode and no vocabularies.
		d.Whole = true
		return d, nil
	}
	lines := pipeline.WithLimits(lim)
	ctx := opt.Context
	if ctx == nil {
		ctx = context.Background()
	}
	stop := pipeline.WithContext(ctx)
	if d.Vocabs, err = rundir.LoadVocabs(d.vocabDir, lim); errors.Is(err, fs.ErrNotExist) {
		cfg := r.Data.Vocab.Pipeline()
		cfg.Chars = r.Model.Char != nil
		cfg.Limits = lim
		opts := []pipeline.Option{lines, stop}
		if r.Data.SkipErrors {
			opts = append(opts, pipeline.WithRejects(pipeline.IgnoreRejects)) // the encoding writes them
		}
		d.Vocabs, err = pipeline.VocabsOf(r.Data.Splits()["train"], tok, cfg, opts...)
		if e := r.Model.EmbeddingInit; err == nil && e != nil && e.ExtendVocab && d.Vocabs.Input != nil {
			d.Vocabs.Input, d.Added, err = extendVocab(e, d.Vocabs.Input, cmp.Or(cfg.MaxSize, lim.Vocab()))
		}
		if err == nil {
			err = checkSize(r, d.Vocabs)
		}
		if err == nil {
			err = rundir.SaveVocabs(d.vocabDir, d.Vocabs)
		}
	}
	if err != nil {
		return nil, err
	}
	cache := opt.CacheDir
	if cache == "" {
		if uc, err := os.UserCacheDir(); err == nil {
			cache = filepath.Join(uc, "seqkit")
		} else {
			cache = filepath.Join(dir, rundir.CacheDir)
		}
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return nil, err
	}
	workers := opt.Workers
	if workers == 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	enc := &pipeline.Encoder{Tokenizer: tok, Vocabs: d.Vocabs, MaxTokens: lim.MaxTokens}
	want := opt.Splits
	if want == nil {
		want = []string{"train", "dev", "test"}
	}
	splits := r.Data.Splits()
	for _, name := range want {
		src, ok := splits[name]
		if !ok {
			continue
		}
		popts := []pipeline.Option{lines, stop}
		if r.Data.SkipErrors {
			f, err := os.Create(filepath.Join(dir, rundir.RejectsFile(name)))
			if err != nil {
				d.Close()
				return nil, err
			}
			d.rejects = append(d.rejects, f)
			popts = append(popts, pipeline.WithSkipErrors(f))
		}
		if opt.Progress != nil {
			popts = append(popts, pipeline.WithProgress(opt.Progress(name)))
		}
		ds, rep, err := pipeline.Cache{Dir: cache}.Prepare(src, enc, workers, popts...)
		if err != nil {
			d.Close()
			return nil, fmt.Errorf("%s split: %w", name, err)
		}
		d.Reports[name] = rep
		d.set(name, ds)
	}
	return d, nil
}

// openPrepared is [Prepare] for a recipe with data.prepared.
func openPrepared(r *recipes.Recipe, dir string, opt PrepareOptions) (*Data, error) {
	src := r.Data.Prepared
	m, err := prepared.Open(src)
	if err != nil {
		return nil, err
	}
	if !reflect.DeepEqual(m.Tokenizer, r.Data.Tokenizer.Pipeline()) { // Target is a pointer
		return nil, fmt.Errorf("%w: data.tokenizer is not the one %s was prepared with (%+v)", recipes.ErrRecipe, src, m.Tokenizer)
	}
	tok, err := pipeline.NewTokenizer(m.Tokenizer)
	if err != nil {
		return nil, err
	}
	lim := r.Data.Limits.Pipeline()
	d := &Data{Tokenizer: tok, Reports: map[string]pipeline.Report{}, vocabDir: rundir.VocabDir(dir)}
	if d.Vocabs, err = m.LoadVocabs(src, lim); err != nil {
		return nil, err
	}
	if err := checkSize(r, d.Vocabs); err != nil {
		return nil, err
	}
	// The run keeps its own copy, which eval and predict read; a resumed run
	// checks that the dataset still has the vocabularies it began with.
	if saved, err := rundir.LoadVocabs(d.vocabDir, lim); errors.Is(err, fs.ErrNotExist) {
		if err := rundir.SaveVocabs(d.vocabDir, d.Vocabs); err != nil {
			return nil, err
		}
	} else if err != nil {
		return nil, err
	} else if !maps.Equal(rundir.VocabSums(saved), rundir.VocabSums(d.Vocabs)) {
		return nil, fmt.Errorf("%w: %s has vocabularies other than the run's vocab/ (prepared again since the run began?)", rundir.ErrRunDir, src)
	}
	want := opt.Splits
	if want == nil {
		want = []string{"train", "dev", "test"}
	}
	for _, name := range want {
		ds, err := m.Dataset(src, name)
		if err != nil {
			d.Close()
			return nil, fmt.Errorf("%s split: %w", name, err)
		}
		if ds == nil {
			continue
		}
		sp := m.Splits[name]
		d.Reports[name] = pipeline.Report{EncodeStats: sp.Stats, Skipped: sp.Skipped, Cached: true}
		d.set(name, ds)
	}
	if d.Train == nil && slices.Contains(want, "train") {
		d.Close()
		return nil, fmt.Errorf("%s has no train split", src)
	}
	return d, nil
}
