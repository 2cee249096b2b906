package plugins_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/seqkit/seqkit/internal/gobuild"
	"github.com/seqkit/seqkit/plugins"
	"github.com/seqkit/seqkit/recipes"
	"github.com/seqkit/seqkit/tasks"
	"github.com/seqkit/seqkit/tasks/classify"
	"github.com/seqkit/seqkit/tasks/rundir"
)

// buildPlugin builds the test plugin (the classify task served as
// "testclassify") into dir once per test binary.
func buildPlugin(t testing.TB, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, plugins.BinaryPrefix+"testclassify")
	if out, err := gobuild.Command("-o", bin, "./internal/testplugin").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// script writes a shell script posing as plugin name.
func script(t *testing.T, dir, name, body string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, plugins.BinaryPrefix+name), []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
}

// children lists the processes whose parent is this test process.
func children(t *testing.T) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Skip("no /proc here to look for child processes")
	}
	var out []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces, so read after ')'.
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
		if len(f) > 1 && f[1] == strconv.Itoa(os.Getpid()) && f[0] != "Z" {
			out = append(out, pid)
		}
	}
	return out
}

// noChildren waits briefly for children to go and fails if any stay.
func noChildren(t *testing.T) {
	t.Helper()
	for range 50 {
		if len(children(t)) == 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Errorf("child processes left running: %v", children(t))
}

// writeData writes a small two-class JSON Lines file: texts of the words of
// one class, the label the class.
func writeData(t *testing.T, path string, n int, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 3))
	words := [][]string{{"good", "fine", "great", "nice"}, {"bad", "poor", "awful", "sad"}}
	var b strings.Builder
	for range n {
		c := rng.IntN(2)
		var toks []string
		for range 3 + rng.IntN(5) {
			w := words[c][rng.IntN(4)]
			if rng.IntN(4) == 0 {
				w = words[1-c][rng.IntN(4)]
			}
			toks = append(toks, w)
		}
		fmt.Fprintf(&b, `{"text": %q, "label": "%d"}`+"\n", strings.Join(toks, " "), c)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// recipe writes a classify recipe over the data in dir; task is the task
// section.
func recipe(t *testing.T, dir, task string) string {
	p := filepath.Join(dir, "r.yaml")
	body := fmt.Sprintf(`name: plugin-test
data:
  train: {path: %[1]s/train.jsonl, columns: {text: text, label: label}}
  dev: {path: %[1]s/dev.jsonl, columns: {text: text, label: label}}
  test: {path: %[1]s/dev.jsonl, columns: {text: text, label: label}}
  batch: {size: 16}
model: {embedding: 16, hidden: 16, cell: gru}
task: %[2]s
train: {epochs: 2, lr: 0.01}
output: {plots: false}
`, dir, task)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func run(t *testing.T, h *plugins.Host, path string) (*tasks.RunResult, error) {
	var reg tasks.Registry
	for _, typ := range []tasks.Type{classify.Type(), h.Type()} {
		if err := reg.Register(typ); err != nil {
			t.Fatal(err)
		}
	}
	r, err := recipes.Load(path, recipes.Options{Tasks: &reg})
	if err != nil {
		return nil, err
	}
	return tasks.Run(context.Background(), r, tasks.RunOptions{Dir: filepath.Join(t.TempDir(), "run"), Registry: &reg,
		Prepare: tasks.PrepareOptions{CacheDir: t.TempDir()}})
}

// TestPluginMatchesInProcess trains the classify task in-process and through
// the test plugin from the same recipe: dev and test metrics must be equal.
func TestPluginMatchesInProcess(t *testing.T) {
	dir := t.TempDir()
	bin := buildPlugin(t, dir)
	writeData(t, filepath.Join(dir, "train.jsonl"), 600, 1)
	writeData(t, filepath.Join(dir, "dev.jsonl"), 100, 2)
	h := &plugins.Host{Dirs: []string{dir}}
	defer h.Close()
	local, err := run(t, h, recipe(t, dir, "{type: classify, pooling: max}"))
	if err != nil {
		t.Fatal(err)
	}
	sum, err := plugins.FileSHA256(bin)
	if err != nil {
		t.Fatal(err)
	}
	remote, err := run(t, h, recipe(t, dir, fmt.Sprintf("{type: plugin, name: testclassify, sha256: %s, options: {pooling: max}}", sum)))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("in-process dev %v, plugin dev %v", local.Dev, remote.Dev)
	if local.Dev["accuracy"] < 80 {
		t.Errorf("in-process dev accuracy %.1f: the task did not learn", local.Dev["accuracy"])
	}
	for k, v := range local.Test {
		if w := remote.Test[k]; math.Abs(v-w) > 1e-9 {
			t.Errorf("test %s: in-process %v, plugin %v", k, v, w)
		}
	}
	preds, err := os.ReadFile(filepath.Join(remote.Dir, rundir.PredictionsFile))
	if err != nil || !json.Valid([]byte(strings.SplitN(string(preds), "\n", 2)[0])) {
		t.Errorf("plugin predictions: %v", err)
	}
	h.Close()
	noChildren(t)
}

// TestPluginOptionsChecked: the plugin checks its own options like a built-in
// task, and the error names the host's recipe key.
func TestPluginOptionsChecked(t *testing.T) {
	dir := t.TempDir()
	buildPlugin(t, dir)
	writeData(t, filepath.Join(dir, "train.jsonl"), 50, 1)
	writeData(t, filepath.Join(dir, "dev.jsonl"), 20, 2)
	h := &plugins.Host{Dirs: []string{dir}}
	defer h.Close()
	_, err := run(t, h, recipe(t, dir, "{type: plugin, name: testclassify, options: {pooling: maximum, nosuch: 1}}"))
	if err == nil || !strings.Contains(err.Error(), "task.options.pooling") || !strings.Contains(err.Error(), "task.options.nosuch") {
		t.Errorf("error %v, want one naming task.options.pooling and task.options.nosuch", err)
	}
	h.Close()
	noChildren(t)
}

func writeFile(path, body string) error { return os.WriteFile(path, []byte(body), 0o644) }

// TestReadmeExample: the plugin README's walk-through writes is the file in
// examples/meanpool, word for word, and it builds, is found, and learns.
func TestReadmeExample(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile("examples/meanpool/main.go")
	if err != nil {
		t.Fatal(err)
	}
	s := string(readme)
	i := strings.Index(s, "2. Write `main.go`")
	j := strings.Index(s[max(i, 0):], "```go\n")
	if i < 0 || j < 0 {
		t.Fatal("README has no main.go in its plugin walk-through")
	}
	block := s[i+j+len("```go\n"):]
	block = block[:strings.Index(block, "   ```")]
	var code strings.Builder
	for _, line := range strings.Split(strings.TrimRight(block, "\n"), "\n") {
		code.WriteString(strings.TrimPrefix(line, "   ") + "\n")
	}
	if code.String() != string(src) {
		t.Fatal("the README's main.go differs from plugins/examples/meanpool/main.go: copy the file into the README")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, plugins.BinaryPrefix+"meanpool")
	if out, err := gobuild.Command("-o", bin, "./examples/meanpool").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	writeData(t, filepath.Join(dir, "train.jsonl"), 600, 1)
	writeData(t, filepath.Join(dir, "dev.jsonl"), 100, 2)
	h := &plugins.Host{Dirs: []string{dir}}
	defer h.Close()
	res, err := run(t, h, recipe(t, dir, "{type: plugin, name: meanpool, options: {smoothing: 0.1}}"))
	if err != nil {
		t.Fatal(err)
	}
	if acc := res.Dev["accuracy"]; acc < 80 {
		t.Errorf("dev accuracy %.1f through the README's plugin", acc)
	}
	h.Close()
	noChildren(t)
}
