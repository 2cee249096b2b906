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
