package pipeline

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/seqkit/seqkit/internal/quote"
)

// csvSource reads CSV (RFC 4180 quoting, through encoding/csv) or TSV (fields
// split at tabs, no quoting, as TSV files are written). The first row is a header
// naming the columns unless the source says there is none; then columns are
// 1-based numbers, negative from the end. Every row must have as many fields as
// the first.
type csvSource struct {
	path    string
	cr      *countingReader
	r       *csv.Reader // CSV
	lim     *recordLimit
	max     int    // longest record, in bytes
	end     int    // the line the last record read ended on
	tsv     *lines // TSV
	n       int    // fields per row
	roles   []Role
	index   [numRoles]int
	pending []string // a headerless file's first row, read to count its fields
	pendAt  int
	fields  []string // a TSV row's fields, reused from row to row
}

func openCSV(path string, format Format, cols Columns, noHeader bool, maxLine int) (*csvSource, error) {
	s := &csvSource{path: path, roles: cols.roles(), max: maxLine}
	var err error
	if format == TSV {
		s.tsv, err = openLines(path, maxLine)
	} else if s.cr, err = openCounting(path); err == nil {
		s.lim = &recordLimit{r: s.cr}
		s.lim.reset(maxLine)
		s.r = csv.NewReader(s.lim)
		s.r.FieldsPerRecord = -1 // checked in next, with the same message as TSV
		s.r.ReuseRecord = true   // next copies what it keeps; the header is cloned
	}
	if err != nil {
		return nil, err
	}
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
	if s.tsv != nil {
		line, err := s.tsv.next()
		if err != nil {
			return nil, 0, err
		}
		s.fields = appendSplit(s.fields[:0], string(line), '\t')
		return s.fields, s.tsv.n, nil
	}
	start := s.r.InputOffset()
	rec, err := s.r.Read()
	if errors.Is(err, errRecordTooLong) || err == nil && s.r.InputOffset()-start > int64(s.max) {
		// Reading cannot go on: the rest of the record is unknown ground.
		e := badf(s.path, s.end+1, 0, "the record starting here is longer than %d bytes (data.limits.max_line_bytes): a quote that is never closed, a file without line ends, or raise the limit", s.max)
		e.fatal = true
		return nil, 0, e
	}
	if err == io.EOF {
		return nil, 0, io.EOF
	}
	if err != nil {
		return nil, 0, csvError(s.path, err)
	}
	s.lim.reset(s.max)
	line, _ := s.r.FieldPos(0)
	last, _ := s.r.FieldPos(len(rec) - 1)
	s.end = last + strings.Count(rec[len(rec)-1], "\n")
	return rec, line, nil
}

// errRecordTooLong stops encoding/csv, which has no bound of its own, from
// buffering a record without end (a quote never closed, a file without line
// ends) whole.
var errRecordTooLong = errors.New("record too long")

// recordLimit lets a reader read at most a record's bound, plus what
// encoding/csv's buffer reads ahead, until it is reset for the next record.
type recordLimit struct {
	r    io.Reader
	left int
}

// csvReadAhead is encoding/csv's buffer (bufio's default size).
const csvReadAhead = 4096

func (l *recordLimit) reset(max int) { l.left = max + 2*csvReadAhead }

func (l *recordLimit) Read(p []byte) (int, error) {
	if l.left <= 0 {
		return 0, errRecordTooLong
	}
	if len(p) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= n
	return n, err
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

func (s *csvSource) next(ex *example) error {
	rec, line := s.pending, s.pendAt
	s.pending = nil
	if rec == nil {
		var err error
		if rec, line, err = s.readRow(); err != nil {
			return err
		}
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

func (s *csvSource) close() error {
	if s.tsv != nil {
		return s.tsv.close()
	}
	return s.cr.close()
}

func (s *csvSource) progress() (done, total int64) {
	if s.tsv != nil {
		return s.tsv.cr.progress()
	}
	return s.cr.progress()
}
