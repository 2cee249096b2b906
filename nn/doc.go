// Package nn is seqkit's shared recurrent core: tensors, the GEMM seam, layers with
// hand-derived backward passes (backpropagation through time), losses, optimizers,
// learning-rate schedules, initialisers and safetensors checkpoints.
//
// # Design
//
// Layers are coarse operations, not a fine-grained autodiff graph. Each forward call
// records one closure on a [Tape]; [Tape.Backward] replays them in reverse. A nil *Tape
// means inference: nothing is recorded and no backward caches are kept. A model is
// composed by calling layers in order with the same tape:
//
//	tp := new(nn.Tape)
//	x := emb.Forward(tp, ids, T, B)              // [T, B, E]
//	out, _ := rnn.Forward(tp, x, lengths, nn.State[float32]{}, rng)
//	logits := head.Forward(tp, out)               // [T, B, C]
//	loss := nn.CrossEntropy(tp, logits, targets, -1, nn.CEOptions{})
//	nn.Backward(tp, loss)                         // fills every Param's Grad
//	opt.Step(lr)
//
// Sequences are time-major: a batch of B sequences of at most T steps with feature size
// F is a [T, B, F] tensor plus a lengths vector. Padded steps change no state, produce
// zero output and receive no gradient; the reverse direction of a bidirectional layer
// starts at each sequence's own last token.
//
// Every layer is generic over float32 (training and inference) and float64 (gradient
// checks against finite differences, see package nntest). All matrix products go
// through [Gemm], the one seam where faster kernels plug in.
//
// No function here reads a global random source: initialisers and dropout take a
// *rand.Rand from the caller.
package nn
