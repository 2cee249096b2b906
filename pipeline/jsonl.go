package pipeline

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// jsonlSource reads one JSON object per line; blank lines are skipped.
type jsonlSource struct {
	l     *lines
	cols  Columns
	roles []Role
}

func openJSONL(path string, cols Columns, maxLine int) (*jsonlSource, error) {
	l, err := openLines(path, maxLine)
	if err != nil {
		return nil, err
	}
	return &jsonlSource{l: l, cols: cols, roles: cols.roles()}, nil
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
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(line, &obj); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return badf(s.l.path, ex.line, int(se.Offset), "invalid JSON: %v", se)
		}
		return badf(s.l.path, ex.line, 0, "want a JSON object: %v", err)
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
		if len(t) > 0 && (t[0] == '-' || (t[0] >= '0' && t[0] <= '9') || t[0] == 't' || t[0] == 'f') {
			ex.str[role] = string(t) // a number or boolean label, as written
			continue
		}
		return badf(s.l.path, ex.line, 0, "key %q: want a string, number or boolean, got %s", key, clip(raw))
	}
	return nil
}

func clip(b []byte) string {
	if len(b) > 40 {
		return fmt.Sprintf("%s…", b[:40])
	}
	return string(b)
}

func (s *jsonlSource) close() error { return s.l.close() }

func (s *jsonlSource) progress() (done, total int64) { return s.l.cr.progress() }
