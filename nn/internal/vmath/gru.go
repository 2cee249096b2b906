package vmath

// GRUBack is the elementwise backward step of one GRU row of H units: from the
// gradient d of the new state, the activated gates g = [r | z | n] (3H), the
// previous state hp and hn = W_hn·h + b_hn, it writes the gradients of the
// input pre-activations dx = [dr | dz | dn] and of the recurrent ones
// dhw = [dr | dz | dn·r] (3H each):
//
//	dn = d·(1-z)·(1-n²), dz = d·(hp-n)·z·(1-z), dr = dn·hn·r·(1-r)
func GRUBack(d, g, hp, hn, dx, dhw []float32) {
	H := len(d)
	g, hp, hn, dx, dhw = g[:3*H], hp[:H], hn[:H], dx[:3*H], dhw[:3*H]
	m := vector(H)
	if m > 0 {
		gruBack(d, g, hp, hn, dx, dhw, m)
	}
	GRUBackGo(d, g, hp, hn, dx, dhw, m)
}

// GRUBackGo is GRUBack in Go for the units from j0 on, in float32 (the AVX2
// kernel's bits) or float64 (the gradient checks).
func GRUBackGo[F Float](d, g, hp, hn, dx, dhw []F, j0 int) {
	H := len(d)
	for j := j0; j < H; j++ {
		dv, r, z, n := d[j], g[j], g[H+j], g[2*H+j]
		dan := dv * (1 - z) * (1 - n*n)
		daz := dv * (hp[j] - n) * z * (1 - z)
		dar := dan * hn[j] * r * (1 - r)
		dx[j], dx[H+j], dx[2*H+j] = dar, daz, dan
		dhw[j], dhw[H+j], dhw[2*H+j] = dar, daz, dan*r
	}
}

// GRUStep is the forward step of one GRU row of H units (PyTorch's
// reset-after form): from the input pre-activations g = [r | z | n] (3H, bias
// included), hr = W_hh·h + b_hh (3H) and the previous state hp, it overwrites
// g with the activations, writes hn = hr's n part (kept for the backward
// pass) and the new state hc:
//
//	r = σ(g_r + hr_r), z = σ(g_z + hr_z), n = tanh(g_n + r·hr_n), hc = (1-z)·n + z·hp
func GRUStep(g, hr, hp, hc, hn []float32) {
	H := len(hp)
	g, hr, hc, hn = g[:3*H], hr[:3*H], hc[:H], hn[:H]
	m := vector(H)
	if m > 0 {
		gruStep(g, hr, hp, hc, hn, m)
	}
	GRUStepGo(g, hr, hp, hc, hn, m)
}

// GRUStepGo is GRUStep in Go for the units from j0 on, in float32 (the AVX2
// kernel's bits) or float64 (the gradient checks).
func GRUStepGo[F Float](g, hr, hp, hc, hn []F, j0 int) {
	H := len(hp)
	for j := j0; j < H; j++ {
		r := SigmoidOf(g[j] + hr[j])
		z := SigmoidOf(g[H+j] + hr[H+j])
		hn[j] = hr[2*H+j]
		n := TanhOf(g[2*H+j] + r*hn[j])
		g[j], g[H+j], g[2*H+j] = r, z, n
		hc[j] = (1-z)*n + z*hp[j]
	}
}

// GRUInfer is GRUStep for inference: the same new state hc, bit for bit, with
// g only read (a row of a looked-up input projection, read in place) and
// neither the activations nor hn kept.
func GRUInfer(g, hr, hp, hc []float32) {
	H := len(hp)
	g, hr, hc = g[:3*H], hr[:3*H], hc[:H]
	m := vector(H)
	if m > 0 {
		gruInfer(g, hr, hp, hc, m)
	}
	GRUInferGo(g, hr, hp, hc, m)
}

// GRUInferGo is GRUInfer in Go for the units from j0 on.
func GRUInferGo[F Float](g, hr, hp, hc []F, j0 int) {
	H := len(hp)
	for j := j0; j < H; j++ {
		r := SigmoidOf(g[j] + hr[j])
		z := SigmoidOf(g[H+j] + hr[H+j])
		n := TanhOf(g[2*H+j] + r*hr[2*H+j])
		hc[j] = (1-z)*n + z*hp[j]
	}
}
