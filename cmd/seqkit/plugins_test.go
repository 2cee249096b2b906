package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seqkit/seqkit/internal/gobuild"
	"github.com/seqkit/seqkit/plugins/examples/forecast"
	"github.com/seqkit/seqkit/plugins/examples/gcn"
	"github.com/seqkit/seqkit/recipes"
	"github.com/seqkit/seqkit/tasks"
	"github.com/seqkit/seqkit/tasks/rundir"
	"github.com/seqkit/seqkit/tasks/tasktest"
)

// buildPlugin builds a plugin binary from the package pkg (relative to the
// module root) into dir as seqkit-plugin-name.
func buildPlugin(t *testing.T, dir, name, pkg string) string {
	t.Helper()
	bin := filepath.Join(dir, "seqkit-plugin-"+name)
	cmd := gobuild.Command("-o", bin, pkg)
	cmd.Dir = "../.."
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, out)
	}
	return bin
}

// running lists the processes whose command line starts with path.
func running(path string) []string {
	var out []string
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && strings.HasPrefix(string(b), path) {
			out = append(out, e.Name())
		}
	}
	return out
}

// evalJSON runs seqkit eval --json and returns its metrics.
func evalJSON(t *testing.T, dir string, args ...string) map[string]float64 {
	t.Helper()
	res := seqkit(t, dir, args...)
	var out struct{ Metrics map[string]float64 }
	if res.code != 0 || json.Unmarshal([]byte(res.stdout), &out) != nil {
		t.Fatalf("eval: %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	return out.Metrics
}

// TestForecastPlugin builds the example plugin, finds it with seqkit plugins
// list and describe, runs the forecast-min-temp recipe through it with the
// real CLI, and checks that the test metrics equal the same task's in-process
// and beat persistence.
func TestForecastPlugin(t *testing.T) {
	tasktest.NeedData(t, "timeseries")
	dir := t.TempDir()
	pdir := filepath.Join(dir, "plugins")
	bin := buildPlugin(t, pdir, "forecast", "./plugins/examples/forecast/cmd/seqkit-plugin-forecast")
	list := seqkit(t, dir, "plugins", "list", "--plugin-dir", pdir)
	if list.code != 0 || !strings.Contains(list.stdout, "forecast") || !strings.Contains(list.stdout, bin) || !strings.Contains(list.stdout, "0.1.0") {
		t.Fatalf("plugins list: %d\n%s%s", list.code, list.stdout, list.stderr)
	}
	desc := seqkit(t, dir, "plugins", "describe", "forecast", "--plugin-dir", pdir)
	if desc.code != 0 || !strings.Contains(desc.stdout, "window") || !strings.Contains(desc.stdout, "metric: mae") {
		t.Fatalf("plugins describe: %d\n%s%s", desc.code, desc.stdout, desc.stderr)
	}
	root, _ := filepath.Abs(tasktest.DataRoot)
	sets := []string{"--set", "train.epochs=3"}
	res := seqkit(t, dir, append([]string{"run", "forecast-min-temp", "-o", "fc", "--plugin-dir", pdir, "--data-root", root}, sets...)...)
	if res.code != 0 {
		t.Fatalf("run: %d\n%s", res.code, res.stderr)
	}
	remote := evalJSON(t, dir, "eval", "-m", "fc", "--split", "test", "--json", "--plugin-dir", pdir, "--data-root", root)
	// The same recipe with the task in-process.
	local := inProcess(t, forecast.Type(), "forecast-min-temp", root, filepath.Join(dir, "local"),
		"train.epochs=3", "task=null", "task={type: forecast, window: 30, horizon: 1, season: 365, loss: mse}")
	t.Logf("plugin test %v\nin-process test %v", remote, local.Test)
	for k, v := range local.Test {
		if math.Abs(remote[k]-v) > 1e-9 {
			t.Errorf("test %s: plugin %v, in-process %v", k, remote[k], v)
		}
	}
	if remote["mae"] >= remote["mae_persistence"] {
		t.Errorf("test MAE %.3f does not beat persistence %.3f", remote["mae"], remote["mae_persistence"])
	}
	if p := running(bin); len(p) > 0 {
		t.Errorf("plugin processes left: %v", p)
	}
}

// TestGCNPlugin runs the cora-gcn recipe through the gcn plugin process with
// the real CLI: plugins describe lists its tables and the whole_dataset
// capability, the run reads the two tables and trains full batch (cut to 100
// epochs here), eval scores the test split again with the same metrics, the
// predictions hold one row per test node, and the metrics equal those of the
// same task in-process.
func TestGCNPlugin(t *testing.T) {
	tasktest.NeedData(t, "cora")
	dir := t.TempDir()
	pdir := filepath.Join(dir, "plugins")
	bin := buildPlugin(t, pdir, "gcn", "./plugins/examples/gcn/cmd/seqkit-plugin-gcn")
	desc := seqkit(t, dir, "plugins", "describe", "gcn", "--plugin-dir", pdir)
	if desc.code != 0 || !strings.Contains(desc.stdout, "whole_dataset") || !strings.Contains(desc.stdout, "features (list<int64>)") {
		t.Fatalf("plugins describe: %d\n%s%s", desc.code, desc.stdout, desc.stderr)
	}
	root, _ := filepath.Abs(tasktest.DataRoot)
	res := seqkit(t, dir, "run", "cora-gcn", "-o", "g", "--plugin-dir", pdir, "--data-root", root, "--set", "train.epochs=100")
	if res.code != 0 {
		t.Fatalf("run: %d\n%s", res.code, res.stderr)
	}
	remote := evalJSON(t, dir, "eval", "-m", "g", "--split", "test", "--json", "--plugin-dir", pdir, "--data-root", root)
	if remote["accuracy"] < 75 {
		t.Errorf("test accuracy %.1f after 100 epochs, want at least 75", remote["accuracy"])
	}
	b, err := os.ReadFile(filepath.Join(dir, "g", rundir.PredictionsFile))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	var first struct {
		ID          int64 `json:"id"`
		Label, Gold int64
		Probability float64
	}
	if len(lines) != 1000 || json.Unmarshal([]byte(lines[0]), &first) != nil || first.ID != 1708 || first.Probability <= 0 {
		t.Errorf("%d predictions, the first %s, want 1000 from node 1708", len(lines), lines[0])
	}
	if p := seqkit(t, dir, "predict", "-m", "g", "--plugin-dir", pdir, "--input", filepath.Join(root, "cora", "nodes.tsv"), "--output", "-"); p.code != 2 || !strings.Contains(p.stderr, "predicts their rows, not new examples") {
		t.Errorf("predict on new examples: %d\n%s", p.code, p.stderr)
	}
	local := inProcess(t, gcn.Type(), "cora-gcn", root, filepath.Join(dir, "local"),
		"train.epochs=100", "task=null", "task={type: gcn, hidden: 16, dropout: 0.5, graph: true}")
	t.Logf("plugin test %v\nin-process test %v", remote, local.Test)
	for k, v := range local.Test {
		if math.Abs(remote[k]-v) > 1e-9 {
			t.Errorf("test %s: plugin %v, in-process %v", k, remote[k], v)
		}
	}
	if p := running(bin); len(p) > 0 {
		t.Errorf("plugin processes left: %v", p)
	}
}

// inProcess runs the built-in recipe name with the task type typ compiled
// in, sets applied, into dir: what a plugin's run is compared with.
func inProcess(t *testing.T, typ tasks.Type, name, root, dir string, sets ...string) *tasks.RunResult {
	t.Helper()
	var reg tasks.Registry
	if err := reg.Register(typ); err != nil {
		t.Fatal(err)
	}
	r, err := recipes.Load(name, recipes.Options{Tasks: &reg, DataRoot: root, Sets: sets})
	if err != nil {
		t.Fatal(err)
	}
	res, err := tasks.Run(context.Background(), r, tasks.RunOptions{Dir: dir, Registry: &reg, Prepare: tasks.PrepareOptions{CacheDir: t.TempDir()}})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestPluginInterrupt: Ctrl-C during a run through a plugin writes a checkpoint,
// exits with the resume command, and leaves no plugin process behind.
func TestPluginInterrupt(t *testing.T) {
	dir := t.TempDir()
	pdir := filepath.Join(dir, "plugins")
	bin := buildPlugin(t, pdir, "testclassify", "./plugins/internal/testplugin")
	var data strings.Builder
	for i := range 2000 {
		fmt.Fprintf(&data, "{\"text\": \"w%d w%d w%d\", \"label\": \"%d\"}\n", i%7, i%5, i%3, i%2)
	}
	if err := os.WriteFile(filepath.Join(dir, "d.jsonl"), []byte(data.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	recipe := `name: interrupted
data:
  train: {path: d.jsonl, columns: {text: text, label: label}}
  dev: {path: d.jsonl, columns: {text: text, label: label}}
model: {embedding: 8, hidden: 8}
task: {type: plugin, name: testclassify}
train: {epochs: 1000, checkpoint_every: 5}
`
	if err := os.WriteFile(filepath.Join(dir, "r.yaml"), []byte(recipe), 0o644); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd := start(t, dir, &stderr, "train", "r.yaml", "-o", "r", "--plugin-dir", pdir)
	waitFor(60*time.Second, exists(filepath.Join(dir, "r/checkpoints/last/loop.json")))
	if len(running(bin)) == 0 {
		t.Fatalf("no plugin process while training\n%s", stderr.String())
	}
	cmd.Process.Signal(os.Interrupt)
	cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 130 || !strings.Contains(stderr.String(), "--plugin-dir "+pdir+" -o r --resume") {
		t.Fatalf("exit %d, stderr %q", code, stderr.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "r/checkpoints/last/model.safetensors")); err != nil {
		t.Errorf("no checkpoint after Ctrl-C: %v", err)
	}
	if p := running(bin); len(p) > 0 {
		t.Errorf("plugin processes left after Ctrl-C: %v", p)
	}
}

// TestPluginOrphan: a plugin whose seqkit is killed outright (SIGKILL, which
// seqkit cannot catch to stop it) exits by itself within seconds.
func TestPluginOrphan(t *testing.T) {
	dir := t.TempDir()
	pdir := filepath.Join(dir, "plugins")
	bin := buildPlugin(t, pdir, "testclassify", "./plugins/internal/testplugin")
	var data strings.Builder
	for i := range 2000 {
		fmt.Fprintf(&data, "{\"text\": \"w%d w%d\", \"label\": \"%d\"}\n", i%7, i%5, i%2)
	}
	if err := os.WriteFile(filepath.Join(dir, "d.jsonl"), []byte(data.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	recipe := "data:\n  train: {path: d.jsonl, columns: {text: text, label: label}}\nmodel: {embedding: 8, hidden: 8}\ntask: {type: plugin, name: testclassify}\ntrain: {epochs: 1000}\n"
	if err := os.WriteFile(filepath.Join(dir, "r.yaml"), []byte(recipe), 0o644); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd := start(t, dir, &stderr, "train", "r.yaml", "-o", "r", "--plugin-dir", pdir)
	if !waitFor(60*time.Second, func() bool { return len(running(bin)) > 0 }) {
		cmd.Process.Kill()
		t.Fatalf("no plugin process\n%s", stderr.String())
	}
	cmd.Process.Kill()
	cmd.Wait()
	if !waitFor(10*time.Second, func() bool { return len(running(bin)) == 0 }) {
		t.Errorf("the plugin outlived its killed seqkit by 10 s: %v", running(bin))
	}
}

// seqkitBin is the seqkit binary these tests built.
func seqkitBin() string { return bin }
