//go:build !purego

// The Beam jobs run no kernel of their own: CI's purego pass, which reruns
// the suite on the portable kernels, leaves them (and Beam's build) out.

package main

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seqkit/seqkit/tasks/tasktest"

	"github.com/seqkit/seqkit/internal/gobuild"
	"github.com/seqkit/seqkit/pipeline/synth"
)

// TestRunnerPrism runs data prepare, predict and data inspect as Beam jobs on
// prism, as a user would, and checks each against its one-process run: the
// same prepared dataset bytes, the same predictions, the same summary.
func TestRunnerPrism(t *testing.T) {
	buildBeam(t)
	run, _ := demo(t)
	dir := t.TempDir()
	shards := filepath.Join(dir, "shards")
	os.Mkdir(shards, 0o755)
	for s := range 3 {
		var b bytes.Buffer
		z := gzip.NewWriter(&b)
		for i := range 4 {
			fmt.Fprintf(z, "{\"text\": \"leave Taipei on November %dnd\"}\n", s*4+i+1)
		}
		z.Close()
		os.WriteFile(filepath.Join(shards, fmt.Sprintf("p-%d.jsonl.gz", s)), b.Bytes(), 0o644)
	}

	// prepare
	one := seqkit(t, dir, "data", "prepare", "taipei", "-o", "one")
	viaBeam := seqkit(t, dir, "data", "prepare", "taipei", "-o", "beam", "--runner", "prism")
	if one.code != 0 || viaBeam.code != 0 || one.stdout == "" {
		t.Fatalf("prepare: exit %d and %d\n%s\n%s", one.code, viaBeam.code, one.stderr, viaBeam.stderr)
	}
	// The generated splits are written into each folder, so the manifests
	// differ only in where the sources are and when they were written.
	m1, m2 := manifestWithout(t, filepath.Join(dir, "one")), manifestWithout(t, filepath.Join(dir, "beam"))
	if m1 != m2 || !strings.Contains(m1, `"rows": 600`) {
		t.Errorf("manifests differ:\n%s\n%s", m1, m2)
	}
	a, b := tasktest.TreeSums(t, filepath.Join(dir, "one")), tasktest.TreeSums(t, filepath.Join(dir, "beam"))
	for _, f := range []string{"data.yaml", "vocab/input.txt", "vocab/tags.txt", "train/part-00000.arrow", "test/part-00000.arrow"} {
		if a[f] == "" || a[f] != b[f] {
			t.Errorf("prepared %s differs with --runner prism", f)
		}
	}

	// predict
	single := seqkit(t, dir, "predict", "-m", run, "--input", filepath.Join(shards, "*.jsonl.gz"), "--output", "-")
	res := seqkit(t, dir, "predict", "-m", run, "--input", filepath.Join(shards, "*.jsonl.gz"), "--output", "preds", "--runner", "prism")
	if single.code != 0 || res.code != 0 || !strings.Contains(res.stderr, "predicted 12 rows") {
		t.Fatalf("predict: exit %d and %d\n%s\n%s", single.code, res.code, single.stderr, res.stderr)
	}
	var got bytes.Buffer
	for s := range 3 {
		part, err := os.ReadFile(filepath.Join(dir, "preds", fmt.Sprintf("part-%05d.jsonl", s)))
		if err != nil {
			t.Fatal(err)
		}
		got.Write(part)
	}
	if got.String() != single.stdout {
		t.Errorf("predictions with --runner prism:\n%s\nwithout:\n%s", got.String(), single.stdout)
	}
	if _, err := os.Stat(filepath.Join(dir, "preds", "_manifest.json")); err != nil {
		t.Error(err)
	}

	// inspect
	in := seqkit(t, dir, "data", "inspect", shards, "--vocab", filepath.Join(run, "vocab", "input.txt"), "--lower")
	ib := seqkit(t, dir, "data", "inspect", shards, "--vocab", filepath.Join(run, "vocab", "input.txt"), "--lower", "--runner", "prism")
	if in.code != 0 || ib.code != 0 || in.stdout != ib.stdout || !strings.Contains(in.stdout, "rows        12") || !strings.Contains(in.stdout, "oov ") {
		t.Errorf("inspect: exit %d and %d\n%s\nwith --runner prism:\n%s%s", in.code, ib.code, in.stdout, ib.stdout, ib.stderr)
	}

	// usage
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"data", "prepare", "taipei", "--runner", "nope", "-o", "x"}, `--runner "nope"`},
		{[]string{"data", "prepare", "taipei", "--runner", "prism"}, "give -o DIR"},
		{[]string{"data", "prepare", "taipei", "-o", "y", "--", "--endpoint=x"}, "give --runner"},
		{[]string{"predict", "-m", run, "--input", "-", "--output", "-", "--runner", "prism"}, "no stdin"},
	} {
		if res := seqkit(t, dir, c.args...); res.code != 2 || !strings.Contains(res.stderr, c.want) {
			t.Errorf("%v: exit %d %q, want 2 and %q", c.args, res.code, res.stderr, c.want)
		}
	}
	// Without seqkit-beam, --runner says how to get it.
	alone := filepath.Join(t.TempDir(), "seqkit")
	b0, _ := os.ReadFile(bin)
	os.WriteFile(alone, b0, 0o755)
	cmd := command(dir, "data", "inspect", shards, "--runner", "prism")
	cmd.Path = alone
	cmd.Env = append(cmd.Env, "PATH=/nonexistent")
	if res := run2(t, cmd); res.code != 2 || !strings.Contains(res.stderr, "go install github.com/seqkit/seqkit/cmd/seqkit-beam") {
		t.Errorf("without seqkit-beam: exit %d %q", res.code, res.stderr)
	}
}

// manifestWithout is a prepared dataset's manifest without the fields that
// name the source files (their paths, and fingerprints of paths and times).
func manifestWithout(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, l := range strings.Split(string(b), "\n") {
		if !strings.Contains(l, `"fingerprint"`) && !strings.Contains(l, `"input"`) {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, "\n")
}

// TestKilledJob kills seqkit (kill -9) while its prism job is writing shards:
// the folder is not taken for a dataset (no manifest; training from it is
// refused), and the same command run again finishes with the bytes of an
// uninterrupted run.
func TestKilledJob(t *testing.T) {
	buildBeam(t)
	dir := t.TempDir()
	corpus := filepath.Join(dir, "corpus")
	os.Mkdir(corpus, 0o755)
	for s := range 8 {
		os.WriteFile(filepath.Join(corpus, fmt.Sprintf("part-%d.conll", s)), synth.TaipeiCoNLL(6000, uint64(s), 0), 0o644)
	}
	os.WriteFile(filepath.Join(dir, "r.yaml"), []byte("extends: taipei\ndata:\n  prepared: prep\n"), 0o644)
	recipe := fmt.Sprintf("name: killed\ndata:\n  train: {path: %q, format: conll}\n  tokenizer: {lower: true}\ntask: {type: tagging}\n", corpus)
	os.WriteFile(filepath.Join(dir, "corpus.yaml"), []byte(recipe), 0o644)
	if res := seqkit(t, dir, "data", "prepare", "corpus.yaml", "-o", "one"); res.code != 0 {
		t.Fatalf("prepare: %s", res.stderr)
	}
	want := tasktest.TreeSums(t, filepath.Join(dir, "one"))

	cmd := start(t, dir, io.Discard, "data", "prepare", "corpus.yaml", "-o", "prep", "--runner", "prism")
	first := filepath.Join(dir, "prep", "train", "part-00000.arrow")
	if !waitFor(60*time.Second, exists(first)) {
		t.Fatal("no shard written")
	}
	cmd.Process.Kill()
	cmd.Wait()
	time.Sleep(200 * time.Millisecond) // seqkit-beam dies with it
	if _, err := os.Stat(filepath.Join(dir, "prep", "manifest.json")); err == nil {
		t.Skip("the job finished before it was killed: no kill to check on this machine")
	}
	if res := seqkit(t, dir, "train", "r.yaml", "-o", "run"); res.code == 0 || !strings.Contains(res.stderr, "has no manifest.json") {
		t.Errorf("training from a killed preparation: exit %d %s", res.code, res.stderr)
	}
	if res := seqkit(t, dir, "data", "prepare", "corpus.yaml", "-o", "prep", "--runner", "prism"); res.code != 0 {
		t.Fatalf("prepare again: %s", res.stderr)
	}
	got := tasktest.TreeSums(t, filepath.Join(dir, "prep"))
	if len(got) != len(want) {
		t.Errorf("after a kill and a rerun: %d files, an uninterrupted run %d (%v)", len(got), len(want), got)
	}
	for f, s := range want {
		if got[f] != s {
			t.Errorf("%s differs after a kill and a rerun", f)
		}
	}
}

var (
	beamOnce sync.Once
	beamErr  error
)

// buildBeam builds seqkit-beam beside the seqkit under test, where --runner
// looks first, once.
func buildBeam(t *testing.T) {
	t.Helper()
	beamOnce.Do(func() {
		if out, err := gobuild.Command("-o", filepath.Join(filepath.Dir(bin), "seqkit-beam"), "../seqkit-beam").CombinedOutput(); err != nil {
			beamErr = fmt.Errorf("go build seqkit-beam: %v\n%s", err, out)
		}
	})
	if beamErr != nil {
		t.Fatal(beamErr)
	}
}

// TestSkipErrorsPrism: with data.skip_errors the Beam job skips a bad
// training example where one process does, and keeps it in rejects/ with
// its shard, row and reason.
func TestSkipErrorsPrism(t *testing.T) {
	buildBeam(t)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "train.jsonl"), []byte("{\"text\": \"a b\", \"label\": \"x\"}\nnot json\n{\"text\": \"b c\", \"label\": \"y\"}\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "r.yaml"), []byte("name: se\ndata:\n  train: {path: train.jsonl, columns: {text: text, label: label}}\n  skip_errors: true\ntask: {type: classify}\n"), 0o644)
	one := seqkit(t, dir, "data", "prepare", "r.yaml", "-o", "one")
	res := seqkit(t, dir, "data", "prepare", "r.yaml", "-o", "beam", "--runner", "prism")
	if one.code != 0 || res.code != 0 || res.stdout != strings.Replace(one.stdout, "one", "beam", -1) {
		t.Fatalf("prepare: exit %d and %d\n%s%s\n%s", one.code, res.code, one.stdout, res.stderr, res.stdout)
	}
	a, b := tasktest.TreeSums(t, filepath.Join(dir, "one")), tasktest.TreeSums(t, filepath.Join(dir, "beam"))
	for _, f := range []string{"manifest.json", "vocab/input.txt", "vocab/labels.txt", "train/part-00000.arrow"} {
		if a[f] == "" || a[f] != b[f] {
			t.Errorf("%s differs with --runner prism", f)
		}
	}
	rej, _ := os.ReadFile(filepath.Join(dir, "beam", "rejects", "train-00000.jsonl"))
	if !strings.Contains(string(rej), `"shard":0,"row":2`) || !strings.Contains(string(rej), "invalid JSON") {
		t.Errorf("rejects/ %q", rej)
	}
}
