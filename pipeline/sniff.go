package pipeline

import (
	"bytes"
	"io"
	"os"
	"strings"
)

// sniffBytes is how much of a file SniffCoNLL reads.
const sniffBytes = 64 << 10

// SniffCoNLL reports whether the file at path, named as text, looks like a
// CoNLL column file, and its columns: its first 64 KB hold at least five
// token lines, every one with the same number (2 to 20) of tab- or
// space-separated fields, and blank lines between them (comment and
// -DOCSTART- lines aside). Only regular files are sniffed. A text corpus has lines of every length; CoNLL-2000's
// train.txt, named .txt, is three columns a line. A file it cannot read is not
// CoNLL: opening it later says why.
func SniffCoNLL(path string) (cols int, ok bool) {
	if st, err := os.Stat(path); err != nil || !st.Mode().IsRegular() {
		return 0, false // a pipe or device is read once, by the reader
	}
	f, err := openFile(path)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	buf := make([]byte, sniffBytes)
	n, err := io.ReadFull(f, buf)
	buf = buf[:n]
	if err == nil {
		// A full buffer: its last line may be cut.
		if i := bytes.LastIndexByte(buf, '\n'); i >= 0 {
			buf = buf[:i]
		}
	}
	// gaps counts blank lines between token lines: sentence ends.
	lines, gaps, gap := 0, 0, false
	for _, line := range strings.Split(string(buf), "\n") {
		t := strings.TrimSpace(line)
		switch {
		case t == "":
			gap = lines > 0
			continue
		case strings.HasPrefix(t, "#") || strings.HasPrefix(t, "-DOCSTART-"):
			continue
		}
		var k int
		if strings.Contains(line, "\t") {
			k = strings.Count(strings.TrimRight(line, "\r"), "\t") + 1
		} else {
			k = len(strings.Fields(line))
		}
		if k < 2 || k > 20 || (cols != 0 && k != cols) {
			return 0, false
		}
		if gap {
			gaps++
		}
		cols, gap = k, false
		lines++
	}
	return cols, lines >= 5 && gaps >= 1
}
