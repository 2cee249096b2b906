//go:build purego || !amd64

package sgemm

var best, bestName = goKernel, "go"

// kernels lists the kernels this CPU can run, for the tests.
func kernels() map[string]kernel { return map[string]kernel{"go": goKernel} }

// packTrans packs nothing: packB does it all in Go.
func packTrans(dst []float32, nr int, src []float32, ldb, kb int) int { return 0 }
