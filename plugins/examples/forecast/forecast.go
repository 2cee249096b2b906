// Package forecast is the example task plugin: time-series forecasting, a task
// the built-in ones do not cover. Each example's vector holds the values before
// a point in a series (its context) and then the values to forecast (the
// horizon), as the windows generator of recipes writes them
// (data.generate.windows). A recurrent network reads the last window values and
// forecasts the horizon: many-to-one regression for a horizon of 1, the next k
// values otherwise.
//
// Each window is scaled by itself: values become (x − last) / s, s the window's
// mean absolute step, and the network forecasts the change from the last value
// in those units. The loss is MSE or Huber on that scale; the metrics are MAE
// and RMSE on the series' own scale, beside the persistence forecast (the last
// value) and the seasonal naive one (the value a season earlier).
//
// The binary is cmd/seqkit-plugin-forecast; this package also runs in-process,
// so tests can compare the two.
package forecast

import (
	"fmt"
	"iter"
	"math"
	"math/rand/v2"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/seqkit/seqkit/nn"
	"github.com/seqkit/seqkit/pipeline"
	"github.com/seqkit/seqkit/recipes"
	"github.com/seqkit/seqkit/tasks"
	"github.com/seqkit/seqkit/tasks/kit"
)

// Options are the recipe keys of the forecast task.
type Options struct {
	Window  int     `yaml:"window" doc:"values before the target the network reads (at most the context)" min:"1" max:"10000"`
	Horizon int     `yaml:"horizon" doc:"values to forecast: the last ones of each vector" min:"1" max:"1000"`
	Season  int     `yaml:"season" doc:"lag of the seasonal naive baseline, in steps (0: none)" min:"0"`
	Loss    string  `yaml:"loss" doc:"training loss on the scaled values" enum:"mse,huber"`
	Delta   float64 `yaml:"delta" doc:"Huber loss: where it turns from squared to linear, in scaled units" min:"0"`
}

// Type is the forecast task type.
func Type() tasks.Type {
	return tasks.Type{
		Name:    "forecast",
		Options: func() any { return &Options{Window: 30, Horizon: 1, Loss: "mse", Delta: 1} },
		Check: func(r *recipes.Recipe) []recipes.KeyError {
			if r.Model.Bidirectional {
				return []recipes.KeyError{{Key: "model.bidirectional", Msg: "a forecast reads the past left to right; set it to false"}}
			}
			return nil
		},
		New: func() tasks.Task { return &Task{} },
	}
}

// Task is the forecasting model: an RNN over the scaled window, its last state,
// a linear layer to the horizon.
type Task struct {
	opts    *Options
	context int
	rnn     *nn.RNN[float32]
	out     *nn.Linear[float32]
	core    *kit.Core
}

// Info implements tasks.Task: the main metric is the MAE of the forecasts.
func (t *Task) Info() tasks.Info {
	return tasks.Info{Name: "forecast", Version: "0.1.0", Metric: "mae", HigherIsBetter: false}
}

// Description is what seqkit plugins list shows.
func (t *Task) Description() string {
	return "time-series forecasting: a recurrent network over a window of past values (MAE, RMSE against persistence and seasonal naive)"
}

// Init implements tasks.Task.
func (t *Task) Init(s tasks.Setup) error {
	o, ok := s.Recipe.Task.Options.(*Options)
	if !ok {
		return fmt.Errorf("forecast: options of type %T", s.Recipe.Task.Options)
	}
	t.opts = o
	t.context = s.Vocabs.Vector - o.Horizon
	if s.Vocabs.Vector == 0 || t.context < o.Window {
		return fmt.Errorf("forecast: each example's vector must hold a context of at least window=%d values and then horizon=%d; the data's vectors have %d (data.generate.windows writes them)", o.Window, o.Horizon, s.Vocabs.Vector)
	}
	if o.Season > 0 && o.Season <= o.Horizon-1 || o.Season > t.context {
		return fmt.Errorf("forecast: season %d needs a context of at least %d values (the data has %d) and must exceed the horizon's reach", o.Season, o.Season, t.context)
	}
	rng := kit.InitRNG(s.Recipe)
	cfg, err := s.Recipe.RNNConfig()
	if err != nil {
		return err
	}
	cfg.InputSize, cfg.Bidirectional = 1, false
	if t.rnn, err = nn.NewRNN[float32]("rnn", cfg, rng); err != nil {
		return err
	}
	t.out = nn.NewLinear[float32]("output", cfg.HiddenSize, o.Horizon, rng)
	t.core, err = kit.NewCore(s.Recipe, append(t.rnn.Params(), t.out.Params()...))
	return err
}

// window is one batch scaled: the network's input [W, B, 1], the scaled
// targets [B, H], and each example's last value and scale.
type window struct {
	x           *nn.Tensor[float32]
	targets     []float32
	last, scale []float64
	raw         [][]float64 // each example's targets, on the series' scale
	persistence []float64
	seasonal    [][]float64 // nil without a season
	B, W, H     int
}

func (t *Task) scale(b *pipeline.Batch) (*window, error) {
	if b.Vector == nil || b.VectorDim != t.context+t.opts.Horizon {
		return nil, fmt.Errorf("forecast: batches must carry vectors of %d values (context %d, horizon %d), got %d", t.context+t.opts.Horizon, t.context, t.opts.Horizon, b.VectorDim)
	}
	B, W, H, C := b.B, t.opts.Window, t.opts.Horizon, t.context
	w := &window{x: nn.NewTensor[float32](W, B, 1), targets: make([]float32, B*H), B: B, W: W, H: H,
		last: make([]float64, B), scale: make([]float64, B), raw: make([][]float64, B), persistence: make([]float64, B)}
	for j := range B {
		v := b.Vector[j*b.VectorDim : (j+1)*b.VectorDim]
		ctx := v[C-W : C]
		last := float64(ctx[W-1])
		var steps float64
		for i := 1; i < W; i++ {
			steps += math.Abs(float64(ctx[i] - ctx[i-1]))
		}
		s := max(steps/float64(max(W-1, 1)), 1e-3*(1+math.Abs(last)))
		w.last[j], w.scale[j], w.persistence[j] = last, s, last
		for i, x := range ctx {
			w.x.Data[i*B+j] = float32((float64(x) - last) / s)
		}
		for h := range H {
			y := float64(v[C+h])
			w.raw[j] = append(w.raw[j], y)
			w.targets[j*H+h] = float32((y - last) / s)
		}
		if t.opts.Season > 0 {
			var sn []float64
			for h := range H {
				sn = append(sn, float64(v[C+h-t.opts.Season]))
			}
			w.seasonal = append(w.seasonal, sn)
		}
	}
	return w, nil
}

// forward returns the scaled forecasts [B, H].
func (t *Task) forward(tp *nn.Tape, w *window, rng *rand.Rand) *nn.Tensor[float32] {
	lengths := make([]int, w.B)
	for j := range lengths {
		lengths[j] = w.W
	}
	out, _ := t.rnn.Forward(tp, w.x, lengths, nn.State[float32]{}, rng)
	return t.out.Forward(tp, nn.Pool(tp, out, lengths, nn.PoolLast, false))
}

func (t *Task) loss(tp *nn.Tape, pred *nn.Tensor[float32], w *window) *nn.Tensor[float32] {
	delta := 0.0
	if t.opts.Loss == "huber" {
		delta = t.opts.Delta
	}
	return nn.Huber(tp, pred, w.targets, delta)
}

// TrainStep implements tasks.Task.
func (t *Task) TrainStep(b *pipeline.Batch, lr float64) (tasks.Step, error) {
	w, err := t.scale(b)
	if err != nil {
		return tasks.Step{}, err
	}
	tp := new(nn.Tape)
	loss := t.loss(tp, t.forward(tp, w, t.core.RNG), w)
	norm, err := t.core.Update(tp, loss, lr)
	return tasks.Step{Loss: float64(loss.Data[0]), Tokens: w.B * w.W, GradNorm: norm}, err
}

// forecasts returns the forecasts of a batch on the series' scale.
func (t *Task) forecasts(w *window) [][]float64 {
	pred := t.forward(nil, w, nil)
	out := make([][]float64, w.B)
	for j := range w.B {
		for h := range w.H {
			out[j] = append(out[j], w.last[j]+w.scale[j]*float64(pred.Data[j*w.H+h]))
		}
	}
	return out
}

// Evaluate implements tasks.Task: loss (on the scaled values), mae and rmse of
// the forecasts, of persistence (mae_persistence, …) and of the seasonal naive
// forecast (mae_seasonal, …), and skill, 1 − mae / mae_persistence.
func (t *Task) Evaluate(batches iter.Seq[*pipeline.Batch]) (tasks.Metrics, error) {
	var lossSum, n float64
	var model, pers, seas errs
	for b := range batches {
		w, err := t.scale(b)
		if err != nil {
			return nil, err
		}
		pred := t.forward(nil, w, nil)
		lossSum += float64(t.loss(nil, pred, w).Data[0]) * float64(w.B)
		n += float64(w.B)
		for j, f := range t.forecasts(w) {
			for h, y := range w.raw[j] {
				model.add(f[h] - y)
				pers.add(w.persistence[j] - y)
				if w.seasonal != nil {
					seas.add(w.seasonal[j][h] - y)
				}
			}
		}
	}
	m := tasks.Metrics{}
	if n == 0 {
		return m, nil
	}
	m["loss"] = lossSum / n
	m["mae"], m["rmse"] = model.mae(), model.rmse()
	m["mae_persistence"], m["rmse_persistence"] = pers.mae(), pers.rmse()
	if seas.n > 0 {
		m["mae_seasonal"], m["rmse_seasonal"] = seas.mae(), seas.rmse()
	}
	if pers.mae() > 0 {
		m["skill"] = 1 - model.mae()/pers.mae()
	}
	return m, nil
}

// errs accumulates forecast errors.
type errs struct{ abs, sq, n float64 }

func (e *errs) add(d float64) { e.abs += math.Abs(d); e.sq += d * d; e.n++ }
func (e *errs) mae() float64  { return e.abs / max(e.n, 1) }
func (e *errs) rmse() float64 { return math.Sqrt(e.sq / max(e.n, 1)) }

// Predict implements tasks.Task: "forecast" (the horizon's values) and
// "persistence" (the last value of the context).
func (t *Task) Predict(b *pipeline.Batch) (arrow.RecordBatch, error) {
	w, err := t.scale(b)
	if err != nil {
		return nil, err
	}
	mem := memory.DefaultAllocator
	fb := array.NewListBuilder(mem, arrow.PrimitiveTypes.Float64)
	defer fb.Release()
	vb := fb.ValueBuilder().(*array.Float64Builder)
	pb := array.NewFloat64Builder(mem)
	defer pb.Release()
	for j, f := range t.forecasts(w) {
		fb.Append(true)
		vb.AppendValues(f, nil)
		pb.Append(w.persistence[j])
	}
	cols := []arrow.Array{fb.NewArray(), pb.NewArray()}
	defer cols[0].Release()
	defer cols[1].Release()
	schema := arrow.NewSchema([]arrow.Field{{Name: "forecast", Type: arrow.ListOf(arrow.PrimitiveTypes.Float64)}, {Name: "persistence", Type: arrow.PrimitiveTypes.Float64}}, nil)
	return array.NewRecordBatch(schema, cols, int64(b.B)), nil
}

// Save implements tasks.Task.
func (t *Task) Save(dir string, resumable bool) error {
	return t.core.Save(dir, resumable, map[string]string{"task": "forecast"})
}

// Load implements tasks.Task.
func (t *Task) Load(dir string, resumable bool) error { return t.core.Load(dir, resumable) }
