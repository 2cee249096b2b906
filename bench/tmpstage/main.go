package main

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/seqkit/seqkit/nn"
)

func main() {
	m, n, k := 640, 5000, 256
	rng := rand.New(rand.NewPCG(1, 2))
	x, w, bias := make([]float32, m*k), make([]float32, n*k), make([]float32, n)
	nn.Normal(x, 1, rng)
	nn.Normal(w, 1, rng)
	lin := nn.NewLinear[float32]("out", k, n, rng)
	copy(lin.W.Data, w)
	xt := nn.NewTensor[float32](m, k)
	copy(xt.Data, x)
	c := make([]float32, m*n)
	for round := 0; round < 2; round++ {
		t0 := time.Now()
		for range 100 {
			nn.Gemm(false, true, m, n, k, 1, x, k, w, k, 0, c, n)
		}
		t1 := time.Now()
		for range 100 {
			lin.Forward(nil, xt)
		}
		t2 := time.Now()
		for range 100 {
			_ = make([]float32, m*n)
		}
		t3 := time.Now()
		fmt.Printf("gemm reuse %.2f ms, linear (alloc) %.2f ms, alloc alone %.2f ms\n", t1.Sub(t0).Seconds()*10, t2.Sub(t1).Seconds()*10, t3.Sub(t2).Seconds()*10)
	}
	_ = bias
}
