//go:build !purego

package sgemm

import "golang.org/x/sys/cpu"

var best, bestName = pick()

func pick() (kernel, string) {
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		return kernelAVX2Slices, "avx2"
	}
	return kernelGo, "go"
}

// avx2Kernels[rows-1] are the assembly kernels for a tile's first rows rows:
// adding, storing, storing with biases.
var avx2Kernels = [mr][3]func(k int, a, b, c *float32, ldc int, bias *float32){
	{kernelAVX2R1, kernelAVX2SetR1, kernelAVX2SetBiasR1},
	{kernelAVX2R2, kernelAVX2SetR2, kernelAVX2SetBiasR2},
	{kernelAVX2R3, kernelAVX2SetR3, kernelAVX2SetBiasR3},
	{kernelAVX2R4, kernelAVX2SetR4, kernelAVX2SetBiasR4},
	{kernelAVX2R5, kernelAVX2SetR5, kernelAVX2SetBiasR5},
	{kernelAVX2, kernelAVX2Set, kernelAVX2SetBias},
}

// kernelAVX2Slices checks the slices are long enough for the rows of the tile
// before the assembly touches them, so a bad call panics instead of writing out
// of bounds.
func kernelAVX2Slices(k int, a, b, c []float32, ldc int, add bool, bias []float32, rows int) {
	_, _, _ = a[k*mr-1], b[k*nr-1], c[(rows-1)*ldc+nr-1]
	ks := &avx2Kernels[rows-1]
	switch {
	case add:
		ks[0](k, &a[0], &b[0], &c[0], ldc, nil)
	case bias != nil:
		_ = bias[nr-1]
		ks[2](k, &a[0], &b[0], &c[0], ldc, &bias[0])
	default:
		ks[1](k, &a[0], &b[0], &c[0], ldc, nil)
	}
}

// kernels lists the kernels this CPU can run, for the tests.
func kernels() map[string]kernel {
	ks := map[string]kernel{"go": kernelGo}
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		ks["avx2"] = kernelAVX2Slices
	}
	return ks
}

// packTrans packs the first kb&^7 columns of the panel of sixteen stored rows
// of B at src (row stride ldb) with the AVX2 transpose and returns how many it
// packed; the caller packs the rest.
func packTrans(dst, src []float32, ldb, kb int) int {
	n := kb &^ 7
	if !cpu.X86.HasAVX2 || n == 0 {
		return 0
	}
	_, _ = src[(nr-1)*ldb+n-1], dst[n*nr-1]
	packTransAVX2(&dst[0], &src[0], ldb, n)
	return n
}
