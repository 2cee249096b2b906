package recipes

import (
	"fmt"
	"strings"
)

// Defaults of [ModelLimits]: ten times the largest built-in recipe would still
// fit, and a model past them would not train on a laptop in a day.
const (
	// DefaultMaxParams bounds the parameters of a model.
	DefaultMaxParams = 500_000_000
	// DefaultMaxMemoryBytes bounds the memory a training step is estimated to
	// need (Size.Bytes).
	DefaultMaxMemoryBytes = 16 << 30
)

// ModelLimits bound the model a recipe may ask for, so a typing slip (hidden:
// 1000000) or a hostile recipe is refused by validation, naming the key,
// instead of dying out of memory after the run directory is made. Zero means
// the default; raise them in the recipe or with --set model.limits.max_params=N.
type ModelLimits struct {
	MaxParams      int64 `yaml:"max_params,omitempty" doc:"most parameters of the model (default 500000000)" min:"0" max:"100000000000"`
	MaxMemoryBytes int64 `yaml:"max_memory_bytes,omitempty" doc:"most memory a training step may be estimated to need, in bytes: weights, gradients, optimizer state and one batch's activations (default 17179869184, 16 GiB)" min:"0" max:"1099511627776"`
}

// Params is MaxParams or its default.
func (l ModelLimits) Params() float64 { return float64(orInt64(l.MaxParams, DefaultMaxParams)) }

// MemoryBytes is MaxMemoryBytes or its default.
func (l ModelLimits) MemoryBytes() float64 {
	return float64(orInt64(l.MaxMemoryBytes, DefaultMaxMemoryBytes))
}

func orInt64(n, def int64) int64 {
	if n > 0 {
		return n
	}
	return def
}

// Sizer is implemented by task options that add parameters of their own to
// the shared encoder's (a decoder, say), so that [Recipe.Size] counts them.
type Sizer interface {
	// SizeOf adds the task's parts to s for recipe r and an output vocabulary
	// of out entries.
	SizeOf(r *Recipe, out float64, s *Size)
}

// Size is an estimate of a model's parameters and of the memory a training
// step needs, computed in float64 so that no size overflows.
type Size struct {
	// Parts are the parameters of each part of the model, by the recipe key
	// that sizes it most.
	Parts []SizePart
	// Activations is the number of float32 values one training batch holds
	// for the backward pass, per token of the batch.
	Activations float64
	// Tokens is the padded tokens of one batch: batch.max_tokens, or
	// batch.size sequences of batch.max_len tokens (100 where it is unset).
	Tokens float64
}

// SizePart is the parameters of one part of a model.
type SizePart struct {
	Key    string
	Params float64
}

// Params is the parameters of every part.
func (s *Size) Params() float64 {
	var n float64
	for _, p := range s.Parts {
		n += p.Params
	}
	return n
}

// Bytes is the memory a training step needs: weights, gradients and two
// optimizer moments (16 bytes a parameter), and one batch's activations
// and their gradients.
func (s *Size) Bytes() float64 { return 16*s.Params() + 8*s.Activations*s.Tokens }

// Add counts a part of n parameters sized by key.
func (s *Size) Add(key string, n float64) { s.Parts = append(s.Parts, SizePart{key, n}) }

// RNN counts a recurrent stack of the given shape under key (its first
// layer's input weights under inKey), and its activations per token.
func (s *Size) RNN(key, inKey string, cell Cell, in, hidden, layers float64, bidirectional bool) {
	gates := map[Cell]float64{CellRNN: 1, CellRNNReLU: 1, CellGRU: 3, CellLSTM: 4}[cell]
	if gates == 0 {
		gates = 4
	}
	dirs := 1.0
	if bidirectional {
		dirs = 2
	}
	s.Add(inKey, dirs*gates*hidden*in)
	params := dirs * gates * hidden * (hidden + 2)
	if layers > 1 {
		params += (layers - 1) * dirs * gates * hidden * (dirs*hidden + hidden + 2)
	}
	if layers >= 100 && layers > hidden {
		key = strings.TrimSuffix(key, "hidden") + "layers"
	}
	s.Add(key, params)
	s.Activations += layers * dirs * hidden * (gates + 3)
}

// Size estimates the model of the recipe for an input vocabulary of in
// entries and an output of out (classes, tags or target tokens).
func (r *Recipe) Size(in, out int) *Size {
	m := r.Model
	s := &Size{}
	b := r.Data.Batch
	s.Tokens = float64(b.MaxTokens)
	if b.MaxTokens == 0 {
		n := b.MaxLen
		if n == 0 {
			n = 100
		}
		s.Tokens = float64(b.Size) * float64(n)
	}
	E, H := float64(m.Embedding), float64(m.Hidden)
	s.Add("model.embedding", float64(in)*E)
	s.Activations += E
	input := E
	if c := m.Char; c != nil {
		s.RNN("model.char.hidden", "model.char.embedding", c.Cell, float64(c.Embedding), float64(c.Hidden), 1, true)
		s.Add("model.char.embedding", 1000*float64(c.Embedding)) // characters: a thousand, generously
		input += 2 * float64(c.Hidden)
	}
	if r.Data.Train.Columns.Feature != "" {
		input += float64(m.FeatureEmbedding)
	}
	s.RNN("model.hidden", "model.embedding", m.Cell, input, H, float64(m.Layers), m.Bidirectional)
	if sz, ok := r.Task.Options.(Sizer); ok {
		sz.SizeOf(r, float64(out), s)
	} else {
		s.Head(r, float64(out))
	}
	return s
}

// Head counts an output layer of out units over the encoder's outputs, and
// its logits and their gradients.
func (s *Size) Head(r *Recipe, out float64) {
	dirs := 1.0
	if r.Model.Bidirectional {
		dirs = 2
	}
	s.Add("model.hidden", dirs*float64(r.Model.Hidden)*out)
	s.Activations += 2 * out
}

// CheckSize refuses a model over the recipe's model.limits, naming the key
// of its largest part.
func (r *Recipe) CheckSize(in, out int) *KeyError {
	s := r.Size(in, out)
	lim := r.Model.Limits
	largest := SizePart{Key: "model.hidden"}
	for _, p := range s.Parts {
		if p.Params > largest.Params {
			largest = p
		}
	}
	if n := s.Params(); n > lim.Params() {
		return &KeyError{largest.Key, fmt.Sprintf("the model would have %.3g parameters (%.3g of them sized by this key), more than model.limits.max_params (%.0f): lower it, or raise the limit", n, largest.Params, lim.Params())}
	}
	if n := s.Bytes(); n > lim.MemoryBytes() {
		key := largest.Key
		if 8*s.Activations*s.Tokens > 16*s.Params() {
			key = "data.batch.size"
			if r.Data.Batch.MaxTokens > 0 {
				key = "data.batch.max_tokens"
			}
		}
		return &KeyError{key, fmt.Sprintf("a training step would need about %s (%.3g parameters, %.3g tokens a batch), more than model.limits.max_memory_bytes (%s): lower it, or raise the limit", gib(n), s.Params(), s.Tokens, gib(lim.MemoryBytes()))}
	}
	return nil
}

func gib(n float64) string { return fmt.Sprintf("%.3g GiB", n/(1<<30)) }
