package nn

import (
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"
)

// GlorotUniform fills w with U(-a, a), a = sqrt(6 / (fanIn + fanOut)) (Glorot and
// Bengio 2010), which keeps activation variance steady through a layer.
func GlorotUniform[T Float](w []T, fanIn, fanOut int, rng *rand.Rand) {
	a := math.Sqrt(6 / float64(fanIn+fanOut))
	for i := range w {
		w[i] = T((2*rng.Float64() - 1) * a)
	}
}

// Uniform fills w with U(-a, a).
func Uniform[T Float](w []T, a float64, rng *rand.Rand) {
	for i := range w {
		w[i] = T((2*rng.Float64() - 1) * a)
	}
}

// Normal fills w with N(0, std²).
func Normal[T Float](w []T, std float64, rng *rand.Rand) {
	for i := range w {
		w[i] = T(rng.NormFloat64() * std)
	}
}

// Orthogonal fills the n×n row-major matrix w with a random orthogonal matrix: the Q
// of the QR factorisation of a Gaussian matrix, with column signs fixed by R's
// diagonal so the result is uniformly (Haar) distributed. Orthogonal recurrent
// weights keep the norm of back-propagated gradients from shrinking or growing at
// the start of training (Saxe et al. 2014).
func Orthogonal[T Float](w []T, n int, rng *rand.Rand) {
	if len(w) != n*n {
		panic("nn: Orthogonal needs an n×n matrix")
	}
	g := mat.NewDense(n, n, nil)
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			g.Set(i, j, rng.NormFloat64())
		}
	}
	var qr mat.QR
	qr.Factorize(g)
	var q, r mat.Dense
	qr.QTo(&q)
	qr.RTo(&r)
	for j := 0; j < n; j++ {
		s := 1.0
		if r.At(j, j) < 0 {
			s = -1
		}
		for i := 0; i < n; i++ {
			w[i*n+j] = T(s * q.At(i, j))
		}
	}
}
