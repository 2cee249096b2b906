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

func openText(files Columns, maxLine int) (*textSource, error) {
	t := &textSource{}
	for _, r := range files.roles() {
		l, err := openLines(files.get(r), maxLine)
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

// StreamChunk is the approximate size of the examples a stream source yields.
const StreamChunk = 64 << 10

// streamSource yields a text file as chunks of whole lines, line breaks kept.
type streamSource struct {
	l   *lines
	buf []byte
}

func openStream(path string, maxLine int) (*streamSource, error) {
	l, err := openLines(path, maxLine)
	if err != nil {
		return nil, err
	}
	return &streamSource{l: l}, nil
}

func (s *streamSource) next(ex *example) error {
	s.buf = s.buf[:0]
	for len(s.buf) < StreamChunk {
		line, err := s.l.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if len(s.buf) == 0 {
			ex.line = s.l.n
		}
		s.buf = append(append(s.buf, line...), '\n')
	}
	if len(s.buf) == 0 {
		return io.EOF
	}
	ex.str[RoleText] = string(s.buf)
	return nil
}

func (s *streamSource) close() error { return s.l.close() }

func (s *streamSource) progress() (done, total int64) { return s.l.cr.progress() }
