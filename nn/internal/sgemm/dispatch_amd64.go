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

// kernelAVX2Slices checks the slices are long enough for the whole tile before the
// assembly touches them, so a bad call panics instead of writing out of bounds.
func kernelAVX2Slices(k int, a, b, c []float32, ldc int, add bool, bias []float32) {
	_, _, _ = a[k*mr-1], b[k*nr-1], c[(mr-1)*ldc+nr-1]
	switch {
	case add:
		kernelAVX2(k, &a[0], &b[0], &c[0], ldc)
	case bias != nil:
		_ = bias[nr-1]
		kernelAVX2SetBias(k, &a[0], &b[0], &c[0], ldc, &bias[0])
	default:
		kernelAVX2Set(k, &a[0], &b[0], &c[0], ldc)
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
