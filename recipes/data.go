package recipes

import "github.com/seqkit/seqkit/pipeline"

// The data section's own types: the recipe's keys, their documentation and
// bounds are declared here, and each converts to the pipeline's
// configuration it stands for (which has no YAML of its own).

// Source is one split's data: a file, its format (empty: from the extension)
// and the column mapping, or parallel text files.
type Source struct {
	Path     string          `yaml:"path,omitempty" doc:"the split's file, a glob of shards (train-*.jsonl.gz) or a folder of shards (relative to the recipe, or ${data}/…); .gz and .zst are read by extension"`
	Paths    []string        `yaml:"paths,omitempty" doc:"in place of path, a list of shards: files, globs or folders"`
	Format   pipeline.Format `yaml:"format,omitempty" doc:"csv, tsv, jsonl, conll, text, dict, parquet, arrow or arrows (default: from the extension)"`
	Columns  Columns         `yaml:"columns,omitempty" doc:"which field of the file holds each role"`
	Files    Columns         `yaml:"files,omitempty" doc:"parallel text files, one per role, whose line i together form example i"`
	NoHeader bool            `yaml:"no_header,omitempty" doc:"a CSV or TSV file without a header row: columns are 1-based numbers, negative from the end"`
	Stream   bool            `yaml:"stream,omitempty" doc:"read a text file as one continuous stream (a language model's corpus)"`
	// Content identifies a generated split by its content (Materialize).
	Content string `yaml:"-"`
}

// Columns maps the fields of a source to the roles a task uses: a column
// name, or for CoNLL a 1-based column number (negative from the end).
type Columns struct {
	Text    string `yaml:"text,omitempty" doc:"text that the tokenizer splits"`
	Tokens  string `yaml:"tokens,omitempty" doc:"pre-split tokens"`
	Tags    string `yaml:"tags,omitempty" doc:"one tag per token"`
	Label   string `yaml:"label,omitempty" doc:"a label per example"`
	Target  string `yaml:"target,omitempty" doc:"target text (seq2seq)"`
	Feature string `yaml:"feature,omitempty" doc:"an extra attribute of each token, embedded beside it (e.g. part of speech)"`
	Vector  string `yaml:"vector,omitempty" doc:"a list of numbers per example, what a generator can be conditioned on"`
}

// Pipeline is the source for pipeline.Open.
func (s Source) Pipeline() pipeline.Source {
	return pipeline.Source{Path: s.Path, Paths: s.Paths, Format: s.Format, Columns: pipeline.Columns(s.Columns), Files: pipeline.Columns(s.Files),
		NoHeader: s.NoHeader, Stream: s.Stream, Content: s.Content}
}

// given reports whether the split names any file.
func (s Source) given() bool { return s.Path != "" || len(s.Paths) > 0 || s.Files != Columns{} }

// Tokenizer is how text becomes tokens.
type Tokenizer struct {
	Kind      string `yaml:"kind,omitempty" doc:"whitespace (default), char or regex"`
	Pattern   string `yaml:"pattern,omitempty" doc:"the token pattern of kind regex"`
	Lower     bool   `yaml:"lower,omitempty" doc:"lower-case the text first"`
	Normalize string `yaml:"normalize,omitempty" doc:"Unicode normalisation first: nfc, nfkc, or the decomposing nfd and nfkd (Hangul syllables into letters, accented letters into base and mark)" enum:"nfc,nfkc,nfd,nfkd"`
	Compose   bool   `yaml:"compose,omitempty" doc:"with nfd or nfkd: write predictions and samples back in NFC"`
	// Target, when set, splits the target column instead (characters in,
	// phones out, for grapheme-to-phoneme).
	Target *Tokenizer `yaml:"target,omitempty" doc:"a tokenizer of its own for the target column"`
}

// Pipeline is the tokenizer's configuration for pipeline.NewTokenizer.
func (t Tokenizer) Pipeline() pipeline.TokenizerConfig {
	c := pipeline.TokenizerConfig{Kind: t.Kind, Pattern: t.Pattern, Lower: t.Lower, Normalize: t.Normalize, Compose: t.Compose}
	if t.Target != nil {
		target := t.Target.Pipeline()
		c.Target = &target
	}
	return c
}

// Vocab bounds the vocabularies built from the training split.
type Vocab struct {
	MinFreq int `yaml:"min_freq,omitempty" doc:"drop tokens seen fewer times" min:"0"`
	MaxSize int `yaml:"max_size,omitempty" doc:"most entries, specials included (0: no cap)" min:"0"`
}

// Pipeline is the vocabulary configuration, without the limits and the
// character vocabulary, which the caller adds.
func (v Vocab) Pipeline() pipeline.VocabConfig {
	return pipeline.VocabConfig{MinFreq: v.MinFreq, MaxSize: v.MaxSize}
}

// Limits bound what a file may make seqkit allocate (pipeline.Limits).
type Limits struct {
	MaxLineBytes int `yaml:"max_line_bytes,omitempty" doc:"longest line of a text-based source, in bytes (default 8 MiB)" min:"0" max:"1073741824"`
	MaxTokens    int `yaml:"max_tokens,omitempty" doc:"most tokens in one example's input or target (default 100000)" min:"0" max:"100000000"`
	MaxVocab     int `yaml:"max_vocab,omitempty" doc:"most distinct tokens a vocabulary may count, or a vocabulary file hold (default 10000000)" min:"0" max:"1000000000"`
}

// Pipeline is the limits for the pipeline's readers and encoders.
func (l Limits) Pipeline() pipeline.Limits { return pipeline.Limits(l) }

// Table is a file a task reads whole, beside its splits or in their place: a
// graph's nodes or edges. The task declares the columns it needs and their
// types (pipeline.ReadTable).
type Table struct {
	Name    string            `yaml:"name" doc:"the name the task asks for (seqkit plugins describe NAME lists a plugin's tables)"`
	Path    string            `yaml:"path" doc:"a csv or tsv file with a header row, or jsonl (relative to the recipe, or ${data}/…); .gz and .zst are read by extension"`
	Format  pipeline.Format   `yaml:"format,omitempty" doc:"csv, tsv or jsonl (default: from the extension)"`
	Columns map[string]string `yaml:"columns,omitempty" doc:"the file's name for a column the task asks for by another name (task name: file name)"`
}

// Pipeline is the table's source for pipeline.ReadTable.
func (t Table) Pipeline() pipeline.TableSource {
	return pipeline.TableSource{Path: t.Path, Format: t.Format, Rename: t.Columns}
}

// Table returns the table called name, if the data section has it.
func (d Data) Table(name string) (Table, bool) {
	for _, t := range d.Tables {
		if t.Name == name {
			return t, true
		}
	}
	return Table{}, false
}

// Whole reports whether the recipe trains on whole tables: it gives
// data.tables and no training split (tasks.Info.WholeDataset).
func (d Data) Whole() bool {
	return len(d.Tables) > 0 && !d.Train.given() && d.Generate == nil && d.Prepared == ""
}
