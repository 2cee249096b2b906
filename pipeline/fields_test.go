package pipeline

import (
	"slices"
	"strings"
	"testing"
)

var fieldInputs = []string{"", " ", "a", " fly  to\tBoston\n", "a\u00a0b\u2003c\u0085d", "x\xffy z", "\v\f\r a b \u3000", "日本 語"}

// TestAppendFields: the encoder's splitter is strings.Fields.
func TestAppendFields(t *testing.T) {
	for _, s := range fieldInputs {
		if got, want := appendFields([]string{"keep"}, s), append([]string{"keep"}, strings.Fields(s)...); !slices.Equal(got, want) {
			t.Errorf("%q: got %q, want %q", s, got, want)
		}
	}
}

func FuzzAppendFields(f *testing.F) {
	for _, s := range fieldInputs {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := appendFields(nil, s), strings.Fields(s); !slices.Equal(got, want) {
			t.Errorf("%q: got %q, want %q", s, got, want)
		}
	})
}
