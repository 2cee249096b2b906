package nn_test

import (
	"encoding/json"
	"math"
	"slices"
	"testing"

	"github.com/seqkit/seqkit/nn"
)

func param(vals ...float64) *nn.Tensor[float64] {
	p := nn.FromData(vals, len(vals))
	p.Name = "w"
	return p
}

func near(t *testing.T, what string, got, want []float64, tol float64) {
	t.Helper()
	for i := range want {
		if math.Abs(got[i]-want[i]) > tol {
			t.Fatalf("%s = %v, want %v", what, got, want)
		}
	}
}

func TestSGD(t *testing.T) {
	// Two steps with gradient 1 on w = 1, lr 0.1, momentum 0.9 (torch.optim.SGD):
	// plain:    buf = 1, 1.9;          w = 1 - 0.1, then - 0.19
	// nesterov: d = 1 + 0.9·1 = 1.9;   then buf = 1.9, d = 1 + 0.9·1.9 = 2.71
	// weight decay 0.5 without momentum: d = 1 + 0.5·w.
	cases := []struct {
		cfg  nn.SGDConfig
		want float64
	}{
		{nn.SGDConfig{}, 1 - 0.1 - 0.1},
		{nn.SGDConfig{Momentum: 0.9}, 1 - 0.1 - 0.19},
		{nn.SGDConfig{Momentum: 0.9, Nesterov: true}, 1 - 0.19 - 0.271},
		{nn.SGDConfig{WeightDecay: 0.5}, (1 - 0.1*1.5) - 0.1*(1+0.5*(1-0.1*1.5))},
	}
	for _, c := range cases {
		p := param(1)
		opt := nn.NewSGD([]*nn.Tensor[float64]{p}, c.cfg)
		for range 2 {
			p.Grad = []float64{1}
			opt.Step(0.1)
		}
		near(t, "SGD", p.Data, []float64{c.want}, 1e-12)
	}
}

func TestAdam(t *testing.T) {
	// The first bias-corrected Adam step moves each weight by lr·g/(|g|+ε'), i.e.
	// by lr against the gradient's sign, whatever its size.
	p := param(1, -2, 3)
	opt := nn.NewAdam([]*nn.Tensor[float64]{p}, nn.AdamConfig{})
	p.Grad = []float64{0.001, -50, 2}
	opt.Step(0.1)
	near(t, "Adam step 1", p.Data, []float64{0.9, -1.9, 2.9}, 1e-5)
	// A second step with the same gradient moves by lr again (m̂ = g, v̂ = g²).
	opt.Step(0.1)
	near(t, "Adam step 2", p.Data, []float64{0.8, -1.8, 2.8}, 1e-5)

	// L2 (Adam) adds wd·w to the gradient; decoupled (AdamW) shrinks w first.
	p = param(2)
	nn.NewAdam([]*nn.Tensor[float64]{p}, nn.AdamConfig{WeightDecay: 0.1}).Step(0.01)
	near(t, "Adam on a weight without gradient", p.Data, []float64{2}, 0)
	p.Grad = []float64{0} // the gradient is wd·w = 0.2 > 0: one step of lr down
	nn.NewAdam([]*nn.Tensor[float64]{p}, nn.AdamConfig{WeightDecay: 0.1}).Step(0.01)
	near(t, "Adam with L2", p.Data, []float64{2 - 0.01}, 1e-6)
	p = param(2)
	p.Grad = []float64{1}
	nn.NewAdamW([]*nn.Tensor[float64]{p}, nn.AdamConfig{WeightDecay: 0.1}).Step(0.01)
	near(t, "AdamW", p.Data, []float64{2*(1-0.01*0.1) - 0.01}, 1e-6)
}

func TestClipGradNorm(t *testing.T) {
	a, b := param(0, 0), param(0)
	a.Grad, b.Grad = []float64{3, 0}, []float64{4}
	ps := []*nn.Tensor[float64]{a, b}
	if n := nn.ClipGradNorm(ps, 10); n != 5 || a.Grad[0] != 3 {
		t.Fatalf("norm %g below the limit changed gradients: %v", n, a.Grad)
	}
	if n := nn.ClipGradNorm(ps, 1); n != 5 {
		t.Fatalf("norm = %g, want 5", n)
	}
	if n := nn.ClipGradNorm(ps, 0); math.Abs(n-1) > 1e-6 {
		t.Fatalf("norm after clipping = %g, want 1", n)
	}
}

func TestSchedules(t *testing.T) {
	w := nn.WarmupLinear{Base: 1, Warmup: 4, Total: 14, Final: 0}
	near(t, "warm-up", []float64{w.LR(0), w.LR(3), w.LR(9), w.LR(14), w.LR(100)}, []float64{0.25, 1, 0.5, 0, 0}, 1e-12)
	s := nn.StepDecay{Base: 1, Every: 10, Gamma: 0.5}
	near(t, "step decay", []float64{s.LR(9), s.LR(10), s.LR(25)}, []float64{1, 0.5, 0.25}, 1e-12)
	if nn.Constant(0.3).LR(1000) != 0.3 {
		t.Fatal("constant schedule changed")
	}
	r := &nn.ReduceOnPlateau{Base: 1, Factor: 0.5, Patience: 1, Min: 0.2}
	var got []float64
	for _, m := range []float64{5, 4, 4, 4, 3, 3, 3, 3, 3, 3, 3} {
		r.Observe(m)
		got = append(got, r.LR(0))
	}
	near(t, "plateau", got, []float64{1, 1, 1, 0.5, 0.5, 0.5, 0.25, 0.25, 0.2, 0.2, 0.2}, 1e-12)
}

// TestOptimizerStateResume checks that saving an optimizer's state after some
// steps and loading it into a fresh optimizer continues bit for bit.
func TestOptimizerStateResume(t *testing.T) {
	makers := map[string]func(ps []*nn.Tensor[float64]) nn.Stateful[float64]{
		"sgd-momentum": func(ps []*nn.Tensor[float64]) nn.Stateful[float64] {
			return nn.NewSGD(ps, nn.SGDConfig{Momentum: 0.9, Nesterov: true})
		},
		"adamw": func(ps []*nn.Tensor[float64]) nn.Stateful[float64] {
			return nn.NewAdamW(ps, nn.AdamConfig{WeightDecay: 0.01})
		},
		"adam-ema": func(ps []*nn.Tensor[float64]) nn.Stateful[float64] {
			return nn.NewEMA(nn.NewAdam(ps, nn.AdamConfig{}), ps, 0.5)
		},
	}
	grad := func(p *nn.Tensor[float64], step int) {
		for i := range p.Data {
			p.Grad[i] = math.Sin(float64(step+1)*p.Data[i]) + 0.1*float64(i)
		}
	}
	for name, mk := range makers {
		t.Run(name, func(t *testing.T) {
			newParam := func() *nn.Tensor[float64] {
				p := param(0.5, -1, 2)
				p.Name = "w"
				p.EnsureGrad()
				return p
			}
			whole := newParam()
			o := mk([]*nn.Tensor[float64]{whole})
			for s := range 6 {
				grad(whole, s)
				o.Step(0.1)
			}

			first := newParam()
			o1 := mk([]*nn.Tensor[float64]{first})
			for s := range 3 {
				grad(first, s)
				o1.Step(0.1)
			}
			path := t.TempDir() + "/opt.safetensors"
			if err := nn.SaveSafetensors(path, append(o1.State(), first), nil); err != nil {
				t.Fatal(err)
			}
			second := newParam()
			o2 := mk([]*nn.Tensor[float64]{second})
			if _, err := nn.LoadSafetensors(path, append(o2.State(), second)); err != nil {
				t.Fatal(err)
			}
			o2.SetSteps(o1.Steps())
			for s := 3; s < 6; s++ {
				grad(second, s)
				o2.Step(0.1)
			}
			for i := range whole.Data {
				if whole.Data[i] != second.Data[i] {
					t.Fatalf("resumed %v, uninterrupted %v", second.Data, whole.Data)
				}
			}
			for k, s := range o.State() {
				if r := o2.State()[k]; !slices.Equal(s.Data, r.Data) {
					t.Errorf("state %s: resumed %v, uninterrupted %v", s.Name, r.Data, s.Data)
				}
			}
		})
	}
}

func TestReduceOnPlateauJSON(t *testing.T) {
	a := &nn.ReduceOnPlateau{Base: 1, Factor: 0.5, Patience: 1}
	for _, m := range []float64{3, 2, 2, 2} {
		a.Observe(m)
	}
	b, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	var c nn.ReduceOnPlateau
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	for _, m := range []float64{2, 2, 1, 5} {
		a.Observe(m)
		c.Observe(m)
		if a.LR(0) != c.LR(0) {
			t.Fatalf("restored rate %v, original %v", c.LR(0), a.LR(0))
		}
	}
	if a.LR(0) != 0.25 {
		t.Fatalf("rate %v, want 0.25 after two reductions", a.LR(0))
	}
}

// TestEMA follows the average of weights that plain SGD moves by one a step
// (w_t = t): a_t = a_{t-1} + (1-d_t)(t - a_{t-1}) with d_t = min(0.9, t/(9+t)).
func TestEMA(t *testing.T) {
	w := param(0)
	w.Name = "w"
	w.EnsureGrad()
	e := nn.NewEMA(nn.NewSGD([]*nn.Tensor[float64]{w}, nn.SGDConfig{}), []*nn.Tensor[float64]{w}, 0.9)
	// Weights loaded after the average was made (seqkit train --init-from):
	// the average starts from them, not from the weights it was made with.
	w.Data[0] = 100
	e.Use(true) // before any step, the average is the weights themselves
	if w.Data[0] != 100 {
		t.Errorf("average %v before any step, want the loaded weight 100", w.Data[0])
	}
	e.Use(false)
	a := 100.0
	for step := 1; step <= 30; step++ {
		w.Grad[0] = -1
		e.Step(1)
		d := min(0.9, float64(step)/float64(9+step))
		a += (1 - d) * (float64(100+step) - a)
	}
	if w.Data[0] != 130 {
		t.Fatalf("weight %v after 30 steps, want 130", w.Data[0])
	}
	e.Use(true)
	e.Use(true) // twice is once
	if math.Abs(w.Data[0]-a) > 1e-12 {
		t.Errorf("average %v, want %v", w.Data[0], a)
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("a step while the averages are in use did not panic")
			}
		}()
		e.Step(1)
	}()
	e.Use(false)
	if w.Data[0] != 130 {
		t.Errorf("weight %v after Use(false), want 130 back", w.Data[0])
	}
	if st := e.State(); len(st) != 2 || st[1].Name != "ema/w" || math.Abs(st[1].Data[0]-a) > 1e-12 {
		t.Errorf("state %v, want sgd.started and ema/w = %v", st, a)
	}
}
