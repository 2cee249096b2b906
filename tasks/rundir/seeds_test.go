package rundir

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSummarize checks the arithmetic of a summary over seeds: mean, sample
// standard deviation (n − 1), min and max, of the metrics every run has.
func TestSummarize(t *testing.T) {
	got := Summarize([]Metrics{
		{"f1": 90, "loss": 0.5, "only": 1},
		{"f1": 92, "loss": 0.25},
		{"f1": 94, "loss": 0.75},
		{"f1": 96, "loss": 0.5},
	})
	if _, ok := got["only"]; ok {
		t.Error("a metric of one run only was summarised")
	}
	f1 := got["f1"]
	// Deviations −3, −1, 1, 3: squares sum to 20, over n − 1 = 3.
	if f1.Mean != 93 || math.Abs(f1.Std-math.Sqrt(20.0/3)) > 1e-12 || f1.Min != 90 || f1.Max != 96 || f1.N != 4 {
		t.Errorf("f1 %+v", f1)
	}
	loss := got["loss"]
	if loss.Mean != 0.5 || math.Abs(loss.Std-math.Sqrt(0.125/3)) > 1e-12 || loss.Min != 0.25 || loss.Max != 0.75 {
		t.Errorf("loss %+v", loss)
	}
	if one := Summarize([]Metrics{{"f1": 80}})["f1"]; one != (Stat{Mean: 80, Min: 80, Max: 80, N: 1}) {
		t.Errorf("one run: %+v", one)
	}
	if len(Summarize(nil)) != 0 {
		t.Error("no runs summarised into something")
	}
}

// TestSeedsReport: the summary's report and JSON round trip, with enough
// digits for a negative log-likelihood.
func TestSeedsReport(t *testing.T) {
	runs := []SeedRun{
		{Dir: "seed-1", Results: Results{Task: "generate", Metric: "nll", Seed: 1, Steps: 10, Dev: Metrics{"nll": 1.8934}, Test: Metrics{"nll": 1.8931}}},
		{Dir: "seed-2", Results: Results{Seed: 2, Steps: 10, Dev: Metrics{"nll": 1.8812}, Test: Metrics{"nll": 1.8795}}},
	}
	s := NewSeeds("names-lm", "", runs)
	md := s.Markdown()
	for _, want := range []string{"| nll (main) | 1.886 ± 0.010 | 1.879 | 1.893 |", "| seed-2 | 2 | 10 |"} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
	dir := t.TempDir()
	if err := WriteSeeds(dir, s); err != nil {
		t.Fatal(err)
	}
	back, err := ReadSeeds(dir)
	if err != nil || back.Test["nll"] != s.Test["nll"] || len(back.Runs) != 2 {
		t.Errorf("read back %+v, %v", back, err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, ReportFile)); string(b) != md {
		t.Error("report.md is not the summary's markdown")
	}
	for v, d := range map[float64]int{93.74: 2, 1.893: 3, 0.43: 4, 0: 2, 1234: 2} {
		if Digits(v) != d {
			t.Errorf("Digits(%g) = %d, want %d", v, Digits(v), d)
		}
	}
}
