package tagging

import "strings"

// Span is a labelled chunk of tokens [Start, End).
type Span struct {
	Type       string
	Start, End int
}

// splitTag splits "B-LOC" into its prefix and type; "O" has neither.
func splitTag(tag string) (prefix, typ string) {
	if tag == "O" || tag == "" {
		return "O", ""
	}
	if p, t, ok := strings.Cut(tag, "-"); ok && len(p) == 1 {
		return p, t
	}
	return "I", tag // a bare type is inside a chunk of that type, as conlleval reads it
}

// chunkEnds reports whether a chunk ends between the previous tag and this one,
// following conlleval's endOfChunk (IOB1, IOB2 and IOBES alike).
func chunkEnds(prevP, prevT, p, t string) bool {
	switch {
	case prevP == "E", prevP == "S":
		return true
	case prevP == "B" || prevP == "I":
		return p == "B" || p == "S" || p == "O" || prevT != t
	}
	return false
}

// chunkStarts follows conlleval's startOfChunk: an I- after O or after another type
// starts a chunk, so an I- with no B- is still a span.
func chunkStarts(prevP, prevT, p, t string) bool {
	switch p {
	case "B", "S":
		return true
	case "I", "E":
		return prevP == "E" || prevP == "S" || prevP == "O" || prevT != t
	}
	return false
}

// Spans extracts the chunks of a tag sequence the way the CoNLL conlleval script
// does.
func Spans(tags []string) []Span {
	var out []Span
	prevP, prevT := "O", ""
	start := -1
	for i, tag := range tags {
		p, t := splitTag(tag)
		if start >= 0 && chunkEnds(prevP, prevT, p, t) {
			out = append(out, Span{prevT, start, i})
			start = -1
		}
		if chunkStarts(prevP, prevT, p, t) {
			start = i
		}
		prevP, prevT = p, t
	}
	if start >= 0 {
		out = append(out, Span{prevT, start, len(tags)})
	}
	return out
}

// SpanCounts accumulates span-level precision and recall counts.
type SpanCounts struct {
	Correct, Guessed, Gold int
}

// Add compares the spans of one predicted sequence with the gold one.
func (c *SpanCounts) Add(gold, pred []string) {
	g, p := Spans(gold), Spans(pred)
	c.Gold += len(g)
	c.Guessed += len(p)
	set := make(map[Span]bool, len(g))
	for _, s := range g {
		set[s] = true
	}
	for _, s := range p {
		if set[s] {
			c.Correct++
		}
	}
}

// PRF returns precision, recall and F1 in percent (0 when undefined, as conlleval).
func (c SpanCounts) PRF() (p, r, f float64) {
	if c.Guessed > 0 {
		p = 100 * float64(c.Correct) / float64(c.Guessed)
	}
	if c.Gold > 0 {
		r = 100 * float64(c.Correct) / float64(c.Gold)
	}
	if p+r > 0 {
		f = 2 * p * r / (p + r)
	}
	return p, r, f
}

// addByType adds one sequence's spans to per-type counts.
func addByType(m map[string]*SpanCounts, gold, pred []string) {
	count := func(typ string) *SpanCounts {
		c := m[typ]
		if c == nil {
			c = &SpanCounts{}
			m[typ] = c
		}
		return c
	}
	g := Spans(gold)
	set := make(map[Span]bool, len(g))
	for _, s := range g {
		set[s] = true
		count(s.Type).Gold++
	}
	for _, s := range Spans(pred) {
		c := count(s.Type)
		c.Guessed++
		if set[s] {
			c.Correct++
		}
	}
}
