package pipeline

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// refNext is the CoNLL reader before it gathered sentences into one buffer:
// the reference the fuzz test holds the new one to.
func refNext(s *conllSource, ex *example) error {
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
		var fields []string
		if bytes.IndexByte(line, '\t') >= 0 {
			fields = strings.Split(string(line), "\t")
		} else {
			fields = strings.Fields(string(line))
		}
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
		}
	}
}

var conllInputs = []string{
	"a DT B-NP\nb NN I-NP\n\nc VB B-VP\n",
	"# comment\n-DOCSTART- -X- O\n\nx\ty\tz\n\n\n  \nw\tv\tu\n",
	"1\tThe\tthe\tDET\t_\t_\t2\tdet\t_\t_\n1-2\tdu\t_\t_\t_\t_\t_\t_\t_\t_\n2.1\tx\t_\t_\t_\t_\t_\t_\t_\t_\n",
	"a b c\nd e\nf g h\n\ni j k\n",
	"a\u00a0b c\n\xff y z\n\nq r s\n",
	"a b\na b\na b\na b\na b\n",
}

// TestCoNLLAgainstReference: the sentence-buffered reader gives the examples
// and errors the line-by-line one gave.
func TestCoNLLAgainstReference(t *testing.T) {
	for _, in := range conllInputs {
		checkCoNLL(t, in)
	}
}

func FuzzCoNLLAgainstReference(f *testing.F) {
	for _, in := range conllInputs {
		f.Add(in)
	}
	f.Fuzz(func(t *testing.T, in string) { checkCoNLL(t, in) })
}

func checkCoNLL(t *testing.T, in string) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "x.conll")
	if err := os.WriteFile(p, []byte(in), 0o644); err != nil {
		t.Fatal(err)
	}
	read := func(next func(*conllSource, *example) error) []string {
		s, err := openCoNLL(p, Columns{Tokens: "1", Tags: "-1"}, 1<<20, 4)
		if err != nil {
			return []string{err.Error()}
		}
		defer s.close()
		var out []string
		for len(out) < 50 {
			var ex example
			err := next(s, &ex)
			if err == io.EOF {
				break
			}
			if err != nil {
				out = append(out, err.Error())
				if _, ok := err.(*Error); !ok {
					break
				}
				continue
			}
			out = append(out, fmt.Sprintf("%d %q %q", ex.line, ex.list[RoleTokens], ex.list[RoleTags]))
		}
		return out
	}
	got, want := read((*conllSource).next), read(refNext)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%q:\ngot  %q\nwant %q", in, got, want)
	}
}
