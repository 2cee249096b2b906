package pipeline

import (
	"bytes"
	"encoding/json"
	"errors"

	"github.com/seqkit/seqkit/internal/quote"
)

// jsonlSource reads one JSON object per line; blank lines are skipped.
type jsonlSource struct {
	l     *lines
	cols  Columns
	roles []Role
	keys  []string // the key of each role
	vals  [][]byte // scanObject's raw values, one per key
}

func openJSONL(path string, cols Columns, maxLine int) (*jsonlSource, error) {
	l, err := openLines(path, maxLine)
	if err != nil {
		return nil, err
	}
	s := &jsonlSource{l: l, cols: cols, roles: cols.roles()}
	for _, role := range s.roles {
		s.keys = append(s.keys, cols.get(role))
	}
	s.vals = make([][]byte, len(s.keys))
	return s, nil
}

func (s *jsonlSource) next(ex *example) error {
	var line []byte
	for {
		var err error
		if line, err = s.l.next(); err != nil {
			return err
		}
		if len(bytes.TrimSpace(line)) > 0 {
			break
		}
	}
	ex.line = s.l.n
	if s.fast(line, ex) {
		return nil
	}
	return s.slow(line, ex)
}

// fast fills ex from a line the scanner takes whose values are all plain
// (strings without escapes, arrays of them, a number or boolean label), and
// reports whether it did; anything else goes to slow, which says what is
// wrong where something is.
func (s *jsonlSource) fast(line []byte, ex *example) bool {
	if !scanObject(line, s.keys, s.vals) {
		return false
	}
	for k, role := range s.roles {
		raw := s.vals[k]
		if raw == nil {
			return false
		}
		if role.isList() {
			if raw[0] == '"' {
				str, ok := plainString(raw)
				if !ok {
					return false
				}
				ex.list[role] = fields(role, str)
				continue
			}
			list, ok := plainStrings(raw, nil)
			if !ok {
				return false
			}
			ex.list[role] = list
			continue
		}
		if raw[0] == '"' {
			in, ok := plainBytes(raw)
			if !ok {
				return false
			}
			ex.raw[role] = in
			continue
		}
		if role != RoleLabel || raw[0] == '[' || raw[0] == '{' || raw[0] == 'n' {
			return false
		}
		ex.raw[role] = raw // a number or boolean label (0/1, true), as written
	}
	return true
}

// slow is next through encoding/json.
func (s *jsonlSource) slow(line []byte, ex *example) error {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(line, &obj); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return badf(s.l.path, ex.line, int(se.Offset), "invalid JSON: %v", se)
		}
		return badf(s.l.path, ex.line, 0, "want a JSON object {...}, got %s", jsonKind(line))
	}
	for _, role := range s.roles {
		key := s.cols.get(role)
		raw, ok := obj[key]
		if !ok {
			return badf(s.l.path, ex.line, 0, "no key %q for %s", key, role)
		}
		if role.isList() {
			var list []string
			if err := json.Unmarshal(raw, &list); err == nil {
				ex.list[role] = list
				continue
			}
			if role == RoleVector {
				var nums []json.Number
				if err := json.Unmarshal(raw, &nums); err == nil {
					list = list[:0] // the failed decoding above may have filled it
					for _, n := range nums {
						list = append(list, n.String())
					}
					ex.list[role] = list
					continue
				}
			}
			var str string
			if err := json.Unmarshal(raw, &str); err != nil {
				return badf(s.l.path, ex.line, 0, "key %q: want an array of %s or a string, got %s", key, map[bool]string{true: "numbers", false: "strings"}[role == RoleVector], clip(raw))
			}
			ex.list[role] = fields(role, str)
			continue
		}
		var str string
		if err := json.Unmarshal(raw, &str); err == nil {
			ex.str[role] = str
			continue
		}
		t := bytes.TrimSpace(raw)
		if role != RoleLabel {
			// Text is a JSON string: a number or boolean here is a column
			// mapped wrong, not text to read.
			return badf(s.l.path, ex.line, 0, "key %q: want a string of text for %s, got %s", key, role, jsonKind(t))
		}
		if len(t) > 0 && (t[0] == '-' || (t[0] >= '0' && t[0] <= '9') || t[0] == 't' || t[0] == 'f') {
			ex.str[role] = string(t) // a number or boolean label (0/1, true), as written
			continue
		}
		return badf(s.l.path, ex.line, 0, "key %q: want a string, number or boolean label, got %s", key, jsonKind(t))
	}
	return nil
}

// jsonKind names the kind of a JSON value, with the value where it is short.
func jsonKind(v []byte) string {
	v = bytes.TrimSpace(v)
	kind := "a number"
	switch {
	case len(v) == 0:
		return "nothing"
	case v[0] == '{':
		kind = "an object"
	case v[0] == '[':
		kind = "an array"
	case v[0] == '"':
		kind = "a string"
	case v[0] == 't' || v[0] == 'f':
		kind = "a boolean"
	case v[0] == 'n':
		return "null"
	}
	return kind + " " + clip(v)
}

func clip(b []byte) string { return quote.Q(string(b)) }

func (s *jsonlSource) close() error { return s.l.close() }

func (s *jsonlSource) progress() (done, total int64) { return s.l.cr.progress() }
