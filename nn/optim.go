package nn

import (
	"math"
	"runtime"
	"sync"
	"unsafe"

	"github.com/seqkit/seqkit/nn/internal/vmath"
)

// Optimizer updates parameters from their gradients.
type Optimizer interface {
	// Step applies one update with learning rate lr. It does not clear gradients.
	Step(lr float64)
}

// Stateful is an optimizer whose internal buffers can be saved and restored, so
// that a resumed run continues exactly where it stopped. State returns the
// buffers as named tensors that share the optimizer's memory: saving them with
// [SaveSafetensors] and later loading into them with [LoadSafetensors] restores
// the optimizer. Steps is the number of updates applied so far.
type Stateful[T Float] interface {
	Optimizer
	State() []*Tensor[T]
	Steps() int
	SetSteps(n int)
}

// SGDConfig tunes [SGD]; the zero value is plain SGD.
type SGDConfig struct {
	Momentum float64
	// Nesterov uses Nesterov momentum (PyTorch's formulation); it needs Momentum > 0.
	Nesterov bool
	// WeightDecay adds WeightDecay·w to the gradient (L2 regularisation).
	WeightDecay float64
}

// SGD is stochastic gradient descent with optional momentum, following torch.optim.SGD.
type SGD[T Float] struct {
	Config SGDConfig
	params []*Tensor[T]
	buf    [][]T
	// started[k] is 1 once parameter k's momentum buffer holds a value (PyTorch
	// starts the buffer at the first gradient, not at zero).
	started []T
	t       int
}

// NewSGD returns an SGD optimizer over params.
func NewSGD[T Float](params []*Tensor[T], cfg SGDConfig) *SGD[T] {
	o := &SGD[T]{Config: cfg, params: params, buf: make([][]T, len(params)), started: make([]T, len(params))}
	if cfg.Momentum != 0 {
		for k, p := range params {
			o.buf[k] = make([]T, len(p.Data))
		}
	}
	return o
}

// State implements [Stateful]: the momentum buffers ("sgd.momentum/NAME") and
// which of them have started ("sgd.started").
func (o *SGD[T]) State() []*Tensor[T] {
	st := []*Tensor[T]{{Name: "sgd.started", Shape: []int{len(o.started)}, Data: o.started}}
	for k, p := range o.params {
		if o.buf[k] != nil {
			st = append(st, &Tensor[T]{Name: "sgd.momentum/" + p.Name, Shape: []int{len(p.Data)}, Data: o.buf[k]})
		}
	}
	return st
}

// Steps implements [Stateful].
func (o *SGD[T]) Steps() int { return o.t }

// SetSteps implements [Stateful].
func (o *SGD[T]) SetSteps(n int) { o.t = n }

// Step implements [Optimizer].
func (o *SGD[T]) Step(lr float64) {
	o.t++
	mu, wd := T(o.Config.Momentum), T(o.Config.WeightDecay)
	for k, p := range o.params {
		if p.Grad == nil {
			continue
		}
		first := o.started[k] == 0
		o.started[k] = 1
		for i, g := range p.Grad {
			d := g + wd*p.Data[i]
			if mu != 0 {
				b := &o.buf[k][i]
				if first {
					*b = d
				} else {
					*b = mu**b + d
				}
				if o.Config.Nesterov {
					d += mu * *b
				} else {
					d = *b
				}
			}
			p.Data[i] -= T(lr) * d
		}
	}
}

// AdamConfig tunes [Adam]; zero fields take the defaults β1 = 0.9, β2 = 0.999,
// ε = 1e-8.
type AdamConfig struct {
	Beta1, Beta2, Eps float64
	// WeightDecay is L2 regularisation added to the gradient (torch.optim.Adam), or,
	// with Decoupled, a decay of the weights themselves (AdamW, Loshchilov and Hutter
	// 2019: w -= lr·WeightDecay·w).
	WeightDecay float64
	Decoupled   bool
}

// Adam is the Adam optimizer (Kingma and Ba 2015) with bias correction, and AdamW when
// Config.Decoupled is set. Updates match torch.optim.Adam and AdamW.
type Adam[T Float] struct {
	Config AdamConfig
	params []*Tensor[T]
	m, v   [][]T
	t      int
}

// NewAdam returns an Adam optimizer over params.
func NewAdam[T Float](params []*Tensor[T], cfg AdamConfig) *Adam[T] {
	if cfg.Beta1 == 0 {
		cfg.Beta1 = 0.9
	}
	if cfg.Beta2 == 0 {
		cfg.Beta2 = 0.999
	}
	if cfg.Eps == 0 {
		cfg.Eps = 1e-8
	}
	o := &Adam[T]{Config: cfg, params: params, m: make([][]T, len(params)), v: make([][]T, len(params))}
	for k, p := range params {
		o.m[k], o.v[k] = make([]T, len(p.Data)), make([]T, len(p.Data))
	}
	return o
}

// NewAdamW is NewAdam with decoupled weight decay.
func NewAdamW[T Float](params []*Tensor[T], cfg AdamConfig) *Adam[T] {
	cfg.Decoupled = true
	return NewAdam(params, cfg)
}

// State implements [Stateful]: the first and second moments ("adam.m/NAME",
// "adam.v/NAME").
func (o *Adam[T]) State() []*Tensor[T] {
	var st []*Tensor[T]
	for k, p := range o.params {
		st = append(st,
			&Tensor[T]{Name: "adam.m/" + p.Name, Shape: []int{len(p.Data)}, Data: o.m[k]},
			&Tensor[T]{Name: "adam.v/" + p.Name, Shape: []int{len(p.Data)}, Data: o.v[k]})
	}
	return st
}

// Steps implements [Stateful].
func (o *Adam[T]) Steps() int { return o.t }

// SetSteps implements [Stateful]; the bias correction depends on it.
func (o *Adam[T]) SetSteps(n int) { o.t = n }

// Step implements [Optimizer].
func (o *Adam[T]) Step(lr float64) {
	o.t++
	c := o.Config
	bc1 := 1 - math.Pow(c.Beta1, float64(o.t))
	bc2 := 1 - math.Pow(c.Beta2, float64(o.t))
	step := T(lr / bc1)
	b1, b2 := T(c.Beta1), T(c.Beta2)
	sqrtBC2, eps := T(math.Sqrt(bc2)), T(c.Eps)
	for k, p := range o.params {
		if p.Grad == nil {
			continue
		}
		if c.Decoupled && c.WeightDecay != 0 {
			f := T(1 - lr*c.WeightDecay)
			for i := range p.Data {
				p.Data[i] *= f
			}
		}
		m, v := o.m[k], o.v[k]
		decay := T(0)
		if !c.Decoupled {
			decay = T(c.WeightDecay)
		}
		k := vmath.AdamConsts[T]{Decay: decay, B1: b1, OB1: 1 - b1, B2: b2, OB2: 1 - b2, Step: step, SqrtBC2: sqrtBC2, Eps: eps}
		update := func(lo, hi int) {
			g, w, m, v := p.Grad[lo:hi], p.Data[lo:hi], m[lo:hi], v[lo:hi]
			w, m, v = w[:len(g)], m[:len(g)], v[:len(g)]
			if w32, g32, ok := as32(w, g); ok {
				m32, v32, _ := as32(m, v)
				// The same loop as AdamGo, eight at a time (T is float32 here).
				vmath.Adam(w32, g32, m32, v32, (*vmath.AdamConsts[float32])(unsafe.Pointer(&k)))
				return
			}
			vmath.AdamGo(w, g, m, v, &k)
		}
		parallelLarge(len(p.Grad), update)
	}
}

// parallelMin is the length from which a loop over parameters is shared among
// the cores: below it, starting goroutines costs more than it saves.
const parallelMin = 1 << 16

// parallelLarge runs f over [0, n) in one piece, or split among the cores when
// n is large (the embedding tables of a large vocabulary).
func parallelLarge(n int, f func(lo, hi int)) {
	if n < parallelMin {
		f(0, n)
		return
	}
	parallel(n, f)
}

// parallel runs f over [0, n) split among the cores.
func parallel(n int, f func(lo, hi int)) { parallelOn(0, n, f) }

// parallelOn runs f over [0, n) split among at most procs cores (0: all).
func parallelOn(procs, n int, f func(lo, hi int)) {
	if procs <= 0 {
		procs = runtime.GOMAXPROCS(0)
	}
	parts := min(procs, n)
	if parts < 2 {
		f(0, n)
		return
	}
	var wg sync.WaitGroup
	for w := range parts {
		lo, hi := n*w/parts, n*(w+1)/parts
		wg.Go(func() { f(lo, hi) })
	}
	wg.Wait()
}

// ClipGradNorm scales all gradients so that their global L2 norm is at most maxNorm
// (Pascanu et al. 2013) and returns the norm before clipping. Parameters without a
// gradient are skipped. maxNorm ≤ 0 only measures.
func ClipGradNorm[T Float](params []*Tensor[T], maxNorm float64) float64 {
	var sq float64
	for _, p := range params {
		sq += sumSq64(p.Grad)
	}
	norm := math.Sqrt(sq)
	if maxNorm > 0 && norm > maxNorm {
		s := T(maxNorm / (norm + 1e-6))
		for _, p := range params {
			scaleBy(p.Grad, s)
		}
	}
	return norm
}
