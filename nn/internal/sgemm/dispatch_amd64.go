//go:build !purego

package sgemm

import "golang.org/x/sys/cpu"

var best, bestName = pick()

// pick chooses the fastest kernel this CPU runs. The AVX-512 kernel is taken
// only if it agrees with the Go kernel on a small product first (agrees): the
// machines this project is built and tested on have no AVX-512, so a fault in
// it would otherwise reach users unseen; with the check they get AVX2 instead.
func pick() (kernel, string) {
	if cpu.X86.HasAVX512F && cpu.X86.HasAVX2 && cpu.X86.HasFMA && agrees(kernelAVX512Slices) {
		return kernelAVX512Slices, "avx512"
	}
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		return kernelAVX2Slices, "avx2"
	}
	return kernelGo, "go"
}

// asmKernels[rows-1] are the assembly kernels of one instruction set for a
// tile's first rows rows: adding, storing, storing with biases.
type asmKernels = [mr][3]func(k int, a, b, c *float32, ldc int, bias *float32)

var avx2Kernels = asmKernels{
	{kernelAVX2R1, kernelAVX2SetR1, kernelAVX2SetBiasR1},
	{kernelAVX2R2, kernelAVX2SetR2, kernelAVX2SetBiasR2},
	{kernelAVX2R3, kernelAVX2SetR3, kernelAVX2SetBiasR3},
	{kernelAVX2R4, kernelAVX2SetR4, kernelAVX2SetBiasR4},
	{kernelAVX2R5, kernelAVX2SetR5, kernelAVX2SetBiasR5},
	{kernelAVX2, kernelAVX2Set, kernelAVX2SetBias},
}

var avx512Kernels = asmKernels{
	{kernelAVX512R1, kernelAVX512SetR1, kernelAVX512SetBiasR1},
	{kernelAVX512R2, kernelAVX512SetR2, kernelAVX512SetBiasR2},
	{kernelAVX512R3, kernelAVX512SetR3, kernelAVX512SetBiasR3},
	{kernelAVX512R4, kernelAVX512SetR4, kernelAVX512SetBiasR4},
	{kernelAVX512R5, kernelAVX512SetR5, kernelAVX512SetBiasR5},
	{kernelAVX512, kernelAVX512Set, kernelAVX512SetBias},
}

func kernelAVX2Slices(k int, a, b, c []float32, ldc int, add bool, bias []float32, rows int) {
	callAsm(&avx2Kernels, k, a, b, c, ldc, add, bias, rows)
}

func kernelAVX512Slices(k int, a, b, c []float32, ldc int, add bool, bias []float32, rows int) {
	callAsm(&avx512Kernels, k, a, b, c, ldc, add, bias, rows)
}

// callAsm checks the slices are long enough for the rows of the tile before
// the assembly touches them, so a bad call panics instead of writing out of
// bounds, and calls the kernel of ks for the rows and mode.
func callAsm(ks *asmKernels, k int, a, b, c []float32, ldc int, add bool, bias []float32, rows int) {
	_, _, _ = a[k*mr-1], b[k*nr-1], c[(rows-1)*ldc+nr-1]
	row := &ks[rows-1]
	switch {
	case add:
		row[0](k, &a[0], &b[0], &c[0], ldc, nil)
	case bias != nil:
		_ = bias[nr-1]
		row[2](k, &a[0], &b[0], &c[0], ldc, &bias[0])
	default:
		row[1](k, &a[0], &b[0], &c[0], ldc, nil)
	}
}

// kernels lists the kernels this CPU can run, for the tests.
func kernels() map[string]kernel {
	ks := map[string]kernel{"go": kernelGo}
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		ks["avx2"] = kernelAVX2Slices
	}
	if cpu.X86.HasAVX512F {
		ks["avx512"] = kernelAVX512Slices
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
