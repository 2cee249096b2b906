package nn

import (
	"encoding/json"
	"math"
)

// Schedule gives the learning rate for an optimizer step (counted from 0).
type Schedule interface {
	LR(step int) float64
}

// Constant is a fixed learning rate.
type Constant float64

// LR implements [Schedule].
func (c Constant) LR(int) float64 { return float64(c) }

// WarmupLinear rises linearly from 0 to Base over Warmup steps, then falls linearly to
// Final at step Total and stays there: the usual schedule for Adam on small data.
type WarmupLinear struct {
	Base          float64
	Warmup, Total int
	Final         float64
}

// LR implements [Schedule].
func (w WarmupLinear) LR(step int) float64 {
	if step < w.Warmup {
		return w.Base * float64(step+1) / float64(w.Warmup)
	}
	if step >= w.Total || w.Total <= w.Warmup {
		return w.Final
	}
	frac := float64(step-w.Warmup) / float64(w.Total-w.Warmup)
	return w.Base + (w.Final-w.Base)*frac
}

// StepDecay multiplies Base by Gamma every Every steps.
type StepDecay struct {
	Base  float64
	Every int
	Gamma float64
}

// LR implements [Schedule].
func (s StepDecay) LR(step int) float64 {
	if s.Every <= 0 {
		return s.Base
	}
	return s.Base * math.Pow(s.Gamma, float64(step/s.Every))
}

// ReduceOnPlateau multiplies the rate by Factor when the observed metric has not
// improved for more than Patience observations (torch's ReduceLROnPlateau, mode
// "min" unless Maximize, threshold 0), never going below Min. Feed it one metric per
// evaluation with [ReduceOnPlateau.Observe].
type ReduceOnPlateau struct {
	Base     float64
	Factor   float64 // default 0.1
	Patience int
	Min      float64
	Maximize bool

	lr      float64
	best    float64
	bad     int
	started bool
}

// LR implements [Schedule]; it ignores step and returns the current rate.
func (r *ReduceOnPlateau) LR(int) float64 {
	if !r.started {
		return r.Base
	}
	return r.lr
}

// Observe records a metric and reports whether the rate was reduced.
func (r *ReduceOnPlateau) Observe(metric float64) bool {
	if !r.started {
		r.started, r.best, r.lr = true, metric, r.Base
		return false
	}
	better := metric < r.best
	if r.Maximize {
		better = metric > r.best
	}
	if better {
		r.best, r.bad = metric, 0
		return false
	}
	r.bad++
	if r.bad <= r.Patience {
		return false
	}
	f := r.Factor
	if f == 0 {
		f = 0.1
	}
	next := max(r.lr*f, r.Min)
	r.bad = 0
	if next < r.lr {
		r.lr = next
		return true
	}
	return false
}

// plateauJSON is ReduceOnPlateau with its running state, for checkpoints.
type plateauJSON struct {
	Base, Factor, Min float64
	Patience          int
	Maximize          bool
	LR, Best          float64
	Bad               int
	Started           bool
}

// MarshalJSON saves the schedule with its running state, so a resumed run
// continues from the same rate and patience count.
func (r *ReduceOnPlateau) MarshalJSON() ([]byte, error) {
	return json.Marshal(plateauJSON{r.Base, r.Factor, r.Min, r.Patience, r.Maximize, r.lr, r.best, r.bad, r.started})
}

// UnmarshalJSON restores what MarshalJSON saved.
func (r *ReduceOnPlateau) UnmarshalJSON(b []byte) error {
	var p plateauJSON
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*r = ReduceOnPlateau{Base: p.Base, Factor: p.Factor, Min: p.Min, Patience: p.Patience, Maximize: p.Maximize,
		lr: p.LR, best: p.Best, bad: p.Bad, started: p.Started}
	return nil
}
