package tasks

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/seqkit/seqkit/nn"
	"github.com/seqkit/seqkit/tasks/rundir"
)

// The folders of checkpoint averaging (train.average_last): the weights of
// the last evaluations, one folder each (step-NNNNNNNNNNNN), and their average.
const (
	recentDir   = "checkpoints/recent"
	averagedDir = "checkpoints/averaged"
)

// snapshot keeps the weights just evaluated on dev among the last k, for
// averaging at the end.
func (l *loop) snapshot(k int) error {
	dir := filepath.Join(l.t.Dir, recentDir)
	err := l.averaged(func() error {
		return rundir.WriteDir(filepath.Join(dir, fmt.Sprintf("step-%012d", l.st.Step)), func(tmp string) error {
			if err := l.t.Task.Save(tmp, false); err != nil {
				return err
			}
			return rundir.WriteVocabSums(tmp, l.t.Data.Vocabs)
		})
	})
	if err != nil {
		return l.written(err)
	}
	snaps, err := snapshots(dir)
	if err != nil {
		return err
	}
	for _, s := range snaps[:max(len(snaps)-k, 0)] {
		if err := os.RemoveAll(s); err != nil {
			return err
		}
	}
	return nil
}

// snapshots lists the kept weights, oldest first.
func snapshots(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		var step int
		if n, _ := fmt.Sscanf(e.Name(), "step-%012d", &step); n == 1 && e.IsDir() && e.Name() == fmt.Sprintf("step-%012d", step) {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	slices.Sort(out) // the step is zero-padded: names sort as steps
	return out, nil
}

// averageLast averages the weights of the kept evaluations
// (nn.AverageSafetensors), scores the average on dev and makes it the best
// checkpoint if dev scores it better than the best single one. It reports
// how many checkpoints the best is the average of (0: it is not).
func (l *loop) averageLast(ctx context.Context) (int, error) {
	t, st := l.t, &l.st
	snaps, err := snapshots(filepath.Join(t.Dir, recentDir))
	if err != nil || len(snaps) < 2 || t.Data.Dev == nil {
		return 0, err
	}
	avg := filepath.Join(t.Dir, averagedDir)
	err = rundir.WriteDir(avg, func(tmp string) error {
		// The other files of a checkpoint (a task's baselines, the
		// vocabulary sums) are the last one's.
		if err := copyFiles(snaps[len(snaps)-1], tmp, rundir.ModelFile); err != nil {
			return err
		}
		srcs := make([]string, len(snaps))
		for i, s := range snaps {
			srcs[i] = filepath.Join(s, rundir.ModelFile)
		}
		return nn.AverageSafetensors(filepath.Join(tmp, rundir.ModelFile), srcs)
	})
	if err != nil {
		return 0, l.written(err)
	}
	// The averaged weights are evaluated as they are, not through a moving
	// average (train.ema): the snapshots already hold it.
	if err := t.Task.Load(avg, false); err != nil {
		return 0, fmt.Errorf("averaged checkpoint: %w", err)
	}
	m, err := t.Task.Evaluate(Until(ctx, EvalBatches(t.Data.Dev, l.r)))
	if err == nil && ctx.Err() != nil {
		// The last checkpoint is written: a resumed run averages again.
		err = fmt.Errorf("%w: %w before the averaged checkpoint was scored", ErrStopped, context.Cause(ctx))
	}
	if err != nil {
		return 0, fmt.Errorf("dev evaluation of the averaged checkpoint: %w", err)
	}
	m["averaged"] = float64(len(snaps))
	if err := l.line(rundir.MetricsLine{Split: "average", Step: st.Step, Epoch: st.Epoch, Metrics: m}); err != nil {
		return 0, err
	}
	if err := l.written(l.mw.Flush()); err != nil {
		return 0, err
	}
	v, ok := m[l.metricName]
	if !ok || !((l.higher && v > st.Best) || (!l.higher && v < st.Best)) {
		return 0, nil
	}
	err = rundir.WriteDir(filepath.Join(t.Dir, rundir.BestDir), func(tmp string) error { return copyFiles(avg, tmp, "") })
	if err != nil {
		return 0, l.written(err)
	}
	delete(m, "averaged")
	l.bestMetrics = m
	return len(snaps), nil
}

// copyFiles copies the files of folder src into dst, but skip.
func copyFiles(src, dst, skip string) error {
	entries, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if !e.Type().IsRegular() || e.Name() == skip {
			continue
		}
		if err := copyFile(filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())); err != nil {
			return err
		}
	}
	return nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
