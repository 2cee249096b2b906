package pipeline

import (
	"bytes"
	"unicode/utf8"
)

// The JSON Lines fast path. encoding/json decodes a line into a map of raw
// values through reflection, checking the whole line first: three quarters
// of the time of reading a JSON Lines file (BenchmarkEncode/jsonl). The
// scanner below checks a line against JSON's grammar in one pass and keeps
// the raw values of the keys the roles map; a line it does not take simply
// (an escape in a key, nesting deeper than maxScanDepth, invalid JSON) goes
// to encoding/json as before, which also words the error.

// maxScanDepth bounds the nesting the scanner follows; deeper lines take the
// slow path, whose own bound is encoding/json's.
const maxScanDepth = 64

// jsonScanner holds one line and the position in it.
type jsonScanner struct {
	b []byte
	i int
}

// scanObject checks that line is one JSON object and sets vals[k] to the raw
// value of keys[k] (the last one where a key repeats, as encoding/json's map
// keeps), or nil when the key is absent. It returns false for a line it does
// not take: the caller decodes it the slow way.
func scanObject(line []byte, keys []string, vals [][]byte) bool {
	clear(vals)
	s := jsonScanner{b: line}
	s.ws()
	ok := s.peek('{') && s.object(0, func(key, val []byte) bool {
		if bytes.IndexByte(key, '\\') >= 0 {
			return false // an escaped key: let encoding/json unescape it
		}
		for k, name := range keys {
			if string(key) == name {
				vals[k] = val
			}
		}
		return true
	})
	s.ws()
	return ok && s.i == len(s.b)
}

// object skips the object at s.i, checking it, and gives each member's key
// (without quotes) and raw value to member, when set; member returning
// false stops the scan.
func (s *jsonScanner) object(depth int, member func(key, val []byte) bool) bool {
	s.i++
	s.ws()
	if s.eat('}') {
		return true
	}
	for {
		s.ws()
		start := s.i + 1
		if !s.peek('"') || !s.str() {
			return false
		}
		key := s.b[start : s.i-1]
		s.ws()
		if !s.eat(':') {
			return false
		}
		s.ws()
		vstart := s.i
		if !s.value(depth+1) || (member != nil && !member(key, s.b[vstart:s.i])) {
			return false
		}
		s.ws()
		if s.eat(',') {
			continue
		}
		return s.eat('}')
	}
}

func (s *jsonScanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *jsonScanner) peek(c byte) bool { return s.i < len(s.b) && s.b[s.i] == c }

func (s *jsonScanner) eat(c byte) bool {
	if s.peek(c) {
		s.i++
		return true
	}
	return false
}

// value skips one JSON value, checking it.
func (s *jsonScanner) value(depth int) bool {
	if s.i >= len(s.b) || depth > maxScanDepth {
		return false
	}
	switch c := s.b[s.i]; {
	case c == '"':
		return s.str()
	case c == '{':
		return s.object(depth, nil)
	case c == '[':
		s.i++
		s.ws()
		if s.eat(']') {
			return true
		}
		for {
			s.ws()
			if !s.value(depth + 1) {
				return false
			}
			s.ws()
			if s.eat(',') {
				continue
			}
			return s.eat(']')
		}
	case c == 't':
		return s.lit("true")
	case c == 'f':
		return s.lit("false")
	case c == 'n':
		return s.lit("null")
	default:
		return s.num()
	}
}

func (s *jsonScanner) lit(w string) bool {
	if len(s.b)-s.i >= len(w) && string(s.b[s.i:s.i+len(w)]) == w {
		s.i += len(w)
		return true
	}
	return false
}

// str skips a string at s.i (its opening quote), checking its escapes and
// that it holds no control character.
func (s *jsonScanner) str() bool {
	s.i++
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			s.i++
			return true
		case c < 0x20:
			return false
		case c == '\\':
			if s.i+1 >= len(s.b) {
				return false
			}
			switch s.b[s.i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.i += 2
			case 'u':
				if s.i+6 > len(s.b) {
					return false
				}
				for _, h := range s.b[s.i+2 : s.i+6] {
					if !isHex(h) {
						return false
					}
				}
				s.i += 6
			default:
				return false
			}
		default:
			s.i++
		}
	}
	return false
}

func isHex(c byte) bool { return c-'0' < 10 || (c|0x20)-'a' < 6 }

// num skips a number as JSON writes them: -?(0|[1-9]d*)(.d+)?([eE][+-]?d+)?.
func (s *jsonScanner) num() bool {
	s.eat('-')
	switch {
	case s.eat('0'):
	case s.i < len(s.b) && s.b[s.i]-'1' < 9:
		s.digits()
	default:
		return false
	}
	if s.eat('.') && !s.digits() {
		return false
	}
	if s.peek('e') || s.peek('E') {
		s.i++
		if !s.eat('+') {
			s.eat('-')
		}
		if !s.digits() {
			return false
		}
	}
	return true
}

func (s *jsonScanner) digits() bool {
	start := s.i
	for s.i < len(s.b) && s.b[s.i]-'0' < 10 {
		s.i++
	}
	return s.i > start
}

// plainString returns the text of a raw JSON string without escapes and in
// valid UTF-8 (what encoding/json would give, without its work), or false.
func plainString(raw []byte) (string, bool) {
	in, ok := plainBytes(raw)
	return string(in), ok
}

// plainBytes is plainString's text as the bytes of raw between its quotes.
func plainBytes(raw []byte) ([]byte, bool) {
	if len(raw) < 2 || raw[0] != '"' {
		return nil, false
	}
	in := raw[1 : len(raw)-1]
	if bytes.IndexByte(in, '\\') >= 0 || !utf8.Valid(in) {
		return nil, false
	}
	return in, true
}

// plainStrings returns the items of a raw JSON array of plain strings (see
// plainString), or false.
func plainStrings(raw []byte, into []string) ([]string, bool) {
	s := jsonScanner{b: raw}
	if !s.eat('[') {
		return nil, false
	}
	out := into[:0]
	s.ws()
	if s.eat(']') {
		return []string{}, true // empty, not nil: as encoding/json decodes []
	}
	for {
		s.ws()
		start := s.i
		if !s.peek('"') || !s.str() {
			return nil, false
		}
		v, ok := plainString(s.b[start:s.i])
		if !ok {
			return nil, false
		}
		out = append(out, v)
		s.ws()
		if s.eat(',') {
			continue
		}
		if s.eat(']') {
			return out, true
		}
		return nil, false
	}
}
