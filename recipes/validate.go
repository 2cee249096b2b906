package recipes

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/seqkit/seqkit/nn"
	"github.com/seqkit/seqkit/pipeline"
)

// validate checks what no single key can: options that need each other.
func (r *Recipe) validate() []KeyError {
	var errs []KeyError
	add := func(key, format string, args ...any) {
		errs = append(errs, KeyError{key, fmt.Sprintf(format, args...)})
	}
	d := r.Data
	if d.Generate == nil && !d.Train.given() && len(d.Tables) == 0 {
		add("data.train", "no training data: give a path (or files, or data.generate, or data.tables for a task that trains on whole tables)")
	}
	seen := map[string]bool{}
	for i, t := range d.Tables {
		key := fmt.Sprintf("data.tables[%d]", i)
		switch {
		case t.Name == "":
			add(key+".name", "missing: the name the task asks for")
		case seen[t.Name]:
			add(key+".name", "table %q is given twice", t.Name)
		}
		seen[t.Name] = true
		if t.Path == "" {
			add(key+".path", "missing: the table's file")
		}
		if t.Format != "" && t.Format != pipeline.CSV && t.Format != pipeline.TSV && t.Format != pipeline.JSONL {
			add(key+".format", "a table is read from csv, tsv or jsonl, not %s", t.Format)
		}
	}
	if d.Generate != nil {
		for _, s := range []struct {
			key string
			src Source
		}{{"data.train", d.Train}, {"data.dev", d.Dev}, {"data.test", d.Test}} {
			if s.src.given() {
				add(s.key, "data.generate builds this split; remove one of them")
			}
		}
	}
	if d.Split != nil && d.Dev.given() {
		add("data.split", "data.dev is given too; carve dev from train or name it, not both")
	}
	if _, err := pipeline.NewTokenizer(d.Tokenizer.Pipeline()); err != nil {
		add("data.tokenizer", "%v", strings.TrimPrefix(err.Error(), "pipeline: "))
	}
	m := r.Model
	if e := m.EmbeddingInit; e != nil {
		if e.Path == "" {
			add("model.embedding_init.path", "the file of word vectors is missing")
		}
		if e.Format == "" {
			add("model.embedding_init.format", "say the file's format: word2vec, glove or fasttext_vec")
		}
	}
	if m.Cell != CellLSTM {
		if m.Peephole {
			add("model.peephole", "peephole connections need cell: lstm, not %s", m.Cell)
		}
		if !m.ForgetGate {
			add("model.forget_gate", "forget_gate: false (the 1997 LSTM) needs cell: lstm, not %s", m.Cell)
		}
	}
	if cfg, err := r.RNNConfig(); err != nil {
		add("model.cell", "%v", strings.TrimPrefix(err.Error(), "nn: "))
	} else if err := cfg.Validate(); err != nil && len(errs) == 0 {
		add("model", "%v", strings.TrimPrefix(err.Error(), "nn: "))
	}
	// The vocabularies are not known yet: the smallest (the four specials)
	// gives a lower bound, and tasks.Run checks again once they are.
	if ke := r.CheckSize(4, 4); ke != nil && len(errs) == 0 {
		errs = append(errs, *ke)
	}
	t := r.Train
	if t.Epochs == 0 && t.Steps == 0 {
		add("train.epochs", "set epochs or steps above 0")
	}
	if t.Momentum != 0 && t.Optimizer != SGD {
		add("train.momentum", "momentum applies to optimizer: sgd, not %s", t.Optimizer)
	}
	s := t.Schedule
	switch s.Kind {
	case StepDecay:
		if s.Every == 0 || s.Factor == 0 {
			add("train.schedule", "kind: step needs every and factor")
		}
	case WarmupLinear:
		if t.Steps == 0 && t.Epochs == 0 {
			add("train.schedule", "kind: warmup_linear needs a known length (epochs or steps)")
		}
	}
	if t.EarlyStop.Patience > 0 && !d.Dev.given() && d.Generate == nil && d.Split == nil && !d.Whole() {
		add("train.early_stop.patience", "early stopping needs a dev split (data.dev)")
	}
	if t.AverageLast > 0 && !d.Dev.given() && d.Generate == nil && d.Split == nil && !d.Whole() {
		add("train.average_last", "checkpoint averaging needs a dev split (data.dev) to evaluate on")
	}
	return errs
}

// RNNConfig is the recurrent stack the model section describes, for an input of
// the embedding size; an error for a cell the recipe's enum would not admit.
func (r *Recipe) RNNConfig() (nn.RNNConfig, error) {
	m := r.Model
	cell, err := m.Cell.NN()
	return nn.RNNConfig{
		Cell: cell, InputSize: m.Embedding, HiddenSize: m.Hidden, Layers: m.Layers,
		Bidirectional: m.Bidirectional, Dropout: m.Dropout, Variational: m.Variational, WeightDropout: m.WeightDropout,
		NoForgetGate: !m.ForgetGate, Peephole: m.Peephole,
	}, err
}

// Splits returns the data sources by split name, leaving out absent ones. With
// data.split, train and dev are the two parts of the training source: this is
// the one place that derives them, so the recipe itself keeps only what was written.
func (d *Data) Splits() map[string]pipeline.Source {
	out := map[string]pipeline.Source{}
	for name, s := range map[string]Source{"train": d.Train, "dev": d.Dev, "test": d.Test} {
		if s.given() {
			out[name] = s.Pipeline()
		}
	}
	if sp := d.Split; sp != nil {
		if train, ok := out["train"]; ok {
			split := pipeline.RatioSplit{Ratios: []float64{1 - sp.Dev, sp.Dev}, Seed: sp.Seed}
			dev := train
			train.Part = &pipeline.Part{Split: split, Index: 0}
			dev.Part = &pipeline.Part{Split: split, Index: 1}
			out["train"], out["dev"] = train, dev
		}
	}
	return out
}

// checkData opens every source and reads its first examples, so a missing file,
// a missing column or an unreadable format is reported before any work starts.
func (l *loader) checkData(r *Recipe) {
	if e := r.Model.EmbeddingInit; e != nil {
		if st, err := os.Stat(e.Path); err != nil {
			l.keyErr(KeyError{"model.embedding_init.path", "no such file: " + e.Path})
		} else if !st.Mode().IsRegular() {
			l.keyErr(KeyError{"model.embedding_init.path", e.Path + " is not a regular file (a folder, a pipe or a device)"})
		}
	}
	if r.Data.Generate != nil || r.Data.Prepared != "" {
		return // generated when the run starts; encoded already
	}
	var missing []string
	for _, name := range []string{"train", "dev", "test"} {
		src, ok := r.Data.Splits()[name]
		if !ok {
			continue
		}
		key := "data." + name
		if src.Sharded() {
			if _, err := src.Shards(); err != nil {
				l.keyErr(KeyError{key, strings.TrimPrefix(err.Error(), "pipeline: ")})
				missing = append(missing, strings.Join(append([]string{src.Path}, src.Paths...), " "))
			}
			continue
		}
		for _, p := range append([]string{src.Path}, src.Files.Text, src.Files.Tokens, src.Files.Tags, src.Files.Label, src.Files.Target) {
			if p == "" {
				continue
			}
			if _, err := os.Stat(p); err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					missing = append(missing, p)
					l.keyErr(KeyError{key, "file not found: " + p})
				} else {
					l.keyErr(KeyError{key, err.Error()})
				}
			}
		}
	}
	for i, t := range r.Data.Tables {
		if _, err := os.Stat(t.Path); errors.Is(err, fs.ErrNotExist) {
			missing = append(missing, t.Path)
			l.keyErr(KeyError{fmt.Sprintf("data.tables[%d].path", i), "file not found: " + t.Path})
		} else if err != nil {
			l.keyErr(KeyError{fmt.Sprintf("data.tables[%d].path", i), err.Error()})
		}
	}
	if len(missing) > 0 {
		l.keyErr(KeyError{"data", fmt.Sprintf("looked for %s; a built-in recipe finds public datasets under the data root: set --data-root DIR or %s=DIR (default %s)",
			strings.Join(missing, ", "), DataRootEnv, DefaultDataRoot)})
		return
	}
	for _, name := range []string{"train", "dev", "test"} {
		src, ok := r.Data.Splits()[name]
		if !ok {
			continue
		}
		opts := []pipeline.Option{pipeline.WithBatchRows(8), pipeline.WithLimits(r.Data.Limits.Pipeline())}
		if r.Data.SkipErrors {
			opts = append(opts, pipeline.WithRejects(pipeline.IgnoreRejects))
		}
		rd, err := pipeline.Open(src, opts...)
		if err == nil {
			if !rd.Next() {
				if err = rd.Err(); err == nil && name == "train" {
					err = fmt.Errorf("no examples")
				}
			}
			rd.Release()
		}
		if err != nil && !errors.Is(err, io.EOF) {
			l.keyErr(KeyError{"data." + name, strings.TrimPrefix(err.Error(), "pipeline: ")})
		}
	}
}
