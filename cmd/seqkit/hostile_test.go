package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/seqkit/seqkit/tasks/rundir"
)

// TestSparseCSV reads a 2 GB file of zero bytes (sparse: it takes no disk) as
// CSV under a memory cap: encoding/csv alone would buffer the whole line.
// It must be refused at the line limit with the file named, its peak RSS
// under 256 MB (it stops near 8 MiB).
func TestSparseCSV(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "x.csv")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(2 << 30); err != nil {
		t.Fatal(err)
	}
	f.Close()
	for _, header := range []bool{false, true} {
		if header {
			f, _ := os.OpenFile(p, os.O_WRONLY, 0)
			f.WriteString("text,label\n")
			f.Close()
		}
		cmd := command(dir, "data", "inspect", p, "--text", "text", "--label", "label")
		cmd.Env = append(cmd.Env, "GOMEMLIMIT=256MiB")
		// A child's peak RSS counts its parent's from before exec (Go starts
		// it with vfork), so under -race the test's own memory would be
		// measured; GNU time starts seqkit from a small process.
		rssFile := filepath.Join(dir, "rss")
		if gnuTime, err := exec.LookPath("/usr/bin/time"); err == nil {
			cmd.Args = append([]string{gnuTime, "-f", "%M", "-o", rssFile}, cmd.Args...)
			cmd.Path = gnuTime
		}
		res := run(t, cmd)
		if b, err := os.ReadFile(rssFile); err == nil {
			// "Command exited with non-zero status 1", then the figure.
			words := strings.Fields(string(b))
			if len(words) == 0 {
				t.Fatalf("GNU time wrote nothing to %s", rssFile)
			}
			kb, err := strconv.ParseInt(words[len(words)-1], 10, 64)
			if err != nil {
				t.Fatalf("GNU time wrote %q", b)
			}
			res.maxRSSKB = kb
			os.Remove(rssFile)
		}
		line := map[bool]string{false: "x.csv:1:", true: "x.csv:2:"}[header]
		if want := line + " the record starting here is longer than 8388608 bytes (data.limits.max_line_bytes)"; res.code != 1 || !strings.Contains(res.stderr, want) {
			t.Errorf("header %v: exit %d, stderr %q; want 1 and %q", header, res.code, res.stderr, want)
		}
		t.Logf("header %v: peak RSS %d KB", header, res.maxRSSKB)
		if res.maxRSSKB > 256<<10 {
			t.Errorf("header %v: peak RSS %d MB, over the 256 MB bound", header, res.maxRSSKB>>10)
		}
	}
}

// TestForceLock starts a second run with --force on the folder of a run in
// progress: it is refused (the lock is held), and the first run finishes
// whole. --force then replaces a finished run, but not files seqkit did not
// write there.
func TestForceLock(t *testing.T) {
	dir := t.TempDir()
	var stderr bytes.Buffer
	first := start(t, dir, &stderr, "run", "taipei", "-o", "d", "--set", "train.epochs=4")
	if !waitFor(60*time.Second, exists(filepath.Join(dir, "d/checkpoints/last/loop.json"))) {
		first.Process.Kill()
		t.Fatalf("the first run wrote no checkpoint: %s", stderr.String())
	}
	res := seqkit(t, dir, "run", "taipei", "-o", "d", "--force")
	if want := "run directory d is in use by another seqkit process"; res.code != 2 || !strings.Contains(res.stderr, want) {
		t.Errorf("--force on a held folder: exit %d, stderr %q; want 2 and %q", res.code, res.stderr, want)
	}
	if err := first.Wait(); err != nil {
		t.Fatalf("the first run failed beside --force: %v\n%s", err, stderr.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "d", rundir.ReportFile)); err != nil {
		t.Errorf("the first run lost its report: %v", err)
	}

	os.WriteFile(filepath.Join(dir, "d/notes.txt"), []byte("mine\n"), 0o644)
	res = seqkit(t, dir, "run", "taipei", "-o", "d", "--force", "--set", "train.epochs=1")
	if want := "holds files seqkit did not write (notes.txt)"; res.code != 2 || !strings.Contains(res.stderr, want) {
		t.Errorf("--force over a user's file: exit %d, stderr %q; want 2 and %q", res.code, res.stderr, want)
	}
	if _, err := os.Stat(filepath.Join(dir, "d/notes.txt")); err != nil {
		t.Errorf("--force deleted the user's file: %v", err)
	}
	os.Remove(filepath.Join(dir, "d/notes.txt"))
	if res := seqkit(t, dir, "run", "taipei", "-o", "d", "--force", "--set", "train.epochs=1"); res.code != 0 {
		t.Errorf("--force over a finished run: exit %d, %s", res.code, res.stderr)
	}
}

// TestModelTooLarge: sizes past model.limits are refused by validation, naming
// the key, and by run before a run directory is made; a vocabulary that makes
// the model too large is refused once it is counted, before a weight is
// allocated. The limit is raised in the recipe.
func TestModelTooLarge(t *testing.T) {
	dir := t.TempDir()
	for _, set := range []string{"model.hidden=1000000", "model.hidden=9223372036854775807", "model.embedding=4000000000", "model.layers=100000000"} {
		key, _, _ := strings.Cut(set, "=")
		for _, cmd := range []string{"recipe validate", "run"} {
			args := append(strings.Fields(cmd), "taipei", "--set", set)
			if cmd == "run" {
				args = append(args, "-o", "r")
			}
			res := seqkit(t, dir, args...)
			if want := key + ": the model would have"; res.code != 2 || !strings.Contains(res.stderr, want) || strings.Contains(res.stderr, "panic") {
				t.Errorf("%s --set %s: exit %d, stderr %q; want 2 and %q", cmd, set, res.code, res.stderr, want)
			}
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "r")); err == nil {
		t.Errorf("a refused run made its run directory")
	}
	// 300,000 distinct words at embeddings of 2000: 600 million parameters.
	var b strings.Builder
	b.WriteString("text,label\n")
	for i := range 300_000 {
		fmt.Fprintf(&b, "w%d,a\n", i)
	}
	os.WriteFile(filepath.Join(dir, "big.csv"), []byte(b.String()), 0o644)
	os.WriteFile(filepath.Join(dir, "big.yaml"), []byte("data:\n  train: {path: big.csv, columns: {text: text, label: label}}\nmodel: {embedding: 2000, hidden: 8}\ntask: {type: classify}\n"), 0o644)
	res := seqkit(t, dir, "train", "big.yaml", "-o", "big")
	if want := "model.embedding: the model would have 6e+08 parameters"; res.code != 2 || !strings.Contains(res.stderr, want) || !strings.Contains(res.stderr, "input 300004, output 1") {
		t.Errorf("a vocabulary too large for the model: exit %d, stderr %q; want 2 and %q", res.code, res.stderr, want)
	}
	if res.maxRSSKB > 1<<20 {
		t.Errorf("refusing it took %d MB", res.maxRSSKB>>10)
	}
}

// TestStopAnywhere sends the first Ctrl-C or SIGTERM to commands other than
// training, in the middle of their work: each must stop within a second or
// (the grace is 0.75 s), exit 130 or 143 and leave no temporary file.
// predict stops at its next batch; a command blocked on a read (a pipe that
// never ends, or a FIFO) is stopped when the grace runs out.
func TestStopAnywhere(t *testing.T) {
	run, _ := demo(t)
	dir := t.TempDir()
	var b strings.Builder
	for i := range 400_000 {
		fmt.Fprintf(&b, "arrive taipei on november %dnd\n", i%30)
	}
	big := filepath.Join(dir, "big.txt")
	os.WriteFile(big, []byte(b.String()), 0o644)
	fifo := filepath.Join(dir, "fifo.txt")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	// A run whose test split becomes a FIFO after training: eval blocks on it.
	for _, split := range []string{"train", "dev", "test"} {
		b, _ := os.ReadFile(filepath.Join(run, "data", split+".conll"))
		os.WriteFile(filepath.Join(dir, split+".conll"), b, 0o644)
	}
	os.WriteFile(filepath.Join(dir, "r.yaml"), []byte("data: {train: {path: train.conll}, dev: {path: dev.conll}, test: {path: test.conll}}\ntask: {type: tagging}\ntrain: {epochs: 1}\n"), 0o644)
	if res := seqkit(t, dir, "train", "r.yaml", "-o", "er"); res.code != 0 {
		t.Fatalf("training the eval run: %s", res.stderr)
	}
	os.Remove(filepath.Join(dir, "test.conll"))
	syscall.Mkfifo(filepath.Join(dir, "test.conll"), 0o644)
	cases := []struct {
		name  string
		args  []string
		stdin bool // a pipe that never closes
	}{
		{"predict", []string{"predict", "-m", run, "--input", big, "--output", filepath.Join(dir, "o.jsonl")}, false},
		{"predict from stdin", []string{"predict", "-m", run, "--input", "-", "--output", filepath.Join(dir, "o.jsonl")}, true},
		{"data inspect of a FIFO", []string{"data", "inspect", fifo}, false},
		{"eval of a FIFO split", []string{"eval", "-m", "er", "--split", "test"}, false},
	}
	for _, c := range cases {
		for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
			t.Run(c.name+" "+sig.String(), func(t *testing.T) {
				cmd := command(dir, c.args...)
				var stderr bytes.Buffer
				cmd.Stderr = &stderr
				if c.stdin {
					pr, pw, _ := os.Pipe()
					defer pw.Close()
					defer pr.Close()
					pw.WriteString("arrive taipei\n")
					cmd.Stdin = pr
				}
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				time.Sleep(700 * time.Millisecond)
				sent := time.Now()
				cmd.Process.Signal(sig)
				done := make(chan struct{})
				go func() { cmd.Wait(); close(done) }()
				select {
				case <-done:
				case <-time.After(10 * time.Second):
					cmd.Process.Kill()
					<-done
					t.Fatalf("still running 10 s after the signal")
				}
				took := time.Since(sent)
				want := map[syscall.Signal]int{syscall.SIGINT: 130, syscall.SIGTERM: 143}[sig]
				if code := cmd.ProcessState.ExitCode(); code != want || !strings.Contains(stderr.String(), "seqkit: stopped by") {
					t.Errorf("exit %d, stderr %q; want %d", code, stderr.String(), want)
				}
				if took > 2*time.Second { // the grace and a loaded machine's delay
					t.Errorf("took %v to stop", took)
				}
				left, _ := filepath.Glob(filepath.Join(dir, ".*tmp*"))
				if len(left) > 0 {
					t.Errorf("left %v", left)
				}
			})
		}
	}
}

// TestMessages: errors that named no file, pointed at the wrong line, or
// exited with the wrong code.
func TestMessages(t *testing.T) {
	run, _ := demo(t)
	dir := t.TempDir()
	write := func(name, data string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(data), 0o644)
		return p
	}
	// predict's max_tokens error names the input file.
	m := filepath.Join(dir, "m")
	copyDir(t, run, m)
	rp := filepath.Join(m, rundir.RecipeFile)
	b, _ := os.ReadFile(rp)
	os.WriteFile(rp, []byte(strings.Replace(string(b), "  limits: {}", "  limits: {max_tokens: 10}", 1)), 0o644)
	in := write("in.txt", "arrive taipei\n"+strings.Repeat("taipei ", 20)+"\n")
	res := seqkit(t, dir, "predict", "-m", m, "--input", in, "--output", filepath.Join(dir, "o.jsonl"))
	if want := in + ":2: the input has 20 tokens, more than the limit of 10"; res.code != 1 || !strings.Contains(res.stderr, want) {
		t.Errorf("predict over max_tokens: exit %d, %q; want 1 and %q", res.code, res.stderr, want)
	}

	os.Mkdir(filepath.Join(dir, "folder"), 0o755)
	fifo := filepath.Join(dir, "fifo.yaml")
	syscall.Mkfifo(fifo, 0o644)
	pluginRecipe := func(name, sha string) string {
		return write(fmt.Sprintf("p%d.yaml", len(name)+len(sha)), fmt.Sprintf("data: {train: {path: in.txt, format: text}}\ntask: {type: plugin, name: %q, sha256: %q}\n", name, sha))
	}
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"a folder as the recipe", []string{"recipe", "validate", filepath.Join(dir, "folder")}, 2, "folder: a directory, not a recipe file"},
		{"extends a folder", []string{"recipe", "validate", write("e1.yaml", "extends: folder\n")}, 2, "e1.yaml:1:10: extends: folder is a directory, not a recipe file"},
		{"extends a FIFO", []string{"recipe", "validate", write("e2.yaml", "extends: fifo.yaml\n")}, 2, "e2.yaml:1:10: extends: fifo.yaml is a named pipe (FIFO), not a regular file"},
		{"extends /dev/stdin", []string{"recipe", "validate", write("e3.yaml", "extends: /dev/stdin\n")}, 2, "e3.yaml:1:10: extends: /dev/stdin is a"},
		{"plugin name ../x", []string{"recipe", "validate", pluginRecipe("../x", "")}, 2, `task.name: "../x" is not a plugin name`},
		{"plugin name /bin/sh", []string{"recipe", "validate", pluginRecipe("/bin/sh", "")}, 2, `task.name: "/bin/sh" is not a plugin name`},
		{"plugin sha256 zz", []string{"recipe", "validate", pluginRecipe("forecast", "zz")}, 2, `task.sha256: the pinned sha256 "zz" is not 64 hexadecimal digits`},
		{"unknown command", []string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{"unknown subcommand", []string{"data", "frob"}, 2, `unknown command "frob" for "seqkit data"`},
	}
	for _, c := range cases {
		cmd := command(dir, c.args...)
		cmd.Stdin = nil
		done := make(chan result, 1)
		go func() { done <- run2(t, cmd) }()
		select {
		case res := <-done:
			if res.code != c.code || !strings.Contains(res.stderr, c.want) {
				t.Errorf("%s: exit %d, %q; want %d and %q", c.name, res.code, res.stderr, c.code, c.want)
			}
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			t.Errorf("%s: still running after 20 s", c.name)
		}
	}

	// plugins list fails (exit 1) when a plugin does not start, listing the rest.
	pdir := filepath.Join(dir, "plugins")
	os.Mkdir(pdir, 0o755)
	os.WriteFile(filepath.Join(pdir, "seqkit-plugin-broken"), []byte("#!/bin/sh\necho broken >&2\nexit 3\n"), 0o755)
	res = seqkit(t, dir, "plugins", "list", "--plugin-dir", pdir)
	if res.code != 1 || !strings.Contains(res.stderr, "1 of 1 plugins did not start: broken") {
		t.Errorf("plugins list with a broken plugin: exit %d, %q", res.code, res.stderr)
	}
}

// TestPrepareGeneratedCache: data prepare of a recipe with generated data
// writes the splits to a fresh temporary folder every time; the cache must
// know them by their content, so the second call encodes nothing and adds no
// file.
func TestPrepareGeneratedCache(t *testing.T) {
	dir := t.TempDir()
	cache := filepath.Join(dir, ".cache", "seqkit")
	var counts []int
	for i := range 3 {
		res := seqkit(t, dir, "data", "prepare", "taipei")
		if res.code != 0 {
			t.Fatalf("data prepare: exit %d, %s", res.code, res.stderr)
		}
		if want := map[bool]string{true: "encoded", false: "cached"}[i == 0]; strings.Count(res.stdout, want) != 3 {
			t.Errorf("call %d: want three splits %s:\n%s", i+1, want, res.stdout)
		}
		files, _ := os.ReadDir(cache)
		counts = append(counts, len(files))
	}
	if counts[0] == 0 || counts[1] != counts[0] || counts[2] != counts[0] {
		t.Errorf("cache files after each call: %v; want the same number", counts)
	}
}

// TestLostWork: predict --output naming its input, two lines swapped in a
// run's tag vocabulary, and an epoch count near 2^63 are refused instead of
// overwriting the input, predicting wrong tags or overflowing the step count.
func TestLostWork(t *testing.T) {
	run, _ := demo(t)
	dir := t.TempDir()
	in := filepath.Join(dir, "in.jsonl")
	os.WriteFile(in, []byte(`{"text": "arrive taipei"}`+"\n"), 0o644)
	res := seqkit(t, dir, "predict", "-m", run, "--input", in, "--output", in)
	if res.code != 2 || !strings.Contains(res.stderr, "is the input file") {
		t.Errorf("--output = --input: exit %d, %q", res.code, res.stderr)
	}
	if b, _ := os.ReadFile(in); string(b) != `{"text": "arrive taipei"}`+"\n" {
		t.Errorf("the input was overwritten: %q", b)
	}

	m := filepath.Join(dir, "m")
	copyDir(t, run, m)
	if res := seqkit(t, dir, "predict", "-m", m, "--input", in, "--output", filepath.Join(dir, "ok.jsonl")); res.code != 0 {
		t.Fatalf("the copied run: exit %d, %s", res.code, res.stderr)
	}
	p := filepath.Join(m, "vocab", "tags.txt")
	b, _ := os.ReadFile(p)
	lines := strings.Split(string(b), "\n")
	lines[3], lines[4] = lines[4], lines[3]
	os.WriteFile(p, []byte(strings.Join(lines, "\n")), 0o644)
	for _, args := range [][]string{
		{"predict", "-m", m, "--input", in, "--output", filepath.Join(dir, "o.jsonl")},
		{"eval", "-m", m},
	} {
		res := seqkit(t, dir, args...)
		if want := "vocab/tags.txt is not the vocabulary " + filepath.Join(m, "checkpoints/best") + " was trained with"; res.code != 2 || !strings.Contains(res.stderr, want) {
			t.Errorf("%s with swapped tags: exit %d, %q; want 2 and %q", args[0], res.code, res.stderr, want)
		}
	}

	res = seqkit(t, dir, "run", "taipei", "-o", "e", "--set", "train.epochs=9223372036854775000")
	if res.code != 2 || !strings.Contains(res.stderr, "train.epochs: must be at most 1000000") {
		t.Errorf("epochs near 2^63: exit %d, %q", res.code, res.stderr)
	}
}
