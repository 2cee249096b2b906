package progress

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestQuietWhenNotATerminal(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	report, finish := Bar(f, "reading")
	report(10, 100)
	report(100, 100)
	finish()
	if st, _ := f.Stat(); st.Size() != 0 {
		t.Fatalf("wrote %d bytes to a file that is not a terminal", st.Size())
	}
}

func TestDrawsOnATerminal(t *testing.T) {
	var buf bytes.Buffer
	report, finish := newBar(&buf, true, "reading train.tsv")
	report(50<<20, 100<<20)
	finish()
	out := buf.String()
	if !strings.Contains(out, "reading train.tsv") || !strings.Contains(out, "50%") || !strings.Contains(out, "MB") {
		t.Fatalf("bar output %q lacks the label or the byte counts", out)
	}
}
