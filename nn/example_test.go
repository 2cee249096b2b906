package nn_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/seqkit/seqkit/nn"
)

// A bidirectional LSTM over a batch of two sequences of lengths 4 and 2, with a
// backward pass from a loss on the outputs.
func ExampleRNN() {
	rng := rand.New(rand.NewPCG(1, 2))
	lstm, err := nn.NewRNN[float32]("rnn", nn.RNNConfig{Cell: nn.LSTM, InputSize: 3, HiddenSize: 2, Bidirectional: true}, rng)
	if err != nil {
		panic(err)
	}
	head := nn.NewLinear[float32]("head", 4, 5, rng)
	x := nn.NewTensor[float32](4, 2, 3) // [T, B, features], time-major
	nn.Normal(x.Data, 1, rng)
	targets := []int32{1, 2, 3, 4, 0, -1, 2, -1} // -1: padding, no loss

	tp := new(nn.Tape)
	out, final := lstm.Forward(tp, x, []int{4, 2}, nn.State[float32]{}, nil)
	loss := nn.CrossEntropy(tp, head.Forward(tp, out), targets, -1, nn.CEOptions{})
	nn.Backward(tp, loss)

	fmt.Println("outputs", out.Shape, "final states", final.H.Shape, final.C.Shape)
	fmt.Println("padded step output:", out.Data[(3*2+1)*4:(3*2+2)*4])
	for _, p := range lstm.Params() {
		fmt.Println(p.Name, p.Shape, len(p.Grad) == len(p.Data))
	}
	// Output:
	// outputs [4 2 4] final states [2 2 2] [2 2 2]
	// padded step output: [0 0 0 0]
	// rnn.weight_ih_l0 [8 3] true
	// rnn.weight_hh_l0 [8 2] true
	// rnn.bias_ih_l0 [8] true
	// rnn.bias_hh_l0 [8] true
	// rnn.weight_ih_l0_reverse [8 3] true
	// rnn.weight_hh_l0_reverse [8 2] true
	// rnn.bias_ih_l0_reverse [8] true
	// rnn.bias_hh_l0_reverse [8] true
}
