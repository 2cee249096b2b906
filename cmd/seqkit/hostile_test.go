package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
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
