package nn

import (
	"fmt"
	"math/rand/v2"
)

// EmbeddingBag averages (or, with Sum, adds) rows of W [vocab, dim] (name.weight)
// over bags of ids, like PyTorch's nn.EmbeddingBag(mode="mean" or "sum"): a bag of
// hashed n-grams becomes one vector, a linear bag-of-words model when dim is the
// number of classes.
type EmbeddingBag[T Float] struct {
	W          *Tensor[T]
	Vocab, Dim int
	Sum        bool
}

// NewEmbeddingBag returns a table initialised N(0, std²); std 0 gives zeros, the
// usual start of a linear model.
func NewEmbeddingBag[T Float](name string, vocab, dim int, std float64, rng *rand.Rand) *EmbeddingBag[T] {
	e := &EmbeddingBag[T]{W: NewTensor[T](vocab, dim), Vocab: vocab, Dim: dim}
	e.W.Name = name + ".weight"
	if std > 0 {
		Normal(e.W.Data, std, rng)
	}
	return e
}

// Params returns the table.
func (e *EmbeddingBag[T]) Params() []*Tensor[T] { return []*Tensor[T]{e.W} }

// Forward returns [bags, Dim]: row b is the mean (or sum) of the rows
// ids[offsets[b]:offsets[b+1]] (zeros for an empty bag). offsets has one more entry than there are bags, the
// last being len(ids).
func (e *EmbeddingBag[T]) Forward(tp *Tape, ids []int32, offsets []int) *Tensor[T] {
	bags := len(offsets) - 1
	if bags < 0 || offsets[bags] != len(ids) {
		panic(fmt.Sprintf("nn: EmbeddingBag: offsets %v do not end at %d ids", offsets, len(ids)))
	}
	D := e.Dim
	out := NewTensor[T](bags, D)
	for b := range bags {
		lo, hi := offsets[b], offsets[b+1]
		if hi <= lo {
			continue
		}
		row := out.Data[b*D : (b+1)*D]
		for i, id := range ids[lo:hi] {
			if id < 0 || int(id) >= e.Vocab {
				panic(fmt.Sprintf("nn: EmbeddingBag %s: id %d at position %d outside [0, %d)", e.W.Name, id, lo+i, e.Vocab))
			}
			for j, v := range e.W.Data[int(id)*D : (int(id)+1)*D] {
				row[j] += v
			}
		}
		if scale := e.scale(hi - lo); scale != 1 {
			for j := range row {
				row[j] *= scale
			}
		}
	}
	tp.Record(func() {
		if out.Grad == nil {
			return
		}
		dw := e.W.EnsureGrad()
		for b := range bags {
			lo, hi := offsets[b], offsets[b+1]
			if hi <= lo {
				continue
			}
			scale := e.scale(hi - lo)
			g := out.Grad[b*D : (b+1)*D]
			for _, id := range ids[lo:hi] {
				row := dw[int(id)*D : (int(id)+1)*D]
				for j, v := range g {
					row[j] += scale * v
				}
			}
		}
	})
	return out
}

// scale is what the sum of a bag of n rows is multiplied by.
func (e *EmbeddingBag[T]) scale(n int) T {
	if e.Sum {
		return 1
	}
	return 1 / T(n)
}
