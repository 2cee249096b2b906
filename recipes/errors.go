package recipes

import (
	"errors"
	"fmt"
	"strings"
)

// ErrRecipe is wrapped by every error about the content of a recipe, so a caller
// can tell a bad recipe (a usage error, exit code 2) from a failure while working.
var ErrRecipe = errors.New("invalid recipe")

// Error is one problem in a recipe, at a position in a file. File is the recipe's
// path, "builtin:NAME" for a built-in recipe, or "--set KEY=VALUE" for an
// override; Line and Column are 1-based and zero when the key comes from the
// defaults.
type Error struct {
	File         string
	Line, Column int
	Key          string // dotted key path, such as model.hidden
	Msg          string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d:%d", e.Line, e.Column)
	}
	b.WriteString(": ")
	if e.Key != "" {
		b.WriteString(e.Key + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Unwrap makes every Error match [ErrRecipe].
func (e *Error) Unwrap() error { return ErrRecipe }

// Errors is every problem found in a recipe, in file order.
type Errors []*Error

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap returns the single errors, so errors.Is and errors.As see them.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// KeyError is a problem found after decoding, by key path; [Load] gives it the
// position of that key.
type KeyError struct {
	Key, Msg string
}

// suggest returns the candidate closest to s by edit distance when it is close
// enough to be a likely typo, or "".
func suggest(s string, candidates []string) string {
	best, bestD := "", len(s)/3+2
	for _, c := range candidates {
		if d := editDistance(s, c); d < bestD || (d == bestD && best == "" && d <= 2) {
			best, bestD = c, d
		}
	}
	if best != "" && bestD > max(2, len(s)/3) {
		return ""
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, by bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func didYouMean(s string, candidates []string) string {
	if c := suggest(s, candidates); c != "" {
		return fmt.Sprintf("; did you mean %q?", c)
	}
	return ""
}
