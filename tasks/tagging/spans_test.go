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

func TestConvert(t *testing.T) {
	bio := strings.Fields("B-PER I-PER O B-LOC B-LOC I-LOC O B-ORG")
	cases := map[Scheme]string{
		BIOES: "B-PER E-PER O S-LOC B-LOC E-LOC O S-ORG",
		IOB1:  "I-PER I-PER O I-LOC B-LOC I-LOC O I-ORG",
		BIO:   "B-PER I-PER O B-LOC B-LOC I-LOC O B-ORG",
	}
	for scheme, want := range cases {
		got, err := Convert(bio, scheme)
		if err != nil || strings.Join(got, " ") != want {
			t.Errorf("%s: %v (%v), want %s", scheme, got, err, want)
		}
		back, _ := Convert(got, BIO)
		if !reflect.DeepEqual(back, bio) {
			t.Errorf("%s and back: %v", scheme, back)
		}
	}
	if _, err := Convert(bio, "bilou"); err == nil {
		t.Error("unknown scheme accepted")
	}
}

func TestConstraints(t *testing.T) {
	tags := []string{"O", "B-LOC", "I-LOC", "B-PER", "I-PER"}
	a := constraints(BIO, tags)
	C := len(tags)
	allowed := func(from, to int) bool { return a.Trans[from*C+to] }
	for _, c := range []struct {
		from, to int
		ok       bool
	}{
		{0, 2, false}, // O → I-LOC
		{1, 2, true},  // B-LOC → I-LOC
		{2, 2, true},  // I-LOC → I-LOC
		{3, 2, false}, // B-PER → I-LOC
		{4, 1, true},  // I-PER → B-LOC
		{2, 0, true},  // I-LOC → O
	} {
		if allowed(c.from, c.to) != c.ok {
			t.Errorf("%s → %s: allowed %v", tags[c.from], tags[c.to], !c.ok)
		}
	}
	if a.StartOK[2] || !a.StartOK[1] || !a.StartOK[0] {
		t.Errorf("start: %v", a.StartOK)
	}
	e := constraints(BIOES, []string{"O", "B-X", "I-X", "E-X", "S-X"})
	if e.EndOK[1] || e.EndOK[2] || !e.EndOK[3] || !e.EndOK[4] || e.Trans[1*5+0] || !e.Trans[1*5+3] {
		t.Errorf("bioes constraints: end %v", e.EndOK)
	}
	if constraints(IOB1, tags).Trans != nil {
		t.Error("iob1 should allow every transition")
	}
}

// TestCheckTags: a tag the declared scheme cannot write is refused, naming it,
// instead of being trained on and never decoded.
func TestCheckTags(t *testing.T) {
	cases := []struct {
		scheme Scheme
		tags   []string
		bad    string
	}{
		{BIO, []string{"O", "B-NP", "I-NP"}, ""},
		{BIO, []string{"O", "B-NP", "X-VP"}, `tag "X-VP" of the training data is not a bio tag (O, B-TYPE or I-TYPE)`},
		{BIO, []string{"O", "S-NP"}, `tag "S-NP" of the training data is not a bio tag`},
		{BIO, []string{"O", "NP"}, `tag "NP"`},
		{BIO, []string{"O", "B-"}, `tag "B-"`},
		{IOB1, []string{"O", "I-NP", "B-NP"}, ""},
		{BIOES, []string{"O", "B-NP", "I-NP", "E-NP", "S-PP"}, ""},
		{BIOES, []string{"O", "Q-NP"}, `not a bioes tag (O, B-TYPE, I-TYPE, E-TYPE or S-TYPE)`},
	}
	for _, c := range cases {
		err := checkTags(c.scheme, c.tags)
		if (c.bad == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), c.bad) {
			t.Errorf("%s %v: %v, want %q", c.scheme, c.tags, err, c.bad)
		}
	}
}
