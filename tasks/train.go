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
)

// Run directory layout.
const (
	RecipeFile  = "recipe.yaml"
	MetricsFile = "metrics.jsonl"
	LastDir     = "checkpoints/last" // resumable: weights, optimizer, random and loop state
	BestDir     = "checkpoints/best" // weights of the best dev evaluation
	loopFile    = "loop.json"
)

// ErrStopped is returned when training stopped because its context was cancelled
// (Ctrl-C); the last checkpoint holds the state to resume from.
var ErrStopped = errors.New("training stopped")

// ErrWrite is returned when a checkpoint or the metrics could not be written
// (disk full, folder no longer writable): the previous checkpoint is intact and
// the run can be resumed once the cause is fixed.
var ErrWrite = errors.New("cannot write the run directory")

// Event is a moment in training, for progress bars and logs.
type Event struct {
	Kind         string // "step", "eval", "checkpoint", "epoch", "skipped"
	Step, Epoch  int    // after this step; epoch counts from 1
	Steps        int    // total steps planned (an estimate when batches vary)
	Loss, LR     float64
	TokensPerSec float64
	Metrics      Metrics // eval events: the dev metrics
	Metric       string  // the watched dev metric
	Best         float64 // its best value so far
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
	r := t.Recipe
	start := time.Now()
	setup := Setup{Recipe: r, Vocabs: t.Data.Vocabs, Train: pipeline.Summarize(t.Data.Train, t.Data.Vocabs)}
	if err := t.Task.Init(setup); err != nil {
		return nil, err
	}
	batches, perEpoch, err := trainBatches(r, t.Data.Train)
	if err != nil {
		return nil, err
	}
	// Steps, when set, decides the length alone; otherwise epochs do.
	total := r.Train.Steps
	if total == 0 {
		total = r.Train.Epochs * perEpoch
	}
	if _, ok := t.Task.(Averager); r.Train.EMA > 0 && !ok {
		return nil, fmt.Errorf("tasks: train.ema: the %s task keeps no average of its weights; leave train.ema out", t.Task.Info().Name)
	}
	metricName, higher := t.metric()
	st := loopState{}
	sched := schedule(r, total, higher)
	if p, ok := sched.(*nn.ReduceOnPlateau); ok {
		st.Plateau = p
	}
	last := filepath.Join(t.Dir, LastDir)
	resume := t.Resume
	if resume {
		if err := recoverDir(filepath.Join(t.Dir, BestDir)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		switch err := recoverDir(last); {
		case errors.Is(err, fs.ErrNotExist):
			// Stopped before its first checkpoint: the run starts over, and
			// rewrites its metrics from the first line.
			resume = false
			if err := os.Truncate(filepath.Join(t.Dir, MetricsFile), 0); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return nil, err
			}
		case err != nil:
			return nil, err
		}
	}
	switch {
	case resume:
		if err := checkVocabSums(last, t.Data.Vocabs); err != nil {
			return nil, fmt.Errorf("resume: %w", err)
		}
		if err := t.Task.Load(last, true); err != nil {
			return nil, fmt.Errorf("resume: %w; to start the run over instead, leave out --resume and add --force", err)
		}
		b, err := pipeline.ReadFileLimited(filepath.Join(last, loopFile), 1<<20)
		if err != nil {
			return nil, fmt.Errorf("resume: %w", err)
		}
		if err := json.Unmarshal(b, &st); err != nil {
			return nil, fmt.Errorf("resume: %s: %w", filepath.Join(last, loopFile), err)
		}
		if st.Plateau != nil {
			sched = st.Plateau
		}
		// Lines written after the checkpoint are written again, identically.
		if err := os.Truncate(filepath.Join(t.Dir, MetricsFile), st.MetricsBytes); err != nil {
			return nil, fmt.Errorf("resume: %w", err)
		}
	case t.InitFrom != "":
		if err := checkVocabSums(filepath.Join(t.InitFrom, BestDir), t.Data.Vocabs); err != nil {
			return nil, fmt.Errorf("init-from: %w", err)
		}
		if err := t.Task.Load(filepath.Join(t.InitFrom, BestDir), false); err != nil {
			return nil, fmt.Errorf("init-from: %w", err)
		}
	}
	mf, err := os.OpenFile(filepath.Join(t.Dir, MetricsFile), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer mf.Close()
	mw := bufio.NewWriter(mf)
	// written names a failed write and what is left.
	written := func(err error) error {
		if err == nil {
			return nil
		}
		return fmt.Errorf("%w at step %d: %w; the last checkpoint written (%s) is intact: make room or fix the folder, then resume", ErrWrite, st.Step, err, last)
	}
	line := func(v MetricsLine) error {
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		mw.Write(b)
		return written(mw.WriteByte('\n'))
	}
	emit := func(e Event) {
		if t.Observe != nil {
			e.Steps, e.Metric, e.Best = total, metricName, st.Best
			t.Observe(e)
		}
	}
	writeCheckpoint := func() error {
		if err := mw.Flush(); err != nil {
			return err
		}
		if err := mf.Sync(); err != nil {
			return err
		}
		info, err := mf.Stat()
		if err != nil {
			return err
		}
		st.MetricsBytes = info.Size()
		err = writeDir(last, func(tmp string) error {
			if err := t.Task.Save(tmp, true); err != nil {
				return err
			}
			if err := writeVocabSums(tmp, t.Data.Vocabs); err != nil {
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
		emit(Event{Kind: "checkpoint", Step: st.Step, Epoch: epoch})
		return nil
	}
	checkpoint := func() error { return written(writeCheckpoint()) }
	// averaged runs f with the weights' moving average in their place
	// (train.ema): dev scores and the best checkpoint are the average's.
	averaged := func(f func() error) error {
		if a, ok := t.Task.(Averager); ok {
			a.Average(true)
			defer a.Average(false)
		}
		return f()
	}
	saveBest := func() error {
		return averaged(func() error {
			return written(writeDir(filepath.Join(t.Dir, BestDir), func(tmp string) error {
				if err := t.Task.Save(tmp, false); err != nil {
					return err
				}
				return writeVocabSums(tmp, t.Data.Vocabs)
			}))
		})
	}
	var bestMetrics Metrics
	// evaluate scores dev in epoch (counted from 1).
	evaluate := func(epoch int) error {
		if t.Data.Dev == nil {
			return nil
		}
		var m Metrics
		err := averaged(func() (err error) {
			m, err = t.Task.Evaluate(EvalBatches(t.Data.Dev, r))
			return err
		})
		if err != nil {
			return fmt.Errorf("dev evaluation at step %d: %w", st.Step, err)
		}
		v, ok := m[metricName]
		if !ok {
			return fmt.Errorf("tasks: the %s task reports no metric %q (it has %v)", t.Task.Info().Name, metricName, keys(m))
		}
		if err := line(MetricsLine{Split: "dev", Step: st.Step, Epoch: epoch, Metrics: m}); err != nil {
			return err
		}
		better := !st.HaveBest || (higher && v > st.Best) || (!higher && v < st.Best)
		if better {
			st.Best, st.BestStep, st.HaveBest, st.Bad = v, st.Step, true, 0
			bestMetrics = m
			if err := saveBest(); err != nil {
				return err
			}
		} else {
			st.Bad++
		}
		if st.Plateau != nil {
			st.Plateau.Observe(v)
		}
		if p := r.Train.EarlyStop.Patience; p > 0 && st.Bad >= p {
			st.Stopped = true
		}
		emit(Event{Kind: "eval", Step: st.Step, Epoch: epoch, Metrics: m})
		return nil
	}
	logEvery := t.LogEvery
	if logEvery <= 0 {
		// About a hundred points on the learning curve, at most 50 steps apart.
		logEvery = min(max(total/100, 1), 50)
	}
	flushTrain := func(lr float64, elapsed time.Duration) error {
		if st.WinSteps == 0 {
			return nil
		}
		err := line(MetricsLine{Split: "train", Step: st.Step, Epoch: st.Epoch + 1,
			Loss: st.WinLoss / float64(st.WinSteps), LR: lr, Tokens: st.WinTokens,
			TokensPerS: math.Round(float64(st.WinTokens) / max(elapsed.Seconds(), 1e-9))})
		st.WinLoss, st.WinSteps, st.WinTokens = 0, 0, 0
		return err
	}
	// stepTime is the time spent in training steps since the last train line:
	// throughput leaves out evaluations and checkpoints.
	var stepTime time.Duration
	done := func() bool {
		return st.Stopped || (r.Train.Steps > 0 && st.Step >= r.Train.Steps) || (r.Train.Epochs > 0 && st.Epoch >= r.Train.Epochs && r.Train.Steps == 0)
	}
	for !done() {
		i := 0
		for b := range batches.Epoch(st.Epoch) {
			if i < st.Batch {
				i++
				continue
			}
			if err := ctx.Err(); err != nil {
				if cerr := checkpoint(); cerr != nil {
					return nil, errors.Join(ErrStopped, cerr)
				}
				return nil, fmt.Errorf("%w at step %d", ErrStopped, st.Step)
			}
			lr := sched.LR(st.Step)
			t0 := time.Now()
			s, err := t.Task.TrainStep(b, lr)
			stepTime += time.Since(t0)
			if err != nil && errors.Is(err, ErrDiverged) && r.Train.SkipNonFinite {
				// The update was not applied: the batch is left out, and said so.
				st.Skipped++
				if err := line(MetricsLine{Split: "train", Step: st.Step + 1, Epoch: st.Epoch + 1, Batch: i + 1,
					Skipped: fmt.Sprintf("batch %d%s: %v", i+1, where(b), err)}); err != nil {
					return nil, err
				}
				emit(Event{Kind: "skipped", Step: st.Step + 1, Epoch: st.Epoch + 1})
				i++
				st.Batch = i
				continue
			}
			if err != nil {
				hint := ""
				if errors.Is(err, ErrDiverged) {
					hint = " (lower train.lr, set train.clip, or train.skip_nonfinite: true to leave such batches out)"
				}
				return nil, fmt.Errorf("step %d (epoch %d, batch %d%s): %w%s; the last good checkpoint is in %s",
					st.Step+1, st.Epoch+1, i+1, where(b), err, hint, last)
			}
			st.Step++
			i++
			st.Batch = i
			st.WinLoss += s.Loss
			st.WinSteps++
			st.WinTokens += s.Tokens
			emit(Event{Kind: "step", Step: st.Step, Epoch: st.Epoch + 1, Loss: s.Loss, LR: lr,
				TokensPerSec: float64(st.WinTokens) / max(stepTime.Seconds(), 1e-9)})
			evalNow := r.Train.EvalEvery > 0 && st.Step%r.Train.EvalEvery == 0
			if st.Step%logEvery == 0 || evalNow {
				if err := flushTrain(lr, stepTime); err != nil {
					return nil, err
				}
				stepTime = 0
			}
			if evalNow {
				if err := evaluate(st.Epoch + 1); err != nil {
					return nil, err
				}
			}
			if evalNow || (r.Train.CheckpointEvery > 0 && st.Step%r.Train.CheckpointEvery == 0) {
				if err := checkpoint(); err != nil {
					return nil, err
				}
			}
			if st.Stopped || (r.Train.Steps > 0 && st.Step >= r.Train.Steps) {
				break
			}
		}
		if st.Stopped || (r.Train.Steps > 0 && st.Step >= r.Train.Steps) {
			break
		}
		if err := flushTrain(sched.LR(st.Step), stepTime); err != nil {
			return nil, err
		}
		stepTime = 0
		st.Epoch++
		st.Batch = 0
		if r.Train.EvalEvery == 0 {
			if err := evaluate(st.Epoch); err != nil {
				return nil, err
			}
		}
		emit(Event{Kind: "epoch", Step: st.Step, Epoch: st.Epoch})
		if err := checkpoint(); err != nil {
			return nil, err
		}
	}
	if err := flushTrain(sched.LR(st.Step), stepTime); err != nil {
		return nil, err
	}
	if !st.HaveBest {
		// No dev split (or no evaluation yet): the final weights are the best.
		if err := saveBest(); err != nil {
			return nil, err
		}
	}
	if err := checkpoint(); err != nil {
		return nil, err
	}
	if bestMetrics == nil && st.HaveBest {
		// A resumed run evaluated its best before the interruption: read it back.
		bestMetrics, _ = readDevMetrics(filepath.Join(t.Dir, MetricsFile), st.BestStep)
	}
	return &Result{Steps: st.Step, Epochs: st.Epoch, Best: bestMetrics, BestStep: st.BestStep, Skipped: st.Skipped, Elapsed: time.Since(start)}, nil
}

// schedule builds the recipe's learning-rate schedule over total steps.
func schedule(r *recipes.Recipe, total int, higher bool) nn.Schedule {
	s, lr := r.Train.Schedule, r.Train.LR
	switch s.Kind {
	case "warmup_linear":
		return nn.WarmupLinear{Base: lr, Warmup: s.Warmup, Total: total}
	case "step":
		return nn.StepDecay{Base: lr, Every: s.Every, Gamma: s.Factor}
	case "plateau":
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
func trainBatches(r *recipes.Recipe, ds *pipeline.Dataset) (epochs, int, error) {
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
// nothing left out for length; with train.bptt, the split's stream in order.
func EvalBatches(ds *pipeline.Dataset, r *recipes.Recipe) iter.Seq[*pipeline.Batch] {
	if r.Train.BPTT > 0 {
		s, err := pipeline.NewStream(ds, r.Data.Batch.Size, r.Train.BPTT)
		if err != nil {
			return func(func(*pipeline.Batch) bool) {}
		}
		return s.Batches()
	}
	b, err := pipeline.NewBatcher(ds, pipeline.BatchConfig{Size: r.Data.Batch.Size, MaxTokens: r.Data.Batch.MaxTokens, Bucket: true})
	if err != nil {
		return func(func(*pipeline.Batch) bool) {}
	}
	return b.Epoch(0)
}

// writeDir fills a fresh folder with write and then publishes it as dst.
func writeDir(dst string, write func(tmp string) error) error {
	tmp := dst + ".tmp"
	if err := os.RemoveAll(tmp); err != nil {
		return err
	}
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return err
	}
	if err := write(tmp); err != nil {
		return err
	}
	return publishDir(tmp, dst)
}

// publishDir replaces dst by the completed folder tmp. A crash leaves either the
// old dst, or dst.old with tmp complete, which recoverDir repairs.
func publishDir(tmp, dst string) error {
	old := dst + ".old"
	if err := os.RemoveAll(old); err != nil {
		return err
	}
	if err := os.Rename(dst, old); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := os.Rename(tmp, dst); err != nil {
		return err
	}
	if d, err := os.Open(filepath.Dir(dst)); err == nil {
		d.Sync()
		d.Close()
	}
	return os.RemoveAll(old)
}

// recoverDir puts back dst after a crash between publishDir's two renames;
// fs.ErrNotExist when there is no dst to put back.
func recoverDir(dst string) error {
	if _, err := os.Stat(dst); err == nil {
		return nil
	}
	if _, err := os.Stat(dst + ".old"); err == nil {
		return os.Rename(dst+".old", dst)
	}
	return fmt.Errorf("resume: no checkpoint in %s: %w", dst, fs.ErrNotExist)
}

func readDevMetrics(path string, step int) (Metrics, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out Metrics
	err = readMetrics(f, func(l MetricsLine) {
		if l.Split == "dev" && l.Step == step {
			out = l.Metrics
		}
	})
	return out, err
}

func keys(m Metrics) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
