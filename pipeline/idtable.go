package pipeline

import (
	"math/bits"
	"math/rand/v2"
)

// shortIDs finds the id of a token of at most 16 bytes, the encoder's lookup
// for nearly every word. A Go map of strings hashes the token, then follows
// each candidate key's pointer to compare its bytes, another cache line a
// lookup; here a slot holds the token's bytes itself, as two words and a
// length, so a probe is three compares in one line. On an AMD EPYC (Zen 1,
// AVX2 only) it took the CSV benchmark's lookups from about 40 ns to 22
// (BenchmarkEncode, pipeline/bench_test.go). Longer tokens stay in the map.
type shortIDs struct {
	slots []idSlot // open addressing, linear probing, at most half full
	mask  uint64
	seed  [2]uint64 // random per table, so that no input can be made to collide on purpose
}

// idSlot is one entry: the token's bytes as shortKey packs them, its length
// plus one (0 marks an empty slot) and its id.
type idSlot struct {
	k0, k1 uint64
	n, id  int32
}

// shortMax is the longest token shortIDs holds.
const shortMax = 16

// newShortIDs returns the table of the tokens of ids of at most shortMax
// bytes. The table is at least twice as large as their number, a power of
// two, so that a probe sequence is short, a miss included.
func newShortIDs(ids map[string]int32) *shortIDs {
	n := 0
	for t := range ids {
		if len(t) <= shortMax {
			n++
		}
	}
	size := 16
	for size < 2*n {
		size *= 2
	}
	s := &shortIDs{slots: make([]idSlot, size), mask: uint64(size - 1), seed: [2]uint64{rand.Uint64(), rand.Uint64()}}
	for t, id := range ids {
		if len(t) > shortMax {
			continue
		}
		k0, k1 := shortKey(t)
		for j := s.hash(k0, k1, len(t)); ; j++ {
			if e := &s.slots[j&s.mask]; e.n == 0 {
				*e = idSlot{k0: k0, k1: k1, n: int32(len(t) + 1), id: id}
				break
			}
		}
	}
	return s
}

// get returns the id of t, which has at most shortMax bytes.
func (s *shortIDs) get(t string) (int32, bool) {
	k0, k1 := shortKey(t)
	return s.getKey(k0, k1, len(t))
}

// getKey returns the id of the token of n bytes whose key is k0, k1.
func (s *shortIDs) getKey(k0, k1 uint64, n int) (int32, bool) {
	for j := s.hash(k0, k1, n); ; j++ {
		e := &s.slots[j&s.mask]
		if e.n == int32(n+1) && e.k0 == k0 && e.k1 == k1 {
			return e.id, true
		}
		if e.n == 0 {
			return 0, false
		}
	}
}

// hash mixes a key's two words and length with one wide multiplication (as
// wyhash does).
func (s *shortIDs) hash(k0, k1 uint64, n int) uint64 {
	hi, lo := bits.Mul64(k0^s.seed[0], k1^uint64(n)^s.seed[1])
	return hi ^ lo
}

// shortKey packs a token of at most 16 bytes into two words: its bytes in
// order from the low byte of k0 to the high byte of k1, zeros after. With
// the length they determine the token. windowKey finds the same words.
func shortKey(t string) (k0, k1 uint64) {
	switch n := len(t); {
	case n >= 8: // the last 8 bytes, shifted down to the 9th on
		return le64(t), le64(t[n-8:]) >> (8 * (16 - n))
	case n >= 4:
		return uint64(le32(t)) | uint64(le32(t[n-4:]))>>(8*(8-n))<<32, 0
	case n > 0: // the middle byte is the first or last when n < 3
		return uint64(t[0]) | uint64(t[n/2])<<(8*(n/2)) | uint64(t[n-1])<<(8*(n-1)), 0
	}
	return 0, 0
}

// windowKey is shortKey(s[a:a+n]) for n <= 16 and a+16 <= len(s): two loads
// of 16 bytes and masks, without shortKey's branches on the length, which
// mispredict when lengths vary from token to token.
func windowKey(s string, a, n int) (k0, k1 uint64) {
	// A shift by 64 or more gives 0 in Go: the mask of no bytes.
	m0 := ^uint64(0) >> uint(64-8*min(n, 8))
	m1 := ^uint64(0) >> uint(64-8*max(n-8, 0))
	return le64(s[a:]) & m0, le64(s[a+8:]) & m1
}

// le64 and le32 read a string's first bytes as a little-endian word; the
// compiler turns each into one load.
func le64[S ~string | ~[]byte](s S) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

func le32[S ~string | ~[]byte](s S) uint32 {
	_ = s[3]
	return uint32(s[0]) | uint32(s[1])<<8 | uint32(s[2])<<16 | uint32(s[3])<<24
}
