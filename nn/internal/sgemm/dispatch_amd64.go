//go:build !purego

package sgemm

import "golang.org/x/sys/cpu"

var best, bestName = pick()

// pick chooses the fastest kernel this CPU runs. The AVX-512 kernel is taken
// only if it agrees with the Go kernel on a small product first (agrees), so
// that a fault in it on a CPU it was never tested on gives users the AVX2
// kernel, not wrong results.
func pick() (kernel, string) {
	if cpu.X86.HasAVX512F && cpu.X86.HasAVX2 && cpu.X86.HasFMA && agrees(avx512Kernel) {
		return avx512Kernel, "avx512"
	}
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		return avx2Kernel, "avx2"
	}
	return goKernel, "go"
}

// asmKernels[rows-1] are the assembly kernels of one instruction set for a
// tile's first rows rows: adding, storing, storing with biases.
type asmKernels [][3]func(k int, a, b, c *float32, ldc int, bias *float32)

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
	{kernelAVX512R6, kernelAVX512SetR6, kernelAVX512SetBiasR6},
	{kernelAVX512R7, kernelAVX512SetR7, kernelAVX512SetBiasR7},
	{kernelAVX512R8, kernelAVX512SetR8, kernelAVX512SetBiasR8},
	{kernelAVX512R9, kernelAVX512SetR9, kernelAVX512SetBiasR9},
	{kernelAVX512R10, kernelAVX512SetR10, kernelAVX512SetBiasR10},
	{kernelAVX512R11, kernelAVX512SetR11, kernelAVX512SetBiasR11},
	{kernelAVX512, kernelAVX512Set, kernelAVX512SetBias},
}

// avx2Pairs[rows-1] are the AVX2 kernels over two panels of B for edge tiles
// of one or two rows.
var avx2Pairs = asmKernels{
	{kernelAVX2PairR1, kernelAVX2PairSetR1, kernelAVX2PairSetBiasR1},
	{kernelAVX2PairR2, kernelAVX2PairSetR2, kernelAVX2PairSetBiasR2},
}

// The assembly kernels' tiles: 6×16 in the 16 YMM registers of AVX2, 12×32
// in the 32 ZMM registers of AVX-512 (asm/gen.go says why).
var (
	avx2Kernel = kernel{mr: 6, nr: 16, fn: func(k int, a, b, c []float32, ldc int, add bool, bias []float32, rows int) {
		callAsm(avx2Kernels, 6, 16, k, a, b, c, ldc, add, bias, rows)
	}, pair: func(k int, a, b, c []float32, ldc int, add bool, bias []float32, rows int) {
		callAsm(avx2Pairs, 6, 32, k, a, b, c, ldc, add, bias, rows)
	}, pairRows: len(avx2Pairs)}
	avx512Kernel = kernel{mr: 12, nr: 32, fn: func(k int, a, b, c []float32, ldc int, add bool, bias []float32, rows int) {
		callAsm(avx512Kernels, 12, 32, k, a, b, c, ldc, add, bias, rows)
	}}
)

// callAsm checks the slices are long enough for the rows of the mr×nr tile
// before the assembly touches them, so a bad call panics instead of writing
// out of bounds, and calls the kernel of ks for the rows and mode.
func callAsm(ks asmKernels, mr, nr, k int, a, b, c []float32, ldc int, add bool, bias []float32, rows int) {
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
	ks := map[string]kernel{"go": goKernel}
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		ks["avx2"] = avx2Kernel
	}
	if cpu.X86.HasAVX512F {
		ks["avx512"] = avx512Kernel
	}
	return ks
}

// packTrans packs the first kb&^7 columns of the panel of nr stored rows of B
// at src (row stride ldb) with the AVX2 transpose, sixteen rows at a time,
// and returns how many it packed; the caller packs the rest.
func packTrans(dst []float32, nr int, src []float32, ldb, kb int) int {
	n := kb &^ 7
	if !cpu.X86.HasAVX2 || n == 0 || (nr != 16 && nr != 32) {
		return 0
	}
	_, _ = src[(nr-1)*ldb+n-1], dst[n*nr-1]
	if nr == 16 {
		packTransAVX2(&dst[0], &src[0], ldb, n)
		return n
	}
	packTrans32AVX2(&dst[0], &src[0], ldb, n)
	packTrans32AVX2(&dst[16], &src[16*ldb], ldb, n)
	return n
}
