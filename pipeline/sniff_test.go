package pipeline

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestSniffCoNLL(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		name, text string
		cols       int
	}{
		{"conll", "Confidence NN B-NP\nin IN B-PP\nthe DT B-NP\n\nChancellor NNP O\nsaid VBD B-VP\n.  .  O\n", 3},
		{"conllu", "# sent_id = 1\n1\tThe\tthe\tDET\n2\tcat\tcat\tNOUN\n\n1\tIt\tit\tPRON\n2\truns\trun\tVERB\n3\t.\t.\tPUNCT\n", 4},
		{"text", "the cat sat\non the mat\n\nand then it ran away\nfast\nvery fast\n", 0},
		{"names", "emma\nolivia\n\nava\nisabella\nsophia\nmia\n", 0},
		{"pairs without blank lines", "a b\nc d\ne f\ng h\ni j\nk l\n", 0},
		{"too few lines", "a B\n\nc D\n", 0},
	} {
		p := filepath.Join(dir, c.name+".txt")
		if err := os.WriteFile(p, []byte(c.text), 0o644); err != nil {
			t.Fatal(err)
		}
		if cols, ok := SniffCoNLL(p); ok != (c.cols > 0) || cols != c.cols && ok {
			t.Errorf("%s: got %d columns, %v; want %d", c.name, cols, ok, c.cols)
		}
	}
	// Only the first 64 KB are read, and a line cut at its end does not count.
	big := strings.Repeat("w POS B-X\n", 7000) + "\n" + strings.Repeat("w POS B-X\n", 1000)
	p := filepath.Join(dir, "big.txt")
	os.WriteFile(p, []byte(big), 0o644)
	if _, ok := SniffCoNLL(p); ok {
		t.Error("a file whose first 64 KB have no blank line was taken for CoNLL")
	}
	if _, ok := SniffCoNLL(filepath.Join(dir, "missing.txt")); ok {
		t.Error("a missing file was taken for CoNLL")
	}
}

// TestSniffFIFO: a named pipe is not opened (opening it would wait for a writer).
func TestSniffFIFO(t *testing.T) {
	p := filepath.Join(t.TempDir(), "fifo.txt")
	if err := syscall.Mkfifo(p, 0o644); err != nil {
		t.Skip("no FIFOs here:", err)
	}
	if _, ok := SniffCoNLL(p); ok {
		t.Error("a FIFO was taken for CoNLL")
	}
}
