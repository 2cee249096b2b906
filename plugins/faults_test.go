package plugins_test

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seqkit/seqkit/plugins"
)

// TestFaults: a plugin that exits during the handshake, writes garbage to its
// standard output, speaks another protocol version, crashes or hangs in a
// training step, or whose binary changed under a pin, gives the user a clear
// error with its last lines of standard error, and leaves no process behind.
func TestFaults(t *testing.T) {
	dir := t.TempDir()
	bin := buildPlugin(t, dir)
	writeData(t, filepath.Join(dir, "train.jsonl"), 60, 1)
	writeData(t, filepath.Join(dir, "dev.jsonl"), 20, 2)
	script(t, dir, "dies", `echo "dies: cannot open its model file" >&2; exit 3`)
	script(t, dir, "garbage", `echo "hello from a careless plugin"; sleep 2`)
	script(t, dir, "future", `echo "1|2|unix|/tmp/nowhere.sock|grpc|"; sleep 2`)
	cases := []struct {
		name, task, fault string
		want              []string
	}{
		{"handshake exit", "{type: plugin, name: dies}", "", []string{"dies", "cannot open its model file"}},
		{"garbage", "{type: plugin, name: garbage}", "", []string{"garbage", "hello from a careless plugin"}},
		{"protocol", "{type: plugin, name: future}", "", []string{"future", "version"}},
		{"crash", "{type: plugin, name: testclassify}", "crash", []string{"train step", "exited", "crashing on purpose"}},
		{"hang", "{type: plugin, name: testclassify}", "hang", []string{"train step", "deadline", "hanging on purpose"}},
		// The test predictions' plugin is stopped; the training one is the
		// host's to stop, as the CLI does on every way out.
		{"huge answer", "{type: plugin, name: testclassify}", "huge", []string{"predict", "larger than max", "vs. 67108864"}},
		{"missing", "{type: plugin, name: nosuch}", "", []string{"no plugin \"nosuch\"", dir}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv("SEQKIT_TESTPLUGIN_FAULT", c.fault)
			h := &plugins.Host{Dirs: []string{dir}, CallTimeout: 3 * time.Second, StartTimeout: 3 * time.Second}
			defer h.Close()
			start := time.Now()
			_, err := run(t, h, recipe(t, dir, c.task))
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if d := time.Since(start); d > 20*time.Second {
				t.Errorf("took %v to fail", d)
			}
			if c.fault == "huge" {
				h.Close()
			}
			noChildren(t)
		})
	}
	// A pinned binary that changed is refused before it starts.
	t.Run("changed binary", func(t *testing.T) {
		sum, err := plugins.FileSHA256(bin)
		if err != nil {
			t.Fatal(err)
		}
		f, err := os.OpenFile(bin, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		f.Write([]byte("tampered"))
		f.Close()
		h := &plugins.Host{Dirs: []string{dir}}
		defer h.Close()
		_, err = run(t, h, recipe(t, dir, "{type: plugin, name: testclassify, sha256: "+sum+"}"))
		if err == nil || !strings.Contains(err.Error(), "pins "+sum) || !strings.Contains(err.Error(), "refusing") {
			t.Errorf("error %v, want a refusal naming the pinned sha256", err)
		}
		noChildren(t)
	})
}

// TestStdoutHygiene: a plugin that prints to standard output before serving and
// while training still completes the handshake and the run; its lines show in
// the host's log, prefixed with its name.
func TestStdoutHygiene(t *testing.T) {
	dir := t.TempDir()
	buildPlugin(t, dir)
	writeData(t, filepath.Join(dir, "train.jsonl"), 60, 1)
	writeData(t, filepath.Join(dir, "dev.jsonl"), 20, 2)
	t.Setenv("SEQKIT_TESTPLUGIN_FAULT", "print")
	var log strings.Builder
	h := &plugins.Host{Dirs: []string{dir}, Log: &syncWriter{w: &log}}
	defer h.Close()
	if _, err := run(t, h, recipe(t, dir, "{type: plugin, name: testclassify}")); err != nil {
		t.Fatal(err)
	}
	h.Close()
	for _, want := range []string{"[testclassify] a line printed before Serve", "[testclassify] a line printed during a training step"} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("the host's log lacks %q:\n%s", want, log.String())
		}
	}
	noChildren(t)
}

type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(b)
}

// TestLockFile: a plugin pinned by its folder's lock file is refused once its
// binary changes.
func TestLockFile(t *testing.T) {
	dir := t.TempDir()
	bin := buildPlugin(t, dir)
	writeData(t, filepath.Join(dir, "train.jsonl"), 60, 1)
	writeData(t, filepath.Join(dir, "dev.jsonl"), 20, 2)
	pins, err := plugins.WriteLock(dir)
	if err != nil || len(pins) != 1 {
		t.Fatalf("lock: %v %v", pins, err)
	}
	h := &plugins.Host{Dirs: []string{dir}}
	defer h.Close()
	if _, err := run(t, h, recipe(t, dir, "{type: plugin, name: testclassify}")); err != nil {
		t.Fatalf("the locked plugin, unchanged: %v", err)
	}
	h.Close()
	f, err := os.OpenFile(bin, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("tampered"))
	f.Close()
	_, err = run(t, h, recipe(t, dir, "{type: plugin, name: testclassify}"))
	if err == nil || !strings.Contains(err.Error(), pins["testclassify"]) || !strings.Contains(err.Error(), plugins.LockFile) {
		t.Errorf("changed binary under a lock file: error %v", err)
	}
	noChildren(t)
}
