package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seqkit/seqkit/tasks"
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
		res := run(t, cmd)
		line := map[bool]string{false: "x.csv:1:", true: "x.csv:2:"}[header]
		if want := line + " the record starting here is longer than 8388608 bytes (data.limits.max_line_bytes)"; res.code != 1 || !strings.Contains(res.stderr, want) {
			t.Errorf("header %v: exit %d, stderr %q; want 1 and %q", header, res.code, res.stderr, want)
		}
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
	if _, err := os.Stat(filepath.Join(dir, "d", tasks.ReportFile)); err != nil {
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
