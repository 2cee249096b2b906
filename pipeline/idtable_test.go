package pipeline

import (
	"math/rand/v2"
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
	if len(v.short.slots) < 2*2000 || len(v.short.slots)&(len(v.short.slots)-1) != 0 {
		t.Fatalf("%d slots for about 2500 short tokens: want a power of two, at least twice as many", len(v.short.slots))
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
