package rundir

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
)

// MetricsLine is one line of metrics.jsonl: a window of training steps
// (Split "train"), a dev evaluation (Split "dev", its metrics in Metrics), or
// a batch left out by train.skip_nonfinite (Skipped set). It is written as
// one flat JSON object, keys sorted, the dev metrics beside split, step and
// epoch.
type MetricsLine struct {
	Split string
	Step  int
	Epoch int

	// A training window.
	Loss       float64
	LR         float64
	Tokens     int
	TokensPerS float64 // the only field that differs between runs of one seed

	// A dev evaluation.
	Metrics Metrics

	// A batch left out: its number in the epoch and why.
	Batch   int
	Skipped string
}

// MarshalJSON writes the line as one flat object.
func (l MetricsLine) MarshalJSON() ([]byte, error) {
	m := map[string]any{"split": l.Split, "step": l.Step, "epoch": l.Epoch}
	switch {
	case l.Skipped != "":
		m["batch"], m["skipped"] = l.Batch, l.Skipped
	case l.Split == "train":
		m["loss"], m["lr"], m["tokens"], m["tokens_per_s"] = l.Loss, l.LR, l.Tokens, l.TokensPerS
	default:
		for k, v := range l.Metrics {
			m[k] = v
		}
	}
	return json.Marshal(m)
}

// UnmarshalJSON reads a line MarshalJSON wrote.
func (l *MetricsLine) UnmarshalJSON(b []byte) error {
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	num := func(k string) float64 { v, _ := m[k].(float64); return v }
	*l = MetricsLine{Step: int(num("step")), Epoch: int(num("epoch"))}
	l.Split, _ = m["split"].(string)
	l.Skipped, _ = m["skipped"].(string)
	switch {
	case l.Skipped != "":
		l.Batch = int(num("batch"))
	case l.Split == "train":
		l.Loss, l.LR, l.Tokens, l.TokensPerS = num("loss"), num("lr"), int(num("tokens")), num("tokens_per_s")
	default:
		l.Metrics = Metrics{}
		for k, v := range m {
			if x, ok := v.(float64); ok && k != "step" && k != "epoch" {
				l.Metrics[k] = x
			}
		}
	}
	return nil
}

// ReadMetrics calls f with each line of a metrics.jsonl; lines that do not
// parse are passed over.
func ReadMetrics(r io.Reader, f func(MetricsLine)) error {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		var l MetricsLine
		if json.Unmarshal(sc.Bytes(), &l) == nil {
			f(l)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	return nil
}
