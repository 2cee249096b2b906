// Command gen writes the AVX2 kernels of package vmath with avo. Run it through
// `go generate ./nn/internal/vmath`.
//
// Each kernel computes, eight floats at a time, exactly what the scalar Go
// function of the same name in package vmath computes: the same operations in
// the same order, each rounded to float32, without fused multiply-adds. The
// vector and scalar paths therefore agree bit for bit, and a model computes
// the same numbers whichever path runs (TestKernelsMatchScalar).
package main

import (
	"math"
	"strconv"
	"strings"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// isa is the instruction set a kernel is emitted for: AVX2 (eight floats a
// register) or AVX-512 (sixteen). The elementwise kernels (exp, sigmoid,
// tanh, the GRU steps) have both forms; the same operations in the same
// order give the same bits in either.
type isa struct {
	suffix string // of kernel and constant names: "AVX2" kernels keep the bare constant names
	lanes  int
	vec    func() VecVirtual
}

var (
	avx2   = isa{suffix: "AVX2", lanes: 8, vec: func() VecVirtual { return YMM() }}
	avx512 = isa{suffix: "AVX512", lanes: 16, vec: func() VecVirtual { return ZMM() }}
	cur    = avx2 // the instruction set being emitted
)

// wide reports whether cur is AVX-512.
func wide() bool { return cur.lanes == 16 }

// constName is a constant's name for cur: AVX-512's copies are 64 bytes.
func constName(name string) string {
	if wide() {
		return name + "16"
	}
	return name
}

// splat returns a read-only constant holding cur.lanes copies of v.
func splat(name string, v float32) Mem {
	return splatInt(name, math.Float32bits(v))
}

func splatInt(name string, v uint32) Mem {
	m := GLOBL(constName(name), RODATA|NOPTR)
	for i := 0; i < cur.lanes; i++ {
		DATA(4*i, U32(v))
	}
	return m
}

var (
	expLo, expHi, log2e, half, c1, c2, one, two  Mem
	p0, p1, p2, p3, p4, p5                       Mem
	t0, t1, t2, t3, t4, tanhSmall, tanhBig, absM Mem
	bias127                                      Mem
)

func constants() {
	expLo, expHi = splat("expLo", -87.3), splat("expHi", 88.7)
	log2e, half = splat("log2e", 1.44269504088896341), splat("half", 0.5)
	c1, c2 = splat("c1", 0.693359375), splat("c2", -2.12194440e-4)
	p0, p1, p2 = splat("p0", 1.9875691500e-4), splat("p1", 1.3981999507e-3), splat("p2", 8.3334519073e-3)
	p3, p4, p5 = splat("p3", 4.1665795894e-2), splat("p4", 1.6666665459e-1), splat("p5", 5.0000001201e-1)
	one, two = splat("one", 1), splat("two", 2)
	t0, t1, t2 = splat("t0", -5.70498872745e-3), splat("t1", 2.06390887954e-2), splat("t2", 5.37397155531e-2)
	t3, t4 = splat("t3", 1.33314422036e-1), splat("t4", 3.33332819422e-1)
	tanhSmall, tanhBig = splat("tanhSmall", 0.625), splat("tanhBig", 9.1)
	absM = splatInt("absMask", 0x7fffffff)
	bias127 = splatInt("bias127", 127)
}

// exp emits e**x for the floats of x, as vmath.Exp32 computes it, and
// returns the register holding the result. x is overwritten.
func exp(x VecVirtual) VecVirtual {
	lo := cur.vec()
	VMOVUPS(expLo, lo)
	VMAXPS(x, lo, x) // x first: a NaN in x passes through, as in Exp32
	hi := cur.vec()
	VMOVUPS(expHi, hi)
	VMINPS(x, hi, x)
	v := cur.vec()
	VMULPS(log2e, x, v)
	VADDPS(half, v, v)
	fn := cur.vec()
	if wide() {
		VRNDSCALEPS(U8(1), v, fn) // floor
	} else {
		VROUNDPS(U8(1), v, fn) // floor
	}
	t := cur.vec()
	VMULPS(c1, fn, t)
	VSUBPS(t, x, x)
	VMULPS(c2, fn, t)
	r := x
	VSUBPS(t, r, r)
	z := cur.vec()
	VMULPS(r, r, z)
	p := cur.vec()
	VMULPS(p0, r, p)
	for _, c := range []Mem{p1, p2, p3, p4} {
		VADDPS(c, p, p)
		VMULPS(r, p, p)
	}
	VADDPS(p5, p, p)
	VMULPS(z, p, p)
	VADDPS(r, p, p)
	VADDPS(one, p, p)
	n := cur.vec()
	VCVTPS2DQ(fn, n) // fn is a whole number: exact
	VPADDD(bias127, n, n)
	VPSLLD(U8(23), n, n)
	VMULPS(n, p, p)
	return p
}

// loop emits the body of a kernel func(dst, src *float32, n int, ...) over n
// floats, n a multiple of cur.lanes, computing each block with body; name is
// the kernel's name without its instruction set.
func loop(name, extra, doc string, body func(x VecVirtual) VecVirtual, setup func()) {
	name += cur.suffix
	doc = strings.ReplaceAll(strings.ReplaceAll(doc, "NAME", name), "LANES", strconv.Itoa(cur.lanes))
	TEXT(name, NOSPLIT, "func(dst, src *float32, n int"+extra+")")
	Pragma("noescape")
	Doc(doc)
	dst := ptr("dst")
	src := ptr("src")
	n := Load(Param("n"), GP64())
	if setup != nil {
		setup()
	}
	blocks(name, n, []Mem{src, dst}, func() {
		x := cur.vec()
		VMOVUPS(src, x)
		VMOVUPS(body(x), dst)
	})
	VZEROUPPER()
	RET()
}

func main() {
	for _, set := range []isa{avx2, avx512} {
		cur = set
		constants()
		elementwise()
		if !wide() {
			adam()
			reductions()
		}
	}
	Generate()
}

// elementwise emits the kernels of cur that have both forms.
func elementwise() {
	var shift VecVirtual
	loop("expShift", ", shift float32", "NAME sets dst[i] = Exp32(src[i] - shift) for i < n, n a multiple of LANES.", func(x VecVirtual) VecVirtual {
		VSUBPS(shift, x, x)
		return exp(x)
	}, func() {
		s := Load(Param("shift"), XMM())
		shift = cur.vec()
		VBROADCASTSS(s, shift)
	})
	loop("sigmoid", "", "NAME sets dst[i] = Sigmoid32(src[i]) for i < n, n a multiple of LANES.", sigmoid, nil)
	loop("tanh", "", "NAME sets dst[i] = Tanh32(src[i]) for i < n, n a multiple of LANES.", tanh, nil)
	gruBack()
	lstmBack()
	gruStep(false)
	gruStep(true)
}

// blocks emits a loop over n floats cur.lanes at a time: body on each
// block, then every pointer of ptrs moved on by a register's bytes; it ends at
// the label prefix_done, where the caller's epilogue follows.
func blocks(prefix string, n Register, ptrs []Mem, body func()) {
	lanes := uint32(cur.lanes)
	Label(prefix + "_loop")
	CMPQ(n, U32(lanes))
	JL(LabelRef(prefix + "_done"))
	body()
	for _, p := range ptrs {
		ADDQ(U32(4*lanes), p.Base)
	}
	SUBQ(U32(lanes), n)
	JMP(LabelRef(prefix + "_loop"))
	Label(prefix + "_done")
}

// ptr loads the pointer argument name into a register and addresses it.
func ptr(name string) Mem { return Mem{Base: Load(Param(name), GP64())} }

// at addresses base plus off bytes.
func at(base Mem, off Register) Mem { return Mem{Base: base.Base, Index: off, Scale: 1} }

// strides loads the GRU kernels' stride argument (the bytes between gate
// blocks) and its double: the offsets of the second and third gates.
func strides() (st, st2 Register) {
	st = Load(Param("stride"), GP64())
	st2 = GP64()
	MOVQ(st, st2)
	SHLQ(U8(1), st2)
	return st, st2
}

// gruStep emits gruStepAVX2 or gruStepAVX512, the GRU's forward step on a
// row, as vmath.gruStepGo computes it; with infer, gruInferAVX2 or
// gruInferAVX512 (vmath.GRUInferGo): the same arithmetic with the gates only
// read and no hn, so that a looked-up input projection is read in place.
func gruStep(infer bool) {
	kind, goName, sig, prefix := "gruStep", "GRUStepGo", "func(gates, hr, hp, hc, hn *float32, h, stride int)", "gstep"
	if infer {
		kind, goName, sig, prefix = "gruInfer", "GRUInferGo", "func(gates, hr, hp, hc *float32, h, stride int)", "ginfer"
	}
	name := kind + cur.suffix
	TEXT(name, NOSPLIT, sig)
	Pragma("noescape")
	Doc(name + " is " + goName + " for h a multiple of " + strconv.Itoa(cur.lanes) + "; stride is H in bytes (the gap between gate blocks).")
	g := ptr("gates")
	hr := ptr("hr")
	hp := ptr("hp")
	hc := ptr("hc")
	ptrs := []Mem{g, hr, hp, hc}
	var hn Mem
	if !infer {
		hn = ptr("hn")
		ptrs = append(ptrs, hn)
	}
	store := func(v VecVirtual, m Mem) { // training keeps the activations and hn
		if !infer {
			VMOVUPS(v, m)
		}
	}
	n := Load(Param("h"), GP64())
	st, st2 := strides()
	blocks(prefix+cur.suffix, n, ptrs, func() {
		// r = σ(g_r + h_r), z = σ(g_z + h_z)
		r := cur.vec()
		VMOVUPS(g, r)
		VADDPS(hr, r, r)
		r = sigmoid(r)
		store(r, g)
		z := cur.vec()
		VMOVUPS(at(g, st), z)
		VADDPS(at(hr, st), z, z)
		z = sigmoid(z)
		store(z, at(g, st))
		// hn = h_n; n = tanh(g_n + r·h_n)
		hv := cur.vec()
		VMOVUPS(at(hr, st2), hv)
		store(hv, hn)
		VMULPS(hv, r, hv)
		nv := cur.vec()
		VMOVUPS(at(g, st2), nv)
		VADDPS(hv, nv, nv)
		nv = tanh(nv)
		store(nv, at(g, st2))
		// h = (1-z)·n + z·hp
		t := cur.vec()
		VMOVUPS(one, t)
		VSUBPS(z, t, t)
		VMULPS(nv, t, t)
		VMULPS(hp, z, z)
		VADDPS(z, t, t)
		VMOVUPS(t, hc)
	})
	VZEROUPPER()
	RET()
}

// gruBack emits gruBackAVX2 or gruBackAVX512, the elementwise backward step
// of a GRU row, as vmath.gruBackGo computes it.
func gruBack() {
	name := "gruBack" + cur.suffix
	TEXT(name, NOSPLIT, "func(d, gates, hp, hn, dx, dhw *float32, h, stride int)")
	Pragma("noescape")
	Doc(name + " is GRUBackGo for h a multiple of " + strconv.Itoa(cur.lanes) + "; stride is H in bytes (the gap between gate blocks).")
	d := ptr("d")
	g := ptr("gates")
	hp := ptr("hp")
	hn := ptr("hn")
	dx := ptr("dx")
	dhw := ptr("dhw")
	n := Load(Param("h"), GP64())
	st, st2 := strides()
	oneV := cur.vec()
	VMOVUPS(one, oneV)
	blocks("gru"+cur.suffix, n, []Mem{d, g, hp, hn, dx, dhw}, func() {
		r, z, nn, dv := cur.vec(), cur.vec(), cur.vec(), cur.vec()
		VMOVUPS(g, r)
		VMOVUPS(at(g, st), z)
		VMOVUPS(at(g, st2), nn)
		VMOVUPS(d, dv)
		t, u := cur.vec(), cur.vec()
		// dan = d·(1-z)·(1-n·n)
		dan := cur.vec()
		VSUBPS(z, oneV, t)
		VMULPS(t, dv, dan)
		VMULPS(nn, nn, u)
		VSUBPS(u, oneV, u)
		VMULPS(u, dan, dan)
		// daz = d·(hp-n)·z·(1-z)
		daz := cur.vec()
		VMOVUPS(hp, u)
		VSUBPS(nn, u, u)
		VMULPS(u, dv, daz)
		VMULPS(z, daz, daz)
		VMULPS(t, daz, daz)
		// dar = dan·hn·r·(1-r)
		dar := cur.vec()
		VMULPS(hn, dan, dar)
		VMULPS(r, dar, dar)
		VSUBPS(r, oneV, t)
		VMULPS(t, dar, dar)
		VMOVUPS(dar, dx)
		VMOVUPS(daz, at(dx, st))
		VMOVUPS(dan, at(dx, st2))
		VMOVUPS(dar, dhw)
		VMOVUPS(daz, at(dhw, st))
		VMULPS(r, dan, dan)
		VMOVUPS(dan, at(dhw, st2))
	})
	VZEROUPPER()
	RET()
}

// lstmBack emits lstmBackAVX2 or lstmBackAVX512, the elementwise backward
// step of an LSTM row, as vmath.LSTMBackGo computes it.
func lstmBack() {
	name := "lstmBack" + cur.suffix
	TEXT(name, NOSPLIT, "func(dh, dc, gates, cp, cc, dx, dcp *float32, h, stride int)")
	Pragma("noescape")
	Doc(name + " is LSTMBackGo for h a multiple of " + strconv.Itoa(cur.lanes) + "; stride is H in bytes (the gap between gate blocks).")
	dh := ptr("dh")
	dc := ptr("dc")
	g := ptr("gates")
	cp := ptr("cp")
	cc := ptr("cc")
	dx := ptr("dx")
	dcp := ptr("dcp")
	n := Load(Param("h"), GP64())
	st, st2 := strides()
	st3 := GP64()
	LEAQ(Mem{Base: st, Index: st2, Scale: 1}, st3)
	blocks("lstm"+cur.suffix, n, []Mem{dh, dc, g, cp, cc, dx, dcp}, func() {
		tc := cur.vec()
		VMOVUPS(cc, tc)
		tc = tanh(tc)
		o, dv, t := cur.vec(), cur.vec(), cur.vec()
		VMOVUPS(at(g, st3), o)
		VMOVUPS(dh, dv)
		// do = dh·tc·o·(1-o)
		dao := cur.vec()
		VMULPS(tc, dv, dao)
		VMULPS(o, dao, dao)
		VMOVUPS(one, t)
		VSUBPS(o, t, t)
		VMULPS(t, dao, dao)
		VMOVUPS(dao, at(dx, st3))
		// dct = dc + dh·o·(1-tc·tc)
		dct := dv
		VMULPS(o, dv, dct)
		VMULPS(tc, tc, t)
		u := cur.vec()
		VMOVUPS(one, u)
		VSUBPS(t, u, u)
		VMULPS(u, dct, dct)
		VADDPS(dc, dct, dct)
		// di = dct·g·i·(1-i)
		i, gg := cur.vec(), cur.vec()
		VMOVUPS(g, i)
		VMOVUPS(at(g, st2), gg)
		v := cur.vec()
		VMULPS(gg, dct, v)
		VMULPS(i, v, v)
		VMOVUPS(one, t)
		VSUBPS(i, t, t)
		VMULPS(t, v, v)
		VMOVUPS(v, dx)
		// dg = dct·i·(1-g·g)
		VMULPS(i, dct, v)
		VMULPS(gg, gg, t)
		VMOVUPS(one, u)
		VSUBPS(t, u, u)
		VMULPS(u, v, v)
		VMOVUPS(v, at(dx, st2))
		// df = dct·cp·f·(1-f), dcp = dct·f
		f := i
		VMOVUPS(at(g, st), f)
		VMULPS(cp, dct, v)
		VMULPS(f, v, v)
		VMOVUPS(one, t)
		VSUBPS(f, t, t)
		VMULPS(t, v, v)
		VMOVUPS(v, at(dx, st))
		VMULPS(f, dct, v)
		VMOVUPS(v, dcp)
	})
	VZEROUPPER()
	RET()
}

// reductions emits the kernels of the softmax and the sums of gradients:
// maxAVX2, sum64AVX2, sumSq64AVX2, scaleAVX2 and axpyAVX2, for n a multiple of 8.
func reductions() {
	TEXT("maxAVX2", NOSPLIT, "func(x *float32, n int) float32")
	Pragma("noescape")
	Doc("maxAVX2 returns the largest of x[:n], n ≥ 8 a multiple of 8 (no NaN in x).")
	x := ptr("x")
	n := Load(Param("n"), GP64())
	m := YMM()
	VMOVUPS(x, m)
	ADDQ(U32(32), x.Base)
	SUBQ(U32(8), n)
	blocks("max", n, []Mem{x}, func() { VMAXPS(x, m, m) })
	hi := XMM()
	VEXTRACTF128(U8(1), m, hi)
	VMAXPS(hi, m.AsX(), hi)
	t := XMM()
	VPERMILPS(U8(0x4e), hi, t) // swap the 64-bit halves
	VMAXPS(t, hi, hi)
	VPERMILPS(U8(0xb1), hi, t) // swap neighbours
	VMAXPS(t, hi, hi)
	Store(hi, ReturnIndex(0))
	VZEROUPPER()
	RET()

	TEXT("sum64AVX2", NOSPLIT, "func(x *float32, n int) float64")
	Pragma("noescape")
	Doc("sum64AVX2 is sum64Go for n a multiple of 8.")
	x = ptr("x")
	n = Load(Param("n"), GP64())
	a0, a1 := YMM(), YMM()
	VXORPD(a0, a0, a0)
	VXORPD(a1, a1, a1)
	blocks("sum", n, []Mem{x}, func() {
		lo, hi2 := YMM(), YMM()
		VCVTPS2PD(x, lo)
		VCVTPS2PD(x.Offset(16), hi2)
		VADDPD(lo, a0, a0)
		VADDPD(hi2, a1, a1)
	})
	VADDPD(a1, a0, a0) // lane j: s[j] + s[j+4]
	h := XMM()
	VEXTRACTF128(U8(1), a0, h)
	VADDPD(h, a0.AsX(), h) // (a0+a2, a1+a3)
	u := XMM()
	VPERMILPD(U8(1), h, u)
	VADDSD(u, h, h) // (a0+a2) + (a1+a3)
	Store(h, ReturnIndex(0))
	VZEROUPPER()
	RET()

	TEXT("sumSq64AVX2", NOSPLIT, "func(x *float32, n int) float64")
	Pragma("noescape")
	Doc("sumSq64AVX2 is sumSq64Go for n a multiple of 8.")
	x = ptr("x")
	n = Load(Param("n"), GP64())
	a0, a1 = YMM(), YMM()
	VXORPD(a0, a0, a0)
	VXORPD(a1, a1, a1)
	blocks("sumsq", n, []Mem{x}, func() {
		lo, hi2 := YMM(), YMM()
		VCVTPS2PD(x, lo)
		VCVTPS2PD(x.Offset(16), hi2)
		VMULPD(lo, lo, lo) // rounded, then added: no FMA, as the Go loop
		VMULPD(hi2, hi2, hi2)
		VADDPD(lo, a0, a0)
		VADDPD(hi2, a1, a1)
	})
	VADDPD(a1, a0, a0)
	h = XMM()
	VEXTRACTF128(U8(1), a0, h)
	VADDPD(h, a0.AsX(), h)
	u = XMM()
	VPERMILPD(U8(1), h, u)
	VADDSD(u, h, h)
	Store(h, ReturnIndex(0))
	VZEROUPPER()
	RET()

	TEXT("scaleAVX2", NOSPLIT, "func(x *float32, n int, a float32)")
	Pragma("noescape")
	Doc("scaleAVX2 sets x[i] *= a for i < n, n a multiple of 8.")
	x = ptr("x")
	n = Load(Param("n"), GP64())
	av := YMM()
	VBROADCASTSS(Load(Param("a"), XMM()), av)
	blocks("scale", n, []Mem{x}, func() {
		v := YMM()
		VMULPS(x, av, v)
		VMOVUPS(v, x)
	})
	VZEROUPPER()
	RET()

	TEXT("axpyAVX2", NOSPLIT, "func(dst, src *float32, n int, a float32)")
	Pragma("noescape")
	Doc("axpyAVX2 sets dst[i] += a·src[i] for i < n, n a multiple of 8.")
	d := ptr("dst")
	sx := ptr("src")
	n = Load(Param("n"), GP64())
	av = YMM()
	VBROADCASTSS(Load(Param("a"), XMM()), av)
	blocks("axpy", n, []Mem{sx, d}, func() {
		v := YMM()
		VMULPS(sx, av, v)
		VADDPS(d, v, v)
		VMOVUPS(v, d)
	})
	VZEROUPPER()
	RET()
}

// adam emits one Adam step over n weights, as vmath.adamGo computes it.
func adam() {
	TEXT("adamAVX2", NOSPLIT, "func(w, grad, m, v *float32, n int, k *float32)")
	Pragma("noescape")
	Doc("adamAVX2 is adamGo for n a multiple of 8.")
	w := ptr("w")
	g := ptr("grad")
	m := ptr("m")
	v := ptr("v")
	n := Load(Param("n"), GP64())
	k := ptr("k")
	// The eight constants, in AdamConsts' field order.
	c := make([]VecVirtual, 8)
	for i := range c {
		c[i] = YMM()
		VBROADCASTSS(k.Offset(4*i), c[i])
	}
	decay, b1, ob1, b2, ob2, step, sqrtBC2, eps := c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]
	blocks("adam", n, []Mem{w, g, m, v}, func() {
		wi, gi, t, mi, vi := YMM(), YMM(), YMM(), YMM(), YMM()
		VMOVUPS(w, wi)
		VMOVUPS(g, gi)
		VMULPS(wi, decay, t)
		VADDPS(t, gi, gi) // g + decay·w
		VMULPS(m, b1, mi)
		VMULPS(gi, ob1, t)
		VADDPS(t, mi, mi) // β1·m + (1-β1)·g
		VMULPS(v, b2, vi)
		VMULPS(gi, ob2, t)
		VMULPS(gi, t, t)
		VADDPS(t, vi, vi) // β2·v + (1-β2)·g·g
		VMOVUPS(mi, m)
		VMOVUPS(vi, v)
		VSQRTPS(vi, vi)
		VDIVPS(sqrtBC2, vi, vi)
		VADDPS(eps, vi, vi)
		VMULPS(mi, step, t)
		VDIVPS(vi, t, t)
		VSUBPS(t, wi, wi)
		VMOVUPS(wi, w)
	})
	VZEROUPPER()
	RET()
}

// sigmoid emits Sigmoid32 of the floats of x (overwritten).
func sigmoid(x VecVirtual) VecVirtual {
	zero := cur.vec()
	if wide() {
		VPXORD(zero, zero, zero)
	} else {
		VXORPS(zero, zero, zero)
	}
	VSUBPS(x, zero, x) // -x: 0 - x, exact, and -x of a NaN is a NaN
	e := exp(x)
	VADDPS(one, e, e)
	o := cur.vec()
	VMOVUPS(one, o)
	VDIVPS(e, o, o)
	return o
}

// tanh emits Tanh32 of the floats of x. AVX-512 compares into mask
// registers and has its own blend and bitwise instructions; the operations
// are the same.
func tanh(x VecVirtual) VecVirtual {
	a := cur.vec()
	and(absM, x, a)
	// Small |x|: the odd polynomial.
	z := cur.vec()
	VMULPS(x, x, z)
	s := cur.vec()
	VMULPS(t0, z, s)
	VADDPS(t1, s, s)
	VMULPS(z, s, s)
	VSUBPS(t2, s, s)
	VMULPS(z, s, s)
	VADDPS(t3, s, s)
	VMULPS(z, s, s)
	VSUBPS(t4, s, s)
	VMULPS(z, s, s)
	VMULPS(x, s, s)
	VADDPS(x, s, s)
	// Large |x|: 1 - 2/(e^{2|x|}+1), 1 past 9.1, with x's sign.
	small, big := mask(), mask()
	VCMPPS(U8(1), tanhSmall, a, small) // a < 0.625
	VCMPPS(U8(0x0e), tanhBig, a, big)  // a > 9.1
	e := cur.vec()
	VMULPS(two, a, e)
	e = exp(e)
	VADDPS(one, e, e)
	l := cur.vec()
	VMOVUPS(two, l)
	VDIVPS(e, l, l)
	o := cur.vec()
	VMOVUPS(one, o)
	VSUBPS(l, o, l)
	blend(big, o, l)
	sign := cur.vec()
	VMOVUPS(absM, sign)
	if wide() {
		VPANDND(x, sign, sign) // ^absMask & x: the sign bit
		VPORD(sign, l, l)
	} else {
		VANDNPS(x, sign, sign)
		VORPS(sign, l, l)
	}
	blend(small, s, l)
	return l
}

// mask is a register for a comparison's result: a mask register on AVX-512,
// a vector on AVX2.
func mask() Register {
	if wide() {
		return K()
	}
	return cur.vec()
}

// and sets dst = m & x.
func and(m Mem, x, dst VecVirtual) {
	if wide() {
		VPANDD(m, x, dst)
	} else {
		VANDPS(m, x, dst)
	}
}

// blend sets l = v where k is set, keeping l elsewhere.
func blend(k Register, v, l VecVirtual) {
	if wide() {
		VBLENDMPS(v, l, k, l)
	} else {
		VBLENDVPS(k, v, l, l)
	}
}
