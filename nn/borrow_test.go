package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"testing"
)

// poisonPools fills every buffer waiting in the borrow pools with NaN, so that
// a pass that reads a borrowed value before writing it gives NaN.
func poisonPools() {
	pools.Range(func(_, v any) bool {
		p := v.(*sync.Pool)
		var held []*[]float32
		for {
			b, _ := p.Get().(*[]float32)
			if b == nil {
				break
			}
			for i := range *b {
				(*b)[i] = float32(math.NaN())
			}
			held = append(held, b)
		}
		for _, b := range held {
			p.Put(b)
		}
		return true
	})
}

// TestBorrowedNotCleared: a recorded pass and its backward pass borrow their
// buffers and do not clear them, so they must write every value they read.
// Each layer runs twice, the second time with every pooled buffer full of
// NaN, and must give the same bits: outputs, final states and every gradient,
// with padded rows (lengths vary) and every cell.
func TestBorrowedNotCleared(t *testing.T) {
	cells := []RNNConfig{
		{Cell: LSTM}, {Cell: LSTM, Peephole: true}, {Cell: GRU}, {Cell: RNNTanh}, {Cell: RNNReLU},
		{Cell: GRU, Bidirectional: true, Layers: 2}, {Cell: LSTM, Bidirectional: true},
	}
	const steps, B = 6, 20
	for _, cfg := range cells {
		cfg.InputSize, cfg.HiddenSize = 5, 8
		t.Run(fmt.Sprintf("%v/bi=%v/layers=%d", cfg.Cell, cfg.Bidirectional, cfg.Layers), func(t *testing.T) {
			run := func() [][]float32 {
				rng := rand.New(rand.NewPCG(3, 4))
				r, err := NewRNN[float32]("rnn", cfg, rng)
				if err != nil {
					t.Fatal(err)
				}
				x := NewTensor[float32](steps, B, cfg.InputSize)
				Normal(x.Data, 1, rng)
				lengths := make([]int, B)
				for i := range lengths {
					lengths[i] = 1 + rng.IntN(steps)
				}
				tp := new(Tape)
				out, final := r.Forward(tp, x, lengths, State[float32]{}, nil)
				w := make([]float32, out.Len()+final.H.Len())
				Normal(w, 1, rng)
				loss := NewTensor[float32](1)
				for i, v := range append(append([]float32(nil), out.Data...), final.H.Data...) {
					loss.Data[0] += w[i] * v
				}
				tp.Record(func() {
					for i := range out.EnsureGrad() {
						out.Grad[i] += w[i]
					}
					for i := range final.H.EnsureGrad() {
						final.H.Grad[i] += w[out.Len()+i]
					}
				})
				Backward(tp, loss)
				got := [][]float32{out.Data, final.H.Data, x.Grad}
				for _, p := range r.Params() {
					got = append(got, p.Grad)
				}
				return got
			}
			want := run()
			poisonPools()
			got := run()
			for i := range want {
				for j := range want[i] {
					if math.Float32bits(got[i][j]) != math.Float32bits(want[i][j]) {
						t.Fatalf("value %d of result %d is %g after the pools were filled with NaN, %g before", j, i, got[i][j], want[i][j])
					}
				}
			}
		})
	}
}
