package vmath

// Max returns the largest value of x, which must not be empty. With a NaN in x
// the result is unspecified (a softmax over it gives NaN either way).
func Max(x []float32) float32 {
	n := vector(len(x))
	m := x[0]
	if n > 0 {
		m = maxAVX(x[:n])
	}
	for _, v := range x[n:] {
		m = max(m, v)
	}
	return m
}

// Sum64 returns the sum of x in float64, in a fixed order that the AVX2 kernel
// and the Go loop share: eight running sums, element i into sum i mod 8, then
// sum j and sum j+4 together, then (0+2)+(1+3), then the last len(x) mod 8
// elements one by one.
func Sum64(x []float32) float64 {
	n := vector(len(x))
	var s float64
	if n > 0 {
		s = sum64(x[:n])
	} else {
		n = len(x) &^ 7
		s = sum64Go(x[:n])
	}
	for _, v := range x[n:] {
		s += float64(v)
	}
	return s
}

func sum64Go(x []float32) float64 {
	var s [8]float64
	for i := 0; i+8 <= len(x); i += 8 {
		for j := range s {
			s[j] += float64(x[i+j])
		}
	}
	a0, a1, a2, a3 := s[0]+s[4], s[1]+s[5], s[2]+s[6], s[3]+s[7]
	return (a0 + a2) + (a1 + a3)
}

// SumSq64 returns the sum of the squares of x in float64 (each square rounded
// to float64, then added), in Sum64's order: a gradient's squared norm.
func SumSq64(x []float32) float64 {
	n := vector(len(x))
	var s float64
	if n > 0 {
		s = sumSq64(x[:n])
	} else {
		n = len(x) &^ 7
		s = sumSq64Go(x[:n])
	}
	for _, v := range x[n:] {
		s += float64(float64(v) * float64(v))
	}
	return s
}

func sumSq64Go(x []float32) float64 {
	var s [8]float64
	for i := 0; i+8 <= len(x); i += 8 {
		for j := range s {
			// The conversion rounds the product, so that no compiler fuses
			// it into the sum: the AVX2 kernel multiplies, then adds.
			s[j] += float64(float64(x[i+j]) * float64(x[i+j]))
		}
	}
	a0, a1, a2, a3 := s[0]+s[4], s[1]+s[5], s[2]+s[6], s[3]+s[7]
	return (a0 + a2) + (a1 + a3)
}

// Scale sets x[i] *= a.
func Scale(x []float32, a float32) {
	n := vector(len(x))
	if n > 0 {
		scale(x[:n], a)
	}
	for i := n; i < len(x); i++ {
		x[i] *= a
	}
}

// Axpy sets dst[i] += a·src[i] (the product rounded, then the sum: no fused
// multiply-add, so a = 1 adds src exactly).
func Axpy(dst, src []float32, a float32) {
	src = src[:len(dst)]
	n := vector(len(dst))
	if n > 0 {
		axpy(dst[:n], src[:n], a)
	}
	for i := n; i < len(dst); i++ {
		dst[i] += a * src[i]
	}
}
