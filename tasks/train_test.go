package tasks_test

import (
	"context"
	"encoding/json"
	"errors"
	"iter"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/seqkit/seqkit/nn"
	"github.com/seqkit/seqkit/pipeline"
	"github.com/seqkit/seqkit/recipes"
	"github.com/seqkit/seqkit/tasks"
	"github.com/seqkit/seqkit/tasks/rundir"
)

// scripted is a task whose losses and dev metrics follow a script, to test the
// loop's bookkeeping without a model.
type scripted struct {
	steps   int
	nanAt   int       // step (from 1) whose loss is NaN; 0: never
	dev     []float64 // f1 of each evaluation
	evals   int
	weights float64 // "weights": the number of steps applied
}

func (s *scripted) Info() tasks.Info {
	return tasks.Info{Name: "scripted", Metric: "f1", HigherIsBetter: true}
}
func (s *scripted) Init(tasks.Setup) error { return nil }
func (s *scripted) TrainStep(b *pipeline.Batch, lr float64) (tasks.Step, error) {
	s.steps++
	if s.steps == s.nanAt {
		return tasks.Step{Loss: math.NaN()}, tasks.ErrDiverged
	}
	s.weights++
	return tasks.Step{Loss: 1 / float64(s.steps), Tokens: 1}, nil
}
func (s *scripted) Evaluate(batches iter.Seq[*pipeline.Batch]) (tasks.Metrics, error) {
	v := s.dev[min(s.evals, len(s.dev)-1)]
	s.evals++
	return tasks.Metrics{"f1": v, "loss": 1 - v/100}, nil
}
func (s *scripted) Predict(*pipeline.Batch) (arrow.RecordBatch, error) { return nil, nil }
func (s *scripted) Save(dir string, resumable bool) error {
	b, _ := json.Marshal(s.weights)
	return os.WriteFile(filepath.Join(dir, "w.json"), b, 0o644)
}
func (s *scripted) Load(dir string, resumable bool) error {
	b, err := os.ReadFile(filepath.Join(dir, "w.json"))
	if err != nil {
		return err
	}
	return json.Unmarshal(b, &s.weights)
}

// prepared returns a recipe over the generated Taipei data and its prepared
// datasets (40 training examples in batches of 4: 10 steps per epoch).
func prepared(t *testing.T, sets ...string) (*recipes.Recipe, *tasks.Data, string) {
	var reg tasks.Registry
	reg.Register(tasks.Type{Name: "scripted", Options: func() any { return &struct{}{} }, New: func() tasks.Task { return &scripted{} }})
	base := []string{"task={type: scripted}", "data.generate.train=40", "data.generate.dev=8", "data.batch.size=4", "data.batch.bucket=false"}
	r, err := recipes.Load("taipei", recipes.Options{Tasks: &reg, Sets: append(base, sets...)})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	d, err := tasks.Prepare(r, dir, tasks.PrepareOptions{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return r, d, dir
}

func TestEarlyStopping(t *testing.T) {
	r, d, dir := prepared(t, "train.epochs=20", "train.early_stop.patience=2")
	task := &scripted{dev: []float64{50, 70, 60, 65, 90}}
	res, err := (&tasks.Trainer{Recipe: r, Task: task, Data: d, Dir: dir}).Train(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// Evaluations after epochs 1..4: 50, 70 (best), 60, 65: two without
	// improvement stop the run after epoch 4.
	if res.Epochs != 4 || res.Steps != 40 || res.BestStep != 20 || res.Best["f1"] != 70 || res.StillImproving {
		t.Errorf("stopped after %d epochs, %d steps, best %v at step %d; want 4, 40, f1 70 at 20", res.Epochs, res.Steps, res.Best, res.BestStep)
	}
	best := &scripted{}
	if err := best.Load(filepath.Join(dir, rundir.BestDir), false); err != nil || best.weights != 20 {
		t.Errorf("best checkpoint holds %v steps (%v), want 20", best.weights, err)
	}
}

func TestEvalEvery(t *testing.T) {
	r, d, dir := prepared(t, "train.epochs=2", "train.eval_every=3")
	task := &scripted{dev: []float64{1, 2, 3, 4, 5, 6, 7}}
	res, err := (&tasks.Trainer{Recipe: r, Task: task, Data: d, Dir: dir}).Train(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !res.StillImproving {
		t.Error("a run whose every evaluation improved is not said to be still improving")
	}
	if task.evals != 6 { // steps 3, 6, …, 18 of 20
		t.Errorf("%d evaluations, want 6", task.evals)
	}
	b, _ := os.ReadFile(filepath.Join(dir, rundir.MetricsFile))
	if n := strings.Count(string(b), `"split":"dev"`); n != 6 {
		t.Errorf("metrics.jsonl has %d dev lines, want 6:\n%s", n, b)
	}
}

// TestDivergence checks that a NaN loss stops the run with the step named and the
// last good checkpoint intact.
func TestDivergence(t *testing.T) {
	r, d, dir := prepared(t, "train.epochs=5", "train.checkpoint_every=5")
	task := &scripted{dev: []float64{1}, nanAt: 13}
	_, err := (&tasks.Trainer{Recipe: r, Task: task, Data: d, Dir: dir}).Train(context.Background())
	if !errors.Is(err, tasks.ErrDiverged) || !strings.Contains(err.Error(), "step 13 (epoch 2, batch 3") {
		t.Fatalf("error %v; want divergence at step 13", err)
	}
	last := &scripted{}
	if err := last.Load(filepath.Join(dir, rundir.LastDir), true); err != nil || last.weights != 10 {
		t.Errorf("last checkpoint holds %v steps (%v), want 10", last.weights, err)
	}
}

// TestStopped checks that a cancelled context writes a resumable checkpoint.
func TestStopped(t *testing.T) {
	r, d, dir := prepared(t, "train.epochs=5")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := (&tasks.Trainer{Recipe: r, Task: &scripted{dev: []float64{1}}, Data: d, Dir: dir}).Train(ctx)
	if !errors.Is(err, tasks.ErrStopped) {
		t.Fatalf("error %v, want ErrStopped", err)
	}
	if _, err := os.Stat(filepath.Join(dir, rundir.LastDir, "loop.json")); err != nil {
		t.Errorf("no resumable checkpoint: %v", err)
	}
}

// TestSkipNonFinite checks that with train.skip_nonfinite a NaN loss leaves its
// batch out, counted and named in metrics.jsonl, and training goes on.
func TestSkipNonFinite(t *testing.T) {
	r, d, dir := prepared(t, "train.epochs=5", "train.skip_nonfinite=true")
	task := &scripted{dev: []float64{1}, nanAt: 13}
	res, err := (&tasks.Trainer{Recipe: r, Task: task, Data: d, Dir: dir}).Train(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.Skipped != 1 || task.weights != float64(task.steps-1) || res.Steps != task.steps-1 {
		t.Errorf("skipped %d, %d updates of %d steps tried, %d counted", res.Skipped, int(task.weights), task.steps, res.Steps)
	}
	b, _ := os.ReadFile(filepath.Join(dir, rundir.MetricsFile))
	if !strings.Contains(string(b), `"skipped":"batch 3`) || !strings.Contains(string(b), "training diverged") {
		t.Errorf("metrics.jsonl does not name the skipped batch:\n%s", b)
	}
}

// failing wraps scripted; its save number failAt (from 1) fails as a full disk
// does.
type failing struct {
	scripted
	saves, failAt int
}

func (f *failing) Save(dir string, resumable bool) error {
	f.saves++
	if f.saves == f.failAt {
		return &os.PathError{Op: "write", Path: filepath.Join(dir, "w.json"), Err: syscall.ENOSPC}
	}
	return f.scripted.Save(dir, resumable)
}

// TestWriteFailure checks that a checkpoint that cannot be written (an
// injected ENOSPC) stops the run with ErrWrite, the step and the cause, that
// the previous checkpoint is intact, and that --resume then finishes the run.
func TestWriteFailure(t *testing.T) {
	r, d, dir := prepared(t, "train.epochs=5", "train.checkpoint_every=5")
	task := &failing{scripted: scripted{dev: []float64{1}}, failAt: 3}
	_, err := (&tasks.Trainer{Recipe: r, Task: task, Data: d, Dir: dir}).Train(context.Background())
	if !errors.Is(err, tasks.ErrWrite) || !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), "at step") || !strings.Contains(err.Error(), "is intact") {
		t.Fatalf("error %v; want ErrWrite naming the step and ENOSPC", err)
	}
	last := &scripted{}
	if err := last.Load(filepath.Join(dir, rundir.LastDir), true); err != nil || last.weights == 0 {
		t.Fatalf("last checkpoint after the failure: %v weights, %v", last.weights, err)
	}
	again := &scripted{dev: []float64{1}}
	res, err := (&tasks.Trainer{Recipe: r, Task: again, Data: d, Dir: dir, Resume: true}).Train(context.Background())
	if err != nil || again.weights != float64(res.Steps) {
		t.Fatalf("resume after the failure: %v, %v weights for %d steps", err, again.weights, res.Steps)
	}
}

// averaging is a scripted task that keeps an average of its weights: it
// records in which mode each call came.
type averaging struct {
	scripted
	on    bool
	calls []string
}

func (a *averaging) Average(on bool) { a.on = on }
func (a *averaging) mode(call string) {
	if a.on {
		call += " averaged"
	}
	if len(a.calls) == 0 || a.calls[len(a.calls)-1] != call {
		a.calls = append(a.calls, call)
	}
}
func (a *averaging) TrainStep(b *pipeline.Batch, lr float64) (tasks.Step, error) {
	a.mode("train")
	return a.scripted.TrainStep(b, lr)
}
func (a *averaging) Evaluate(batches iter.Seq[*pipeline.Batch]) (tasks.Metrics, error) {
	a.mode("evaluate")
	return a.scripted.Evaluate(batches)
}
func (a *averaging) Save(dir string, resumable bool) error {
	if resumable {
		a.mode("checkpoint")
	} else {
		a.mode("best")
	}
	return a.scripted.Save(dir, resumable)
}

// TestEMA checks the loop's side of train.ema: dev is evaluated and the best
// checkpoint saved with the averaged weights, while training steps and the
// resumable checkpoint see the weights' own; a task without an average is
// refused.
func TestEMA(t *testing.T) {
	r, d, dir := prepared(t, "train.epochs=2", "train.ema=0.99")
	task := &averaging{scripted: scripted{dev: []float64{1, 2}}}
	if _, err := (&tasks.Trainer{Recipe: r, Task: task, Data: d, Dir: dir}).Train(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := []string{"train", "evaluate averaged", "best averaged", "checkpoint",
		"train", "evaluate averaged", "best averaged", "checkpoint"}
	if !slices.Equal(task.calls, want) {
		t.Errorf("calls %q, want %q", task.calls, want)
	}
	if task.on {
		t.Error("training ended with the averages in the weights' place")
	}
	r, d, dir = prepared(t, "train.ema=0.99")
	_, err := (&tasks.Trainer{Recipe: r, Task: &scripted{dev: []float64{1}}, Data: d, Dir: dir}).Train(context.Background())
	if err == nil || !strings.Contains(err.Error(), "train.ema") {
		t.Errorf("a task without an average under train.ema: error %v", err)
	}
}

// TestBetter: which way a metric improves comes from the task's Info: its
// main metric as it says, the loss and its Lower list falling, any other
// rising.
func TestBetter(t *testing.T) {
	info := tasks.Info{Metric: "nll", HigherIsBetter: false, Lower: []string{"perplexity"}}
	for m, want := range map[string]bool{"nll": false, "loss": false, "perplexity": false, "accuracy": true} {
		if got := info.Better(m); got != want {
			t.Errorf("Better(%q) = %v, want %v", m, got, want)
		}
	}
	if !(tasks.Info{Metric: "f1", HigherIsBetter: true}).Better("f1") {
		t.Errorf("f1 of a tagger falls")
	}
}

// TestMetricsLine: each kind of line reads back as it was written, flat and
// with its keys sorted, as metrics.jsonl has always been.
func TestMetricsLine(t *testing.T) {
	for _, c := range []struct {
		line rundir.MetricsLine
		want string
	}{
		{rundir.MetricsLine{Split: "train", Step: 4, Epoch: 1, Loss: 0.5, LR: 0.01, Tokens: 320, TokensPerS: 69265},
			`{"epoch":1,"loss":0.5,"lr":0.01,"split":"train","step":4,"tokens":320,"tokens_per_s":69265}`},
		{rundir.MetricsLine{Split: "dev", Step: 38, Epoch: 1, Metrics: tasks.Metrics{"f1": 89.32, "loss": 0.139}},
			`{"epoch":1,"f1":89.32,"loss":0.139,"split":"dev","step":38}`},
		{rundir.MetricsLine{Split: "train", Step: 2, Epoch: 1, Batch: 2, Skipped: "batch 2: loss is NaN"},
			`{"batch":2,"epoch":1,"skipped":"batch 2: loss is NaN","split":"train","step":2}`},
	} {
		b, err := json.Marshal(c.line)
		if err != nil || string(b) != c.want {
			t.Errorf("wrote %s (%v), want %s", b, err, c.want)
		}
		var back rundir.MetricsLine
		if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back, c.line) {
			t.Errorf("read %+v (%v), want %+v", back, err, c.line)
		}
	}
}

// peaked is a scripted task whose weights are a safetensors tensor
// [w, 2w] (w: the steps applied) and whose dev f1 peaks at w = peak: the
// loop averages its checkpoints as any task's.
type peaked struct {
	scripted
	peak float64
}

func (p *peaked) Evaluate(iter.Seq[*pipeline.Batch]) (tasks.Metrics, error) {
	p.evals++
	f1 := 100 - math.Abs(p.weights-p.peak)
	return tasks.Metrics{"f1": f1, "loss": 1 - f1/100}, nil
}
func (p *peaked) Save(dir string, resumable bool) error {
	w := nn.NewTensor[float32](2)
	w.Name, w.Data[0], w.Data[1] = "w", float32(p.weights), float32(2*p.weights)
	return nn.SaveSafetensors(filepath.Join(dir, rundir.ModelFile), []*nn.Tensor[float32]{w}, nil)
}
func (p *peaked) Load(dir string, resumable bool) error {
	w := nn.NewTensor[float32](2)
	w.Name = "w"
	if _, err := nn.LoadSafetensors(filepath.Join(dir, rundir.ModelFile), []*nn.Tensor[float32]{w}); err != nil {
		return err
	}
	p.weights = float64(w.Data[0])
	return nil
}

// TestAverageLast: train.average_last keeps the weights of the last K
// evaluations, averages them at the end, and makes the average the best
// checkpoint only when dev scores it better.
func TestAverageLast(t *testing.T) {
	for _, c := range []struct {
		peak     float64
		averaged int
		best     float64
	}{
		// Evaluations after 10, 20, 30 and 40 steps; the last two average
		// to 35 steps.
		{peak: 35, averaged: 2, best: 35}, // f1 75, 85, 95, 95; the average 100
		{peak: 30, averaged: 0, best: 30}, // f1 80, 90, 100, 90; the average 95
	} {
		r, d, dir := prepared(t, "train.epochs=4", "train.average_last=2")
		task := &peaked{peak: c.peak}
		res, err := (&tasks.Trainer{Recipe: r, Task: task, Data: d, Dir: dir}).Train(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		best := &peaked{}
		if err := best.Load(filepath.Join(dir, rundir.BestDir), false); err != nil {
			t.Fatal(err)
		}
		if res.Averaged != c.averaged || best.weights != c.best || res.Best["f1"] != 100-math.Abs(c.best-c.peak) {
			t.Errorf("peak %g: averaged %d, best %g (f1 %g); want %d, %g", c.peak, res.Averaged, best.weights, res.Best["f1"], c.averaged, c.best)
		}
		recent, _ := filepath.Glob(filepath.Join(dir, "checkpoints/recent/step-*"))
		if len(recent) != 2 {
			t.Errorf("kept %v, want the last two", recent)
		}
		b, _ := os.ReadFile(filepath.Join(dir, rundir.MetricsFile))
		if !strings.Contains(string(b), `"averaged":2`) || !strings.Contains(string(b), `"split":"average"`) {
			t.Errorf("metrics.jsonl lacks the average's line:\n%s", b)
		}
	}
}
