package nn

// EMA wraps an optimizer and keeps an exponential moving average of the
// parameters it updates (Polyak averaging, as TensorFlow's
// ExponentialMovingAverage and timm's ModelEmaV2 do). The average of the last
// thousand or so updates scores better on held-out data than the weights of the
// last one, which carry the noise of the last few batches; evaluating and
// keeping the average is what Use is for.
//
// The effective decay starts low and rises to Decay, min(Decay, (1+t)/(10+t))
// after t updates, so early averages do not remember the random initial weights.
// The averages are part of State: a resumed run continues them exactly.
type EMA[T Float] struct {
	Decay float64
	inner Stateful[T]
	// params and avg are the parameters and their averages, in the same order;
	// saved holds the parameters' own values while Use(true) lends them the
	// averages.
	params []*Tensor[T]
	avg    [][]T
	saved  [][]T
}

// NewEMA returns opt with an average of params. The average starts from the
// params as they are at the first Step, so weights loaded in between (seqkit
// train --init-from) are where it starts, not the ones it was made with.
func NewEMA[T Float](opt Stateful[T], params []*Tensor[T], decay float64) *EMA[T] {
	e := &EMA[T]{Decay: decay, inner: opt, params: params, avg: make([][]T, len(params))}
	for k, p := range params {
		e.avg[k] = make([]T, len(p.Data))
	}
	return e
}

// begin makes the average the params themselves while no step has been taken:
// the average of no updates is the weights as they stand.
func (e *EMA[T]) begin() {
	if e.inner.Steps() == 0 {
		for k, p := range e.params {
			copy(e.avg[k], p.Data)
		}
	}
}

// Step implements [Optimizer]: the inner update, then the averages move a
// share 1-d of the way to the new weights.
func (e *EMA[T]) Step(lr float64) {
	if e.saved != nil {
		panic("nn: EMA.Step while the averages are in use")
	}
	e.begin()
	e.inner.Step(lr)
	t := float64(e.inner.Steps() - 1)
	d := min(e.Decay, (1+t)/(10+t))
	w := T(1 - d)
	for k, p := range e.params {
		// Shared among the cores as the optimizer's own loop is (elementwise,
		// so the same bits either way).
		parallelLarge(len(p.Data), func(lo, hi int) {
			a := e.avg[k][lo:hi]
			for i, v := range p.Data[lo:hi] {
				a[i] += w * (v - a[i])
			}
		})
	}
}

// Use(true) puts the averages in the parameters' place, keeping their own values
// aside; Use(false) puts those back. Evaluate and save between the two; do not
// step.
func (e *EMA[T]) Use(on bool) {
	if on == (e.saved != nil) {
		return
	}
	if !on {
		for k, p := range e.params {
			copy(p.Data, e.saved[k])
		}
		e.saved = nil
		return
	}
	e.begin()
	e.saved = make([][]T, len(e.params))
	for k, p := range e.params {
		e.saved[k] = append([]T(nil), p.Data...)
		copy(p.Data, e.avg[k])
	}
}

// State implements [Stateful]: the inner optimizer's state and the averages
// ("ema/NAME").
func (e *EMA[T]) State() []*Tensor[T] {
	st := e.inner.State()
	for k, p := range e.params {
		st = append(st, &Tensor[T]{Name: "ema/" + p.Name, Shape: []int{len(p.Data)}, Data: e.avg[k]})
	}
	return st
}

// Steps implements [Stateful].
func (e *EMA[T]) Steps() int { return e.inner.Steps() }

// SetSteps implements [Stateful].
func (e *EMA[T]) SetSteps(n int) { e.inner.SetSteps(n) }
