package gcn

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/seqkit/seqkit/recipes"
	"github.com/seqkit/seqkit/tasks"
	"github.com/seqkit/seqkit/tasks/tasktest"
)

// dataRoot is the shared datasets folder as seen from this package, one
// folder further down than tasks/*.
var dataRoot = filepath.Join("..", tasktest.DataRoot)

// runCora runs the built-in recipe cora-gcn in-process with the task compiled
// in, for one seed, with or without the graph.
func runCora(t *testing.T, seed int, graph bool, sets ...string) *tasks.RunResult {
	t.Helper()
	if _, err := os.Stat(filepath.Join(dataRoot, "cora")); err != nil {
		t.Skipf("dataset cora not found under %s (it ships beside this repository, not in it)", dataRoot)
	}
	var reg tasks.Registry
	if err := reg.Register(Type()); err != nil {
		t.Fatal(err)
	}
	sets = append([]string{"task=null", fmt.Sprintf("task={type: gcn, hidden: 16, dropout: 0.5, graph: %v}", graph), fmt.Sprintf("train.seed=%d", seed)}, sets...)
	r, err := recipes.Load("cora-gcn", recipes.Options{Tasks: &reg, DataRoot: dataRoot, Sets: sets})
	if err != nil {
		t.Fatal(err)
	}
	res, err := tasks.Run(context.Background(), r, tasks.RunOptions{Dir: filepath.Join(t.TempDir(), "run"), Registry: &reg})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestCora trains the paper's GCN through seqkit's training loop (the
// built-in recipe, early stopping on the dev loss, the best dev-loss weights
// tested) on the standard split over three seeds: mean test accuracy at
// least 80.5 (the paper reports 81.5 over many seeds; GCN_SEEDS=10 runs ten
// for the README), each run under 10 seconds, and the MLP on the same
// features at least 20 points below. The MLP runs for the first seed only
// (its ten seeds spread over 53.5–57.0, 26 points under the GCN), which
// keeps the test a third shorter.
func TestCora(t *testing.T) {
	seeds := 3
	if n, err := strconv.Atoi(os.Getenv("GCN_SEEDS")); err == nil && n > 0 && n <= 100 {
		seeds = n
	}
	var accs []float64
	var gcnAcc, mlpAcc float64
	mlpRuns := 0
	for seed := 1; seed <= seeds; seed++ {
		start := time.Now()
		res := runCora(t, seed, true)
		took := time.Since(start)
		acc := res.Test["accuracy"]
		t.Logf("seed %d: GCN test %.1f (dev %.1f, loss %.3f, %d epochs, %s)", seed, acc, res.Dev["accuracy"], res.Dev["loss"], res.Train.Epochs, took.Round(time.Millisecond))
		if took > 10*time.Second {
			// Once more: CI runs other packages' tests beside this one, and a
			// spike of their load should not fail it.
			again := time.Now()
			runCora(t, seed, true)
			if d := time.Since(again); d > 10*time.Second {
				t.Errorf("seed %d: the run took %s, and %s again, want under 10 s", seed, took, d)
			}
		}
		gcnAcc += acc / float64(seeds)
		accs = append(accs, acc)
		if seed == 1 || os.Getenv("GCN_SEEDS") != "" {
			mlp := runCora(t, seed, false)
			t.Logf("seed %d: MLP test %.1f", seed, mlp.Test["accuracy"])
			mlpAcc, mlpRuns = mlpAcc+mlp.Test["accuracy"], mlpRuns+1
		}
	}
	mlpAcc /= float64(mlpRuns)
	var sd float64
	for _, a := range accs {
		sd += (a - gcnAcc) * (a - gcnAcc) / float64(max(1, seeds-1))
	}
	t.Logf("%d seeds: GCN test %.2f ± %.2f; MLP %.2f over %d", seeds, gcnAcc, math.Sqrt(sd), mlpAcc, mlpRuns)
	if gcnAcc < 80.5 || gcnAcc < mlpAcc+20 {
		t.Errorf("mean test accuracy: GCN %.2f, MLP %.2f; want ≥ 80.5 and 20 points over the MLP", gcnAcc, mlpAcc)
	}
}
