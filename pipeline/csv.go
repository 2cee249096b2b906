package pipeline

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/seqkit/seqkit/internal/quote"
)

// csvSource reads CSV (RFC 4180 quoting) or TSV (fields split at tabs, no
// quoting, as TSV files are written). The first row is a header naming the
// columns unless the source says there is none; then columns are 1-based
// numbers, negative from the end. Every row must have as many fields as the
// first.
//
// A CSV line without a quote is split at its commas, as encoding/csv would
// split it, without its work: most of the time of reading a CSV file. A
// record with quotes goes to encoding/csv, which reads it from the same lines
// (lineFeed) and words the errors; blank lines are skipped, as it does.
type csvSource struct {
	path    string
	l       *lines
	tsv     bool
	r       *csv.Reader // CSV records with quotes
	feed    *lineFeed   // the lines r reads
	max     int         // longest record, in bytes
	end     int         // the line the last record read ended on
	n       int         // fields per row
	roles   []Role
	index   [numRoles]int
	pending []string // a headerless file's first row, read to count its fields
	pendAt  int
	fields  []string // a row's fields, reused from row to row
	// raw, when the mapping has no list column and a row is a line split at
	// its separators, is that line (valid until the next line is read) and
	// spans its fields' offsets: next hands the fields to the reader as bytes,
	// with no string made of the line (readRow's rawRow).
	raw   []byte
	spans []int
	lists bool // a column is a list: rows are strings (rawRow)
}

func openCSV(path string, format Format, cols Columns, noHeader bool, maxLine int) (*csvSource, error) {
	s := &csvSource{path: path, roles: cols.roles(), max: maxLine, tsv: format == TSV}
	l, err := openLines(path, maxLine)
	if err != nil {
		return nil, err
	}
	s.setLines(l)
	first, line, err := s.readRow()
	if err == io.EOF {
		s.close()
		return nil, &Error{Path: path, Err: errors.New("no examples: the file is empty")}
	}
	if err != nil {
		s.close()
		return nil, err
	}
	s.n = len(first)
	if noHeader {
		s.pending, s.pendAt = slices.Clone(first), line
		for _, role := range s.roles {
			i, err := columnNumber(cols.get(role), s.n)
			if err != nil {
				s.close()
				return nil, &Error{Path: path, Line: 1, Err: fmt.Errorf("%s: %w", role, err)}
			}
			s.index[role] = i
		}
		return s, nil
	}
	pos := map[string]int{}
	for i, h := range first {
		pos[h] = i
	}
	for _, role := range s.roles {
		i, ok := pos[cols.get(role)]
		if !ok {
			s.close()
			return nil, &Error{Path: path, Line: 1, Err: fmt.Errorf("no column %q for %s; the header has %s", cols.get(role), role, quoteList(first))}
		}
		s.index[role] = i
	}
	return s, nil
}

// setLines makes s read l.
func (s *csvSource) setLines(l *lines) {
	s.l = l
	s.feed = &lineFeed{l: l, max: s.max}
	s.r = csv.NewReader(s.feed)
	s.r.FieldsPerRecord = -1 // checked in next, with the same message as TSV
	s.lists = false
	for _, role := range s.roles {
		s.lists = s.lists || role.isList()
	}
}

// columnNumber turns a 1-based column number, negative from the end, into a
// 0-based index into rows of n fields.
func columnNumber(v string, n int) (int, error) {
	i, err := strconv.Atoi(v)
	if err != nil || i == 0 {
		return 0, fmt.Errorf("column %q is not a column number (1-based, -1 for the last)", v)
	}
	if i < 0 {
		i += n + 1
	}
	if i < 1 || i > n {
		return 0, fmt.Errorf("column %s, but the file has %d columns", v, n)
	}
	return i - 1, nil
}

// readRow reads the next row and the line it starts on.
func (s *csvSource) readRow() ([]string, int, error) {
	for {
		line, err := s.l.next()
		if err != nil {
			if s.l.tooLong && !s.tsv {
				return nil, 0, s.tooLong(s.l.n) // a line over the bound: quotes in it are unknown ground
			}
			return nil, 0, err
		}
		if s.tsv {
			if s.rawRow(line, '\t') {
				return nil, s.l.n, nil
			}
			s.fields = appendSplit(s.fields[:0], string(line), '\t')
			return s.fields, s.l.n, nil
		}
		if len(line) == 0 {
			continue // encoding/csv skips blank lines
		}
		start := s.l.n
		if bytes.IndexByte(line, '"') < 0 {
			if s.rawRow(line, ',') {
				s.end = start
				return nil, start, nil
			}
			s.fields = appendSplit(s.fields[:0], string(line), ',')
			s.end = start
			return s.fields, start, nil
		}
		before := s.feed.n
		s.feed.push(line)
		rec, err := s.r.Read()
		s.end = s.l.n
		if errors.Is(err, errRecordTooLong) {
			return nil, 0, s.tooLong(start)
		}
		if err != nil && err != io.EOF {
			// encoding/csv counts the lines it was given; the file's are
			// shifted by those it was not.
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				shift := start - (before + 1)
				pe.StartLine += shift
				pe.Line += shift
			}
			return nil, 0, csvError(s.path, err)
		}
		return rec, start, nil
	}
}

// tooLong is the fatal error of a record over the bound, starting at line.
func (s *csvSource) tooLong(line int) error {
	e := badf(s.path, line, 0, "the record starting here is longer than %d bytes (data.limits.max_line_bytes): a quote that is never closed, a file without line ends, or raise the limit", s.max)
	e.fatal = true
	return e
}

// errRecordTooLong stops encoding/csv, which has no bound of its own, from
// gathering a record without end (a quote never closed) whole.
var errRecordTooLong = errors.New("record too long")

// lineFeed gives encoding/csv the lines of a record with quotes: the first,
// pushed, then the following ones from the file as it asks for them, one
// line a read, so that it never reads past the end of the record. A record
// over max bytes, or a line over the lines' bound, ends in errRecordTooLong.
type lineFeed struct {
	l       *lines
	max     int
	buf     []byte
	pending []byte // what is left of the current line, with its '\n'
	n       int    // lines given
	size    int    // bytes of the current record given
}

func (f *lineFeed) push(line []byte) {
	f.set(line)
	f.size = 0
}

// set makes line, with its line end if it had one, the next to give.
func (f *lineFeed) set(line []byte) {
	f.buf = append(f.buf[:0], line...)
	if f.l.eol {
		f.buf = append(f.buf, '\n')
	}
	f.pending = f.buf
	f.n++
}

func (f *lineFeed) Read(p []byte) (int, error) {
	if len(f.pending) == 0 {
		line, err := f.l.next()
		if f.l.tooLong {
			return 0, errRecordTooLong
		}
		if err != nil {
			return 0, err
		}
		f.set(line)
	}
	k := copy(p, f.pending)
	f.pending = f.pending[k:]
	if f.size += k; f.size > f.max+1 {
		return 0, errRecordTooLong
	}
	return k, nil
}

// quoteList quotes the first names of a header, each bounded and escaped.
func quoteList(names []string) string {
	var q []string
	for i, n := range names {
		if i == 20 {
			q = append(q, fmt.Sprintf("and %d more", len(names)-i))
			break
		}
		q = append(q, quote.Q(n))
	}
	return strings.Join(q, ", ")
}

func csvError(path string, err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) && errors.Is(pe.Err, csv.ErrQuote) && pe.StartLine < pe.Line {
		// A quote opened and not closed swallows the lines after it: point at
		// the record where it opened, not at the far line where parsing gave up.
		return badf(path, pe.StartLine, 0, "a quoted field of the record starting here is not closed as it should be (parsing gave up at line %d, column %d)", pe.Line, pe.Column)
	}
	if errors.As(err, &pe) {
		return &Error{Path: path, Line: pe.Line, Column: pe.Column, Err: pe.Err}
	}
	return fmt.Errorf("pipeline: %s: %w", path, err)
}

// rawRow splits line at sep into s.spans, for next to read as bytes, when
// the header has been read and no column is a list; it reports whether it
// did.
func (s *csvSource) rawRow(line []byte, sep byte) bool {
	if s.n == 0 || s.lists {
		return false // the header, a headerless file's first row, or list fields
	}
	s.raw, s.spans = line, splitSpans(s.spans[:0], line, sep)
	return true
}

func (s *csvSource) next(ex *example) error {
	rec, line := s.pending, s.pendAt
	s.pending = nil
	if rec == nil {
		var err error
		s.raw = nil
		if rec, line, err = s.readRow(); err != nil {
			return err
		}
	}
	if rec == nil && s.raw != nil {
		ex.line = line
		if n := len(s.spans) / 2; n != s.n {
			return badf(s.path, line, 0, "%d fields, but the first row has %d", n, s.n)
		}
		for _, role := range s.roles {
			i := s.index[role]
			f := s.raw[s.spans[2*i]:s.spans[2*i+1]]
			if !utf8.Valid(f) {
				return badf(s.path, line, 0, "invalid UTF-8 in %s", role)
			}
			ex.raw[role] = f
		}
		ex.valid = true
		return nil
	}
	ex.line = line
	if len(rec) != s.n {
		return badf(s.path, line, 0, "%d fields, but the first row has %d", len(rec), s.n)
	}
	for _, role := range s.roles {
		v := rec[s.index[role]]
		if role.isList() {
			ex.list[role] = fields(role, v)
		} else {
			ex.str[role] = v
		}
	}
	return nil
}

func (s *csvSource) close() error { return s.l.close() }

func (s *csvSource) progress() (done, total int64) { return s.l.cr.progress() }

// appendSplit appends strings.Split(s, sep) to dst.
func appendSplit(dst []string, s string, sep byte) []string {
	for {
		i := strings.IndexByte(s, sep)
		if i < 0 {
			return append(dst, s)
		}
		dst = append(dst, s[:i])
		s = s[i+1:]
	}
}
