package pipeline

import (
	"bytes"
	"fmt"
	"io"
	"strings"
)

// textSource reads one example per line. With one file, blank lines are skipped;
// with parallel files (one per role) line i of every file is example i, blank or
// not, and the files must have the same number of lines.
type textSource struct {
	roles []Role
	files []*lines
}

func openText(files Columns) (*textSource, error) {
	t := &textSource{}
	for _, r := range files.roles() {
		l, err := openLines(files.get(r))
		if err != nil {
			t.close()
			return nil, err
		}
		t.roles = append(t.roles, r)
		t.files = append(t.files, l)
	}
	return t, nil
}

func (t *textSource) next(ex *example) error {
	for {
		blank := true
		for i, l := range t.files {
			line, err := l.next()
			if err == io.EOF {
				if i > 0 {
					return fmt.Errorf("pipeline: parallel files differ in length: %s ends at line %d but %s goes on", l.path, l.n, t.files[0].path)
				}
				for _, o := range t.files[1:] {
					if _, err := o.next(); err != io.EOF {
						return fmt.Errorf("pipeline: parallel files differ in length: %s ends at line %d but %s goes on", t.files[0].path, t.files[0].n, o.path)
					}
				}
				return io.EOF
			}
			if err != nil {
				return err
			}
			role := t.roles[i]
			if role.isList() {
				ex.list[role] = strings.Fields(string(line))
			} else {
				ex.str[role] = string(line)
			}
			blank = blank && len(bytes.TrimSpace(line)) == 0
		}
		ex.line = t.files[0].n
		if !blank || len(t.files) > 1 {
			return nil
		}
	}
}

func (t *textSource) close() error {
	for _, l := range t.files {
		l.close()
	}
	return nil
}

func (s *textSource) progress() (done, total int64) { return s.files[0].cr.progress() }
