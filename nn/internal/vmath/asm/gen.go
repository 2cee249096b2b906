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

// vecs holds one register for each of the blocks a kernel computes side by
// side. The blocks' chains are independent and each is long (exp alone is
// some twenty dependent operations), so emitting them interleaved, an
// instruction of each in turn, gives a core with a small scheduling window
// (Zen 1's) work while one chain waits on a latency. Every block goes through
// the same operations in the same order, so the bits do not change.
type vecs []VecVirtual

// newVecs returns k new registers.
func newVecs(k int) vecs {
	v := make(vecs, k)
	for i := range v {
		v[i] = cur.vec()
	}
	return v
}

// masks holds a comparison's result for each block (see mask).
type masks []Register

// each emits ins once for every block: an operand that is vecs or masks
// stands for the block's register, any other Op for itself.
func each(ins func(...Op), ops ...any) {
	k := 0
	for _, o := range ops {
		switch o := o.(type) {
		case vecs:
			k = len(o)
		case masks:
			k = len(o)
		}
	}
	if k == 0 {
		panic("each: no vecs or masks operand, so nothing to emit")
	}
	for i := 0; i < k; i++ {
		args := make([]Op, len(ops)) // kept by the instruction: one each
		for j, o := range ops {
			switch o := o.(type) {
			case vecs:
				args[j] = o[i]
			case masks:
				args[j] = o[i]
			default:
				args[j] = o.(Op)
			}
		}
		ins(args...)
	}
}

// op3 and op4 adapt instructions of fixed arity to each.
func op3(ins func(a, b, c Op)) func(...Op)    { return func(o ...Op) { ins(o[0], o[1], o[2]) } }
func op4(ins func(a, b, c, d Op)) func(...Op) { return func(o ...Op) { ins(o[0], o[1], o[2], o[3]) } }

// exp emits e**x for the floats of each register of x, as vmath.Exp32
// computes it, and returns the registers holding the results. x is
// overwritten.
func exp(x vecs) vecs {
	k := len(x)
	lo := newVecs(k)
	each(VMOVUPS, expLo, lo)
	each(VMAXPS, x, lo, x) // x first: a NaN in x passes through, as in Exp32
	hi := newVecs(k)
	each(VMOVUPS, expHi, hi)
	each(VMINPS, x, hi, x)
	v := newVecs(k)
	each(VMULPS, log2e, x, v)
	each(VADDPS, half, v, v)
	fn := newVecs(k)
	if wide() {
		each(VRNDSCALEPS, U8(1), v, fn) // floor
	} else {
		each(op3(VROUNDPS), U8(1), v, fn) // floor
	}
	t := newVecs(k)
	each(VMULPS, c1, fn, t)
	each(VSUBPS, t, x, x)
	each(VMULPS, c2, fn, t)
	r := x
	each(VSUBPS, t, r, r)
	z := newVecs(k)
	each(VMULPS, r, r, z)
	p := newVecs(k)
	each(VMULPS, p0, r, p)
	for _, c := range []Mem{p1, p2, p3, p4} {
		each(VADDPS, c, p, p)
		each(VMULPS, r, p, p)
	}
	each(VADDPS, p5, p, p)
	each(VMULPS, z, p, p)
	each(VADDPS, r, p, p)
	each(VADDPS, one, p, p)
	n := newVecs(k)
	each(VCVTPS2DQ, fn, n) // fn is a whole number: exact
	each(VPADDD, bias127, n, n)
	each(VPSLLD, U8(23), n, n)
	each(VMULPS, n, p, p)
	return p
}

// interleave is how many blocks the AVX2 exp, sigmoid and tanh kernels
// compute side by side (see vecs); three need more than AVX2's sixteen
// registers. The AVX-512 kernels keep one at a time: the CPUs that run them
// have larger windows (loading the GRU step's r and z before either sigmoid
// was, if anything, slower on an AMD EPYC Zen 5: classifier inference 6.4 /
// 7.1 / 7.7 -> 6.7 / 7.6 / 7.9 ms a batch, alternating).
const interleave = 2

// loop emits the body of a kernel func(dst, src *float32, n int, ...) over n
// floats, n a multiple of cur.lanes, computing the blocks with body,
// interleave of them at a time and then one at a time; name is the kernel's
// name without its instruction set.
func loop(name, extra, doc string, body func(x vecs) vecs, setup func()) {
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
	ks := []int{interleave, 1}
	if wide() {
		ks = ks[1:]
	}
	for _, k := range ks {
		blocksOf(name+"_"+strconv.Itoa(k), n, k, []Mem{src, dst}, func() {
			x := newVecs(k)
			for i := range x {
				VMOVUPS(src.Offset(4*cur.lanes*i), x[i])
			}
			y := body(x)
			for i := range y {
				VMOVUPS(y[i], dst.Offset(4*cur.lanes*i))
			}
		})
	}
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
	loop("expShift", ", shift float32", "NAME sets dst[i] = Exp32(src[i] - shift) for i < n, n a multiple of LANES.", func(x vecs) vecs {
		each(VSUBPS, shift, x, x)
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
	blocksOf(prefix, n, 1, ptrs, body)
}

// blocksOf is blocks over k blocks at a time: it leaves fewer than k blocks
// of n for the code after it.
func blocksOf(prefix string, n Register, k int, ptrs []Mem, body func()) {
	floats := uint32(k * cur.lanes)
	Label(prefix + "_loop")
	CMPQ(n, U32(floats))
	JL(LabelRef(prefix + "_done"))
	body()
	for _, p := range ptrs {
		ADDQ(U32(4*floats), p.Base)
	}
	SUBQ(U32(floats), n)
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
		// r = σ(g_r + h_r), z = σ(g_z + h_z): on AVX2 the two sigmoids
		// interleaved (see vecs), on AVX-512 one after the other.
		r, z := cur.vec(), cur.vec()
		if wide() {
			VMOVUPS(g, r)
			VADDPS(hr, r, r)
			r = sigmoid(vecs{r})[0]
			store(r, g)
			VMOVUPS(at(g, st), z)
			VADDPS(at(hr, st), z, z)
			z = sigmoid(vecs{z})[0]
			store(z, at(g, st))
		} else {
			VMOVUPS(g, r)
			VADDPS(hr, r, r)
			VMOVUPS(at(g, st), z)
			VADDPS(at(hr, st), z, z)
			rz := sigmoid(vecs{r, z})
			r, z = rz[0], rz[1]
			store(r, g)
			store(z, at(g, st))
		}
		// hn = h_n; n = tanh(g_n + r·h_n)
		hv := cur.vec()
		VMOVUPS(at(hr, st2), hv)
		store(hv, hn)
		VMULPS(hv, r, hv)
		nv := cur.vec()
		VMOVUPS(at(g, st2), nv)
		VADDPS(hv, nv, nv)
		nv = tanh(vecs{nv})[0]
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
		tc = tanh(vecs{tc})[0]
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

// sigmoid emits Sigmoid32 of the floats of each register of x (overwritten).
func sigmoid(x vecs) vecs {
	k := len(x)
	zero := newVecs(k)
	if wide() {
		each(VPXORD, zero, zero, zero)
	} else {
		each(VXORPS, zero, zero, zero)
	}
	each(VSUBPS, x, zero, x) // -x: 0 - x, exact, and -x of a NaN is a NaN
	e := exp(x)
	each(VADDPS, one, e, e)
	o := newVecs(k)
	each(VMOVUPS, one, o)
	each(VDIVPS, e, o, o)
	return o
}

// tanh emits Tanh32 of the floats of each register of x. AVX-512 compares
// into mask registers and has its own blend and bitwise instructions; the
// operations are the same.
func tanh(x vecs) vecs {
	k := len(x)
	a := newVecs(k)
	and(absM, x, a)
	// Small |x|: the odd polynomial.
	z := newVecs(k)
	each(VMULPS, x, x, z)
	s := newVecs(k)
	each(VMULPS, t0, z, s)
	each(VADDPS, t1, s, s)
	each(VMULPS, z, s, s)
	each(VSUBPS, t2, s, s)
	each(VMULPS, z, s, s)
	each(VADDPS, t3, s, s)
	each(VMULPS, z, s, s)
	each(VSUBPS, t4, s, s)
	each(VMULPS, z, s, s)
	each(VMULPS, x, s, s)
	each(VADDPS, x, s, s)
	// Large |x|: 1 - 2/(e^{2|x|}+1), 1 past 9.1, with x's sign.
	small, big := newMasks(k), newMasks(k)
	each(VCMPPS, U8(1), tanhSmall, a, small) // a < 0.625
	each(VCMPPS, U8(0x0e), tanhBig, a, big)  // a > 9.1
	e := newVecs(k)
	each(VMULPS, two, a, e)
	e = exp(e)
	each(VADDPS, one, e, e)
	l := newVecs(k)
	each(VMOVUPS, two, l)
	each(VDIVPS, e, l, l)
	o := newVecs(k)
	each(VMOVUPS, one, o)
	each(VSUBPS, l, o, l)
	blend(big, o, l)
	sign := newVecs(k)
	each(VMOVUPS, absM, sign)
	if wide() {
		each(VPANDND, x, sign, sign) // ^absMask & x: the sign bit
		each(VPORD, sign, l, l)
	} else {
		each(VANDNPS, x, sign, sign)
		each(VORPS, sign, l, l)
	}
	blend(small, s, l)
	return l
}

// newMasks returns k mask registers (see mask).
func newMasks(k int) masks {
	m := make(masks, k)
	for i := range m {
		m[i] = mask()
	}
	return m
}

// mask is a register for a comparison's result: a mask register on AVX-512,
// a vector on AVX2.
func mask() Register {
	if wide() {
		return K()
	}
	return cur.vec()
}

// and sets dst = m & x in each block.
func and(m Mem, x, dst vecs) {
	if wide() {
		each(VPANDD, m, x, dst)
	} else {
		each(VANDPS, m, x, dst)
	}
}

// blend sets l = v where k is set, keeping l elsewhere, in each block.
func blend(k masks, v, l vecs) {
	if wide() {
		each(VBLENDMPS, v, l, k, l)
	} else {
		each(op4(VBLENDVPS), k, v, l, l)
	}
}
