package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// copyDir copies the regular files of src into dst.
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestModelDirTrust loads doctored copies of a run directory: a checkpoint or
// vocabulary that is a symbolic link out of the folder, and a recipe that
// extends a file outside it, are refused (exit 2) with the file named; a link
// that stays inside is followed.
func TestModelDirTrust(t *testing.T) {
	run, _ := demo(t)
	tmp := t.TempDir()
	secret := filepath.Join(tmp, "secret.txt")
	os.WriteFile(secret, []byte("do not read\n"), 0o600)
	in := filepath.Join(tmp, "in.txt")
	os.WriteFile(in, []byte("arrive taipei on november 2nd\n"), 0o644)
	cases := []struct {
		name   string
		doctor func(dir string)
		want   string
	}{
		{"checkpoint linked out", func(dir string) {
			p := filepath.Join(dir, "checkpoints/best/model.safetensors")
			os.Remove(p)
			os.Symlink(secret, p)
		}, "checkpoints/best/model.safetensors links to " + secret + ", outside the model folder"},
		{"folder linked out", func(dir string) {
			p := filepath.Join(dir, "vocab")
			os.Rename(p, filepath.Join(tmp, "vocab-elsewhere"))
			os.Symlink(filepath.Join(tmp, "vocab-elsewhere"), p)
		}, "vocab links to " + filepath.Join(tmp, "vocab-elsewhere") + ", outside the model folder"},
		{"recipe extends a file outside", func(dir string) {
			p := filepath.Join(dir, "recipe.yaml")
			b, _ := os.ReadFile(p)
			os.WriteFile(p, append([]byte("extends: ../../secret.yaml\n"), b...), 0o644)
		}, "recipe.yaml:1:1: extends: a run directory's recipe is complete and extends nothing"},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(tmp, "m", string(rune('a'+i)))
			copyDir(t, run, dir)
			c.doctor(dir)
			res := seqkit(t, tmp, "predict", "-m", dir, "--input", in, "--output", filepath.Join(tmp, "out.jsonl"))
			if res.code != 2 || !strings.Contains(res.stderr, c.want) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", res.code, res.stderr, c.want)
			}
		})
	}
	t.Run("init-from a folder linked out", func(t *testing.T) {
		dir := filepath.Join(tmp, "m", "init")
		copyDir(t, run, dir)
		p := filepath.Join(dir, "checkpoints/best/model.safetensors")
		os.Remove(p)
		os.Symlink(secret, p)
		res := seqkit(t, tmp, "train", "taipei", "-o", filepath.Join(tmp, "ft"), "--init-from", dir, "--set", "train.epochs=1")
		if want := "init-from: run directory " + dir + ": " + p + " links to " + secret; res.code != 2 || !strings.Contains(res.stderr, want) {
			t.Errorf("exit %d, stderr %q; want 2 and %q", res.code, res.stderr, want)
		}
	})
	t.Run("link inside the folder", func(t *testing.T) {
		dir := filepath.Join(tmp, "m", "inside")
		copyDir(t, run, dir)
		p := filepath.Join(dir, "checkpoints/best/model.safetensors")
		os.Rename(p, filepath.Join(dir, "weights.safetensors"))
		os.Symlink("../../weights.safetensors", p)
		if res := seqkit(t, tmp, "predict", "-m", dir, "--input", in, "--output", filepath.Join(tmp, "out.jsonl")); res.code != 0 {
			t.Errorf("exit %d: %s", res.code, res.stderr)
		}
	})
}

// killArgs is the run that the crash tests interrupt: the Taipei demo on
// 1500 generated training and test sentences, a checkpoint every 3 steps and
// test predictions, so that a kill can land in each phase.
var killArgs = []string{"run", "taipei", "--set", "data.generate={train: 1500, dev: 100, test: 3000, seed: 3}",
	"--set", "train.epochs=2", "--set", "train.checkpoint_every=3", "--set", "train.eval_every=40", "--log-format", "json"}

// runOutputs is what must be the same, to the bit, after a kill and --resume as
// after an uninterrupted run: weights, optimizer state, metrics (timings left
// out), test predictions and the report (its elapsed time left out).
func runOutputs(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{"metrics.jsonl": metricValues(t, filepath.Join(dir, "metrics.jsonl"))}
	var loop map[string]any
	b, _ := os.ReadFile(filepath.Join(dir, "checkpoints/last/loop.json"))
	if err := json.Unmarshal(b, &loop); err != nil {
		t.Errorf("%s: loop.json: %v", dir, err)
	}
	delete(loop, "MetricsBytes") // metrics.jsonl's size, which the timings change
	b, _ = json.Marshal(loop)
	out["loop.json"] = string(b)
	for _, f := range []string{"checkpoints/best/model.safetensors", "checkpoints/last/model.safetensors", "checkpoints/last/optimizer.safetensors",
		"predictions.test.jsonl", "vocab/input.txt", "vocab/tags.txt"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Errorf("%s: %v", dir, err)
		}
		out[f] = string(b)
	}
	b, _ = os.ReadFile(filepath.Join(dir, "report.md"))
	var keep []string
	for _, l := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(l, "Task ") { // "Task tagging; 188 steps over 2 epochs in 1s; …"
			keep = append(keep, l)
		}
	}
	out["report.md"] = strings.Join(keep, "\n")
	return out
}

// phaseOf tells, from what a killed run left, what it was doing.
func phaseOf(run, cache string) string {
	tmp := func(dir, pattern string) bool {
		m, _ := filepath.Glob(filepath.Join(dir, pattern))
		return len(m) > 0
	}
	switch {
	case tmp(run, ".predictions.test.jsonl.tmp*"):
		return "prediction output"
	case tmp(run, "checkpoints/*.tmp") || tmp(run, "checkpoints/*.old"):
		return "checkpoint write"
	case tmp(cache, ".*.tmp*"):
		return "cache build"
	}
	if _, err := os.Stat(filepath.Join(run, "checkpoints/last/loop.json")); err == nil {
		return "training"
	}
	if tmp(cache, "*.json") {
		return "training" // before the first checkpoint
	}
	return "start and data preparation"
}

// TestKillAnywhere kills seqkit run with SIGKILL at 50 seeded moments ($SEQKIT_KILLS) across
// its phases (data preparation and cache build, training, checkpoint writes,
// test prediction output) and resumes each run with --resume: every one ends
// with the same weights, optimizer state, metrics, predictions and report as
// the uninterrupted run, and no temporary file is left in the run directory.
// Half of the kills come at random times; the others wait for a phase to
// begin (a cache, checkpoint or prediction file being written, in turn) and
// kill then.
func TestKillAnywhere(t *testing.T) {
	kills := 50
	if n, err := strconv.Atoi(os.Getenv("SEQKIT_KILLS")); err == nil && n > 0 {
		kills = n // CI's second pass, on the portable kernels
	}
	dir := t.TempDir()
	began := time.Now()
	whole := seqkit(t, dir, append(killArgs, "-o", "whole", "--cache-dir", "cache-whole")...)
	took := time.Since(began)
	if whole.code != 0 {
		t.Fatalf("uninterrupted run: %d %s", whole.code, whole.stderr)
	}
	want := runOutputs(t, filepath.Join(dir, "whole"))
	rng := rand.New(rand.NewPCG(50, 50))
	phases := map[string]int{}
	waits := []string{"cache/.*.tmp*", "run/checkpoints/last.tmp", "run/.predictions.test.jsonl.tmp*"}
	done := 0
	for attempt := 0; done < kills; attempt++ {
		if attempt > 3*kills {
			t.Fatalf("only %d of %d attempts were killed before they finished", done, attempt)
		}
		run, cache := fmt.Sprintf("k%d", attempt), fmt.Sprintf("cache%d", attempt)
		cmd := start(t, dir, nil, append(killArgs, "-o", run, "--cache-dir", cache)...)
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
		if attempt%2 == 0 {
			time.Sleep(time.Duration(rng.Int64N(int64(took))))
		} else {
			pattern := waits[(attempt/2)%len(waits)]
			pattern = strings.Replace(strings.Replace(pattern, "cache/", cache+"/", 1), "run/", run+"/", 1)
			waitFor(time.Minute, func() bool {
				select {
				case <-exited:
					return true
				default:
				}
				m, _ := filepath.Glob(filepath.Join(dir, pattern))
				return len(m) > 0
			})
		}
		cmd.Process.Signal(syscall.SIGKILL)
		<-exited
		if cmd.ProcessState.ExitCode() != -1 {
			continue // it finished first: not a kill
		}
		done++
		phase := phaseOf(filepath.Join(dir, run), filepath.Join(dir, cache))
		phases[phase]++
		res := seqkit(t, dir, append(killArgs, "-o", run, "--cache-dir", cache, "--resume")...)
		if res.code != 0 {
			t.Fatalf("kill %d (%s): resume: exit %d\n%s", done, phase, res.code, res.stderr)
		}
		got := runOutputs(t, filepath.Join(dir, run))
		for f := range want {
			if got[f] != want[f] {
				t.Errorf("kill %d (%s): after --resume, %s differs from the uninterrupted run's", done, phase, f)
			}
		}
		filepath.WalkDir(filepath.Join(dir, run), func(p string, d os.DirEntry, err error) error {
			if err == nil && strings.Contains(d.Name(), ".tmp") {
				t.Errorf("kill %d (%s): %s left behind", done, phase, p)
			}
			return nil
		})
		os.RemoveAll(filepath.Join(dir, run))
		os.RemoveAll(filepath.Join(dir, cache))
	}
	t.Logf("%d kills (uninterrupted run %v): %v", done, took.Round(time.Millisecond), phases)
	if kills < 30 {
		return // too few to be sure that each phase was hit
	}
	for _, p := range []string{"cache build", "training", "checkpoint write", "prediction output"} {
		if phases[p] == 0 {
			t.Errorf("no kill landed in %s", p)
		}
	}
}

// diskScript runs seqkit in a private mount namespace on a tmpfs of 8 MB:
// "full" fills the tmpfs as soon as the first checkpoint exists; "readonly"
// mounts it read-only before the run. It copies what the run left to $OUT.
const diskScript = `set -u
mnt=$1; out=$2; bin=$3; mode=$4; shift 4
if [ "$mode" = readonly ]; then
  mount -t tmpfs -o size=8m,ro tmpfs "$mnt" || exit 99
else
  mount -t tmpfs -o size=8m tmpfs "$mnt" || exit 99
fi
cd "$mnt"
"$bin" "$@" -o r --cache-dir "$out/cache" 2> "$out/stderr" &
pid=$!
if [ "$mode" = full ]; then
  while [ ! -f r/checkpoints/last/loop.json ] && kill -0 $pid 2>/dev/null; do sleep 0.005; done
  dd if=/dev/zero of=fill bs=64k 2>/dev/null
fi
wait $pid; echo $? > "$out/code"
[ -d r ] && cp -r r "$out/run"
exit 0
`

// TestDiskFull fills the disk under a training run (a tmpfs in a private mount
// namespace, so it needs unshare): the run stops with an error naming the
// step, the file and the cause, its last checkpoint is intact, and --resume on
// a disk with room finishes with the same weights as an uninterrupted run. A
// run directory on a read-only file system is refused at once with the cause.
func TestDiskFull(t *testing.T) {
	if err := exec.Command("unshare", "-r", "-m", "true").Run(); err != nil {
		t.Skipf("needs unshare -r -m (user and mount namespaces) for a small tmpfs: %v; tasks.TestWriteFailure injects the same failure", err)
	}
	dir := t.TempDir()
	args := []string{"train", "taipei", "--set", "train.epochs=40", "--set", "train.checkpoint_every=10"}
	if res := seqkit(t, dir, append(args, "-o", "whole")...); res.code != 0 {
		t.Fatalf("uninterrupted: %d %s", res.code, res.stderr)
	}
	script := filepath.Join(dir, "disk.sh")
	os.WriteFile(script, []byte(diskScript), 0o755)
	for _, mode := range []string{"full", "readonly"} {
		out, mnt := filepath.Join(dir, mode), filepath.Join(dir, mode+"-mnt")
		os.MkdirAll(out, 0o755)
		os.MkdirAll(mnt, 0o755)
		b, err := exec.Command("unshare", append([]string{"-r", "-m", "sh", script, mnt, out, bin, mode}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", mode, err, b)
		}
		code, _ := os.ReadFile(filepath.Join(out, "code"))
		stderr, _ := os.ReadFile(filepath.Join(out, "stderr"))
		last := func(s []byte) string {
			l := strings.Split(strings.TrimSpace(string(s)), "\n")
			return l[len(l)-1]
		}
		switch mode {
		case "full":
			want := []string{"seqkit: cannot write the run directory at step", "no space left on device", "the last checkpoint written (r/checkpoints/last) is intact",
				"continue it with: seqkit train taipei --set train.epochs=40 --set train.checkpoint_every=10 -o r --resume"}
			for _, w := range want {
				if !strings.Contains(last(stderr), w) || strings.TrimSpace(string(code)) != "1" {
					t.Fatalf("disk full: exit %s, last line %q; want exit 1 and %q", code, last(stderr), w)
				}
			}
			// The run folder, moved to a disk with room, resumes.
			res := seqkit(t, out, append(args, "-o", "run", "--resume")...)
			if res.code != 0 {
				t.Fatalf("resume after disk full: %d %s", res.code, res.stderr)
			}
			a, _ := os.ReadFile(filepath.Join(dir, "whole/checkpoints/best/model.safetensors"))
			b, _ := os.ReadFile(filepath.Join(out, "run/checkpoints/best/model.safetensors"))
			if len(a) == 0 || !bytes.Equal(a, b) {
				t.Errorf("disk full, then resumed: the best weights differ from the uninterrupted run's")
			}
		case "readonly":
			if strings.TrimSpace(string(code)) != "2" || !strings.Contains(last(stderr), "seqkit: run directory r cannot be made: read-only file system; choose a writable folder with -o") {
				t.Errorf("read-only: exit %s, last line %q", code, last(stderr))
			}
		}
	}
}

// TestSharedCache starts two seqkit runs at once on the same cache folder, four
// times over, each building the same encoded datasets: both succeed, the cache
// ends with one complete dataset per split and no temporary file, and both runs
// end with the same weights as a run alone (the cache is published by atomic
// rename of identical content, so neither reads the other's partial file).
func TestSharedCache(t *testing.T) {
	dir := t.TempDir()
	// Data files that every run reads (generated once by a Taipei run).
	gen := []string{"train", "taipei", "--set", "data.generate={train: 3000, dev: 100, test: 100, seed: 4}", "--set", "train.steps=1", "-o", "gen"}
	if res := seqkit(t, dir, gen...); res.code != 0 {
		t.Fatalf("generating the data: %d %s", res.code, res.stderr)
	}
	recipe := `data:
  train: {path: gen/data/train.conll}
  dev: {path: gen/data/dev.conll}
  test: {path: gen/data/test.conll}
  tokenizer: {lower: true}
model: {embedding: 16, cell: lstm, hidden: 16, bidirectional: true}
task: {type: tagging}
train: {epochs: 1, seed: 1}
`
	os.WriteFile(filepath.Join(dir, "shared.yaml"), []byte(recipe), 0o644)
	args := []string{"train", "shared.yaml", "--set", "train.epochs=1"}
	if res := seqkit(t, dir, append(args, "-o", "alone", "--cache-dir", "cache-alone")...); res.code != 0 {
		t.Fatalf("alone: %d %s", res.code, res.stderr)
	}
	want, _ := os.ReadFile(filepath.Join(dir, "alone/checkpoints/best/model.safetensors"))
	for round := range 4 {
		cache := fmt.Sprintf("cache%d", round)
		var cmds []*exec.Cmd
		var errs []*bytes.Buffer
		for p := range 2 {
			var e bytes.Buffer
			cmd := start(t, dir, &e, append(args, "-o", fmt.Sprintf("r%d-%d", round, p), "--cache-dir", cache)...)
			cmds, errs = append(cmds, cmd), append(errs, &e)
		}
		for p, cmd := range cmds {
			if err := cmd.Wait(); err != nil {
				t.Fatalf("round %d, process %d: %v\n%s", round, p, err, errs[p])
			}
			got, _ := os.ReadFile(filepath.Join(dir, fmt.Sprintf("r%d-%d", round, p), "checkpoints/best/model.safetensors"))
			if !bytes.Equal(got, want) {
				t.Errorf("round %d, process %d: weights differ from the run alone", round, p)
			}
		}
		entries, _ := os.ReadDir(filepath.Join(dir, cache))
		var arrows int
		for _, e := range entries {
			if strings.Contains(e.Name(), ".tmp") {
				t.Errorf("round %d: %s left in the cache", round, e.Name())
			}
			if strings.HasSuffix(e.Name(), ".arrow") {
				arrows++
			}
		}
		if arrows != 3 {
			t.Errorf("round %d: %d datasets in the cache, want 3 (train, dev, test)", round, arrows)
		}
	}
	// The same run directory is refused to a second process while the first
	// holds it.
	cmd := start(t, dir, nil, append(args[:len(args)-1], "train.epochs=30", "-o", "busy")...)
	defer cmd.Wait()
	defer cmd.Process.Kill()
	waitFor(30*time.Second, exists(filepath.Join(dir, "busy/recipe.yaml")))
	res := seqkit(t, dir, append(args[:len(args)-1], "train.epochs=30", "-o", "busy", "--resume")...)
	if res.code != 2 || !strings.Contains(res.stderr, "run directory busy is in use by another seqkit process") {
		t.Errorf("a second process on the same run directory: exit %d, %q", res.code, res.stderr)
	}
}

// TestDeterminism runs the same recipe and seed twice in separate processes
// (and the second on one core): the weights, metrics, predictions and report
// are the same bits. tasks' own tests check the same within one process.
func TestDeterminism(t *testing.T) {
	dir := t.TempDir()
	args := []string{"run", "taipei", "--set", "data.generate={train: 600, dev: 100, test: 300, seed: 5}", "--set", "train.epochs=3", "--set", "model.dropout=0.3"}
	var outs []map[string]string
	for i, env := range []string{"", "GOMAXPROCS=1"} {
		cmd := command(dir, append(args, "-o", fmt.Sprintf("r%d", i))...)
		cmd.Env = append(cmd.Env, "XDG_CACHE_HOME="+filepath.Join(dir, fmt.Sprintf(".cache%d", i))) // the last one counts
		if env != "" {
			cmd.Env = append(cmd.Env, env)
		}
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("run %d: %v\n%s", i, err, b)
		}
		outs = append(outs, runOutputs(t, filepath.Join(dir, fmt.Sprintf("r%d", i))))
	}
	for f, a := range outs[0] {
		if outs[1][f] != a {
			t.Errorf("%s differs between two runs of the same recipe and seed", f)
		}
	}
}
