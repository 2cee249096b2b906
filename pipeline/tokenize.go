package pipeline

import (
	"fmt"
	"math/bits"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// TokenizerConfig chooses how strings become tokens. The zero value splits on white
// space with no normalisation.
type TokenizerConfig struct {
	// Kind is "whitespace" (the default), "char" (one token per Unicode code point)
	// or "regex" (each match of Pattern is a token).
	Kind    string `json:"kind,omitempty"`
	Pattern string `json:"pattern,omitempty"`
	// Lower lower-cases the text first.
	Lower bool `json:"lower,omitempty"`
	// Normalize applies Unicode normalisation first: "" (none), "nfc",
	// "nfkc", or the decomposing "nfd" and "nfkd", which split a Hangul
	// syllable into its letters (jamo) and an accented letter into base and
	// mark, so a character model sees their parts.
	Normalize string `json:"normalize,omitempty"`
	// Compose joins text that a model writes in these tokens back into NFC
	// (a prediction, a generated sample), for a decomposing normalisation:
	// what a reader of Hangul or of accented text expects.
	Compose bool `json:"compose,omitempty"`
	// Target, when set, splits the target column instead: characters in,
	// whitespace-separated phones out, for grapheme-to-phoneme.
	Target *TokenizerConfig `json:"target,omitempty"`
}

// Tokenizer splits strings into tokens. It is safe for concurrent use.
type Tokenizer struct {
	cfg    TokenizerConfig
	target *Tokenizer // nil: targets split like inputs
	re     *regexp.Regexp
	form   norm.Form
	norm   bool
}

// Config is the configuration the tokenizer was made from.
func (t *Tokenizer) Config() TokenizerConfig { return t.cfg }

// NewTokenizer checks cfg and returns its tokenizer.
func NewTokenizer(cfg TokenizerConfig) (*Tokenizer, error) {
	t := &Tokenizer{cfg: cfg}
	if cfg.Target != nil {
		if cfg.Target.Target != nil {
			return nil, fmt.Errorf("pipeline: the target tokenizer cannot have a target tokenizer of its own")
		}
		var err error
		if t.target, err = NewTokenizer(*cfg.Target); err != nil {
			return nil, fmt.Errorf("target %w", err)
		}
	}
	switch strings.ToLower(cfg.Kind) {
	case "", "whitespace", "char":
	case "regex":
		if cfg.Pattern == "" {
			return nil, fmt.Errorf("pipeline: a regex tokenizer needs a pattern")
		}
		re, err := regexp.Compile(cfg.Pattern)
		if err != nil {
			return nil, fmt.Errorf("pipeline: tokenizer pattern: %w", err)
		}
		t.re = re
	default:
		return nil, fmt.Errorf("pipeline: unknown tokenizer %q (want whitespace, char or regex)", cfg.Kind)
	}
	switch strings.ToLower(cfg.Normalize) {
	case "":
	case "nfc":
		t.form, t.norm = norm.NFC, true
	case "nfkc":
		t.form, t.norm = norm.NFKC, true
	case "nfd":
		t.form, t.norm = norm.NFD, true
	case "nfkd":
		t.form, t.norm = norm.NFKD, true
	default:
		return nil, fmt.Errorf("pipeline: unknown normalisation %q (want nfc, nfkc, nfd or nfkd)", cfg.Normalize)
	}
	if cfg.Compose && t.form != norm.NFD && t.form != norm.NFKD {
		return nil, fmt.Errorf("pipeline: compose joins decomposed text back: it needs normalize nfd or nfkd, not %q", cfg.Normalize)
	}
	return t, nil
}

// ComposeText returns text written in this tokenizer's tokens as a reader
// expects it: composed into NFC when the configuration asks for it
// (Compose), unchanged otherwise.
func (cfg TokenizerConfig) ComposeText(s string) string {
	if cfg.Compose {
		return norm.NFC.String(s)
	}
	return s
}

// Clean applies the normalisation and lower-casing without splitting; it is what
// pre-tokenized tokens go through.
func (t *Tokenizer) Clean(s string) string {
	if t.norm {
		s = t.form.String(s)
	}
	if t.cfg.Lower {
		s = strings.ToLower(s)
	}
	return s
}

// TargetTokens splits a target string: with the target tokenizer when the
// configuration has one, else as Tokens.
func (t *Tokenizer) TargetTokens(dst []string, s string) []string {
	if t.target != nil {
		return t.target.Tokens(dst, s)
	}
	return t.Tokens(dst, s)
}

// TargetKind is the kind of the tokenizer that splits targets.
func (t *Tokenizer) TargetKind() string {
	if t.target != nil {
		return t.target.cfg.Kind
	}
	return t.cfg.Kind
}

// Tokens splits s, appending to dst (which may be nil) and returning it.
func (t *Tokenizer) Tokens(dst []string, s string) []string {
	s = t.Clean(s)
	switch {
	case t.re != nil:
		return append(dst, t.re.FindAllString(s, -1)...)
	case strings.EqualFold(t.cfg.Kind, "char"):
		for i, w := 0, 0; i < len(s); i += w {
			_, w = utf8.DecodeRuneInString(s[i:])
			dst = append(dst, s[i:i+w])
		}
		return dst
	}
	return appendFields(dst, s)
}

// asciiSpace is strings.Fields' white space below utf8.RuneSelf.
var asciiSpace = [utf8.RuneSelf]bool{'\t': true, '\n': true, '\v': true, '\f': true, '\r': true, ' ': true}

// appendFields appends strings.Fields(s) to dst without allocating a slice
// of its own: a row's tokens go into the encoder's buffer.
func appendFields(dst []string, s string) []string {
	for a, b := nextField(s, 0); a < len(s); a, b = nextField(s, b) {
		dst = append(dst, s[a:b])
	}
	return dst
}

// nextField returns the bounds of the first field of s that starts at or
// after i, as strings.Fields splits (Unicode white space), or a == len(s)
// when there is none. The encoder and the CoNLL reader walk a row's fields
// with it by offset, storing no string.
func nextField[S ~string | ~[]byte](s S, i int) (a, b int) {
	a = len(s)
	for i < len(s) {
		// ASCII inline (isSpaceAt is not inlined, and most text is ASCII).
		space, w := false, 1
		if c := s[i]; c < utf8.RuneSelf {
			space = asciiSpace[c]
		} else {
			space, w = isSpaceAt(s, i)
		}
		if space {
			if a < len(s) {
				return a, i
			}
		} else if a == len(s) {
			a = i
		}
		i += w
	}
	return a, len(s)
}

// fieldSpans appends to spans the start and end of each field of s, as
// nextField finds them: with asciiFields when s is ASCII.
func fieldSpans(spans []int, s string) []int {
	n := len(spans)
	spans, ascii := asciiFields(spans, s)
	if !ascii {
		spans = spans[:n]
		for a, b := nextField(s, 0); a < len(s); a, b = nextField(s, b) {
			spans = append(spans, a, b)
		}
	}
	return spans
}

// asciiFields appends to spans the start and end of each field of line, as
// nextField finds them, when line is ASCII (a CoNLL file's token lines, most
// text columns); it reports false, with spans of no meaning, when line holds
// other bytes. It reads eight bytes at a time and finds the fields' bounds
// in bit masks: a byte at a time, the branch on each byte mispredicted at
// nearly every field's end (MR's sentences, one core: 366 → 667 MB/s, AMD
// EPYC Zen 5).
func asciiFields[S ~string | ~[]byte](spans []int, line S) ([]int, bool) {
	const ones, high = 0x0101010101010101, 0x8080808080808080
	var in uint64 // bit 7 set when the byte before the word is a field's
	for i := 0; i < len(line); i += 8 {
		var w uint64
		if i+8 <= len(line) {
			w = le64(line[i:])
		} else if len(line) >= 8 { // the last 8 bytes, those read shifted out for spaces
			sh := uint(8 * (i + 8 - len(line)))
			w = le64(line[len(line)-8:])>>sh | ' '*ones<<(64-sh)
		} else { // a short line's bytes, then spaces
			w = ' ' * ones
			for j := len(line) - 1; j >= i; j-- {
				w = w<<8 | uint64(line[j])
			}
		}
		if w&high != 0 {
			return spans, false
		}
		// Bit 7 of each byte: is it '\t' to '\r' or ' '? Sums of bytes
		// below 0x80 stay below 0x100, so no byte carries into the next.
		ge9 := (w + (0x80-'\t')*ones) & high
		ge14 := (w + (0x80-'\r'-1)*ones) & high
		notSpace := ((w ^ ' '*ones) + 0x7f*ones) & high
		field := notSpace &^ (ge9 &^ ge14)
		// A field starts where a field byte follows another byte, and
		// ends where another byte follows a field byte; the two
		// alternate, so the changes in order are start, end, start...
		for ch := field ^ (field<<8 | in); ch != 0; ch &= ch - 1 {
			spans = append(spans, i+bits.TrailingZeros64(ch)>>3)
		}
		in = field >> 56
	}
	if in != 0 {
		spans = append(spans, len(line))
	}
	return spans, true
}

// isSpaceAt reports whether the character at s[i] is white space, and its width.
func isSpaceAt[S ~string | ~[]byte](s S, i int) (bool, int) {
	if c := s[i]; c < utf8.RuneSelf {
		return asciiSpace[c], 1
	}
	// Rare: at most UTFMax bytes, converted on the stack.
	r, w := utf8.DecodeRuneInString(string(s[i:min(i+utf8.UTFMax, len(s))]))
	return unicode.IsSpace(r), w
}

// plain reports whether Tokens only splits at white space (no normalisation,
// lower-casing, characters or pattern): then nextField finds its tokens.
func (t *Tokenizer) plain() bool {
	return t.re == nil && !t.norm && !t.cfg.Lower && !strings.EqualFold(t.cfg.Kind, "char")
}
