package rundir

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// Curves draws the learning curves of a run from its metrics.jsonl: training
// loss (and dev loss) per step into loss.png, and the watched dev metric per
// step into dev.png. It returns the files written.
func Curves(dir, metric string) ([]string, error) {
	f, err := os.Open(filepath.Join(dir, MetricsFile))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var train, devLoss, dev plotter.XYs
	err = ReadMetrics(f, func(l MetricsLine) {
		step := float64(l.Step)
		switch {
		case l.Skipped != "":
		case l.Split == "train":
			train = append(train, plotter.XY{X: step, Y: l.Loss})
		case l.Split == "dev":
			if v, ok := l.Metrics["loss"]; ok {
				devLoss = append(devLoss, plotter.XY{X: step, Y: v})
			}
			if v, ok := l.Metrics[metric]; ok {
				dev = append(dev, plotter.XY{X: step, Y: v})
			}
		}
	})
	if err != nil {
		return nil, err
	}
	var files []string
	draw := func(name, title, ylabel string, series ...any) error {
		p := plot.New()
		p.Title.Text = title
		p.X.Label.Text = "step"
		p.Y.Label.Text = ylabel
		p.Legend.Top = true
		if err := plotutil.AddLinePoints(p, series...); err != nil {
			return err
		}
		path := filepath.Join(dir, name)
		if err := p.Save(6*vg.Inch, 4*vg.Inch, path); err != nil {
			return err
		}
		files = append(files, path)
		return nil
	}
	if len(train) > 0 {
		series := []any{"train", train}
		if len(devLoss) > 0 {
			series = append(series, "dev", devLoss)
		}
		if err := draw(LossPlot, "loss", "loss", series...); err != nil {
			return files, err
		}
	}
	if len(dev) > 0 {
		// One series, named in the title: a legend would only cover the
		// curve's end, where a rising metric climbs to the top right.
		if err := draw(DevPlot, "dev "+metric, metric, dev); err != nil {
			return files, err
		}
	}
	return files, nil
}

// Report is the content of a run's report.md.
type Report struct {
	Name, Description string
	Task, Metric      string // the task's name and main metric
	Steps, Epochs     int
	Elapsed           time.Duration
	BestStep          int
	Averaged          int    // the best is the average of this many evaluations' weights (0: it is not)
	StillImproving    bool   // the last evaluation was the best, at the end of the budget
	Embedding         string // what model.embedding_init's vectors covered, when the run used them
	Dev, Test         Metrics
	Files             []string // files in the run directory worth a look
}

// Markdown renders the report.
func (r Report) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n\n", r.Name)
	if r.Description != "" {
		fmt.Fprintf(&b, "%s\n\n", r.Description)
	}
	best := fmt.Sprintf("best dev checkpoint at step %d", r.BestStep)
	if r.Averaged > 0 {
		best = fmt.Sprintf("best dev checkpoint: the average of the weights of the last %d evaluations (train.average_last)", r.Averaged)
	}
	fmt.Fprintf(&b, "Task %s; %d steps over %d epochs in %s; %s.\n\n",
		r.Task, r.Steps, r.Epochs, r.Elapsed.Round(time.Second), best)
	if r.Embedding != "" {
		fmt.Fprintf(&b, "Pretrained embedding: %s.\n\n", r.Embedding)
	}
	if r.StillImproving {
		b.WriteString("**Dev was still improving when training ended**: the last evaluation was the best. Raise train.epochs (early stopping ends the run when dev stops improving).\n\n")
	}
	names := map[string]bool{}
	for k := range r.Dev {
		names[k] = true
	}
	for k := range r.Test {
		names[k] = true
	}
	if len(names) > 0 {
		keys := make([]string, 0, len(names))
		for k := range names {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b.WriteString("| metric | dev | test |\n| --- | ---: | ---: |\n")
		cellOf := func(m Metrics, k string) string {
			if v, ok := m[k]; ok {
				return fmt.Sprintf("%.*f", Digits(v), v)
			}
			return "–"
		}
		for _, k := range keys {
			mark := ""
			if k == r.Metric {
				mark = " (main)"
			}
			fmt.Fprintf(&b, "| %s%s | %s | %s |\n", k, mark, cellOf(r.Dev, k), cellOf(r.Test, k))
		}
		b.WriteString("\n")
	}
	if len(r.Files) > 0 {
		b.WriteString("Files:\n\n")
		for _, f := range r.Files {
			fmt.Fprintf(&b, "- `%s`\n", f)
		}
	}
	return b.String()
}
