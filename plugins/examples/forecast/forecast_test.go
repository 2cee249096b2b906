package forecast_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seqkit/seqkit/plugins/examples/forecast"
	"github.com/seqkit/seqkit/recipes"
	"github.com/seqkit/seqkit/tasks"
	"github.com/seqkit/seqkit/tasks/rundir"
)

// TestForecastHorizon forecasts the next three values of a noisy sine (period
// 50) in-process: the forecasts beat persistence by far and come near the
// seasonal naive forecast (all but optimal on an exactly periodic series), and
// each prediction holds three values.
func TestForecastHorizon(t *testing.T) {
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(1, 1))
	var csv strings.Builder
	csv.WriteString("t,value\n")
	for i := range 2000 {
		fmt.Fprintf(&csv, "%d,%.3f\n", i, 10+5*math.Sin(2*math.Pi*float64(i)/50)+0.3*rng.NormFloat64())
	}
	src := filepath.Join(dir, "sine.csv")
	if err := os.WriteFile(src, []byte(csv.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	recipe := fmt.Sprintf(`name: sine
data:
  generate:
    name: windows
    windows: {source: %s, column: 2, label: 1, context: 60, horizon: 3, test_share: 0.2, dev_share: 0.2}
  batch: {size: 32}
model: {cell: gru, hidden: 32, bidirectional: false, dropout: 0}
task: {type: forecast, window: 30, horizon: 3, season: 50, loss: huber}
train: {epochs: 5, lr: 0.003}
output: {plots: false}
`, src)
	rp := filepath.Join(dir, "r.yaml")
	if err := os.WriteFile(rp, []byte(recipe), 0o644); err != nil {
		t.Fatal(err)
	}
	var reg tasks.Registry
	if err := reg.Register(forecast.Type()); err != nil {
		t.Fatal(err)
	}
	r, err := recipes.Load(rp, recipes.Options{Tasks: &reg})
	if err != nil {
		t.Fatal(err)
	}
	res, err := tasks.Run(context.Background(), r, tasks.RunOptions{Dir: filepath.Join(dir, "run"), Registry: &reg,
		Prepare: tasks.PrepareOptions{CacheDir: t.TempDir()}})
	if err != nil {
		t.Fatal(err)
	}
	m := res.Test
	t.Logf("test %v", m)
	if m["mae"] >= 0.6*m["mae_persistence"] || m["mae"] >= 1.5*m["mae_seasonal"] {
		t.Errorf("test MAE %.3f, persistence %.3f, seasonal naive %.3f", m["mae"], m["mae_persistence"], m["mae_seasonal"])
	}
	b, err := os.ReadFile(filepath.Join(res.Dir, rundir.PredictionsFile))
	if err != nil {
		t.Fatal(err)
	}
	var row struct{ Forecast []float64 }
	if err := json.Unmarshal([]byte(strings.SplitN(string(b), "\n", 2)[0]), &row); err != nil || len(row.Forecast) != 3 {
		t.Errorf("first prediction: %+v (%v), want three forecasts", row, err)
	}
}
