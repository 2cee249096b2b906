package pipeline

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// conllSource reads CoNLL column files: one token per line with its columns
// separated by tabs (or, when a line has no tab, by white space), a blank line
// between sentences, "-DOCSTART-" and "#" comment lines skipped. In CoNLL-U files
// (10 columns) the multiword-token lines ("1-2") and empty nodes ("1.1") are
// skipped too, so a sentence's tokens are its syntactic words. Every token line of
// a file must have the same number of columns.
type conllSource struct {
	l     *lines
	cols  Columns
	roles []Role
	index [numRoles]int // 1-based, negative from the end
	ncols int
	max   int // tokens of one sentence
	// fields is the buffer of a line's fields, reused from line to line, and
	// lists those of a sentence's token lists, from sentence to sentence.
	fields []string
	lists  [numRoles][]string
}

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

// conlluNames are the CoNLL-U column names a mapping may use instead of numbers.
var conlluNames = map[string]int{"id": 1, "form": 2, "lemma": 3, "upos": 4, "xpos": 5, "feats": 6, "head": 7, "deprel": 8, "deps": 9, "misc": 10}

func openCoNLL(path string, cols Columns, maxLine, maxTokens int) (*conllSource, error) {
	s := &conllSource{cols: cols, roles: cols.roles(), max: maxTokens}
	for _, role := range s.roles {
		if !role.isList() {
			return nil, fmt.Errorf("pipeline: %s: a CoNLL file maps only tokens and tags, not %s", path, role)
		}
		v := cols.get(role)
		n, err := strconv.Atoi(v)
		if err != nil {
			var ok bool
			if n, ok = conlluNames[strings.ToLower(v)]; !ok {
				return nil, fmt.Errorf("pipeline: %s: CoNLL column %q for %s is neither a number (1-based, -1 = last) nor a CoNLL-U name", path, v, role)
			}
		}
		if n == 0 {
			return nil, fmt.Errorf("pipeline: %s: CoNLL columns count from 1 (or -1 for the last); got 0 for %s", path, role)
		}
		s.index[role] = n
	}
	l, err := openLines(path, maxLine)
	if err != nil {
		return nil, err
	}
	s.l = l
	return s, nil
}

func (s *conllSource) next(ex *example) error {
	var bad error
	for {
		line, err := s.l.next()
		if err == io.EOF {
			if bad != nil {
				return bad
			}
			if ex.line > 0 {
				return nil
			}
			return io.EOF
		}
		if err != nil {
			return err
		}
		t := bytes.TrimSpace(line)
		if len(t) == 0 {
			if bad != nil {
				return bad
			}
			if ex.line > 0 {
				return nil
			}
			continue
		}
		if t[0] == '#' || bytes.HasPrefix(t, []byte("-DOCSTART-")) {
			continue
		}
		if bad != nil {
			continue // the rest of a bad sentence, not split into fields
		}
		// One string for the line, its fields substrings of it: a string per
		// field (or a slice of them, as strings.Split makes) would be most
		// of the allocations of reading a CoNLL file.
		str := string(line)
		if bytes.IndexByte(line, '\t') >= 0 {
			s.fields = appendSplit(s.fields[:0], str, '\t')
		} else {
			s.fields = appendFields(s.fields[:0], str)
		}
		fields := s.fields
		if s.ncols == 0 {
			s.ncols = len(fields)
			for _, role := range s.roles {
				if i := s.index[role]; i > s.ncols || -i > s.ncols {
					return fmt.Errorf("pipeline: %s:%d: column %d for %s, but the file has %d columns", s.l.path, s.l.n, i, role, s.ncols)
				}
			}
		}
		if ex.line == 0 {
			ex.line = s.l.n
			// The token lists of the last sentence, emptied: the reader
			// copies an example into its builders before it asks for the
			// next one.
			for _, role := range s.roles {
				ex.list[role] = s.lists[role][:0]
			}
		}
		if bad != nil {
			continue // the rest of a bad sentence
		}
		if len(fields) != s.ncols {
			bad = badf(s.l.path, s.l.n, 0, "%d columns, but the file's token lines have %d", len(fields), s.ncols)
			continue
		}
		if !utf8.Valid(line) {
			bad = badf(s.l.path, s.l.n, 0, "invalid UTF-8")
			continue
		}
		if len(s.roles) > 0 && len(ex.list[s.roles[0]]) >= s.max {
			// Stop gathering: the sentence would hold a file without blank lines whole.
			bad = badf(s.l.path, ex.line, 0, "the sentence has more than %d tokens (data.limits.max_tokens): a file without blank lines between sentences, or raise the limit", s.max)
			ex.list = [numRoles][]string{}
			continue
		}
		if s.ncols == 10 && strings.ContainsAny(fields[0], "-.") {
			continue // CoNLL-U multiword token or empty node
		}
		for _, role := range s.roles {
			i := s.index[role]
			if i < 0 {
				i += s.ncols + 1
			}
			ex.list[role] = append(ex.list[role], fields[i-1])
			s.lists[role] = ex.list[role]
		}
	}
}

func (s *conllSource) close() error { return s.l.close() }

func (s *conllSource) progress() (done, total int64) { return s.l.cr.progress() }
