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
	// spans are a line's field offsets; sent the mapped fields of the
	// sentence so far, offs their offsets in it per role, tokens their count;
	// lists the sentence's token lists. All are reused.
	spans  []int
	sent   []byte
	offs   [numRoles][]int
	tokens int
	lists  [numRoles][]string
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
	s.sent, s.tokens = s.sent[:0], 0
	for role := range s.offs {
		s.offs[role] = s.offs[role][:0]
	}
	for {
		line, err := s.l.next()
		if err == io.EOF {
			if bad != nil {
				return bad
			}
			if ex.line > 0 {
				s.finish(ex)
				return nil
			}
			return io.EOF
		}
		if err != nil {
			return err
		}
		if blank(line) {
			if bad != nil {
				return bad
			}
			if ex.line > 0 {
				s.finish(ex)
				return nil
			}
			continue
		}
		if conllSkipped(line) {
			continue
		}
		if bad != nil {
			continue // the rest of a bad sentence, not split into fields
		}
		ascii := false
		if bytes.IndexByte(line, '\t') >= 0 {
			s.spans = splitSpans(s.spans[:0], line, '\t')
		} else if s.spans, ascii = asciiFields(s.spans[:0], line); !ascii {
			s.spans = s.spans[:0]
			for a, b := nextField(line, 0); a < len(line); a, b = nextField(line, b) {
				s.spans = append(s.spans, a, b)
			}
		}
		nf := len(s.spans) / 2
		if s.ncols == 0 {
			s.ncols = nf
			for _, role := range s.roles {
				if i := s.index[role]; i > s.ncols || -i > s.ncols {
					return fmt.Errorf("pipeline: %s:%d: column %d for %s, but the file has %d columns", s.l.path, s.l.n, i, role, s.ncols)
				}
			}
		}
		if ex.line == 0 {
			ex.line = s.l.n
		}
		if nf != s.ncols {
			bad = badf(s.l.path, s.l.n, 0, "%d columns, but the file's token lines have %d", nf, s.ncols)
			continue
		}
		if !ascii && !utf8.Valid(line) { // ASCII is valid UTF-8
			bad = badf(s.l.path, s.l.n, 0, "invalid UTF-8")
			continue
		}
		if len(s.roles) > 0 && s.tokens >= s.max {
			// Stop gathering: the sentence would hold a file without blank lines whole.
			bad = badf(s.l.path, ex.line, 0, "the sentence has more than %d tokens (data.limits.max_tokens): a file without blank lines between sentences, or raise the limit", s.max)
			continue
		}
		if s.ncols == 10 && bytes.ContainsAny(line[s.spans[0]:s.spans[1]], "-.") {
			continue // CoNLL-U multiword token or empty node
		}
		// The sentence's fields go into one buffer, made one string at its
		// end (finish): a string per line was most of the allocations of
		// reading a CoNLL file.
		for _, role := range s.roles {
			i := s.index[role]
			if i < 0 {
				i += s.ncols + 1
			}
			a := len(s.sent)
			s.sent = append(s.sent, line[s.spans[2*(i-1)]:s.spans[2*i-1]]...)
			s.offs[role] = append(s.offs[role], a, len(s.sent))
		}
		s.tokens++
	}
}

// conllSkipped is whether a line that is not blank is a comment or a
// -DOCSTART- line.
func conllSkipped(line []byte) bool {
	if c := line[0]; c > ' ' && c < 0x80 && c != '#' && c != '-' {
		return false // most lines: a token
	}
	t := bytes.TrimSpace(line)
	return t[0] == '#' || bytes.HasPrefix(t, []byte("-DOCSTART-"))
}

// finish sets ex's token lists from the sentence gathered: substrings of one
// string, in lists reused from sentence to sentence (the reader copies an
// example into its builders before it asks for the next one).
func (s *conllSource) finish(ex *example) {
	str := string(s.sent)
	for _, role := range s.roles {
		list, offs := s.lists[role][:0], s.offs[role]
		for k := 0; k < len(offs); k += 2 {
			list = append(list, str[offs[k]:offs[k+1]])
		}
		ex.list[role], s.lists[role] = list, list
	}
	ex.valid = true // every line was checked whole (utf8.Valid above)
}

// splitSpans appends the start and end offsets of the fields of
// bytes.Split(b, {sep}).
func splitSpans(dst []int, b []byte, sep byte) []int {
	start := 0
	for {
		i := bytes.IndexByte(b[start:], sep)
		if i < 0 {
			return append(dst, start, len(b))
		}
		dst = append(dst, start, start+i)
		start += i + 1
	}
}

func (s *conllSource) close() error { return s.l.close() }

func (s *conllSource) progress() (done, total int64) { return s.l.cr.progress() }
