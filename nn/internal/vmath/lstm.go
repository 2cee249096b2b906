package vmath

// LSTMBack is the elementwise backward step of one LSTM row of H units, with
// a forget gate and without peepholes: from the gradients dh and dc of the
// new state and cell, the activated gates g = [i | f | g | o] (4H), the
// previous cell cp and the new cell cc, it writes the gradients of the
// pre-activations dx = [di | df | dg | do] (4H) and of the previous cell dcp:
//
//	tc = tanh(cc), do = dh·tc·o·(1-o), dct = dc + dh·o·(1-tc²),
//	di = dct·g·i·(1-i), df = dct·cp·f·(1-f), dg = dct·i·(1-g²), dcp = dct·f
func LSTMBack(dh, dc, g, cp, cc, dx, dcp []float32) {
	H := len(dh)
	dc, g, cp, cc, dx, dcp = dc[:H], g[:4*H], cp[:H], cc[:H], dx[:4*H], dcp[:H]
	m := vector(H)
	if m > 0 {
		lstmBack(dh, dc, g, cp, cc, dx, dcp, m)
	}
	LSTMBackGo(dh, dc, g, cp, cc, dx, dcp, m)
}

// LSTMBackGo is LSTMBack in Go for the units from j0 on, in float32 (the
// kernels' bits) or float64 (the gradient checks).
func LSTMBackGo[F Float](dh, dc, g, cp, cc, dx, dcp []F, j0 int) {
	H := len(dh)
	for j := j0; j < H; j++ {
		i, f, gg, o := g[j], g[H+j], g[2*H+j], g[3*H+j]
		tc := TanhOf(cc[j])
		dao := dh[j] * tc * o * (1 - o)
		dct := dc[j] + dh[j]*o*(1-tc*tc)
		dx[j] = dct * gg * i * (1 - i)
		dx[H+j] = dct * cp[j] * f * (1 - f)
		dx[2*H+j] = dct * i * (1 - gg*gg)
		dx[3*H+j] = dao
		dcp[j] = dct * f
	}
}
