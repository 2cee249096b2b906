package nn_test

import (
	"fmt"
	"testing"

	"github.com/seqkit/seqkit/nn"
	"github.com/seqkit/seqkit/nn/nntest"
)

// TestRNNConformance runs the shared suite for every cell × {uni, bi} × {1, 2 layers},
// the peephole and the no-forget-gate LSTM included.
func TestRNNConformance(t *testing.T) {
	type variant struct {
		name     string
		cell     nn.Cell
		noForget bool
		peephole bool
	}
	variants := []variant{
		{"rnn_tanh", nn.RNNTanh, false, false},
		{"rnn_relu", nn.RNNReLU, false, false},
		{"lstm", nn.LSTM, false, false},
		{"lstm_peephole", nn.LSTM, false, true},
		{"lstm_1997", nn.LSTM, true, false},
		{"lstm_1997_peephole", nn.LSTM, true, true},
		{"gru", nn.GRU, false, false},
	}
	for _, v := range variants {
		for _, bi := range []bool{false, true} {
			for _, layers := range []int{1, 2} {
				cfg := nn.RNNConfig{Cell: v.cell, InputSize: 3, HiddenSize: 4, Layers: layers,
					Bidirectional: bi, NoForgetGate: v.noForget, Peephole: v.peephole}
				t.Run(fmt.Sprintf("%s/bi=%v/layers=%d", v.name, bi, layers), func(t *testing.T) {
					nntest.CheckRNN(t, cfg)
				})
			}
		}
	}
}
