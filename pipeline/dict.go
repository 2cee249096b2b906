package pipeline

import (
	"bytes"
	"regexp"

	"github.com/seqkit/seqkit/internal/quote"
)

// dictSource reads a pronunciation dictionary in CMUdict's format: one entry per
// line, the word, whitespace, then its pronunciation (the target). A "# ..."
// comment at the end of a line is dropped, lines starting with ";;;" are comments,
// and the "(2)" that marks a word's alternative pronunciations is removed, so
// every pronunciation of a word is an example with the same source.
type dictSource struct {
	l *lines
}

var variantMark = regexp.MustCompile(`\(\d+\)$`)

func openDict(path string, maxLine int) (*dictSource, error) {
	l, err := openLines(path, maxLine)
	if err != nil {
		return nil, err
	}
	return &dictSource{l: l}, nil
}

func (d *dictSource) next(ex *example) error {
	for {
		line, err := d.l.next()
		if err != nil {
			return err // io.EOF at the end
		}
		if line = dictEntry(line); line == nil {
			continue
		}
		i := bytes.IndexAny(line, " \t")
		if i < 0 {
			// A bad example like any other: skip_errors leaves it out.
			return badf(d.l.path, d.l.n, 0, "a dictionary entry needs a word and a pronunciation, got %s", quote.Q(string(line)))
		}
		ex.str[RoleText] = variantMark.ReplaceAllString(string(line[:i]), "")
		ex.str[RoleTarget] = string(bytes.TrimSpace(line[i:]))
		ex.line = d.l.n
		return nil
	}
}

// dictEntry is a dictionary line without its comment and surrounding space,
// or nil for a line with no entry (blank, or a ";;;" comment).
func dictEntry(line []byte) []byte {
	if i := bytes.IndexByte(line, '#'); i >= 0 {
		line = line[:i]
	}
	line = bytes.TrimSpace(line)
	if len(line) == 0 || bytes.HasPrefix(line, []byte(";;;")) {
		return nil
	}
	return line
}

func (d *dictSource) close() error { return d.l.close() }

func (d *dictSource) progress() (done, total int64) { return d.l.cr.progress() }
