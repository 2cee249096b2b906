//go:build !purego

package vmath

// Prefetch asks the CPU to bring x into its caches without waiting for it,
// for a read a little later: a table row that the next step reads, while
// this step computes.
func Prefetch(x []float32) {
	if len(x) > 0 {
		prefetchLines(&x[0], len(x))
	}
}

//go:noescape
func prefetchLines(p *float32, n int)
