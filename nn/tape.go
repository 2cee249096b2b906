package nn

// Tape records the backward closure of every operation run in a forward pass and
// replays them in reverse. The zero value is ready to use; a nil *Tape records
// nothing, which is how inference runs without backward caches.
type Tape struct {
	ops []func()
}

// Recording reports whether operations are being recorded (tp is not nil).
func (tp *Tape) Recording() bool { return tp != nil }

// Record appends an operation's backward pass; on a nil tape it does nothing. Layers
// here use it, and so can code elsewhere (a task head, a plugin's model): backward
// must read the gradients of the operation's outputs (skipping a nil Grad, which
// means no gradient reached them) and accumulate into the gradients of its inputs
// and parameters.
func (tp *Tape) Record(backward func()) {
	if tp != nil {
		tp.ops = append(tp.ops, backward)
	}
}

// Replay runs the recorded backward closures in reverse order and clears the tape.
// The caller seeds the gradient of the output first; [Backward] does that for a
// scalar loss.
func (tp *Tape) Replay() {
	for i := len(tp.ops) - 1; i >= 0; i-- {
		tp.ops[i]()
		tp.ops[i] = nil
	}
	tp.ops = tp.ops[:0]
}

// Backward seeds d loss / d loss = 1 and replays the tape. loss must be a scalar
// (one element).
func Backward[T Float](tp *Tape, loss *Tensor[T]) {
	if loss.Len() != 1 {
		panic("nn: Backward needs a scalar loss")
	}
	g := loss.EnsureGrad()
	g[0] = 1
	tp.Replay()
}
