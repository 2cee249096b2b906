package nn

import (
	"fmt"
	"unsafe"
)

// MaxLookupBytes bounds the tables a Lookup builds: a vocabulary too large for
// them keeps the input product.
const MaxLookupBytes = 256 << 20

// Lookup runs an embedding and the recurrent stack over it for inference, with
// weights that stay fixed while it is in use. The first layer's input
// projection of a token, e·W_ihᵀ + b, depends on nothing but the token, so
// once the Lookup has read as many tokens as the embedding has rows it
// projects every row once, and from then on that layer's input product (a
// third of a GRU classifier's inference) is a copy of one row per token.
// Waiting until then means the table never costs more than the products it
// saves (the ski-rental rule). Tables larger than MaxLookupBytes are not built.
//
// Make a new Lookup after the weights change; one Lookup is not for concurrent
// use.
type Lookup[T Float] struct {
	emb    *Embedding[T]
	rnn    *RNN[T]
	seen   int         // tokens read before the table was built
	tables []gather[T] // per direction of the first layer; nil until built
}

// NewLookup returns a Lookup of rnn over emb, whose width must be the stack's
// input size.
func NewLookup[T Float](emb *Embedding[T], rnn *RNN[T]) (*Lookup[T], error) {
	if emb.Dim != rnn.Config.InputSize {
		return nil, fmt.Errorf("nn: Lookup: embedding width %d, recurrent input size %d", emb.Dim, rnn.Config.InputSize)
	}
	return &Lookup[T]{emb: emb, rnn: rnn}, nil
}

// Forward is rnn.Forward of emb.Forward(ids) without dropout or gradient:
// ids [steps, B], time-major.
func (l *Lookup[T]) Forward(ids []int32, steps, B int, lengths []int, init State[T]) (*Tensor[T], State[T]) {
	if l.tables == nil {
		l.seen += len(ids)
		if l.seen >= l.emb.Vocab {
			l.build()
		}
	}
	if l.tables == nil {
		return l.rnn.Forward(nil, l.emb.Forward(nil, ids, steps, B), lengths, init, nil)
	}
	if len(ids) != steps*B {
		panic(fmt.Sprintf("nn: Lookup: %d ids for [%d, %d]", len(ids), steps, B))
	}
	l.emb.checkIDs(ids)
	first := make([]gather[T], len(l.tables))
	for d, t := range l.tables {
		first[d] = gather[T]{table: t.table, ids: ids}
	}
	return l.rnn.forward(nil, nil, first, steps, B, lengths, init, nil)
}

// build projects every embedding row through each first-layer direction, unless
// the tables would be larger than MaxLookupBytes (then seen stops counting).
func (l *Lookup[T]) build() {
	var zero T
	G := l.rnn.Config.Cell.gates()
	GH := G * l.rnn.Config.HiddenSize
	dirs := l.rnn.dirs[0]
	if l.emb.Vocab*GH*len(dirs)*int(unsafe.Sizeof(zero)) > MaxLookupBytes {
		l.seen = -1 << 62
		return
	}
	tables := make([]gather[T], len(dirs))
	for d, p := range dirs {
		t := make([]T, l.emb.Vocab*GH)
		gemmBias(0, false, true, l.emb.Vocab, GH, p.in, l.emb.W.Data, p.in, p.wih.Data, p.in, p.inputBias(l.rnn.Config.Cell), t, GH)
		tables[d].table = t
	}
	l.tables = tables
}

// Built reports whether the table is in use.
func (l *Lookup[T]) Built() bool { return l.tables != nil }
