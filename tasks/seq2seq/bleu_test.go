package seq2seq

import (
	"fmt"
	"math"
	"testing"
)

// TestBLEUSacreBLEUExample is the example of sacreBLEU's README: two reference
// streams, 13a tokenisation; sacreBLEU prints
// "BLEU = 48.53 82.4/50.0/45.5/37.5 (BP = 0.943 ratio = 0.944 hyp_len = 17 ref_len = 18)".
func TestBLEUSacreBLEUExample(t *testing.T) {
	refs := [][]string{
		{"The dog bit the man.", "It was not unexpected.", "The man bit him first."},
		{"The dog had bit the man.", "No one was surprised.", "The man had bitten the dog."},
	}
	sys := []string{"The dog bit the man.", "It wasn't surprising.", "The man had just bitten him."}
	var b BLEU
	for i, h := range sys {
		b.Add(Tokenize13a(h), [][]string{Tokenize13a(refs[0][i]), Tokenize13a(refs[1][i])})
	}
	got := fmt.Sprintf("%.1f/%.1f/%.1f/%.1f hyp_len = %d ref_len = %d",
		100*float64(b.correct[0])/float64(b.total[0]), 100*float64(b.correct[1])/float64(b.total[1]),
		100*float64(b.correct[2])/float64(b.total[2]), 100*float64(b.correct[3])/float64(b.total[3]), b.hypLen, b.refLen)
	if want := "82.4/50.0/45.5/37.5 hyp_len = 17 ref_len = 18"; got != want {
		t.Errorf("statistics %s, want %s", got, want)
	}
	if s := b.Score(); math.Abs(s-48.53) > 0.005 {
		t.Errorf("BLEU %.4f, want 48.53", s)
	}
}

// TestBLEUEdges: a perfect match is 100, no overlap is 0, a zero 4-gram count is
// smoothed (sacreBLEU's "exp"), and a short hypothesis pays the brevity penalty.
func TestBLEUEdges(t *testing.T) {
	score := func(h string, r ...string) float64 {
		var b BLEU
		var refs [][]string
		for _, x := range r {
			refs = append(refs, Tokenize13a(x))
		}
		b.Add(Tokenize13a(h), refs)
		return b.Score()
	}
	if s := score("a b c d e", "a b c d e"); math.Abs(s-100) > 1e-9 {
		t.Errorf("identical: %g", s)
	}
	if s := score("x y z w", "a b c d"); s != 0 {
		t.Errorf("no overlap: %g", s)
	}
	// Precisions 3/4, 2/3, 1/2 and no 4-gram: smoothed to 100/(2·1).
	if s, want := score("a b c x", "a b c d"), math.Pow(75*(200.0/3)*50*50, 0.25); math.Abs(s-want) > 1e-9 {
		t.Errorf("partial: %g, want %g", s, want)
	}
	full, short := score("a b c d e f", "a b c d e f"), score("a b c d", "a b c d e f")
	if want := 100 * math.Exp(1-6.0/4); math.Abs(short-want) > 1e-9*want || math.Abs(full-100) > 1e-9 {
		t.Errorf("brevity: %g, want %g", short, want)
	}
}

func TestTokenize13a(t *testing.T) {
	for in, want := range map[string]string{
		"It wasn't surprising.":   "It wasn't surprising .",
		"3.14, 1,000 and 5-7 (x)": "3.14 , 1,000 and 5 - 7 ( x )",
		"a &amp; b &quot;q&quot;": "a & b \" q \"",
	} {
		if got := fmt.Sprint(Tokenize13a(in)); got != fmt.Sprint(splitSpace(want)) {
			t.Errorf("Tokenize13a(%q) = %v, want %v", in, got, splitSpace(want))
		}
	}
}

func splitSpace(s string) []string {
	var out []string
	start := -1
	for i, r := range s + " " {
		if r == ' ' {
			if start >= 0 {
				out = append(out, s[start:i])
				start = -1
			}
			continue
		}
		if start < 0 {
			start = i
		}
	}
	return out
}
