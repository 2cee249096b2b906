package pipeline

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestShortIDs looks up tokens of every length to 20 bytes (arbitrary bytes,
// NUL included), present and absent, in the table and in the map it is built
// from: every answer must be the map's. The absent tokens differ from present
// ones in one byte, in the length or by a NUL, the cases that a packing of the
// bytes into two words could confuse.
func TestShortIDs(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	alphabet := []byte("ab\x00\xff")
	ids := map[string]int32{}
	var present []string
	for len(present) < 3000 {
		b := make([]byte, rng.IntN(21))
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		if _, dup := ids[string(b)]; !dup {
			ids[string(b)] = int32(len(present))
			present = append(present, string(b))
		}
	}
	v := &Vocab{ids: ids, short: newShortIDs(ids)}
	check := func(tok string) {
		t.Helper()
		id, ok := v.ID(tok)
		want, wantOK := ids[tok]
		if id != want || ok != wantOK {
			t.Fatalf("ID(%q) = %d, %v; the map has %d, %v", tok, id, ok, want, wantOK)
		}
		// The encoder's lookup by offsets in a row's text: with 16 bytes
		// and more after the token's start (windowKey), and without.
		for _, after := range []string{"", "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00", "abababababababab"} {
			s := "b\xff" + tok + after
			if id, ok := v.idAt(s, 2, 2+len(tok)); id != want || ok != wantOK {
				t.Fatalf("idAt(%q, 2, %d) = %d, %v; the map has %d, %v", s, 2+len(tok), id, ok, want, wantOK)
			}
		}
	}
	for _, tok := range present {
		check(tok)
		b := []byte(tok)
		for i := range b {
			c := append([]byte(nil), b...)
			c[i] ^= 1
			check(string(c))
		}
		check(tok + "\x00")
		check("\x00" + tok)
		if len(tok) > 0 {
			check(tok[1:])
			check(tok[:len(tok)-1])
		}
	}
	short := 0
	for _, tok := range present {
		if len(tok) <= shortMax {
			short++
		}
	}
	if n := len(v.short.slots); n < 2*short || n&(n-1) != 0 {
		t.Fatalf("%d slots for %d short tokens: want a power of two, at least twice as many", n, short)
	}
}

// TestShortIDsLength: tokens of one repeated byte pack into the same words
// at several lengths ("a" and "aaa", "aaaa" and "aaaaaaa"), which only the
// length tells apart. A table whose every slot but one holds "aaa" must not
// give its id for "a", wherever the probe starts.
func TestShortIDsLength(t *testing.T) {
	for _, c := range [][2]string{{"aaa", "a"}, {"aaaa", "aaaaaaa"}, {"aaaaaaaa", "aaaaaaaaaaaaaaaa"}, {"x", ""}} {
		k0, k1 := shortKey(c[0])
		s := &shortIDs{slots: make([]idSlot, 16), mask: 15, seed: [2]uint64{1, 2}}
		for i := range s.slots[1:] {
			s.slots[i+1] = idSlot{k0: k0, k1: k1, n: int32(len(c[0]) + 1), id: 7}
		}
		if id, ok := s.get(c[1]); ok {
			t.Fatalf("get(%q) = %d, true: the entry of %q", c[1], id, c[0])
		}
	}
}

// TestVocabExtend: Extend keeps v's ids, appends the tokens v lacks in their
// order (duplicates once), stops at maxSize, never drops v's own entries for
// a maxSize below v's length, and looks every entry up, short and long.
func TestVocabExtend(t *testing.T) {
	long := "a-token-longer-than-sixteen-bytes"
	v, err := NewVocab(append(slices.Clone(Specials), "the", "cat"), true)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		max  int
		want []string
	}{
		{0, []string{"dog", long, "end"}},
		{8, []string{"dog", long}},
		{6, nil},
		{3, nil},
	} {
		out := v.Extend([]string{"cat", "dog", long, "dog", "end"}, c.max)
		want := append(v.Tokens(), c.want...)
		if !slices.Equal(out.Tokens(), want) {
			t.Fatalf("max %d: %q, want %q", c.max, out.Tokens(), want)
		}
		for id, tok := range want {
			if got, ok := out.ID(tok); !ok || got != int32(id) {
				t.Fatalf("max %d: ID(%q) = %d, %v; want %d", c.max, tok, got, ok, id)
			}
		}
		if _, ok := out.ID("bird"); ok || !out.HasSpecials() {
			t.Fatalf("max %d: an absent token found, or the specials flag lost", c.max)
		}
	}
}
