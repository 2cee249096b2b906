package nn

import (
	"fmt"
	"math/rand/v2"
)

// Embedding maps token ids to rows of W [vocab, dim] (name.weight). The row of
// PaddingIdx is zero at construction and never receives a gradient, as in PyTorch's
// padding_idx; a negative PaddingIdx means there is none.
type Embedding[T Float] struct {
	W          *Tensor[T]
	Vocab, Dim int
	PaddingIdx int
	// Frozen keeps W as it is: no gradient reaches it (pretrained vectors
	// used as they are).
	Frozen bool
}

// NewEmbedding returns an embedding table initialised N(0, 1) like PyTorch's.
func NewEmbedding[T Float](name string, vocab, dim, paddingIdx int, rng *rand.Rand) *Embedding[T] {
	e := &Embedding[T]{W: NewTensor[T](vocab, dim), Vocab: vocab, Dim: dim, PaddingIdx: paddingIdx}
	e.W.Name = name + ".weight"
	Normal(e.W.Data, 1, rng)
	if paddingIdx >= 0 && paddingIdx < vocab {
		clear(e.W.Data[paddingIdx*dim : (paddingIdx+1)*dim])
	}
	return e
}

// Params returns the table.
func (e *Embedding[T]) Params() []*Tensor[T] { return []*Tensor[T]{e.W} }

// Forward looks up ids and returns a tensor of shape [shape..., Dim]. len(ids) must be
// the product of shape. An id outside [0, Vocab) panics: the pipeline's vocabulary
// guarantees ids are in range, so one that is not is a programming error.
func (e *Embedding[T]) Forward(tp *Tape, ids []int32, shape ...int) *Tensor[T] {
	if numel(shape) != len(ids) {
		panic(fmt.Sprintf("nn: Embedding: shape %v does not hold %d ids", shape, len(ids)))
	}
	e.checkIDs(ids)
	out := NewTensor[T](append(append([]int(nil), shape...), e.Dim)...)
	for i, id := range ids {
		copy(out.Data[i*e.Dim:(i+1)*e.Dim], e.W.Data[int(id)*e.Dim:(int(id)+1)*e.Dim])
	}
	tp.Record(func() {
		if out.Grad == nil || e.Frozen {
			return
		}
		dw := e.W.EnsureGrad()
		for i, id := range ids {
			if int(id) == e.PaddingIdx {
				continue
			}
			row := dw[int(id)*e.Dim : (int(id)+1)*e.Dim]
			for j, v := range out.Grad[i*e.Dim : (i+1)*e.Dim] {
				row[j] += v
			}
		}
	})
	return out
}

// checkIDs panics at the first id outside [0, Vocab).
func (e *Embedding[T]) checkIDs(ids []int32) {
	for i, id := range ids {
		if id < 0 || int(id) >= e.Vocab {
			panic(fmt.Sprintf("nn: Embedding %s: id %d at position %d outside [0, %d)", e.W.Name, id, i, e.Vocab))
		}
	}
}
