package pipeline

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"sync/atomic"
)

// lines reads a file line by line, counting lines from 1 and dropping the line end
// (\n or \r\n).
type lines struct {
	path string
	max  int
	cr   *countingReader
	br   *bufio.Reader
	n    int
	buf  []byte
	eol  bool // the last line read ended with a line end (the file's last may not)
	// tooLong is whether next's last error was a line over max.
	tooLong bool
	// data, when cr is nil, is a chunk of the file in memory (chunks.go)
	// whose lines next returns in place.
	data []byte
}

// chunkLines reads the lines of a chunk of path held in memory, numbered
// from base+1: what a worker of a parallel read parses.
func chunkLines(path string, max int, data []byte, base int) *lines {
	return &lines{path: path, max: max, data: data, n: base}
}

func openLines(path string, max int) (*lines, error) {
	cr, err := openCounting(path)
	if err != nil {
		return nil, err
	}
	return &lines{path: path, max: max, cr: cr, br: bufio.NewReaderSize(cr, 1<<16)}, nil
}

// next returns the next line (valid until the following call) or io.EOF.
func (l *lines) next() ([]byte, error) {
	l.buf = l.buf[:0]
	l.tooLong = false
	if l.cr == nil {
		return l.nextInChunk()
	}
	for {
		chunk, err := l.br.ReadSlice('\n')
		if err == nil && len(l.buf) == 0 && len(chunk) <= l.max {
			// The whole line is in the reader's buffer: return it from
			// there (valid until the next call, as promised) rather than
			// copying every byte of the file once more.
			l.n++
			l.eol = true
			line := bytes.TrimSuffix(chunk[:len(chunk)-1], []byte("\r"))
			return line[:len(line):len(line)], nil // an append cannot reach the buffer
		}
		l.buf = append(l.buf, chunk...)
		if len(l.buf) > l.max {
			// Skip the rest of the line so that reading can go on at the next one.
			for err == bufio.ErrBufferFull {
				_, err = l.br.ReadSlice('\n')
			}
			l.n++
			l.buf = l.buf[:0]
			l.tooLong = true
			return nil, badf(l.path, l.n, 0, "line longer than %d bytes (data.limits.max_line_bytes): a file without line ends, or raise the limit", l.max)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err == io.EOF && len(l.buf) == 0 {
			return nil, io.EOF
		}
		if err != nil && err != io.EOF {
			if _, ok := err.(*Error); ok { // a shard that does not decompress
				return nil, err
			}
			return nil, fmt.Errorf("pipeline: %s: %w", l.path, err)
		}
		l.n++
		l.eol = bytes.HasSuffix(l.buf, []byte("\n"))
		return bytes.TrimSuffix(bytes.TrimSuffix(l.buf, []byte("\n")), []byte("\r")), nil
	}
}

// nextInChunk is next for a chunk in memory. The framer (chunks.go) cut
// the chunk at line ends and left out lines over max, so the serial reader
// reports those.
func (l *lines) nextInChunk() ([]byte, error) {
	if len(l.data) == 0 {
		return nil, io.EOF
	}
	line := l.data
	l.eol = false
	if i := bytes.IndexByte(l.data, '\n'); i >= 0 {
		line, l.data, l.eol = l.data[:i], l.data[i+1:], true
	} else {
		l.data = nil
	}
	l.n++
	if n := len(line); n > l.max || l.eol && n+1 > l.max { // the bound counts the '\n', as next's does
		l.tooLong = true
		return nil, badf(l.path, l.n, 0, "line longer than %d bytes (data.limits.max_line_bytes): a file without line ends, or raise the limit", l.max)
	}
	line = bytes.TrimSuffix(line, []byte("\r"))
	return line[:len(line):len(line)], nil
}

func (l *lines) close() error {
	if l.cr == nil {
		return nil
	}
	return l.cr.close()
}

// countingReader reads a text file, decompressed when its name ends in .gz or
// .zst, and counts the file's bytes read, for progress reports. It drops a UTF-8
// byte-order mark at the start of the text, as every reader of text does (one
// rule for CSV, TSV, JSON Lines, CoNLL, text and dictionaries).
type countingReader struct {
	r       io.Reader // the text
	file    *counter  // the file's bytes, compressed or not
	total   int64
	started bool
	closers []func() error
}

// counter counts the bytes read through it. The count is atomic: in a
// parallel read (chunks.go) the framer reads while Next reports progress.
type counter struct {
	r io.Reader
	n atomic.Int64
}

func (c *counter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

func openCounting(path string) (*countingReader, error) {
	f, err := openFile(path)
	if err != nil {
		return nil, err
	}
	c := &countingReader{file: &counter{r: f}, closers: []func() error{f.Close}}
	if st, err := f.Stat(); err == nil {
		c.total = st.Size()
	}
	c.r, err = decompress(path, c.file, c)
	if err != nil {
		f.Close()
		return nil, err
	}
	return c, nil
}

func (c *countingReader) Read(p []byte) (int, error) {
	if !c.started {
		// Read the first three bytes and put them back unless they are a BOM.
		c.started = true
		var head [3]byte
		n, err := io.ReadFull(c.r, head[:])
		if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
			return 0, err
		}
		if bytes.Equal(head[:n], bom) {
			n = 0
		}
		c.r = io.MultiReader(bytes.NewReader(head[:n]), c.r)
	}
	return c.r.Read(p)
}

var bom = []byte("\ufeff")

func (c *countingReader) progress() (done, total int64) { return c.file.n.Load(), c.total }

// close closes the decompressor and the file.
func (c *countingReader) close() error {
	var err error
	for i := len(c.closers) - 1; i >= 0; i-- {
		if e := c.closers[i](); e != nil && err == nil {
			err = e
		}
	}
	c.closers = nil
	return err
}
