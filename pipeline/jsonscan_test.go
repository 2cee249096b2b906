package pipeline

import (
	"encoding/json"
	"reflect"
	"testing"
)

// jsonLines are lines the fast path takes, lines it leaves to encoding/json,
// and lines that are not JSON at all.
var jsonLines = []string{
	`{"text": "fly to Boston", "label": "flight"}`,
	` {"label":1,"text":"a b","tokens":["a","b"],"tags":["O","B-x"]} `,
	`{"text":"x","label":true,"extra":{"deep":[1,2.5e-3,{"k":null}],"s":"\u00e9\n"}}`,
	`{"text":"caf\u00e9","label":"a"}`,
	`{"text":"tab\there","label":"a"}`,
	`{"te\u0078t":"escaped key","label":"a"}`,
	`{"text":"dup","text":"second","label":"a"}`,
	`{"text":"x","label":null}`,
	`{"text":"x","label":[1]}`,
	`{"text":"x","label":"a",}`,
	`{"text":"x" "label":"a"}`,
	`{"text":"x","label":01}`,
	`{"text":"x","label":-}`,
	`{"text":"x","label":1.}`,
	`{"text":"x","label":"a"} trailing`,
	`{"text":"x","label":"\x01"}`,
	"{\"text\":\"\xff\",\"label\":\"a\"}",
	`{"tokens":"a b c","tags":"O O O","text":"t","label":"l"}`,
	`{"tokens":["a","b\"c"],"tags":["O","O"],"text":"t","label":"l"}`,
	`{"text":"x","label":"a"`,
	`["text"]`,
	`{}`,
	`{"text":"x","label":"a","n":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}`,
}

// TestJSONFastPath: the scanner accepts only valid JSON, and wherever the
// fast path fills an example, the slow path (encoding/json) fills the same.
func TestJSONFastPath(t *testing.T) {
	fast := 0
	for _, line := range jsonLines {
		if checkJSONFast(t, line) {
			fast++
		}
	}
	if fast < 5 {
		t.Errorf("the fast path took %d of the lines, want at least 5", fast)
	}
}

func checkJSONFast(t *testing.T, line string) bool {
	t.Helper()
	for _, cols := range []Columns{{Text: "text", Label: "label"}, {Tokens: "tokens", Tags: "tags", Label: "label"}} {
		s := &jsonlSource{l: &lines{path: "x.jsonl"}, cols: cols, roles: cols.roles()}
		for _, role := range s.roles {
			s.keys = append(s.keys, cols.get(role))
		}
		s.vals = make([][]byte, len(s.keys))
		if scanObject([]byte(line), s.keys, s.vals) && !json.Valid([]byte(line)) {
			t.Errorf("the scanner took invalid JSON %q", line)
		}
		var a, b example
		if !s.fast([]byte(line), &a) {
			continue
		}
		for role, raw := range a.raw {
			if raw != nil {
				a.str[role], a.raw[role] = string(raw), nil
			}
		}
		if err := s.slow([]byte(line), &b); err != nil || !reflect.DeepEqual(a, b) {
			t.Errorf("%q with %v: fast %+v, slow %+v (%v)", line, cols, a, b, err)
		}
		return true
	}
	return false
}

func FuzzJSONFastPath(f *testing.F) {
	for _, l := range jsonLines {
		f.Add(l)
	}
	f.Fuzz(func(t *testing.T, line string) { checkJSONFast(t, line) })
}
