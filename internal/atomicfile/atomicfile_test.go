package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// TestAtomic: a committed file replaces the old one; a write that fails, or
// an aborted one, leaves the old file and no temporary file.
func TestAtomic(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f.txt")
	if err := WriteFile(p, []byte("old")); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	if err := Write(p, func(w io.Writer) error { w.Write([]byte("half")); return boom }); !errors.Is(err, boom) {
		t.Fatalf("failed write: %v", err)
	}
	f, err := Create(p)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("aborted")
	f.Abort()
	if b, _ := os.ReadFile(p); string(b) != "old" {
		t.Errorf("after a failed and an aborted write: %q", b)
	}
	if err := WriteFile(p, []byte("new")); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); string(b) != "new" {
		t.Errorf("after a write: %q", b)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".*tmp*")); len(left) > 0 {
		t.Errorf("left %v", left)
	}
	if err := f.Commit(); err == nil {
		t.Errorf("commit after abort succeeded")
	}
}

// TestMode: a new file gets 0666 less the umask, as os.Create gives it, not
// os.CreateTemp's 0600; a replaced file keeps its own permissions.
func TestMode(t *testing.T) {
	dir := t.TempDir()
	plain := filepath.Join(dir, "plain")
	f, err := os.Create(plain)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	want, _ := os.Stat(plain)
	p := filepath.Join(dir, "new")
	if err := WriteFile(p, []byte("x")); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.Stat(p); got.Mode().Perm() != want.Mode().Perm() {
		t.Errorf("new file: mode %v, os.Create gives %v", got.Mode().Perm(), want.Mode().Perm())
	}
	if err := os.Chmod(p, 0o640); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(p, []byte("y")); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.Stat(p); got.Mode().Perm() != 0o640 {
		t.Errorf("replaced file: mode %v, want 0640", got.Mode().Perm())
	}
}
