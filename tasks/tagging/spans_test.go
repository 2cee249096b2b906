package tagging

import (
	"reflect"
	"strings"
	"testing"
)

// TestSpans checks chunk extraction against what conlleval does on the cases
// that trip up simpler readers.
func TestSpans(t *testing.T) {
	cases := []struct {
		tags string
		want []Span
	}{
		{"B-PER I-PER O B-LOC", []Span{{"PER", 0, 2}, {"LOC", 3, 4}}},
		{"I-PER I-PER O", []Span{{"PER", 0, 2}}},                          // I- with no B- starts a chunk
		{"B-PER B-PER", []Span{{"PER", 0, 1}, {"PER", 1, 2}}},             // adjacent chunks of one type
		{"I-LOC I-LOC B-LOC I-LOC", []Span{{"LOC", 0, 2}, {"LOC", 2, 4}}}, // IOB1: B- only between same-type chunks
		{"B-PER I-LOC", []Span{{"PER", 0, 1}, {"LOC", 1, 2}}},             // type change ends a chunk
		{"S-PER B-LOC E-LOC O", []Span{{"PER", 0, 1}, {"LOC", 1, 3}}},     // BIOES
		{"O O", nil},
	}
	for _, c := range cases {
		if got := Spans(strings.Fields(c.tags)); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: %v, want %v", c.tags, got, c.want)
		}
	}
	var n SpanCounts
	n.Add(strings.Fields("B-PER I-PER O B-LOC"), strings.Fields("B-PER O O B-LOC"))
	if p, r, f := n.PRF(); p != 50 || r != 50 || f != 50 {
		t.Errorf("P/R/F %v %v %v, want 50 each", p, r, f)
	}
}
