package pipeline

import (
	"slices"
	"strings"
	"testing"
)

var fieldInputs = []string{"", " ", "a", " fly  to\tBoston\n", "a\u00a0b\u2003c\u0085d", "x\xffy z", "\v\f\r a b \u3000", "日本 語",
	// The bytes on either side of the white space ranges, and lines that
	// end at, before and after a word of eight bytes (asciiFields).
	"a\x08b\x0ec\x1fd!e\x7ff\x00", "abcdefgh", "abcdefg ", " abcdefgh", "abcdefghijklmno", "a b c d e f g h i", "seventeen-bytes-a\t"}

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

// FuzzASCIIFields: on an ASCII line the CoNLL reader's one-pass splitter
// finds nextField's fields; any other byte sends it back to nextField.
func FuzzASCIIFields(f *testing.F) {
	for _, s := range fieldInputs {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ascii := asciiFields([]int{7}, []byte(s))
		isASCII := true
		for i := range len(s) {
			isASCII = isASCII && s[i] < 0x80
		}
		if ascii != isASCII {
			t.Fatalf("%q: ascii %v", s, ascii)
		}
		if !ascii {
			return
		}
		want := []int{7}
		for a, b := nextField(s, 0); a < len(s); a, b = nextField(s, b) {
			want = append(want, a, b)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%q: got %v, want %v", s, got, want)
		}
	})
}

// FuzzFieldSpans: the encoder's splitter finds nextField's fields in any
// string, ASCII or not, after what spans held.
func FuzzFieldSpans(f *testing.F) {
	for _, s := range fieldInputs {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want := []int{7}
		for a, b := nextField(s, 0); a < len(s); a, b = nextField(s, b) {
			want = append(want, a, b)
		}
		if got := fieldSpans([]int{7}, s); !slices.Equal(got, want) {
			t.Errorf("%q: got %v, want %v", s, got, want)
		}
	})
}
