package pipeline

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"unicode/utf8"
)

// VectorFormat names a file of pretrained word vectors.
type VectorFormat string

// The formats of word-vector files: word2vec's (a "count dimension" header,
// then one word a line with its numbers as text, or as raw float32 in the
// binary variant, which ReadVectors recognises), fastText's .vec (word2vec's
// text format) and GloVe's (word2vec's text lines without a header).
const (
	Word2Vec    VectorFormat = "word2vec"
	FastTextVec VectorFormat = "fasttext_vec"
	GloVe       VectorFormat = "glove"
)

// Bounds of a vector file, whatever it says of itself.
const (
	// MaxVectorDim bounds the dimension.
	MaxVectorDim = 4096
	// maxVectorWord bounds a word, in bytes.
	maxVectorWord = 1 << 10
	// maxVectorFloats bounds the numbers kept (1 GiB of float32), whatever
	// MaxWords says.
	maxVectorFloats = 1 << 28
)

// VectorsOptions control ReadVectors.
type VectorsOptions struct {
	Format VectorFormat
	// Keep, when set, selects the words whose vectors are kept (those of a
	// vocabulary); the others are read past. Nil keeps every word.
	Keep func(word string) bool
	// MaxWords bounds the words kept (0: 1,000,000; and at most 2^28
	// numbers in all): a file larger than the vocabulary it serves is read in
	// bounded memory.
	MaxWords int
}

// Vectors are the word vectors read from a file: Data holds Dim numbers for
// each of Words, in file order. A word the file holds twice keeps its first
// vector.
type Vectors struct {
	Dim   int
	Words []string
	Data  []float32
	// Total is the number of words in the file.
	Total int
}

// Vector returns the vector of the i-th word.
func (v *Vectors) Vector(i int) []float32 { return v.Data[i*v.Dim : (i+1)*v.Dim] }

// ReadVectors reads a word-vector file (plain, .gz or .zst). Every problem is
// an *Error with the file and line (the entry, for binary word2vec) and what
// is wrong: a bad header, a number that is not one, a line with another
// count of numbers than the dimension, a dimension over MaxVectorDim.
func ReadVectors(path string, opt VectorsOptions) (*Vectors, error) {
	if opt.MaxWords <= 0 {
		opt.MaxWords = 1_000_000
	}
	switch opt.Format {
	case Word2Vec, FastTextVec, GloVe:
	default:
		return nil, fmt.Errorf("pipeline: unknown vector format %q (want word2vec, fasttext_vec or glove)", opt.Format)
	}
	cr, err := openCounting(path)
	if err != nil {
		return nil, err
	}
	defer cr.close()
	br := bufio.NewReaderSize(cr, 1<<16)
	r := &vectorReader{path: path, br: br, opt: opt, v: &Vectors{}, seen: map[string]bool{}}
	if opt.Format != GloVe {
		if err := r.header(); err != nil {
			return nil, err
		}
		if opt.Format == Word2Vec {
			if r.binary, err = looksBinary(br); err != nil {
				return nil, fmt.Errorf("pipeline: %s: %w", path, err)
			}
		}
	}
	if r.binary {
		err = r.readBinary()
	} else {
		err = r.readText()
	}
	if err != nil {
		return nil, err
	}
	if r.declared > 0 && r.v.Total != r.declared {
		return nil, badf(path, 1, 0, "the header says %d words, the file holds %d: a file cut short?", r.declared, r.v.Total)
	}
	if r.v.Total == 0 {
		return nil, &Error{Path: path, Err: errors.New("no vectors in the file")}
	}
	return r.v, nil
}

// vectorReader is the state of one ReadVectors.
type vectorReader struct {
	path     string
	br       *bufio.Reader
	opt      VectorsOptions
	v        *Vectors
	seen     map[string]bool // words kept
	line     int
	declared int // words the header announces
	binary   bool
}

// header reads word2vec's "count dimension" line.
func (r *vectorReader) header() error {
	line, err := r.next(64)
	if err != nil {
		return err
	}
	f := bytes.Fields(line)
	if len(f) != 2 {
		return badf(r.path, r.line, 0, "want a header of two numbers, the word count and the dimension, got %s (a GloVe file has no header: format glove)", clip(line))
	}
	n, err1 := strconv.Atoi(string(f[0]))
	d, err2 := strconv.Atoi(string(f[1]))
	if err1 != nil || err2 != nil || n < 0 || d < 1 {
		return badf(r.path, r.line, 0, "want a header of two numbers, the word count and the dimension, got %s", clip(line))
	}
	if d > MaxVectorDim {
		return badf(r.path, r.line, 0, "dimension %d is over %d", d, MaxVectorDim)
	}
	r.declared, r.v.Dim = n, d
	return nil
}

// next returns the next line without its end, at most max bytes long.
func (r *vectorReader) next(max int) ([]byte, error) {
	var buf []byte
	for {
		chunk, err := r.br.ReadSlice('\n')
		buf = append(buf, chunk...)
		if len(buf) > max {
			return nil, badf(r.path, r.line+1, 0, "line longer than %d bytes: not a word-vector file of dimension %d", max, r.v.Dim)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err == io.EOF && len(buf) == 0 {
			return nil, io.EOF
		}
		if err != nil && err != io.EOF {
			return nil, fmt.Errorf("pipeline: %s: %w", r.path, err)
		}
		r.line++
		return bytes.TrimRight(buf, "\r\n"), nil
	}
}

// readText reads "word v1 … vD" lines. A GloVe file's dimension is its first
// line's; a word may hold spaces (GloVe's 840B file has some): the last D
// fields are the numbers.
func (r *vectorReader) readText() error {
	max := maxVectorWord + 32*MaxVectorDim
	if r.v.Dim > 0 {
		max = maxVectorWord + 32*r.v.Dim
	}
	var nums []float32
	for {
		line, err := r.next(max)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		f := bytes.Fields(line)
		if r.v.Dim == 0 {
			if len(f)-1 > MaxVectorDim {
				return badf(r.path, r.line, 0, "dimension %d is over %d", len(f)-1, MaxVectorDim)
			}
			r.v.Dim = len(f) - 1
			if r.v.Dim < 1 {
				return badf(r.path, r.line, 0, "a word without numbers: want \"word v1 … vD\"")
			}
		}
		if len(f) < r.v.Dim+1 {
			return badf(r.path, r.line, 0, "%d numbers after the word, want %d (the dimension)", len(f)-1, r.v.Dim)
		}
		numStart := len(f) - r.v.Dim
		word := string(bytes.Join(f[:numStart], []byte(" ")))
		r.v.Total++
		if !r.wants(word) {
			continue
		}
		nums = nums[:0]
		for i, tok := range f[numStart:] {
			x, err := strconv.ParseFloat(string(tok), 32)
			if err != nil || math.IsInf(x, 0) || math.IsNaN(x) {
				return badf(r.path, r.line, 0, "number %d of %q is %s, not a finite number", i+1, word, clip(tok))
			}
			nums = append(nums, float32(x))
		}
		r.keep(word, nums)
	}
}

// readBinary reads word2vec's binary entries: the word, a space, D
// little-endian float32, and perhaps a line end.
func (r *vectorReader) readBinary() error {
	raw := make([]byte, 4*r.v.Dim)
	nums := make([]float32, r.v.Dim)
	for entry := 1; ; entry++ {
		// Line ends and spaces between entries are not part of a word.
		for {
			c, err := r.br.ReadByte()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return fmt.Errorf("pipeline: %s: %w", r.path, err)
			}
			if c != '\n' && c != ' ' && c != '\r' {
				r.br.UnreadByte()
				break
			}
		}
		w, err := r.br.ReadSlice(' ')
		if err == bufio.ErrBufferFull || len(w) > maxVectorWord {
			return badf(r.path, entry+1, 0, "entry %d: a word longer than %d bytes: not binary word2vec", entry, maxVectorWord)
		}
		if err != nil {
			return badf(r.path, entry+1, 0, "entry %d: the file ends inside a word (cut short?)", entry)
		}
		word := string(w[:len(w)-1])
		if !utf8.ValidString(word) {
			return badf(r.path, entry+1, 0, "entry %d: the word is not UTF-8", entry)
		}
		if _, err := io.ReadFull(r.br, raw); err != nil {
			return badf(r.path, entry+1, 0, "entry %d (%q): the file ends inside its vector (cut short?)", entry, word)
		}
		r.v.Total++
		if r.v.Total > r.declared && r.declared > 0 {
			return badf(r.path, entry+1, 0, "more entries than the %d the header says", r.declared)
		}
		if !r.wants(word) {
			continue
		}
		for i := range nums {
			x := math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
			if math.IsInf(float64(x), 0) || math.IsNaN(float64(x)) {
				return badf(r.path, entry+1, 0, "entry %d (%q): number %d is not finite", entry, word, i+1)
			}
			nums[i] = x
		}
		r.keep(word, nums)
	}
}

func (r *vectorReader) wants(word string) bool {
	limit := min(r.opt.MaxWords, maxVectorFloats/r.v.Dim)
	return !r.seen[word] && len(r.v.Words) < limit && (r.opt.Keep == nil || r.opt.Keep(word))
}

func (r *vectorReader) keep(word string, nums []float32) {
	r.seen[word] = true
	r.v.Words = append(r.v.Words, word)
	r.v.Data = append(r.v.Data, nums...)
}

// looksBinary reports whether the entries after a word2vec header are raw
// float32: text vectors are printable, four random bytes of a float rarely are.
func looksBinary(br *bufio.Reader) (bool, error) {
	head, err := br.Peek(4096)
	if err != nil && err != io.EOF && !errors.Is(err, bufio.ErrBufferFull) {
		return false, err
	}
	for _, c := range head {
		if c < 0x09 || (c > 0x0d && c < 0x20) || c == 0x7f {
			return true, nil
		}
	}
	return !utf8.Valid(trimPartialRune(head)), nil
}

// trimPartialRune drops a UTF-8 sequence cut at the end of b.
func trimPartialRune(b []byte) []byte {
	for i := 1; i <= utf8.UTFMax && i <= len(b); i++ {
		if utf8.RuneStart(b[len(b)-i]) {
			if !utf8.FullRune(b[len(b)-i:]) {
				return b[:len(b)-i]
			}
			break
		}
	}
	return b
}
