package seq2seq

import (
	"math"
	"regexp"
	"strings"
)

// BLEU accumulates corpus BLEU statistics the way sacreBLEU does (4-gram
// precisions clipped by the references, brevity penalty against the closest
// reference length, "exp" smoothing of zero counts), over tokens the caller has
// already tokenised.
type BLEU struct {
	correct, total [4]int
	hypLen, refLen int
}

// Add counts one hypothesis against its references.
func (b *BLEU) Add(hyp []string, refs [][]string) {
	b.hypLen += len(hyp)
	closest := -1
	for _, r := range refs {
		if d, c := abs(len(r)-len(hyp)), abs(closest-len(hyp)); closest < 0 || d < c || (d == c && len(r) < closest) {
			closest = len(r)
		}
	}
	b.refLen += max(closest, 0)
	for n := 1; n <= 4; n++ {
		counts := ngrams(hyp, n)
		maxRef := map[string]int{}
		for _, r := range refs {
			for g, c := range ngrams(r, n) {
				maxRef[g] = max(maxRef[g], c)
			}
		}
		for g, c := range counts {
			b.correct[n-1] += min(c, maxRef[g])
		}
		b.total[n-1] += max(len(hyp)-n+1, 0)
	}
}

// Score returns corpus BLEU in [0, 100].
func (b *BLEU) Score() float64 {
	if b.hypLen == 0 || b.correct == [4]int{} {
		return 0 // nothing matched: sacreBLEU stops here before smoothing
	}
	var logSum float64
	smooth := 1.0
	for n := range 4 {
		var p float64
		switch {
		case b.total[n] == 0:
			p = 0
		case b.correct[n] == 0:
			smooth *= 2
			p = 100 / (smooth * float64(b.total[n]))
		default:
			p = 100 * float64(b.correct[n]) / float64(b.total[n])
		}
		if p == 0 {
			return 0
		}
		logSum += math.Log(p)
	}
	bp := 1.0
	if b.hypLen < b.refLen {
		bp = math.Exp(1 - float64(b.refLen)/float64(b.hypLen))
	}
	return bp * math.Exp(logSum/4)
}

func ngrams(toks []string, n int) map[string]int {
	m := map[string]int{}
	for i := 0; i+n <= len(toks); i++ {
		m[strings.Join(toks[i:i+n], "\x00")]++
	}
	return m
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// The regular expressions of sacreBLEU's default "13a" tokenizer (mteval-v13a).
var (
	re13aPunct = regexp.MustCompile(`([\{-\~\[-\` + "`" + ` -\&\(-\+\:-\@\/])`)
	re13aDotL  = regexp.MustCompile(`([^0-9])([\.,])`)
	re13aDotR  = regexp.MustCompile(`([\.,])([^0-9])`)
	re13aDash  = regexp.MustCompile(`([0-9])(-)`)
)

// Tokenize13a splits a detokenised sentence as sacreBLEU's default tokenizer
// does, for BLEU against text references.
func Tokenize13a(s string) []string {
	s = strings.ReplaceAll(s, "<skipped>", "")
	s = strings.ReplaceAll(s, "-\n", "")
	s = strings.ReplaceAll(s, "\n", " ")
	if strings.Contains(s, "&") {
		s = strings.NewReplacer("&quot;", `"`, "&amp;", "&", "&lt;", "<", "&gt;", ">").Replace(s)
	}
	s = " " + s + " "
	s = re13aPunct.ReplaceAllString(s, " $1 ")
	s = re13aDotL.ReplaceAllString(s, "$1 $2 ")
	s = re13aDotR.ReplaceAllString(s, " $1 $2")
	s = re13aDash.ReplaceAllString(s, "$1 $2 ")
	return strings.Fields(s)
}
