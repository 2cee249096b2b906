package quote

import (
	"strings"
	"testing"
)

func TestQ(t *testing.T) {
	cases := map[string]string{
		"arrive taipei":                `"arrive taipei"`,
		"\x1b[31mred\x07":              `"\x1b[31mred\a"`,
		strings.Repeat("a", 1000):      `"` + strings.Repeat("a", Max) + `"…`,
		strings.Repeat("é", 100):       `"` + strings.Repeat("é", Max/2) + `"…`,
		"x" + strings.Repeat("é", 100): `"x` + strings.Repeat("é", (Max-1)/2) + `"…`,
	}
	for in, want := range cases {
		if got := Q(in); got != want {
			t.Errorf("Q(%.20q…) = %s, want %s", in, got, want)
		}
	}
}
