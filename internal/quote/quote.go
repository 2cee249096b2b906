// Package quote quotes text read from a file in an error message: escaped,
// so control characters and escape sequences cannot reach the terminal, and
// cut short, so a message never carries a whole line of whatever file a path
// pointed at.
package quote

import (
	"strconv"
	"unicode/utf8"
)

// Max is the most bytes of the text a quotation shows.
const Max = 60

// Q is s quoted as a Go string, cut after Max bytes (at a character boundary)
// with "…" marking the cut.
func Q(s string) string {
	if len(s) <= Max {
		return strconv.Quote(s)
	}
	cut := Max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strconv.Quote(s[:cut]) + "…"
}
