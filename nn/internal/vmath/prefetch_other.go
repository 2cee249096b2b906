//go:build purego || !amd64

package vmath

// Prefetch does nothing where seqkit has no assembly: the row is read when
// it is needed.
func Prefetch([]float32) {}
