package recipes

import (
	"bytes"

	"go.yaml.in/yaml/v3"
)

// Recipe is a whole, decoded recipe. Every field has its default from [Default];
// a recipe file only states what differs. The doc tags become the descriptions
// of the JSON Schema ([Schema]).
type Recipe struct {
	// Extends names a recipe this one starts from (a file path relative to this
	// recipe, or a built-in name); keys here override it, maps merge deeply.
	Extends     string `yaml:"extends,omitempty" doc:"recipe this one starts from: a path relative to this file, or a built-in name"`
	Name        string `yaml:"name,omitempty" doc:"short name, used for the default run directory"`
	Description string `yaml:"description,omitempty" doc:"one line about what this recipe does"`
	Data        Data   `yaml:"data" doc:"where the examples come from and how they become batches"`
	Model       Model  `yaml:"model" doc:"the shared recurrent encoder"`
	Task        Task   `yaml:"task" doc:"the task type and its own options"`
	Train       Train  `yaml:"train" doc:"optimisation, evaluation, early stopping and checkpoints"`
	Output      Output `yaml:"output" doc:"what the run writes"`
}

// Data declares the sources of each split and the preparation shared by all of
// them. Vocabularies are built from the train split only.
type Data struct {
	Train Source `yaml:"train" doc:"training examples"`
	Dev   Source `yaml:"dev,omitempty" doc:"examples for model selection and early stopping"`
	Test  Source `yaml:"test,omitempty" doc:"held-out examples, evaluated once at the end of seqkit run"`
	// Generate fills the three splits from a built-in data generator instead of
	// files (the Taipei demo's travel grammar).
	Generate *Generate `yaml:"generate,omitempty" doc:"build the splits with a built-in generator instead of reading files"`
	// Split carves the dev split out of the training data by a seeded hash of
	// each example's row, for data that comes without one.
	Split     *Split    `yaml:"split,omitempty" doc:"carve a dev split out of the training data"`
	Tokenizer Tokenizer `yaml:"tokenizer" doc:"how text becomes tokens"`
	Vocab     Vocab     `yaml:"vocab" doc:"vocabulary limits (train split only)"`
	Limits    Limits    `yaml:"limits" doc:"bounds on lines, examples and vocabularies, so a broken or hostile file is refused before it takes the memory"`
	Batch     Batch     `yaml:"batch" doc:"batching"`
	// SkipErrors skips malformed examples (written to rejects files in the run
	// directory) instead of stopping at the first.
	SkipErrors bool `yaml:"skip_errors,omitempty" doc:"skip malformed examples instead of failing"`
	// Prepared trains from a dataset seqkit data prepare -o wrote: its
	// encoded shards and vocabularies, and the sources, split, tokenizer and
	// vocabulary settings it was prepared with.
	Prepared string `yaml:"prepared,omitempty" doc:"a folder written by seqkit data prepare -o: train on its encoded splits and vocabularies (it fixes train, dev, test, split, tokenizer and vocab)"`
	// Tables are files a task reads whole: a graph's nodes and edges. A task
	// that trains on whole tables (tasks.Info.WholeDataset) takes its splits
	// from them, and the recipe gives no train, dev or test.
	Tables []Table `yaml:"tables,omitempty" doc:"files a task reads whole, by name (a graph's nodes and edges); a task that trains on whole tables needs no train, dev or test"`
}

// Generate selects a built-in data generator and the size of each split.
type Generate struct {
	Name  string `yaml:"name" doc:"generator name: taipei (travel requests, tagging), reverse (digit strings and their reverse, seq2seq) or windows (forecasting windows cut from a series)" enum:"taipei,reverse,windows"`
	Train int    `yaml:"train,omitempty" doc:"taipei, reverse: training examples" min:"1" max:"1000000"`
	Dev   int    `yaml:"dev,omitempty" doc:"taipei, reverse: dev examples" min:"1" max:"1000000"`
	Test  int    `yaml:"test,omitempty" doc:"taipei, reverse: test examples" min:"1" max:"1000000"`
	Seed  uint64 `yaml:"seed,omitempty" doc:"generator seed"`
	// Windows cuts a series into forecasting examples (see Windows).
	Windows *Windows `yaml:"windows,omitempty" doc:"windows: the series and how to cut it"`
}

// Windows cuts a univariate series (a CSV column) into forecasting examples,
// chronologically: the last test share of the points are test targets, the
// last dev share of the rest dev targets, the others training targets. Each
// example is a JSON line: the target's first row label (the date) as text, and
// a vector of the context values before the target and then the horizon values
// to forecast. Contexts reach back across split boundaries, never forward.
type Windows struct {
	Source    string  `yaml:"source" doc:"CSV file of the series, with a header row"`
	Column    int     `yaml:"column" doc:"1-based column of the values" min:"1"`
	Label     int     `yaml:"label" doc:"1-based column of the row labels (dates), 0 for the row number" min:"0"`
	Context   int     `yaml:"context" doc:"values before each target in the vector" min:"1" max:"100000"`
	Horizon   int     `yaml:"horizon" doc:"values to forecast, after the context" min:"1" max:"1000"`
	TestShare float64 `yaml:"test_share" doc:"share of the points that are test targets (the last ones)" min:"0.01" max:"0.5"`
	DevShare  float64 `yaml:"dev_share" doc:"share of the other points that are dev targets (the last ones)" min:"0.01" max:"0.5"`
}

// Split is a dev split carved from the training data: each example goes to dev
// with probability Dev, decided by a seeded hash of its row, so the same rows go
// to dev every time and adding rows moves no other row.
type Split struct {
	Dev  float64 `yaml:"dev" doc:"share of the training examples that become the dev split" min:"0.01" max:"0.5"`
	Seed uint64  `yaml:"seed" doc:"seed of the assignment"`
}

// Batch is the batching of every split; training batches are shuffled and
// bucketed by length, evaluation batches are bucketed only.
type Batch struct {
	Size      int  `yaml:"size" doc:"sequences per batch" min:"1"`
	MaxTokens int  `yaml:"max_tokens,omitempty" doc:"if set, fill batches up to this many padded tokens instead of size" min:"0"`
	MaxLen    int  `yaml:"max_len,omitempty" doc:"cut longer inputs to this length (0: no limit)" min:"0"`
	Reject    bool `yaml:"reject,omitempty" doc:"leave out longer inputs instead of cutting them"`
	Bucket    bool `yaml:"bucket" doc:"group sequences of similar length"`
}

// Model is the shared encoder: an embedding and a recurrent stack.
type Model struct {
	Embedding int `yaml:"embedding" doc:"token embedding size" min:"1"`
	// FeatureEmbedding is the size of the embedding of the per-token feature
	// column (columns.feature), used when the data has one.
	FeatureEmbedding int     `yaml:"feature_embedding" doc:"embedding size of the per-token feature column (columns.feature)" min:"1"`
	Cell             Cell    `yaml:"cell" doc:"recurrent cell" enum:"rnn,rnn_relu,lstm,gru"`
	Hidden           int     `yaml:"hidden" doc:"hidden size per direction" min:"1"`
	Layers           int     `yaml:"layers" doc:"stacked recurrent layers" min:"1"`
	Bidirectional    bool    `yaml:"bidirectional" doc:"read the sequence both ways"`
	Dropout          float64 `yaml:"dropout" doc:"dropout on embeddings, between layers and on the encoder output" min:"0" max:"0.95"`
	Variational      bool    `yaml:"variational" doc:"one dropout mask shared over time steps"`
	// WeightDropout drops recurrent weights (DropConnect on W_hh, AWD-LSTM's
	// regulariser of the recurrence), one mask per batch.
	WeightDropout float64 `yaml:"weight_dropout,omitempty" doc:"probability of dropping each recurrent weight, one mask per batch (AWD-LSTM)" min:"0" max:"0.95"`
	Peephole      bool    `yaml:"peephole" doc:"LSTM peephole connections"`
	ForgetGate    bool    `yaml:"forget_gate" doc:"LSTM forget gate (false: the original 1997 cell)"`
	// Char adds character-level word features: a bidirectional recurrent layer
	// reads each word's characters and its final states join the word
	// embedding, so words never seen in training still get a representation.
	Char *Char `yaml:"char,omitempty" doc:"character-level word features (a BiLSTM over each word's characters)"`
	// EmbeddingInit starts the token embedding from pretrained word vectors
	// (word2vec, GloVe, fastText) instead of random values.
	EmbeddingInit *EmbeddingInit `yaml:"embedding_init,omitempty" doc:"start the token embedding from a file of pretrained word vectors"`
	// Limits bound the parameters and the memory of the model, checked when
	// the recipe loads and again when the vocabularies are known.
	Limits ModelLimits `yaml:"limits" doc:"bounds on the model's parameters and on the memory a training step needs, so a slip such as hidden: 1000000 is refused before anything is allocated"`
}

// Defaults implements [Defaulter]: a BiLSTM of 25 units per direction over
// character embeddings of 25 (Lample et al. 2016).
func (c *Char) Defaults() { *c = Char{Embedding: 25, Hidden: 25, Cell: CellLSTM} }

// EmbeddingInit names a file of pretrained word vectors and how the token
// embedding uses them. Its dimension must be model.embedding.
type EmbeddingInit struct {
	Path   string `yaml:"path" doc:"file of word vectors (plain, .gz or .zst; relative to the recipe)"`
	Format string `yaml:"format" doc:"word2vec (text or binary, recognised), glove (text, no header) or fasttext_vec (.vec)" enum:"word2vec,glove,fasttext_vec"`
	// Lower looks a word up lower-cased when the file lacks it as written
	// (GloVe's files are lower-case).
	Lower bool `yaml:"lower,omitempty" doc:"look a word up lower-cased when the file lacks it as written"`
	// Freeze keeps the embedding as the file gives it: it is not trained.
	Freeze bool `yaml:"freeze,omitempty" doc:"keep the pretrained embedding as it is (not trained)"`
	// ExtendVocab adds the file's words that the training data lacks to the
	// input vocabulary (up to data.vocab.max_size and data.limits), so that a
	// dev or test word unseen in training gets its vector instead of <unk>.
	ExtendVocab bool `yaml:"extend_vocab,omitempty" doc:"add the file's words absent from the training data to the input vocabulary, so that unseen words keep their vectors"`
}

// Char configures character-level word features.
type Char struct {
	Embedding int  `yaml:"embedding" doc:"character embedding size" min:"1"`
	Hidden    int  `yaml:"hidden" doc:"hidden size per direction of the character layer" min:"1"`
	Cell      Cell `yaml:"cell" doc:"recurrent cell of the character layer" enum:"rnn,rnn_relu,lstm,gru"`
}

// Task names the task type; Options is that type's own section, decoded strictly
// into the type the task registry gives for it. In YAML the options sit beside
// type: {type: tagging, scheme: bio}.
type Task struct {
	Type    string `yaml:"type"`
	Options any    `yaml:"-"`
}

// MarshalYAML writes the options beside the type, as a recipe states them.
func (t Task) MarshalYAML() (any, error) {
	n := &yaml.Node{}
	if t.Options != nil {
		if err := n.Encode(t.Options); err != nil {
			return nil, err
		}
	}
	if n.Kind != yaml.MappingNode {
		n = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	}
	typ := []*yaml.Node{{Kind: yaml.ScalarNode, Tag: "!!str", Value: "type"}, {Kind: yaml.ScalarNode, Tag: "!!str", Value: t.Type}}
	n.Content = append(typ, n.Content...)
	return n, nil
}

// YAML is the recipe as YAML, every default stated: what seqkit recipe show prints
// and what a run directory keeps.
func (r *Recipe) YAML() ([]byte, error) {
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(r); err != nil {
		return nil, err
	}
	return b.Bytes(), enc.Close()
}

// Train is the optimisation and its bookkeeping.
type Train struct {
	Epochs    int       `yaml:"epochs" doc:"passes over the training data" min:"0" max:"1000000"`
	Steps     int       `yaml:"steps,omitempty" doc:"stop after this many updates (0: after epochs)" min:"0" max:"1000000000000"`
	Optimizer Optimizer `yaml:"optimizer" doc:"optimizer" enum:"adam,adamw,sgd"`
	LR        float64   `yaml:"lr" doc:"peak learning rate" min:"0" exclusiveMin:"true"`
	Momentum  float64   `yaml:"momentum,omitempty" doc:"SGD momentum" min:"0" max:"0.9999"`
	Decay     float64   `yaml:"weight_decay,omitempty" doc:"weight decay (L2 for adam and sgd, decoupled for adamw)" min:"0"`
	Schedule  Schedule  `yaml:"schedule" doc:"learning-rate schedule"`
	Clip      float64   `yaml:"clip" doc:"clip gradients to this global L2 norm (0: off)" min:"0"`
	// EMA evaluates and keeps a moving average of the weights instead of the
	// last ones (nn.EMA).
	EMA float64 `yaml:"ema,omitempty" doc:"evaluate and keep an exponential moving average of the weights with this decay, e.g. 0.999 (0: off)" min:"0" max:"0.99999"`
	// AverageLast averages the weights of the last K evaluations' checkpoints
	// when training ends (fairseq's checkpoint averaging); the average
	// replaces the best checkpoint when dev scores it better.
	AverageLast int `yaml:"average_last,omitempty" doc:"at the end, average the weights of the last K dev evaluations and keep the average if dev prefers it (0: off)" min:"0" max:"50"`
	// SkipNonFinite leaves out a batch whose loss or gradient norm is NaN or
	// infinite instead of stopping the run; each one is a line of metrics.jsonl.
	SkipNonFinite bool      `yaml:"skip_nonfinite,omitempty" doc:"leave out a batch whose loss or gradients are NaN or infinite (counted, and named in metrics.jsonl) instead of stopping the run"`
	Seed          uint64    `yaml:"seed" doc:"seed of every random choice: weights, dropout, shuffling"`
	EvalEvery     int       `yaml:"eval_every,omitempty" doc:"evaluate on dev every N steps (0: after each epoch)" min:"0"`
	EarlyStop     EarlyStop `yaml:"early_stop" doc:"stop when the dev metric stops improving"`
	// CheckpointEvery writes the resumable checkpoint every N steps in addition to
	// after every evaluation (0: only after evaluations).
	CheckpointEvery int `yaml:"checkpoint_every,omitempty" doc:"also write a resumable checkpoint every N steps" min:"0"`
	// BPTT is the truncated backpropagation length for streamed text (0: whole sequences).
	BPTT int `yaml:"bptt,omitempty" doc:"truncated BPTT length for streamed text" min:"0"`
}

// Schedule is the learning-rate schedule.
type Schedule struct {
	Kind     ScheduleKind `yaml:"kind" doc:"schedule" enum:"constant,warmup_linear,step,plateau"`
	Warmup   int          `yaml:"warmup,omitempty" doc:"warm-up steps (warmup_linear)" min:"0"`
	Every    int          `yaml:"every,omitempty" doc:"decay every N steps (step)" min:"0"`
	Factor   float64      `yaml:"factor,omitempty" doc:"decay factor (step, plateau)" min:"0" max:"1"`
	Patience int          `yaml:"patience,omitempty" doc:"evaluations without improvement before a decay (plateau)" min:"0"`
	Min      float64      `yaml:"min,omitempty" doc:"lowest learning rate (plateau)" min:"0"`
}

// EarlyStop stops training when the dev metric has not improved for Patience
// evaluations. The best checkpoint is kept either way.
type EarlyStop struct {
	Metric   string `yaml:"metric,omitempty" doc:"dev metric to watch (default: the task's main metric)"`
	Patience int    `yaml:"patience" doc:"evaluations without improvement before stopping (0: never stop early)" min:"0"`
}

// Output says where results go.
type Output struct {
	// Dir is the run directory; empty means runs/NAME under the working directory.
	Dir         string `yaml:"dir,omitempty" doc:"run directory (default runs/NAME)"`
	Predictions bool   `yaml:"predictions" doc:"write test-set predictions"`
	Plots       bool   `yaml:"plots" doc:"draw learning curves as PNG"`
	// Examples are inputs to predict and print at the end of a run, a quick look
	// at what the model does.
	Examples []string `yaml:"examples,omitempty" doc:"inputs to predict and print at the end of seqkit run"`
}

// Default is the recipe every recipe starts from. It is the one place where
// defaults live.
func Default() Recipe {
	return Recipe{
		Data: Data{
			Batch: Batch{Size: 32, Bucket: true},
		},
		Model: Model{
			Embedding: 100, FeatureEmbedding: 20, Cell: CellLSTM, Hidden: 128, Layers: 1,
			Bidirectional: true, Dropout: 0.2, ForgetGate: true,
		},
		Train: Train{
			Epochs: 10, Optimizer: Adam, LR: 1e-3, Clip: 5, Seed: 1,
			Schedule:  Schedule{Kind: Constant},
			EarlyStop: EarlyStop{Patience: 0},
		},
		Output: Output{Predictions: true, Plots: true},
	}
}
