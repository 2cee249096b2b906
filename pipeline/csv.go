package pipeline

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// csvSource reads CSV (RFC 4180 quoting, through encoding/csv) or TSV (fields
// split at tabs, no quoting, as TSV files are written) with a header row naming
// the columns. Every row must have as many fields as the header.
type csvSource struct {
	path  string
	f     *os.File
	r     *csv.Reader // CSV
	tsv   *lines      // TSV
	n     int         // fields per row
	roles []Role
	index [numRoles]int
}

func openCSV(path string, format Format, cols Columns) (*csvSource, error) {
	s := &csvSource{path: path, roles: cols.roles()}
	var header []string
	var err error
	if format == TSV {
		if s.tsv, err = openLines(path); err != nil {
			return nil, err
		}
		var line []byte
		if line, err = s.tsv.next(); err == nil {
			header = strings.Split(string(line), "\t")
		}
	} else {
		if s.f, err = openFile(path); err != nil {
			return nil, err
		}
		s.r = csv.NewReader(s.f)
		s.r.ReuseRecord = true
		header, err = s.r.Read()
	}
	if err == io.EOF {
		s.close()
		return nil, &Error{Path: path, Err: errors.New("no examples: the file is empty (a header row is required)")}
	}
	if err != nil {
		s.close()
		return nil, csvError(path, err)
	}
	s.n = len(header)
	pos := map[string]int{}
	for i, h := range header {
		h = strings.TrimPrefix(h, "\ufeff") // a byte-order mark before the first name
		pos[h] = i
	}
	for _, role := range s.roles {
		i, ok := pos[cols.get(role)]
		if !ok {
			s.close()
			return nil, &Error{Path: path, Line: 1, Err: fmt.Errorf("no column %q for %s; the header has %s", cols.get(role), role, quoteList(header))}
		}
		s.index[role] = i
	}
	return s, nil
}

func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, ", ")
}

func csvError(path string, err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return &Error{Path: path, Line: pe.Line, Column: pe.Column, Err: pe.Err}
	}
	return fmt.Errorf("pipeline: %s: %w", path, err)
}

func (s *csvSource) next(ex *example) error {
	var rec []string
	if s.tsv != nil {
		line, err := s.tsv.next()
		if err != nil {
			return err
		}
		ex.line = s.tsv.n
		if rec = strings.Split(string(line), "\t"); len(rec) != s.n {
			return badf(s.path, ex.line, 0, "%d fields, but the header has %d", len(rec), s.n)
		}
	} else {
		var err error
		if rec, err = s.r.Read(); err == io.EOF {
			return io.EOF
		} else if err != nil {
			return csvError(s.path, err)
		}
		ex.line, _ = s.r.FieldPos(0)
	}
	for _, role := range s.roles {
		v := rec[s.index[role]]
		if role.isList() {
			ex.list[role] = strings.Fields(v)
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
	return s.f.Close()
}
