//go:build purego || !amd64

package sgemm

var best, bestName = kernel(kernelGo), "go"

// kernels lists the kernels this CPU can run, for the tests.
func kernels() map[string]kernel { return map[string]kernel{"go": kernelGo} }

// packTrans packs nothing: packB does it all in Go.
func packTrans(dst, src []float32, ldb, kb int) int { return 0 }
