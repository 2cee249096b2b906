package pipeline

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
)

// MaxLineBytes bounds one line of a text-based source, so a file without newlines
// cannot make a reader buffer it whole.
const MaxLineBytes = 64 << 20

// lines reads a file line by line, counting lines from 1 and dropping the line end
// (\n or \r\n).
type lines struct {
	path string
	f    *os.File
	cr   *countingReader
	br   *bufio.Reader
	n    int
	buf  []byte
}

func openLines(path string) (*lines, error) {
	f, err := openFile(path)
	if err != nil {
		return nil, err
	}
	cr := newCountingReader(f)
	return &lines{path: path, f: f, cr: cr, br: bufio.NewReaderSize(cr, 1<<16)}, nil
}

// next returns the next line (valid until the following call) or io.EOF.
func (l *lines) next() ([]byte, error) {
	l.buf = l.buf[:0]
	for {
		chunk, err := l.br.ReadSlice('\n')
		l.buf = append(l.buf, chunk...)
		if len(l.buf) > MaxLineBytes {
			return nil, badf(l.path, l.n+1, 0, "line longer than %d bytes", MaxLineBytes)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err == io.EOF && len(l.buf) == 0 {
			return nil, io.EOF
		}
		if err != nil && err != io.EOF {
			return nil, fmt.Errorf("pipeline: %s: %w", l.path, err)
		}
		l.n++
		return bytes.TrimSuffix(bytes.TrimSuffix(l.buf, []byte("\n")), []byte("\r")), nil
	}
}

func (l *lines) close() error { return l.f.Close() }

// countingReader counts the bytes read from a file, for progress reports.
type countingReader struct {
	r     io.Reader
	n     int64
	total int64
}

func newCountingReader(f *os.File) *countingReader {
	c := &countingReader{r: f}
	if st, err := f.Stat(); err == nil {
		c.total = st.Size()
	}
	return c
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func (c *countingReader) progress() (done, total int64) { return c.n, c.total }
