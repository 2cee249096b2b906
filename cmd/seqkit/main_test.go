package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/seqkit/seqkit/internal/gobuild"
	"github.com/seqkit/seqkit/nn"
	"github.com/seqkit/seqkit/pipeline/synth"
	"github.com/seqkit/seqkit/tasks/rundir"
	"github.com/seqkit/seqkit/tasks/tasktest"
)

// bin is the seqkit binary built once for these tests.
var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "seqkit-cli")
	if err != nil {
		panic(err)
	}
	bin = filepath.Join(dir, "seqkit")
	if out, err := gobuild.Command("-o", bin, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		os.Exit(1)
	}

	code := m.Run()
	os.RemoveAll(dir)
	if demoDir != "" {
		os.RemoveAll(demoDir)
	}
	os.Exit(code)
}

type result struct {
	stdout, stderr string
	code           int
	maxRSSKB       int64
}

// command is the binary in dir with a private cache folder.
func command(dir string, args ...string) *exec.Cmd {
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "XDG_CACHE_HOME="+filepath.Join(dir, ".cache"))
	return cmd
}

// start starts the binary in dir, its standard error into stderr (if set), for
// a test that signals or kills it.
func start(t *testing.T, dir string, stderr io.Writer, args ...string) *exec.Cmd {
	t.Helper()
	cmd := command(dir, args...)
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd
}

// waitFor polls done every 0.2 ms (a kill must land in a phase of a few ms) until it holds or timeout passes, and reports
// whether it held.
func waitFor(timeout time.Duration, done func() bool) bool {
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(200 * time.Microsecond) {
		if done() {
			return true
		}
	}
	return false
}

// exists is a waitFor condition: the file at path exists.
func exists(path string) func() bool {
	return func() bool { _, err := os.Stat(path); return err == nil }
}

// seqkit runs the binary in dir with a private cache folder.
func seqkit(t *testing.T, dir string, args ...string) result {
	t.Helper()
	return run(t, command(dir, args...))
}

// run runs cmd and returns what it printed, its exit code and peak RSS.
func run(t *testing.T, cmd *exec.Cmd) result {
	t.Helper()
	return run2(t, cmd)
}

// run2 is run, safe to call on another goroutine (its t.Fatal is for
// a binary that could not start, which the tests' own binary always can).
func run2(t *testing.T, cmd *exec.Cmd) result {
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	res := result{stdout: out.String(), stderr: errb.String()}
	if cmd.ProcessState != nil {
		res.code = cmd.ProcessState.ExitCode()
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			res.maxRSSKB = ru.Maxrss
		}
	} else if err != nil {
		t.Fatal(err)
	}
	return res
}

var (
	demoOnce sync.Once
	demoDir  string
	demoRes  result
)

// demo runs `seqkit run` (the built-in Taipei demo) once for the tests that need
// a trained run.
func demo(t *testing.T) (string, result) {
	demoOnce.Do(func() {
		d, err := os.MkdirTemp("", "seqkit-demo")
		if err != nil {
			t.Fatal(err)
		}
		demoDir = d
		demoRes = seqkit(t, d, "run")
	})
	if demoRes.code != 0 {
		t.Fatalf("seqkit run: exit %d\n%s\n%s", demoRes.code, demoRes.stdout, demoRes.stderr)
	}
	return filepath.Join(demoDir, "runs", "taipei"), demoRes
}

// TestTaipeiDemo is the end-to-end test of the default command: seqkit run with
// no argument trains the Taipei demo and tags Taipei as destination after
// "arrive" and as origin after "leave".
func TestTaipeiDemo(t *testing.T) {
	dir, res := demo(t)
	for _, want := range []string{
		"arrive/O Taipei/B-toloc.city_name on/O November/B-arrive_date.month_name 2nd/B-arrive_date.day_number",
		"leave/O Taipei/B-fromloc.city_name on/O November/B-depart_date.month_name 2nd/B-depart_date.day_number",
		"run directory: runs/taipei",
	} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, res.stdout)
		}
	}
	for _, f := range []string{"recipe.yaml", "metrics.jsonl", "report.md", "loss.png", "dev.png", "predictions.test.jsonl",
		"vocab/input.txt", "vocab/tags.txt", "checkpoints/best/model.safetensors", "checkpoints/last/optimizer.safetensors", "checkpoints/last/loop.json"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("run directory: %v", err)
		}
	}
	report, _ := os.ReadFile(filepath.Join(dir, "report.md"))
	if !strings.Contains(string(report), "| f1 (main) |") {
		t.Errorf("report.md:\n%s", report)
	}
	// A second run without -o gets a new folder rather than failing.
	again := seqkit(t, demoDir, "run", "--set", "train.epochs=1")
	if again.code != 0 || !strings.Contains(again.stdout, "run directory: runs/taipei-2") {
		t.Errorf("second run: exit %d, stdout %s", again.code, again.stdout)
	}
}

func TestEvalAndPredict(t *testing.T) {
	dir, _ := demo(t)
	res := seqkit(t, demoDir, "eval", "-m", dir, "--json")
	if res.code != 0 {
		t.Fatalf("eval: %d %s", res.code, res.stderr)
	}
	var ev struct {
		Split   string
		Metrics map[string]float64
	}
	if err := json.Unmarshal([]byte(res.stdout), &ev); err != nil || ev.Split != "test" || ev.Metrics["f1"] < 95 {
		t.Errorf("eval output %q (%v)", res.stdout, err)
	}
	in := filepath.Join(t.TempDir(), "in.txt")
	os.WriteFile(in, []byte("fly from Boston to Taipei on Friday\nleave Tokyo at 5 pm\n"), 0o644)
	for _, out := range []string{"out.jsonl", "out.csv", "out.parquet"} {
		p := filepath.Join(t.TempDir(), out)
		res := seqkit(t, demoDir, "predict", "-m", dir, "--input", in, "--output", p)
		if res.code != 0 {
			t.Fatalf("predict %s: %d %s", out, res.code, res.stderr)
		}
		b, err := os.ReadFile(p)
		if err != nil || len(b) == 0 {
			t.Fatalf("%s: %v", out, err)
		}
		if out == "out.jsonl" && !strings.Contains(string(b), `"tags":["O","O","B-fromloc.city_name","O","B-toloc.city_name","O","B-depart_date.day_name"]`) {
			t.Errorf("%s:\n%s", out, b)
		}
		if out == "out.csv" && !strings.HasPrefix(string(b), "row,text,tags\n1,fly from Boston to Taipei on Friday,O O B-fromloc") {
			t.Errorf("%s:\n%s", out, b)
		}
	}
	// Sharded input: a folder of a plain and a gzip shard predicts as the
	// lines one after the other, each row with its order key.
	shards := t.TempDir()
	os.WriteFile(filepath.Join(shards, "a.txt"), []byte("fly from Boston to Taipei on Friday\n"), 0o644)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte("leave Tokyo at 5 pm\n"))
	zw.Close()
	os.WriteFile(filepath.Join(shards, "b.txt.gz"), gz.Bytes(), 0o644)
	for _, input := range [][]string{{"--input", shards}, {"--input", filepath.Join(shards, "*")}, {"--input", filepath.Join(shards, "a.txt"), "--input", filepath.Join(shards, "b.txt.gz")}} {
		res := seqkit(t, demoDir, append([]string{"predict", "-m", dir, "--output", "-"}, input...)...)
		want := `{"row":1,"shard":0,"text":"fly from Boston to Taipei on Friday","tags":["O","O","B-fromloc.city_name","O","B-toloc.city_name","O","B-depart_date.day_name"]}
{"row":1,"shard":1,"text":"leave Tokyo at 5 pm","tags":["O","B-fromloc.city_name","O","B-depart_time.time","I-depart_time.time"]}
`
		if res.code != 0 || res.stdout != want {
			t.Errorf("predict %v: exit %d\n%s%s", input, res.code, res.stdout, res.stderr)
		}
	}
	// Lines from stdin to JSON Lines on stdout.
	cmd := command(t.TempDir(), "predict", "-m", dir, "--input", "-", "--output", "-")
	cmd.Stdin = strings.NewReader("arrive Taipei on November 2nd\n")
	b, err := cmd.Output()
	if err != nil || !strings.Contains(string(b), `"tags":["O","B-toloc.city_name","O","B-arrive_date.month_name","B-arrive_date.day_number"]`) {
		t.Errorf("stdin prediction %q: %v", b, err)
	}
}

// TestUsageErrors checks exit code 2 and a message naming what is wrong.
func TestUsageErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("model:\n  hiden: 3\ntask: {type: tagging}\n"), 0o644)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"run", bad}, "bad.yaml:2:3: model.hiden: unknown key; did you mean \"hidden\"?"},
		{[]string{"run", "taipei", "--set", "model.hidden=abc"}, "--set model.hidden=abc:1:14: model.hidden: want an integer"},
		{[]string{"run", "--bogus"}, "unknown flag: --bogus"},
		{[]string{"recipe", "validate", "nosuch"}, "nosuch: not a file, nor a built-in recipe (atis-joint, atis-slots, "},
		{[]string{"eval"}, "eval needs the run directory"},
		{[]string{"predict", "-m", dir, "--input", "x", "--output", "y.xlsx"}, "no recipe.yaml here"},
	} {
		res := seqkit(t, dir, c.args...)
		if res.code != 2 || !strings.Contains(res.stderr, c.want) {
			t.Errorf("seqkit %s: exit %d, stderr %q; want exit 2 and %q", strings.Join(c.args, " "), res.code, res.stderr, c.want)
		}
	}
}

func TestRecipeCommands(t *testing.T) {
	dir := t.TempDir()
	res := seqkit(t, dir, "recipe", "list")
	if res.code != 0 || !strings.Contains(res.stdout, "taipei") {
		t.Errorf("recipe list: %d %q", res.code, res.stdout)
	}
	res = seqkit(t, dir, "recipe", "show", "taipei", "--set", "model.hidden=7")
	if res.code != 0 || !strings.Contains(res.stdout, "hidden: 7") || !strings.Contains(res.stdout, "forget_gate: true") {
		t.Errorf("recipe show: %d %q %s", res.code, res.stdout, res.stderr)
	}
	res = seqkit(t, dir, "recipe", "validate", "taipei")
	if res.code != 0 || !strings.Contains(res.stdout, "taipei: ok") {
		t.Errorf("recipe validate: %d %q %s", res.code, res.stdout, res.stderr)
	}
	res = seqkit(t, dir, "recipe", "schema")
	var s map[string]any
	if res.code != 0 || json.Unmarshal([]byte(res.stdout), &s) != nil {
		t.Errorf("recipe schema: %d %s", res.code, res.stderr)
	}
	// The committed schema (for editors pointing at the repository) is current.
	committed, _ := os.ReadFile("../../recipes/recipe.schema.json")
	if string(committed) != res.stdout {
		t.Errorf("recipes/recipe.schema.json is stale: run go generate ./cmd/seqkit")
	}
	res = seqkit(t, dir, "version")
	if res.code != 0 || !strings.HasPrefix(res.stdout, "seqkit ") {
		t.Errorf("version: %q", res.stdout)
	}
	res = seqkit(t, dir, "data", "prepare", "taipei", "-o", filepath.Join(dir, "prep"))
	if res.code != 0 || !strings.Contains(res.stdout, "train     600 rows") {
		t.Errorf("data prepare: %d %q %s", res.code, res.stdout, res.stderr)
	}
	res = seqkit(t, dir, "data", "inspect", filepath.Join(dir, "prep", "data", "train.conll"))
	if res.code != 0 || !strings.Contains(res.stdout, "rows        600") || !strings.Contains(res.stdout, "B-toloc.city_name") {
		t.Errorf("data inspect: %d %q %s", res.code, res.stdout, res.stderr)
	}
}

// TestRunDirectory checks that -o must be new unless --force or --resume.
func TestRunDirectory(t *testing.T) {
	dir := t.TempDir()
	fast := []string{"--set", "train.epochs=1", "--set", "data.generate.train=50"}
	res := seqkit(t, dir, append([]string{"train", "taipei", "-o", "r"}, fast...)...)
	if res.code != 0 {
		t.Fatalf("train: %d %s", res.code, res.stderr)
	}
	res = seqkit(t, dir, append([]string{"train", "taipei", "-o", "r"}, fast...)...)
	if res.code != 2 || !strings.Contains(res.stderr, "--force") {
		t.Errorf("existing -o: %d %q", res.code, res.stderr)
	}
	res = seqkit(t, dir, append([]string{"train", "taipei", "-o", "r", "--force"}, fast...)...)
	if res.code != 0 {
		t.Errorf("--force: %d %q", res.code, res.stderr)
	}
	res = seqkit(t, dir, "train", "taipei", "-o", "r", "--resume", "--set", "train.epochs=2")
	if res.code != 2 || !strings.Contains(res.stderr, "different recipe") {
		t.Errorf("resume with another recipe: %d %q", res.code, res.stderr)
	}
	// Fine-tuning on other data keeps the vocabulary the weights were trained with.
	res = seqkit(t, dir, "train", "taipei", "-o", "r2", "--init-from", "r", "--set", "train.epochs=1", "--set", "data.generate={train: 80, seed: 99}")
	if res.code != 0 {
		t.Errorf("--init-from: %d %q", res.code, res.stderr)
	}
	a, _ := os.ReadFile(filepath.Join(dir, "r/vocab/input.txt"))
	b, _ := os.ReadFile(filepath.Join(dir, "r2/vocab/input.txt"))
	if len(a) == 0 || !bytes.Equal(a, b) {
		t.Errorf("--init-from: the new run's vocabulary differs from the one its weights came with")
	}
}

// TestResumeAfterKill kills a training process with SIGKILL partway, resumes it,
// and checks that the final weights and metrics equal those of an uninterrupted
// run with the same seed.
func TestResumeAfterKill(t *testing.T) {
	dir := t.TempDir()
	args := []string{"train", "taipei", "--set", "train.epochs=4", "--set", "train.checkpoint_every=7", "--set", "train.eval_every=20", "--log-format", "json"}
	whole := seqkit(t, dir, append(args, "-o", "whole")...)
	if whole.code != 0 {
		t.Fatalf("uninterrupted run: %d %s", whole.code, whole.stderr)
	}
	rng := rand.New(rand.NewPCG(7, 7))
	for attempt := range 3 {
		out := fmt.Sprintf("killed%d", attempt)
		cmd := start(t, dir, nil, append(args, "-o", out)...)
		// Wait for a checkpoint at a seeded step, then kill at once.
		at := 10 + rng.IntN(80)
		waitFor(60*time.Second, func() bool {
			b, err := os.ReadFile(filepath.Join(dir, out, "checkpoints/last/loop.json"))
			var st struct{ Step int }
			return err == nil && json.Unmarshal(b, &st) == nil && st.Step >= at
		})
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		var killed struct{ Step int }
		b, _ := os.ReadFile(filepath.Join(dir, out, "checkpoints/last/loop.json"))
		if err := json.Unmarshal(b, &killed); err != nil || killed.Step < at || killed.Step >= 4*38 {
			t.Fatalf("killed at checkpoint step %d (%v); want a step in [%d, %d)", killed.Step, err, at, 4*38)
		}
		if cmd.ProcessState.ExitCode() != -1 {
			t.Fatalf("the run finished (exit %d) before it was killed", cmd.ProcessState.ExitCode())
		}
		res := seqkit(t, dir, append(args, "-o", out, "--resume")...)
		if res.code != 0 {
			t.Fatalf("resume after kill near step %d: %d %s", at, res.code, res.stderr)
		}
		for _, f := range []string{"checkpoints/best/model.safetensors", "checkpoints/last/model.safetensors", "checkpoints/last/optimizer.safetensors"} {
			a, _ := os.ReadFile(filepath.Join(dir, "whole", f))
			b, _ := os.ReadFile(filepath.Join(dir, out, f))
			if len(a) == 0 || !bytes.Equal(a, b) {
				t.Errorf("kill near step %d: %s differs from the uninterrupted run's", at, f)
			}
		}
		if a, b := metricValues(t, filepath.Join(dir, "whole", "metrics.jsonl")), metricValues(t, filepath.Join(dir, out, "metrics.jsonl")); a != b {
			t.Errorf("kill near step %d: metrics differ:\n%s\nvs\n%s", at, a, b)
		}
	}
}

// metricValues is metrics.jsonl without the timing fields.
func metricValues(t *testing.T, path string) string {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		delete(m, "tokens_per_s")
		b, _ := json.Marshal(m)
		out = append(out, string(b))
	}
	return strings.Join(out, "\n")
}

// TestPredictStreams predicts 100k lines and checks that peak memory hardly
// differs from predicting 10k: the input is streamed, not loaded.
func TestPredictStreams(t *testing.T) {
	dir, _ := demo(t)
	tmp := t.TempDir()
	rss := map[int]int64{}
	for _, n := range []int{10_000, 100_000} {
		in := filepath.Join(tmp, fmt.Sprintf("in%d.txt", n))
		f, err := os.Create(in)
		if err != nil {
			t.Fatal(err)
		}
		w := bufio.NewWriter(f)
		rng := rand.New(rand.NewPCG(1, uint64(n)))
		for range n {
			var words []string
			for _, tt := range synth.Taipei(rng) {
				words = append(words, tt[0])
			}
			fmt.Fprintln(w, strings.Join(words, " "))
		}
		w.Flush()
		f.Close()
		out := filepath.Join(tmp, fmt.Sprintf("out%d.jsonl", n))
		res := seqkit(t, tmp, "predict", "-m", dir, "--input", in, "--output", out)
		if res.code != 0 {
			t.Fatalf("predict: %d %s", res.code, res.stderr)
		}
		rss[n] = res.maxRSSKB
		lines := 0
		of, _ := os.Open(out)
		sc := bufio.NewScanner(of)
		for sc.Scan() {
			lines++
		}
		of.Close()
		if lines != n {
			t.Errorf("%d input lines, %d predictions", n, lines)
		}
	}
	t.Logf("peak RSS: 10k lines %d KB, 100k lines %d KB", rss[10_000], rss[100_000])
	if grow := rss[100_000] - rss[10_000]; grow > 32<<10 {
		t.Errorf("peak RSS grew by %d KB from 10k to 100k lines; prediction should stream", grow)
	}
}

// TestInterrupt checks that Ctrl-C (SIGINT) and SIGTERM (what a scheduler or
// docker stop sends) write a checkpoint, exit 130 (143 for SIGTERM) with the command that
// resumes, and that this command finishes the run with the same weights as an
// uninterrupted one.
func TestInterrupt(t *testing.T) {
	dir := t.TempDir()
	args := []string{"train", "taipei", "--set", "train.epochs=10", "--set", "train.checkpoint_every=10"}
	if res := seqkit(t, dir, append(args, "-o", "whole")...); res.code != 0 {
		t.Fatalf("uninterrupted: %d %s", res.code, res.stderr)
	}
	for _, sig := range []os.Signal{os.Interrupt, syscall.SIGTERM} {
		out := "r-" + strings.ReplaceAll(sig.String(), " ", "-")
		var stderr bytes.Buffer
		cmd := start(t, dir, &stderr, append(args, "-o", out)...)
		waitFor(60*time.Second, exists(filepath.Join(dir, out, "checkpoints/last/loop.json")))
		cmd.Process.Signal(sig)
		cmd.Wait()
		want := map[os.Signal]int{os.Interrupt: 130, syscall.SIGTERM: 143}[sig]
		if code := cmd.ProcessState.ExitCode(); code != want || !strings.Contains(stderr.String(), "continue it with: seqkit train taipei --set train.epochs=10 --set train.checkpoint_every=10 -o "+out+" --resume") {
			t.Fatalf("%v: exit %d, stderr %q", sig, code, stderr.String())
		}
		res := seqkit(t, dir, append(args, "-o", out, "--resume")...)
		if res.code != 0 || !strings.Contains(res.stdout, "trained 380 steps (10 epochs)") {
			t.Errorf("%v: resume: %d %q %s", sig, res.code, res.stdout, res.stderr)
		}
		a, _ := os.ReadFile(filepath.Join(dir, "whole/checkpoints/best/model.safetensors"))
		b, _ := os.ReadFile(filepath.Join(dir, out, "checkpoints/best/model.safetensors"))
		if len(a) == 0 || !bytes.Equal(a, b) {
			t.Errorf("%v: the resumed run's best weights differ from the uninterrupted run's", sig)
		}
	}
}

// TestHelpExamples checks that every command's help has examples.
func TestHelpExamples(t *testing.T) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Hidden || c.Name() == "help" || c.Name() == "completion" {
			return
		}
		if c.Example == "" {
			t.Errorf("%s has no examples in its help", c.CommandPath())
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(newRoot(&env{}))
}

// TestGenerate trains a small names-lm through the CLI, then generates: the same
// seed prints the same names, --json writes one object per name, and a run of
// another task is refused with exit code 2.
func TestGenerate(t *testing.T) {
	data := tasktest.NeedData(t, "names")
	dir := t.TempDir()
	train := tasktest.Slice(t, data+"/names.train.txt", dir, "train.txt", 16, 0)
	dev := tasktest.Slice(t, data+"/names.dev.txt", dir, "dev.txt", 8, 0)
	res := seqkit(t, dir, "run", "names-lm", "-o", "runs/lm", "--data-root", tasktest.DataRoot,
		"--set", "data.train.path="+train, "--set", "data.dev.path="+dev, "--set", "data.test.path="+dev,
		"--set", "train.epochs=1", "--set", "model.hidden=32", "--set", "model.layers=1", "--set", "task.samples=3")
	if res.code != 0 || !strings.Contains(res.stdout, "generated (3):") {
		t.Fatalf("seqkit run names-lm: exit %d\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	a := seqkit(t, dir, "generate", "-m", "runs/lm", "--num", "5", "--seed", "3")
	b := seqkit(t, dir, "generate", "-m", "runs/lm", "--num", "5", "--seed", "3")
	if a.code != 0 || a.stdout != b.stdout || len(strings.Fields(a.stdout)) != 5 {
		t.Errorf("generate twice with seed 3: exit %d, %q then %q; want the same 5 names", a.code, a.stdout, b.stdout)
	}
	// An ensemble of the model with itself generates what the model does.
	for _, how := range [][]string{{"--num", "5", "--seed", "3", "--temperature", "0"}, {"--beam", "3"}} {
		one := seqkit(t, dir, append([]string{"generate", "-m", "runs/lm"}, how...)...)
		two := seqkit(t, dir, append([]string{"generate", "-m", "runs/lm", "-m", "runs/lm"}, how...)...)
		if one.code != 0 || two.stdout != one.stdout {
			t.Errorf("generate %v: the ensemble of two copies wrote %q, the model %q (%s)", how, two.stdout, one.stdout, two.stderr)
		}
	}
	js := seqkit(t, dir, "generate", "-m", "runs/lm", "--num", "2", "--json", "--temperature", "0.5", "--top-k", "5")
	lines := strings.Split(strings.TrimSpace(js.stdout), "\n")
	for _, l := range lines {
		var g struct {
			Text    string
			LogProb float64
			Tokens  int
		}
		if err := json.Unmarshal([]byte(l), &g); err != nil || g.Tokens < 1 || g.LogProb >= 0 {
			t.Errorf("--json line %q: %v", l, err)
		}
	}
	if len(lines) != 2 {
		t.Errorf("--json --num 2 wrote %d lines", len(lines))
	}
	demoRun, _ := demo(t)
	if r := seqkit(t, dir, "generate", "-m", demoRun); r.code != 2 || !strings.Contains(r.stderr, "does not generate") {
		t.Errorf("generate with a tagging run: exit %d, %q", r.code, r.stderr)
	}
	if r := seqkit(t, dir, "generate", "-m", "runs/lm", "--top-p", "2"); r.code != 2 || !strings.Contains(r.stderr, "--top-p") {
		t.Errorf("--top-p 2: exit %d, %q", r.code, r.stderr)
	}
	// Hostile flags are refused before anything is allocated (they ran out
	// of memory, or printed degenerate text with exit 0).
	for _, c := range [][]string{{"--num", "1000000000"}, {"--beam", "100000000"}, {"--temperature", "NaN"},
		{"--temperature", "+Inf"}, {"--top-p", "NaN"}, {"--max-len", "1000000000"}} {
		r := seqkit(t, dir, append([]string{"generate", "-m", "runs/lm"}, c...)...)
		if r.code != 2 || !strings.Contains(r.stderr, c[0]+" must be") {
			t.Errorf("%s %s: exit %d, %q; want 2 naming the flag", c[0], c[1], r.code, r.stderr)
		}
	}
}

// TestGenerateJudge trains a small conditional generator and a small names-language
// classifier on slices of names-by-language, then judges generated names: the
// summary gives the share per language, and --json adds the judged label.
func TestGenerateJudge(t *testing.T) {
	data := tasktest.NeedData(t, "names-by-language")
	dir := t.TempDir()
	train := tasktest.Slice(t, data+"/names.train.tsv", dir, "train.tsv", 8, 0)
	dev := tasktest.Slice(t, data+"/names.dev.tsv", dir, "dev.tsv", 8, 0)
	sets := []string{"--data-root", tasktest.DataRoot, "--set", "data.train.path=" + train, "--set", "data.dev.path=" + dev,
		"--set", "data.test.path=" + dev, "--set", "train.epochs=1", "--set", "model.hidden=32"}
	for _, r := range [][]string{
		append([]string{"run", "names-by-language-gen", "-o", "runs/gen", "--set", "model.layers=1"}, sets...),
		append([]string{"run", "names-language", "-o", "runs/clf"}, sets...),
	} {
		if res := seqkit(t, dir, r...); res.code != 0 {
			t.Fatalf("seqkit %s: exit %d\n%s", strings.Join(r, " "), res.code, res.stderr)
		}
	}
	res := seqkit(t, dir, "generate", "-m", "runs/gen", "--num", "36", "--judge", "runs/clf")
	if res.code != 0 || !strings.Contains(res.stdout, "judged as their condition: ") || !strings.Contains(res.stdout, "Italian") {
		t.Fatalf("generate --judge: exit %d\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	js := seqkit(t, dir, "generate", "-m", "runs/gen", "--num", "2", "--judge", "runs/clf", "--json")
	if !strings.Contains(js.stdout, `"judged":`) || !strings.Contains(js.stdout, `"condition":`) {
		t.Errorf("--json --judge: %s", js.stdout)
	}
	if r := seqkit(t, dir, "generate", "-m", "runs/gen", "--judge", "runs/gen"); r.code != 2 || !strings.Contains(r.stderr, "give a classify run") {
		t.Errorf("--judge with a generator run: exit %d, %q", r.code, r.stderr)
	}
	// A classifier predicts plain text, which has no label column.
	os.WriteFile(filepath.Join(dir, "names.txt"), []byte("Rossi\nNguyen\n"), 0o644)
	if r := seqkit(t, dir, "predict", "-m", "runs/clf", "--input", "names.txt", "--output", "-"); r.code != 0 || strings.Count(r.stdout, `"label"`) != 2 {
		t.Errorf("predict plain text with a classifier: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
}

// TestPredictAttention trains a small reverse model and predicts with
// --attention: every input row gets its weights as JSON and a heat map.
func TestPredictAttention(t *testing.T) {
	dir := t.TempDir()
	if r := seqkit(t, dir, "run", "reverse", "-o", "rev", "--set", "data.generate.train=3000", "--set", "train.epochs=1", "--set", "output.plots=false"); r.code != 0 {
		t.Fatalf("run: exit %d\n%s", r.code, r.stderr)
	}
	in := filepath.Join(dir, "in.txt")
	if err := os.WriteFile(in, []byte("1 2 3\n4 5 6 7\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := seqkit(t, dir, "predict", "-m", "rev", "--input", in, "--output", "out.jsonl", "--attention", "att")
	if r.code != 0 {
		t.Fatalf("predict: exit %d\n%s", r.code, r.stderr)
	}
	for row, src := range map[int][]string{1: {"1", "2", "3"}, 2: {"4", "5", "6", "7"}} {
		b, err := os.ReadFile(filepath.Join(dir, "att", fmt.Sprintf("attention-%d.json", row)))
		if err != nil {
			t.Fatal(err)
		}
		var m struct {
			Source  []string
			Output  []string
			Weights [][]float64
		}
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		if strings.Join(m.Source, " ") != strings.Join(src, " ") || len(m.Weights) != len(m.Output) || len(m.Weights[0]) != len(src) {
			t.Errorf("row %d: %+v", row, m)
		}
		if st, err := os.Stat(filepath.Join(dir, "att", fmt.Sprintf("attention-%d.png", row))); err != nil || st.Size() == 0 {
			t.Errorf("row %d: no heat map (%v)", row, err)
		}
	}

	// --set changes decoding for eval and predict, and nothing else: outputs
	// cut to one token score below the recipe's limit, the run's recipe
	// stays as it was, and a key of the model is refused by name.
	recipe, _ := os.ReadFile(filepath.Join(dir, "rev", rundir.RecipeFile))
	exact := func(sets ...string) float64 {
		t.Helper()
		args := []string{"eval", "-m", "rev", "--json"}
		for _, s := range sets {
			args = append(args, "--set", s)
		}
		r := seqkit(t, dir, args...)
		var ev struct{ Metrics map[string]float64 }
		if err := json.Unmarshal([]byte(r.stdout), &ev); r.code != 0 || err != nil {
			t.Fatalf("eval %v: exit %d %v\n%s", sets, r.code, err, r.stderr)
		}
		return ev.Metrics["exact_match"]
	}
	if full, cut := exact(), exact("task.max_len_a=0", "task.max_len_b=1"); full < 10 || cut >= full/2 {
		t.Errorf("exact match %.2f, cut to one token %.2f", full, cut)
	}
	r = seqkit(t, dir, "predict", "-m", "rev", "--input", in, "--output", "-", "--set", "task.beam=3", "--set", "task.nbest=3")
	for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		var p struct{ NBest []string }
		if err := json.Unmarshal([]byte(line), &p); err != nil || len(p.NBest) != 3 {
			t.Errorf("predict with a beam of 3 and its 3 best: %q (%v) %s", line, err, r.stderr)
		}
	}
	r = seqkit(t, dir, "predict", "-m", "rev", "--input", in, "--output", "-", "--set", "task.max_len_a=0", "--set", "task.max_len_b=1")
	for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		var p struct{ Output string }
		if err := json.Unmarshal([]byte(line), &p); err != nil || strings.Contains(p.Output, " ") {
			t.Errorf("predict with one output token: %q (%v) %s", line, err, r.stderr)
		}
	}
	if after, _ := os.ReadFile(filepath.Join(dir, "rev", rundir.RecipeFile)); !bytes.Equal(after, recipe) {
		t.Error("eval --set changed the run's recipe")
	}
	for _, cmd := range [][]string{{"eval", "-m", "rev"}, {"predict", "-m", "rev", "--input", in, "--output", "-"}} {
		r := seqkit(t, dir, append(cmd, "--set", "model.hidden=8")...)
		if r.code != 2 || !strings.Contains(r.stderr, "--set model.hidden=8: model.hidden: is fixed by training") || !strings.Contains(r.stderr, "task.beam") {
			t.Errorf("%s --set model.hidden=8: exit %d\n%s", cmd[0], r.code, r.stderr)
		}
	}
}

// TestSeeds: run --seeds trains one run per seed and summarises them; a
// folder of seeds resumes (finished seeds kept, a missing one trained) and
// evaluates as an ensemble.
func TestSeeds(t *testing.T) {
	tmp := t.TempDir()
	out := filepath.Join(tmp, "seeds")
	res := seqkit(t, tmp, "run", "taipei", "--set", "train.epochs=1", "--seeds", "2", "--jobs", "2", "-o", out)
	if res.code != 0 {
		t.Fatalf("run --seeds: exit %d\n%s", res.code, res.stderr)
	}
	if !strings.Contains(res.stdout, "test over 2 seeds: f1 ") || !strings.Contains(res.stdout, "test, ensemble of 2: f1 ") {
		t.Errorf("stdout:\n%s", res.stdout)
	}
	read := func() rundir.Seeds {
		s, err := rundir.ReadSeeds(out)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	s := read()
	var f1 []float64
	for i := 1; i <= 2; i++ {
		r, err := rundir.ReadResults(rundir.SeedDir(out, i))
		if err != nil || r.Seed != uint64(i) {
			t.Fatalf("seed %d: %+v %v", i, r, err)
		}
		f1 = append(f1, r.Test["f1"])
	}
	if s.Ensemble == nil || s.Ensemble.Members != 2 || s.Ensemble.Test["f1"] <= 0 {
		t.Errorf("no ensemble in the summary: %+v", s.Ensemble)
	}
	if got := s.Test["f1"]; len(s.Runs) != 2 || got.Mean != (f1[0]+f1[1])/2 || got.Min != min(f1[0], f1[1]) || got.N != 2 {
		t.Errorf("summary %+v of %v", got, f1)
	}
	report, _ := os.ReadFile(filepath.Join(out, "report.md"))
	if !strings.Contains(string(report), "| f1 (main) | ") || !strings.Contains(string(report), "| seed-2 | 2 |") {
		t.Errorf("report.md:\n%s", report)
	}
	// An existing folder needs --resume or --force.
	if res := seqkit(t, tmp, "run", "taipei", "--set", "train.epochs=1", "--seeds", "2", "-o", out); res.code != 2 || !strings.Contains(res.stderr, "already exists") {
		t.Errorf("rerun: exit %d %s", res.code, res.stderr)
	}
	// Resuming with another recipe is refused, finished seeds included.
	if res := seqkit(t, tmp, "run", "taipei", "--set", "train.epochs=2", "--seeds", "2", "-o", out, "--resume"); res.code != 2 || !strings.Contains(res.stderr, "different recipe") {
		t.Errorf("resume with another recipe: exit %d %s", res.code, res.stderr)
	}
	// Resumed with a third seed, and seed 2 lost: seed 1 is read back, not
	// trained again.
	best := filepath.Join(rundir.SeedDir(out, 1), "checkpoints/best/model.safetensors")
	before, _ := os.Stat(best)
	os.RemoveAll(rundir.SeedDir(out, 2))
	res = seqkit(t, tmp, "run", "taipei", "--set", "train.epochs=1", "--seeds", "3", "-o", out, "--resume")
	if res.code != 0 {
		t.Fatalf("resume: exit %d\n%s", res.code, res.stderr)
	}
	if after, _ := os.Stat(best); !after.ModTime().Equal(before.ModTime()) {
		t.Error("a finished seed was trained again")
	}
	if s := read(); len(s.Runs) != 3 || s.Runs[0].Test["f1"] != f1[0] || s.Ensemble == nil || s.Ensemble.Members != 3 {
		t.Errorf("after resuming: %+v (seed 2 had f1 %g before)", s.Runs, f1[1])
	}
	// The folder is an ensemble of its seeds.
	res = seqkit(t, tmp, "eval", "-m", out)
	if res.code != 0 || !strings.Contains(res.stdout, "test, ensemble of 3: f1") || !strings.Contains(res.stdout, "members' mean ± std: f1") {
		t.Errorf("eval of the folder: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	res = seqkit(t, tmp, "eval", "-m", rundir.SeedDir(out, 1), "-m", demoRunOf(t), "--json")
	if res.code != 2 || !strings.Contains(res.stderr, "do not form an ensemble") {
		t.Errorf("ensemble of different vocabularies: exit %d %s", res.code, res.stderr)
	}
}

// demoRunOf trains a run whose vocabularies differ from taipei's (two
// epochs of reverse), for the ensemble refusals.
func demoRunOf(t *testing.T) string {
	dir := filepath.Join(t.TempDir(), "reverse")
	res := seqkit(t, t.TempDir(), "train", "reverse", "--set", "data.generate.train=200", "--set", "train.epochs=1", "-o", dir)
	if res.code != 0 {
		t.Fatalf("train reverse: exit %d %s", res.code, res.stderr)
	}
	return dir
}

// TestInspectSniffsCoNLL: a CoNLL file named .txt is read as CoNLL, with a
// note on stderr, unless --format says text.
func TestInspectSniffsCoNLL(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "train.txt")
	os.WriteFile(p, []byte("Confidence NN B-NP\nin IN B-PP\nthe DT B-NP\n\nChancellor NNP O\nsaid VBD B-VP\n. . O\n\nIt PRP B-NP\nfell VBD B-VP\n"), 0o644)
	r := seqkit(t, dir, "data", "inspect", p)
	if r.code != 0 || !strings.Contains(r.stdout, "rows        3") || !strings.Contains(r.stderr, "looks like a CoNLL file (3 columns") {
		t.Errorf("inspect: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = seqkit(t, dir, "data", "inspect", p, "--format", "text")
	if r.code != 0 || !strings.Contains(r.stdout, "rows        8") || strings.Contains(r.stderr, "CoNLL") {
		t.Errorf("inspect --format text: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// TestEmbeddingInit trains the demo from a small GloVe file: the coverage is
// reported (stderr, embedding_init.json, report.md); frozen, the embedding
// rows of the file's words are its vectors after training, and trained they
// are not; extend_vocab adds the file's words the data lacks; a file of
// another dimension is refused by name.
func TestEmbeddingInit(t *testing.T) {
	dir := t.TempDir()
	vec := func(seed int) string {
		var b strings.Builder
		for i := range 32 {
			fmt.Fprintf(&b, " %.3f", float64((seed*37+i*11)%23-11)/10)
		}
		return b.String()
	}
	words := []string{"to", "on", "from", "taipei", "zebra"}
	var glove strings.Builder
	for i, w := range words {
		glove.WriteString(w + vec(i) + "\n")
	}
	os.WriteFile(filepath.Join(dir, "vectors.txt"), []byte(glove.String()), 0o644)
	run := func(out string, sets ...string) result {
		args := []string{"run", "taipei", "-o", out, "--set", "train.epochs=2", "--set", "output.plots=false",
			"--set", "model.embedding_init={path: " + filepath.Join(dir, "vectors.txt") + ", format: glove}"}
		for _, s := range sets {
			args = append(args, "--set", s)
		}
		return seqkit(t, dir, args...)
	}
	rows := func(out string) map[string][]float32 {
		ts, _, err := nn.ReadSafetensors(filepath.Join(dir, out, "checkpoints", "best", "model.safetensors"))
		if err != nil {
			t.Fatal(err)
		}
		vocab, _ := os.ReadFile(filepath.Join(dir, out, "vocab", "input.txt"))
		got := map[string][]float32{}
		for _, w := range ts {
			if w.Name != "embedding.weight" {
				continue
			}
			for id, tok := range strings.Split(strings.TrimSpace(string(vocab)), "\n") {
				got[tok] = w.Data[id*32 : (id+1)*32]
			}
		}
		return got
	}
	want := func(i int) []float32 {
		var v []float32
		for _, f := range strings.Fields(vec(i)) {
			x, _ := strconv.ParseFloat(f, 32)
			v = append(v, float32(x))
		}
		return v
	}
	r := run("frozen", "model.embedding_init.freeze=true")
	if r.code != 0 || !strings.Contains(r.stderr, "embedding: 4 of ") || !strings.Contains(r.stderr, "training tokens have a vector in vectors.txt; frozen") {
		t.Fatalf("frozen run: exit %d\n%s", r.code, r.stderr)
	}
	got := rows("frozen")
	if !slices.Equal(got["to"], want(0)) || !slices.Equal(got["from"], want(2)) || !slices.Equal(got["taipei"], want(3)) {
		t.Errorf("frozen rows changed: to %v, want %v", got["to"], want(0))
	}
	var cov struct{ Words, Found, Lower int }
	b, _ := os.ReadFile(filepath.Join(dir, "frozen", "embedding_init.json"))
	if err := json.Unmarshal(b, &cov); err != nil || cov.Found < 3 || cov.Words < 100 {
		t.Errorf("embedding_init.json: %s (%v)", b, err)
	}
	if rep, _ := os.ReadFile(filepath.Join(dir, "frozen", "report.md")); !strings.Contains(string(rep), "Pretrained embedding: ") {
		t.Errorf("report.md says nothing of the embedding:\n%s", rep)
	}
	if r := run("trained"); r.code != 0 || slices.Equal(rows("trained")["to"], want(0)) {
		t.Errorf("trained run: exit %d, to's row still the file's\n%s", r.code, r.stderr)
	}
	if r := run("extended", "model.embedding_init.extend_vocab=true"); r.code != 0 || !strings.Contains(r.stderr, "words added from the file (extend_vocab)") {
		t.Errorf("extend_vocab: exit %d\n%s", r.code, r.stderr)
	} else if v, _ := os.ReadFile(filepath.Join(dir, "extended", "vocab", "input.txt")); !strings.Contains(string(v), "\nzebra\n") {
		t.Errorf("zebra not added to the vocabulary")
	}
	if r := run("dim", "model.embedding=16"); r.code != 2 || !strings.Contains(r.stderr, "model.embedding is 16, but the vectors of") {
		t.Errorf("another dimension: exit %d\n%s", r.code, r.stderr)
	}
	if r := run("missing", "model.embedding_init.path="+filepath.Join(dir, "nowhere.txt")); r.code != 2 || !strings.Contains(r.stderr, "model.embedding_init.path: no such file") {
		t.Errorf("a missing file: exit %d\n%s", r.code, r.stderr)
	}
	// Cased text: Taipei finds taipei's vector by the lower-case fallback.
	os.WriteFile(filepath.Join(dir, "train.csv"), []byte("text,label\nfly to Taipei,a\nTaipei from zebra,b\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "cased.yaml"), []byte("data: {train: {path: train.csv, columns: {text: text, label: label}}}\nmodel: {embedding: 32, hidden: 8}\ntask: {type: classify}\ntrain: {epochs: 1}\n"), 0o644)
	r = seqkit(t, dir, "train", "cased.yaml", "-o", "cased", "--set", "model.embedding_init={path: vectors.txt, format: glove, lower: true}")
	if r.code != 0 || !strings.Contains(r.stderr, "embedding: 4 of 5 words (80.0%) and 83.3% of the training tokens") || !strings.Contains(r.stderr, "(1 by their lower-case form)") {
		t.Errorf("lower-case fallback: exit %d\n%s", r.code, r.stderr)
	}
}

// TestServeShutdown serves the demo, sends requests that wait in the batcher
// (--max-wait 1s), and stops the server with SIGTERM while they wait: every
// one is answered 200 with its prediction, the process exits 0, and the port
// takes no new connection after.
func TestServeShutdown(t *testing.T) {
	dir, _ := demo(t)
	cmd := command(t.TempDir(), "serve", "-m", dir, "--addr", "127.0.0.1:0", "--max-wait", "1s", "--max-batch", "1000")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	lines := bufio.NewScanner(stderr)
	var url string
	for lines.Scan() {
		if _, rest, ok := strings.Cut(lines.Text(), " on http://"); ok {
			url = "http://" + strings.Fields(rest)[0]
			break
		}
	}
	if url == "" {
		t.Fatal("the server did not say where it listens")
	}
	go io.Copy(io.Discard, stderr)
	const n = 8
	codes, tags := make([]int, n), make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			resp, err := http.Post(url+"/v1/predict", "application/json", strings.NewReader(`{"inputs": ["arrive Taipei on November 2nd"]}`))
			if err != nil {
				t.Errorf("request %d: %v", i, err)
				return
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			codes[i], tags[i] = resp.StatusCode, string(b)
		})
	}
	time.Sleep(300 * time.Millisecond) // the requests wait in the batcher
	cmd.Process.Signal(syscall.SIGTERM)
	wg.Wait()
	for i := range n {
		if codes[i] != 200 || !strings.Contains(tags[i], `"B-toloc.city_name"`) {
			t.Errorf("request %d: %d %s", i, codes[i], tags[i])
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("exit: %v", err)
	}
	if _, err := http.Get(url + "/healthz"); err == nil {
		t.Error("the port still answers after the server stopped")
	}
}
