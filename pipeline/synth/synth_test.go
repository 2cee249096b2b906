package synth

import (
	"bytes"
	"slices"
	"strings"
	"testing"
)

// TestSynth: the same seed gives the same bytes; every reversed string is the
// reverse of its source; every Taipei token has a BIO tag, and a city after
// "arrive" is a destination.
func TestSynth(t *testing.T) {
	if a, b := TaipeiCoNLL(50, 7, 1), TaipeiCoNLL(50, 7, 1); !bytes.Equal(a, b) || bytes.Equal(a, TaipeiCoNLL(50, 7, 2)) {
		t.Errorf("Taipei: the same seed and stream must give the same bytes, another stream others")
	}
	for _, line := range strings.Split(strings.TrimSpace(string(ReverseTSV(100, 3, 0))), "\n") {
		src, tgt, _ := strings.Cut(line, "\t")
		d := strings.Fields(src)
		slices.Reverse(d)
		if strings.Join(d, " ") != tgt {
			t.Fatalf("%q is not the reverse of %q", tgt, src)
		}
	}
	prev := ""
	for _, line := range strings.Split(string(TaipeiCoNLL(300, 1, 0)), "\n") {
		if line == "" {
			prev = ""
			continue
		}
		tok, tag, ok := strings.Cut(line, "\t")
		if !ok || tag != "O" && !strings.HasPrefix(tag, "B-") && !strings.HasPrefix(tag, "I-") {
			t.Fatalf("line %q", line)
		}
		if prev == "arrive" && tag != "B-toloc.city_name" && tag != "O" {
			t.Errorf("a city after arrive tagged %s", tag)
		}
		prev = tok
	}
}
