package vmath

// AdamConsts are the per-step constants of an Adam update (see [Adam]), in the
// order the assembly reads them.
type AdamConsts[F Float] struct {
	Decay   F // L2 weight decay added to the gradient
	B1, OB1 F // β1 and 1-β1
	B2, OB2 F // β2 and 1-β2
	Step    F // lr / (1-β1^t)
	SqrtBC2 F // √(1-β2^t)
	Eps     F
}

// Adam applies one Adam update to the weights w with gradients g and moments m,
// v (all the same length):
//
//	g' = g + Decay·w
//	m = β1·m + (1-β1)·g'
//	v = β2·v + (1-β2)·g'·g'
//	w -= Step·m / (√v/SqrtBC2 + Eps)
func Adam(w, g, m, v []float32, k *AdamConsts[float32]) {
	g, m, v = g[:len(w)], m[:len(w)], v[:len(w)]
	n := vector(len(w))
	if n > 0 {
		adam(w[:n], g[:n], m[:n], v[:n], k)
	}
	AdamGo(w[n:], g[n:], m[n:], v[n:], k)
}

// AdamGo is Adam in Go, in float32 (the AVX2 kernel's bits) or float64.
func AdamGo[F Float](w, g, m, v []F, k *AdamConsts[F]) {
	g, m, v = g[:len(w)], m[:len(w)], v[:len(w)]
	for i, gi := range g {
		gi += k.Decay * w[i]
		mi := k.B1*m[i] + k.OB1*gi
		vi := k.B2*v[i] + k.OB2*gi*gi
		m[i], v[i] = mi, vi
		w[i] -= k.Step * mi / (sqrtOf(vi)/k.SqrtBC2 + k.Eps)
	}
}
