package tasks

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"iter"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/seqkit/seqkit/nn"
	"github.com/seqkit/seqkit/pipeline"
	"github.com/seqkit/seqkit/recipes"
	"github.com/seqkit/seqkit/tasks/rundir"
)

// loopFile holds the loop's state in the resumable checkpoint.
const loopFile = "loop.json"

// ErrStopped is returned when training stopped because its context was cancelled
// (Ctrl-C); the last checkpoint holds the state to resume from.
var ErrStopped = errors.New("training stopped")

// ErrWrite is returned when a checkpoint or the metrics could not be written
// (disk full, folder no longer writable): the previous checkpoint is intact and
// the run can be resumed once the cause is fixed.
var ErrWrite = errors.New("cannot write the run directory")

// Event is a moment in training, for progress bars and logs.
type Event struct {
	Kind         string // "step", "eval", "checkpoint", "epoch", "skipped", "embedding"
	Step, Epoch  int    // after this step; epoch counts from 1
	Steps        int    // total steps planned (an estimate when batches vary)
	Loss, LR     float64
	TokensPerSec float64
	Metrics      Metrics // eval events: the dev metrics
	Metric       string  // the watched dev metric
	Best         float64 // its best value so far
	// Coverage is, for the embedding event of a fresh run with
	// model.embedding_init, what the pretrained vectors covered.
	Coverage *Coverage
}

// Trainer runs the shared training loop for one task in one run directory.
type Trainer struct {
	Recipe *recipes.Recipe
	Task   Task
	Data   *Data
	Dir    string
	// Resume continues from Dir's last checkpoint; InitFrom loads only the weights
	// of another run's best checkpoint.
	Resume   bool
	InitFrom string
	// Observe, if set, sees every event.
	Observe func(Event)
	// LogEvery writes a train line to metrics.jsonl every this many steps
	// (default: a hundredth of the run, at most 50).
	LogEvery int
}

// loopState is where the loop is, saved with every resumable checkpoint.
type loopState struct {
	Step, Epoch, Batch int // steps done; epoch in progress (from 0); its batches done
	Best               float64
	BestStep           int
	HaveBest           bool
	Bad                int // evaluations without improvement
	Stopped            bool
	MetricsBytes       int64
	Skipped            int // batches skipped for a non-finite loss or gradient
	// The running train-loss window since the last train line.
	WinLoss   float64
	WinSteps  int
	WinTokens int
	Plateau   *nn.ReduceOnPlateau `json:",omitempty"`
}

// Result is what a finished training run reports.
type Result struct {
	Steps    int
	Epochs   int
	Best     Metrics // dev metrics of the best checkpoint (nil without dev)
	BestStep int
	// StillImproving says that the last dev evaluation was the best and
	// training ended at its epoch or step budget, not by early stopping: more
	// training would likely have helped (a recipe moved to a larger dataset).
	// A learning rate decayed linearly to zero is left out: its last steps
	// improve dev by annealing, whatever the budget.
	StillImproving bool
	// Averaged, when positive, says that the best checkpoint is the average
	// of the weights of that many evaluations (train.average_last).
	Averaged int
	// Skipped counts the batches left out for a non-finite loss or gradient
	// (train.skip_nonfinite).
	Skipped int
	Elapsed time.Duration
}

// metric returns the watched dev metric and whether higher is better.
func (t *Trainer) metric() (string, bool) {
	info := t.Task.Info()
	m := cmp.Or(t.Recipe.Train.EarlyStop.Metric, info.Metric)
	return m, info.Better(m)
}

// Train trains to the end (epochs, steps or early stopping) and leaves the best
// weights in Dir/checkpoints/best. When ctx is cancelled it writes a resumable
// checkpoint and returns ErrStopped.
func (t *Trainer) Train(ctx context.Context) (*Result, error) {
	start := time.Now()
	l, err := t.start(ctx)
	if err != nil {
		return nil, err
	}
	defer l.mf.Close()
	for !l.done() {
		if err := l.epoch(ctx); err != nil {
			return nil, err
		}
	}
	if err := l.flushTrain(l.sched.LR(l.st.Step)); err != nil {
		return nil, err
	}
	if !l.st.HaveBest {
		// No dev split (or no evaluation yet): the final weights are the best.
		if err := l.saveBest(); err != nil {
			return nil, err
		}
	}
	if err := l.checkpoint(); err != nil {
		return nil, err
	}
	var averaged int
	if l.r.Train.AverageLast > 0 {
		// After the last checkpoint: a run killed while averaging resumes
		// at the end and averages again.
		if averaged, err = l.averageLast(ctx); err != nil {
			return nil, err
		}
	}
	if l.bestMetrics == nil && l.st.HaveBest {
		// A resumed run evaluated its best before the interruption: read it back.
		l.bestMetrics, _ = rundir.ReadDevMetrics(filepath.Join(t.Dir, rundir.MetricsFile), l.st.BestStep)
	}
	st := l.st
	return &Result{Steps: st.Step, Epochs: st.Epoch, Best: l.bestMetrics, BestStep: st.BestStep, Averaged: averaged, Skipped: st.Skipped,
		StillImproving: (t.Data.Dev != nil || t.Data.Whole) && st.HaveBest && st.Bad == 0 && !st.Stopped && l.r.Train.Schedule.Kind != recipes.WarmupLinear, Elapsed: time.Since(start)}, nil
}

// loop is one run of the training loop: what Train sets up, and the state it
// carries from step to step.
type loop struct {
	t           *Trainer
	r           *recipes.Recipe
	batches     epochs
	total       int // steps of the whole run
	metricName  string
	higher      bool
	sched       nn.Schedule
	st          loopState
	last        string // the resumable checkpoint folder
	mf          *os.File
	mw          *bufio.Writer
	logEvery    int
	stepTime    time.Duration // in training steps since the last train line: throughput leaves out evaluations and checkpoints
	bestMetrics Metrics
}

// start initialises the task, resumes or fine-tunes as the trainer says, and
// opens metrics.jsonl.
func (t *Trainer) start(ctx context.Context) (*loop, error) {
	r := t.Recipe
	setup := Setup{Recipe: r, Vocabs: t.Data.Vocabs, Table: TableReader(ctx, r)}
	if !t.Data.Whole {
		setup.Train = pipeline.Summarize(t.Data.Train, t.Data.Vocabs)
	}
	if err := t.Task.Init(setup); err != nil {
		return nil, err
	}
	if err := checkWhole(t.Task.Info(), t.Data.Whole); err != nil {
		return nil, err
	}
	batches, perEpoch, err := trainBatches(r, t.Data)
	if err != nil {
		return nil, err
	}
	l := &loop{t: t, r: r, batches: batches, last: filepath.Join(t.Dir, rundir.LastDir)}
	// Steps, when set, decides the length alone; otherwise epochs do.
	l.total = r.Train.Steps
	if l.total == 0 {
		l.total = r.Train.Epochs * perEpoch
	}
	if _, ok := t.Task.(Averager); r.Train.EMA > 0 && !ok {
		return nil, fmt.Errorf("tasks: train.ema: the %s task keeps no average of its weights; leave train.ema out", t.Task.Info().Name)
	}
	l.metricName, l.higher = t.metric()
	l.sched = schedule(r, l.total, l.higher)
	if p, ok := l.sched.(*nn.ReduceOnPlateau); ok {
		l.st.Plateau = p
	}
	if err := l.resume(); err != nil {
		return nil, err
	}
	if l.mf, err = os.OpenFile(filepath.Join(t.Dir, rundir.MetricsFile), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644); err != nil {
		return nil, err
	}
	l.mw = bufio.NewWriter(l.mf)
	l.logEvery = t.LogEvery
	if l.logEvery <= 0 {
		// About a hundred points on the learning curve, at most 50 steps apart.
		l.logEvery = min(max(l.total/100, 1), 50)
	}
	return l, nil
}

// resume loads the last checkpoint of a resumed run, or the weights a run is
// fine-tuned from.
func (l *loop) resume() error {
	t := l.t
	resume := t.Resume
	if resume {
		if err := rundir.RecoverDir(filepath.Join(t.Dir, rundir.BestDir)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		switch err := rundir.RecoverDir(l.last); {
		case errors.Is(err, fs.ErrNotExist):
			// Stopped before its first checkpoint: the run starts over, and
			// rewrites its metrics from the first line.
			resume = false
			if err := os.Truncate(filepath.Join(t.Dir, rundir.MetricsFile), 0); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		case err != nil:
			return err
		}
	}
	switch {
	case resume:
		if err := rundir.CheckVocabSums(l.last, t.Data.Vocabs); err != nil {
			return fmt.Errorf("resume: %w", err)
		}
		if err := t.Task.Load(l.last, true); err != nil {
			return fmt.Errorf("resume: %w; to start the run over instead, leave out --resume and add --force", err)
		}
		b, err := pipeline.ReadFileLimited(filepath.Join(l.last, loopFile), 1<<20)
		if err != nil {
			return fmt.Errorf("resume: %w", err)
		}
		if err := json.Unmarshal(b, &l.st); err != nil {
			return fmt.Errorf("resume: %s: %w", filepath.Join(l.last, loopFile), err)
		}
		if l.st.Plateau != nil {
			l.sched = l.st.Plateau
		}
		// Lines written after the checkpoint are written again, identically.
		if err := os.Truncate(filepath.Join(t.Dir, rundir.MetricsFile), l.st.MetricsBytes); err != nil {
			return fmt.Errorf("resume: %w", err)
		}
	case t.InitFrom != "":
		if err := rundir.CheckVocabSums(filepath.Join(t.InitFrom, rundir.BestDir), t.Data.Vocabs); err != nil {
			return fmt.Errorf("init-from: %w", err)
		}
		if err := t.Task.Load(filepath.Join(t.InitFrom, rundir.BestDir), false); err != nil {
			return fmt.Errorf("init-from: %w", err)
		}
	case t.Recipe.Model.EmbeddingInit != nil:
		// A fresh model: its embedding starts from the pretrained vectors.
		c, err := initEmbedding(t.Recipe, t.Task, t.Data, t.Dir)
		if err != nil {
			return err
		}
		if t.Observe != nil {
			t.Observe(Event{Kind: "embedding", Coverage: c})
		}
	}
	return nil
}

// epoch trains the rest of the epoch in progress, then (unless the run ends
// inside it) evaluates and checkpoints at its end.
func (l *loop) epoch(ctx context.Context) error {
	st, r := &l.st, l.r
	i := 0
	for b := range l.batches.Epoch(st.Epoch) {
		if i < st.Batch {
			i++
			continue
		}
		if err := ctx.Err(); err != nil {
			if cerr := l.checkpoint(); cerr != nil {
				return errors.Join(ErrStopped, cerr)
			}
			return fmt.Errorf("%w at step %d", ErrStopped, st.Step)
		}
		if err := l.step(b, i); err != nil {
			return err
		}
		i++
		if l.ended() {
			return nil
		}
	}
	if err := l.flushTrain(l.sched.LR(st.Step)); err != nil {
		return err
	}
	st.Epoch++
	st.Batch = 0
	if r.Train.EvalEvery == 0 {
		if err := l.evaluate(st.Epoch); err != nil {
			return err
		}
	}
	l.emit(Event{Kind: "epoch", Step: st.Step, Epoch: st.Epoch})
	return l.checkpoint()
}

// step trains on batch i of the epoch (counting it done, so a checkpoint
// resumes after it), then writes the train line, evaluates and checkpoints
// when they are due.
func (l *loop) step(b *pipeline.Batch, i int) error {
	st, r := &l.st, l.r
	lr := l.sched.LR(st.Step)
	t0 := time.Now()
	s, err := l.t.Task.TrainStep(b, lr)
	l.stepTime += time.Since(t0)
	if err != nil && errors.Is(err, ErrDiverged) && r.Train.SkipNonFinite {
		// The update was not applied: the batch is left out, and said so.
		st.Skipped++
		st.Batch = i + 1
		if err := l.line(rundir.MetricsLine{Split: "train", Step: st.Step + 1, Epoch: st.Epoch + 1, Batch: i + 1,
			Skipped: fmt.Sprintf("batch %d%s: %v", i+1, where(b), err)}); err != nil {
			return err
		}
		l.emit(Event{Kind: "skipped", Step: st.Step + 1, Epoch: st.Epoch + 1})
		return nil
	}
	if err != nil {
		hint := ""
		if errors.Is(err, ErrDiverged) {
			hint = " (lower train.lr, set train.clip, or train.skip_nonfinite: true to leave such batches out)"
		}
		return fmt.Errorf("step %d (epoch %d, batch %d%s): %w%s; the last good checkpoint is in %s",
			st.Step+1, st.Epoch+1, i+1, where(b), err, hint, l.last)
	}
	st.Step++
	st.Batch = i + 1
	st.WinLoss += s.Loss
	st.WinSteps++
	st.WinTokens += s.Tokens
	l.emit(Event{Kind: "step", Step: st.Step, Epoch: st.Epoch + 1, Loss: s.Loss, LR: lr,
		TokensPerSec: float64(st.WinTokens) / max(l.stepTime.Seconds(), 1e-9)})
	evalNow := r.Train.EvalEvery > 0 && st.Step%r.Train.EvalEvery == 0
	if st.Step%l.logEvery == 0 || evalNow {
		if err := l.flushTrain(lr); err != nil {
			return err
		}
	}
	if evalNow {
		if err := l.evaluate(st.Epoch + 1); err != nil {
			return err
		}
	}
	if evalNow || (r.Train.CheckpointEvery > 0 && st.Step%r.Train.CheckpointEvery == 0) {
		return l.checkpoint()
	}
	return nil
}

// ended reports a run stopped early or at train.steps.
func (l *loop) ended() bool {
	return l.st.Stopped || (l.r.Train.Steps > 0 && l.st.Step >= l.r.Train.Steps)
}

// done reports a run with nothing left to train.
func (l *loop) done() bool {
	t := l.r.Train
	return l.ended() || (t.Epochs > 0 && l.st.Epoch >= t.Epochs && t.Steps == 0)
}

// written names a failed write and what is left.
func (l *loop) written(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%w at step %d: %w; the last checkpoint written (%s) is intact: make room or fix the folder, then resume", ErrWrite, l.st.Step, err, l.last)
}

// line appends a line to metrics.jsonl.
func (l *loop) line(v rundir.MetricsLine) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	l.mw.Write(b)
	return l.written(l.mw.WriteByte('\n'))
}

func (l *loop) emit(e Event) {
	if l.t.Observe != nil {
		e.Steps, e.Metric, e.Best = l.total, l.metricName, l.st.Best
		l.t.Observe(e)
	}
}

// flushTrain writes the train line of the steps since the last one.
func (l *loop) flushTrain(lr float64) error {
	st := &l.st
	elapsed := l.stepTime
	l.stepTime = 0
	if st.WinSteps == 0 {
		return nil
	}
	err := l.line(rundir.MetricsLine{Split: "train", Step: st.Step, Epoch: st.Epoch + 1,
		Loss: st.WinLoss / float64(st.WinSteps), LR: lr, Tokens: st.WinTokens,
		TokensPerS: math.Round(float64(st.WinTokens) / max(elapsed.Seconds(), 1e-9))})
	st.WinLoss, st.WinSteps, st.WinTokens = 0, 0, 0
	return err
}

// checkpoint writes the resumable checkpoint: metrics.jsonl flushed and its
// size recorded, weights, optimizer and loop state.
func (l *loop) checkpoint() error { return l.written(l.writeCheckpoint()) }

func (l *loop) writeCheckpoint() error {
	st := &l.st
	if err := l.mw.Flush(); err != nil {
		return err
	}
	if err := l.mf.Sync(); err != nil {
		return err
	}
	info, err := l.mf.Stat()
	if err != nil {
		return err
	}
	st.MetricsBytes = info.Size()
	err = rundir.WriteDir(l.last, func(tmp string) error {
		if err := l.t.Task.Save(tmp, true); err != nil {
			return err
		}
		if err := rundir.WriteVocabSums(tmp, l.t.Data.Vocabs); err != nil {
			return err
		}
		b, err := json.Marshal(st)
		if err != nil {
			return err
		}
		return pipeline.WriteFileAtomic(filepath.Join(tmp, loopFile), b)
	})
	if err != nil {
		return err
	}
	epoch := st.Epoch // the epoch of the last step
	if st.Batch > 0 {
		epoch++
	}
	l.emit(Event{Kind: "checkpoint", Step: st.Step, Epoch: epoch})
	return nil
}

// averaged runs f with the weights' moving average in their place
// (train.ema): dev scores and the best checkpoint are the average's.
func (l *loop) averaged(f func() error) error {
	if a, ok := l.t.Task.(Averager); ok {
		a.Average(true)
		defer a.Average(false)
	}
	return f()
}

func (l *loop) saveBest() error {
	return l.averaged(func() error {
		return l.written(rundir.WriteDir(filepath.Join(l.t.Dir, rundir.BestDir), func(tmp string) error {
			if err := l.t.Task.Save(tmp, false); err != nil {
				return err
			}
			return rundir.WriteVocabSums(tmp, l.t.Data.Vocabs)
		}))
	})
}

// evaluate scores dev in epoch (counted from 1), keeps the best weights and
// decides early stopping.
func (l *loop) evaluate(epoch int) error {
	t, st := l.t, &l.st
	if t.Data.Dev == nil && !t.Data.Whole {
		return nil
	}
	var m Metrics
	err := l.averaged(func() (err error) {
		m, err = t.Task.Evaluate(SplitBatches(t.Data, "dev", l.r))
		return err
	})
	if err != nil {
		return fmt.Errorf("dev evaluation at step %d: %w", st.Step, err)
	}
	v, ok := m[l.metricName]
	if !ok {
		return fmt.Errorf("tasks: the %s task reports no metric %q (it has %v)", t.Task.Info().Name, l.metricName, keys(m))
	}
	if err := l.line(rundir.MetricsLine{Split: "dev", Step: st.Step, Epoch: epoch, Metrics: m}); err != nil {
		return err
	}
	better := !st.HaveBest || (l.higher && v > st.Best) || (!l.higher && v < st.Best)
	if better {
		st.Best, st.BestStep, st.HaveBest, st.Bad = v, st.Step, true, 0
		l.bestMetrics = m
		if err := l.saveBest(); err != nil {
			return err
		}
	} else {
		st.Bad++
	}
	if k := l.r.Train.AverageLast; k > 0 {
		if err := l.snapshot(k); err != nil {
			return err
		}
	}
	if st.Plateau != nil {
		st.Plateau.Observe(v)
	}
	if p := l.r.Train.EarlyStop.Patience; p > 0 && st.Bad >= p {
		st.Stopped = true
	}
	l.emit(Event{Kind: "eval", Step: st.Step, Epoch: epoch, Metrics: m})
	return nil
}

// schedule builds the recipe's learning-rate schedule over total steps.
func schedule(r *recipes.Recipe, total int, higher bool) nn.Schedule {
	s, lr := r.Train.Schedule, r.Train.LR
	switch s.Kind {
	case recipes.WarmupLinear:
		return nn.WarmupLinear{Base: lr, Warmup: s.Warmup, Total: total}
	case recipes.StepDecay:
		return nn.StepDecay{Base: lr, Every: s.Every, Gamma: s.Factor}
	case recipes.Plateau:
		return &nn.ReduceOnPlateau{Base: lr, Factor: s.Factor, Patience: s.Patience, Min: s.Min, Maximize: higher}
	}
	return nn.Constant(lr)
}

// epochs yields the training batches of each epoch.
type epochs interface {
	Epoch(e int) iter.Seq[*pipeline.Batch]
}

// streamEpochs passes over the same stream every epoch.
type streamEpochs struct{ *pipeline.Stream }

func (s streamEpochs) Epoch(int) iter.Seq[*pipeline.Batch] { return s.Batches() }

// trainBatches batches the training split as the recipe says: shuffled (and
// bucketed) sequences, or with train.bptt one stream cut into windows, and
// returns the number of batches of an epoch.
func trainBatches(r *recipes.Recipe, data *Data) (epochs, int, error) {
	if data.Whole {
		return wholeEpochs{}, 1, nil
	}
	ds := data.Train
	if r.Train.BPTT > 0 {
		s, err := pipeline.NewStream(ds, r.Data.Batch.Size, r.Train.BPTT)
		if err != nil {
			return nil, 0, err
		}
		if s.Len() == 0 {
			return nil, 0, fmt.Errorf("tasks: the training stream is too short for %d parallel streams", r.Data.Batch.Size)
		}
		return streamEpochs{s}, s.Len(), nil
	}
	cfg := pipeline.BatchConfig{
		Size: r.Data.Batch.Size, MaxTokens: r.Data.Batch.MaxTokens, MaxLen: r.Data.Batch.MaxLen,
		Reject: r.Data.Batch.Reject, Shuffle: true, Seed: r.Train.Seed, Bucket: r.Data.Batch.Bucket,
	}
	b, err := pipeline.NewBatcher(ds, cfg)
	if err != nil {
		return nil, 0, err
	}
	if b.Len() == 0 {
		return nil, 0, fmt.Errorf("tasks: the training split has no examples")
	}
	n := (b.Len() + cfg.Size - 1) / cfg.Size
	if cfg.MaxTokens > 0 {
		n = 0
		for range b.Epoch(0) {
			n++
		}
	}
	return b, n, nil
}

// wholeEpochs are the epochs of a task that trains on whole tables: one
// batch each, without rows, naming the training split.
type wholeEpochs struct{}

func (wholeEpochs) Epoch(int) iter.Seq[*pipeline.Batch] { return wholeSplit("train") }

func wholeSplit(name string) iter.Seq[*pipeline.Batch] {
	return func(yield func(*pipeline.Batch) bool) { yield(&pipeline.Batch{Split: name}) }
}

// checkWhole refuses a task and a recipe that disagree on whole tables.
func checkWhole(info Info, whole bool) error {
	switch {
	case whole && !info.WholeDataset:
		return fmt.Errorf("%w: data: the %s task trains on batches of examples: give data.train (data.tables alone is for tasks that train on whole tables)", recipes.ErrRecipe, info.Name)
	case !whole && info.WholeDataset:
		return fmt.Errorf("%w: data: the %s task trains on whole tables and finds its splits in them: give its data.tables and no train, dev, test or generate", recipes.ErrRecipe, info.Name)
	}
	return nil
}

// SplitBatches are the evaluation batches of split name (dev or test): the
// split's batches (EvalBatches), or for a task that trains on whole tables
// the one batch that names it; nothing when the data has no such split.
func SplitBatches(data *Data, name string, r *recipes.Recipe) iter.Seq[*pipeline.Batch] {
	if data.Whole {
		return wholeSplit(name)
	}
	ds := map[string]*pipeline.Dataset{"train": data.Train, "dev": data.Dev, "test": data.Test}[name]
	if ds == nil {
		return func(func(*pipeline.Batch) bool) {}
	}
	return EvalBatches(ds, r)
}

// where names a batch's place in its split for error messages.
func where(b *pipeline.Batch) string {
	if b.Next != nil {
		return fmt.Sprintf(", stream position %d", b.Offset)
	}
	if len(b.Rows) > 0 {
		return fmt.Sprintf(", rows %d…", b.Rows[0])
	}
	return ""
}

// Until yields the batches of seq until ctx is done (a Ctrl-C); the caller
// tells a cut-short pass by ctx.Err().
func Until(ctx context.Context, seq iter.Seq[*pipeline.Batch]) iter.Seq[*pipeline.Batch] {
	return func(yield func(*pipeline.Batch) bool) {
		for b := range seq {
			if ctx.Err() != nil || !yield(b) {
				return
			}
		}
	}
}

// EvalBatches batches a split for evaluation: bucketed by length, not shuffled,
// nothing left out for length; with train.bptt, the split's stream in order,
// every token but the first scored (Stream.Every).
func EvalBatches(ds *pipeline.Dataset, r *recipes.Recipe) iter.Seq[*pipeline.Batch] {
	if r.Train.BPTT > 0 {
		s, err := pipeline.NewStream(ds, r.Data.Batch.Size, r.Train.BPTT)
		if err != nil {
			return func(func(*pipeline.Batch) bool) {}
		}
		return s.Every()
	}
	b, err := pipeline.NewBatcher(ds, pipeline.BatchConfig{Size: r.Data.Batch.Size, MaxTokens: r.Data.Batch.MaxTokens, Bucket: true})
	if err != nil {
		return func(func(*pipeline.Batch) bool) {}
	}
	return b.Epoch(0)
}

func keys(m Metrics) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
