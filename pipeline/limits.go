package pipeline

import "fmt"

// Defaults of [Limits]. Each is far above what a real example needs (the longest
// line of the bundled datasets is under 20 KiB, the largest vocabulary under a
// million entries) and far below what would exhaust memory.
const (
	// DefaultMaxLineBytes bounds one line of a text-based source, so a file
	// without newlines cannot make a reader buffer it whole.
	DefaultMaxLineBytes = 8 << 20
	// DefaultMaxTokens bounds the tokens of one example's input or target: a
	// batch pads every sequence to its longest, so one runaway example would
	// size every buffer of its batch.
	DefaultMaxTokens = 100_000
	// DefaultMaxVocab bounds the distinct tokens counted for a vocabulary and
	// the entries of a vocabulary file.
	DefaultMaxVocab = 10_000_000
)

// Limits bound what a file may make seqkit allocate: a longer line, a longer
// example or a larger vocabulary is refused with an error naming the file and
// line before the memory is taken. Zero means the default.
type Limits struct {
	MaxLineBytes int
	MaxTokens    int
	MaxVocab     int
}

// LineBytes is MaxLineBytes or its default.
func (l Limits) LineBytes() int { return or(l.MaxLineBytes, DefaultMaxLineBytes) }

// Tokens is MaxTokens or its default.
func (l Limits) Tokens() int { return or(l.MaxTokens, DefaultMaxTokens) }

// Vocab is MaxVocab or its default.
func (l Limits) Vocab() int { return or(l.MaxVocab, DefaultMaxVocab) }

func or(n, def int) int {
	if n > 0 {
		return n
	}
	return def
}

// tooManyTokens is the error of an example over [Limits.Tokens].
func tooManyTokens(line int, what string, n, max int) *Error {
	return &Error{Line: line, Err: fmt.Errorf("the %s has %d tokens, more than the limit of %d (data.limits.max_tokens): cut the example, or raise the limit", what, n, max)}
}
