package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/seqkit/seqkit/internal/progress"
	"github.com/seqkit/seqkit/tasks"
)

// reporter shows training progress: a bar on a terminal, otherwise a log line
// every few seconds and at every evaluation, as text or JSON.
type reporter struct {
	w      io.Writer
	json   bool
	tty    bool
	bar    *progressbar.ProgressBar
	last   time.Time
	every  time.Duration
	dev    string
	closed bool
	prefix string // before every line and bar: which of several runs
	seed   int    // the seed of the JSON events, from 1 (0: a single run)
}

func newReporter(f *os.File, format string) (*reporter, error) {
	switch format {
	case "text", "json":
	default:
		return nil, usageError{fmt.Errorf("--log-format %q: want text or json", format)}
	}
	return &reporter{w: f, json: format == "json", tty: format == "text" && term.IsTerminal(int(f.Fd())), every: 10 * time.Second}, nil
}

// logf writes a plain message line (above the bar on a terminal).
func (r *reporter) logf(format string, a ...any) {
	msg := r.prefix + fmt.Sprintf(format, a...)
	if r.json {
		b, _ := json.Marshal(map[string]any{"time": time.Now().Format(time.RFC3339), "msg": msg})
		fmt.Fprintln(r.w, string(b))
		return
	}
	if r.bar != nil {
		r.bar.Clear()
	}
	fmt.Fprintln(r.w, msg)
}

// progress returns a byte-progress function for reading a split (terminal only).
func (r *reporter) progress(split string) func(done, total int64) {
	if !r.tty {
		return nil
	}
	report, finish := progress.Bar(os.Stderr, "reading "+split)
	return func(done, total int64) {
		report(done, total)
		if done >= total {
			finish()
		}
	}
}

func metricsText(m tasks.Metrics, main string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var parts []string
	if v, ok := m[main]; ok {
		parts = append(parts, fmt.Sprintf("%s %.4g", main, v))
	}
	for _, k := range keys {
		if k != main && !strings.Contains(k, "/") { // per-class metrics stay in metrics.jsonl and the report
			parts = append(parts, fmt.Sprintf("%s %.4g", k, m[k]))
		}
	}
	return strings.Join(parts, "  ")
}

func (r *reporter) event(e tasks.Event) {
	if r.json {
		if e.Kind == "step" && time.Since(r.last) < r.every {
			return
		}
		r.last = time.Now()
		out := map[string]any{"time": r.last.Format(time.RFC3339), "event": e.Kind, "step": e.Step, "steps": e.Steps, "epoch": e.Epoch}
		switch e.Kind {
		case "step":
			out["loss"], out["lr"], out["tokens_per_s"] = e.Loss, e.LR, e.TokensPerSec
		case "eval":
			out["dev"], out["best_"+e.Metric] = e.Metrics, e.Best
		case "embedding":
			out["coverage"] = e.Coverage
		}
		if r.seed > 0 {
			out["seed"] = r.seed
		}
		b, _ := json.Marshal(out)
		fmt.Fprintln(r.w, string(b))
		return
	}
	if e.Kind == "embedding" && e.Coverage != nil {
		fmt.Fprintf(r.w, "%sembedding: %s\n", r.prefix, e.Coverage.Text())
		return
	}
	if e.Kind == "skipped" {
		fmt.Fprintf(r.w, "%sstep %d epoch %d: skipped a batch with a non-finite loss or gradient\n", r.prefix, e.Step, e.Epoch)
		return
	}
	if e.Kind == "eval" {
		r.dev = fmt.Sprintf("dev %s %.4g (best %.4g)", e.Metric, e.Metrics[e.Metric], e.Best)
		if !r.tty {
			fmt.Fprintf(r.w, "%sstep %d/%d epoch %d: dev %s\n", r.prefix, e.Step, e.Steps, e.Epoch, metricsText(e.Metrics, e.Metric))
		}
		return
	}
	if e.Kind != "step" {
		return
	}
	if r.tty {
		if r.bar == nil {
			r.bar = progressbar.NewOptions(e.Steps, progressbar.OptionSetWriter(r.w), progressbar.OptionSetWidth(25),
				progressbar.OptionShowCount(), progressbar.OptionSetPredictTime(true), progressbar.OptionShowElapsedTimeOnFinish(),
				progressbar.OptionThrottle(100*time.Millisecond))
		}
		r.bar.Describe(fmt.Sprintf(r.prefix+"epoch %d  loss %.4f  %s  %.0f tok/s", e.Epoch, e.Loss, r.dev, e.TokensPerSec))
		r.bar.Set(e.Step)
		return
	}
	if time.Since(r.last) >= r.every || e.Step == e.Steps {
		r.last = time.Now()
		fmt.Fprintf(r.w, "%sstep %d/%d epoch %d: loss %.4f lr %.3g %.0f tok/s\n", r.prefix, e.Step, e.Steps, e.Epoch, e.Loss, e.LR, e.TokensPerSec)
	}
}

// done ends the bar.
func (r *reporter) done() {
	if r.bar != nil && !r.closed {
		r.bar.Finish()
		fmt.Fprintln(r.w)
		r.closed = true
	}
}
