// Package sgemm multiplies float32 matrices for the recurrent layers: packed,
// cache-blocked, with a register-blocked micro-kernel in assembly (AVX2 and FMA,
// or AVX-512, written by the avo generator in asm/) where the CPU has it, a Go
// micro-kernel elsewhere and under the purego build tag, and both cores on large
// products. The AVX-512 kernel (a 12×32 tile, the AVX2 kernel's is 6×16) is
// used only after it agrees bit for bit with the Go kernel of its tile on a
// small product at start-up: a fault on a CPU it was never tested on then
// costs speed, not results.
//
// It exists because gonum's pure-Go SGEMM reaches a small fraction of the machine's
// floating-point rate on the shapes a recurrent step uses, and matrix products are most
// of a training step's time.
package sgemm

//go:generate go run -C asm . -out ../kernel_amd64.s -stubs ../kernel_amd64.go -pkg sgemm
