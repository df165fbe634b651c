package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// tile is one micro-kernel shape: mr rows of C, each vecs vectors wide.
// Per k step it loads one row of the B micro-panel (vecs vectors),
// broadcasts each of the mr values of the A column and does mr·vecs FMAs
// into accumulators that hold the whole tile.
type tile struct {
	s        simd
	mr, vecs int
}

var tiles = []tile{
	{s: avx2, mr: 6, vecs: 2},    // BLIS haswell's 6×16
	{s: avx512, mr: 12, vecs: 2}, // BLIS zen4's 32×12, transposed for row-major C
	{s: avx512, mr: 12, vecs: 1}, // its half, for column edges nr ≤ 16
}

func (t tile) nr() int      { return t.vecs * t.s.lanes }
func (t tile) name() string { return fmt.Sprintf("gemm%dx%d%s", t.mr, t.nr(), t.s.name) }

// acc is the accumulator of row i, vector v.
func (t tile) acc(i, v int) reg.VecPhysical { return t.s.regs[i*t.vecs+v] }

// free returns the vector registers the accumulators leave.
func (t tile) free() []reg.VecPhysical { return t.s.regs[t.mr*t.vecs:] }

const signature = "func(k int, alpha float32, a []float32, rsA, csA int, b []float32, csB int, beta float32, c []float32, ldc, mr, nr int)"

// microKernel emits the micro-kernel of t. A's rows are addressed from one
// base per group of three (base, base+rs, base+2·rs), so the same code reads
// packed panels (rsA 1, csA MR) and A in place, either orientation.
func microKernel(t tile) {
	s, name := t.s, t.name()
	TEXT(name, NOSPLIT, signature)
	Pragma("noescape")
	Doc(fmt.Sprintf("%s is the %s micro-kernel for %d×%d tiles of C, of which", name, s.name, t.mr, t.nr()),
		"it reads and writes the top-left mr×nr corner (see microKernel):",
		"",
		"\tfor i < mr, j < nr:",
		"\t\tab := Σ_{p<k} a[i·rsA + p·csA] · b[p·csB + j]",
		"\t\tc[i·ldc + j] = alpha·ab + beta·c[i·ldc + j]   (beta = 0: c is not read)",
		"",
		fmt.Sprintf("It reads all %d rows of a and %d columns of b (zero-padded when packed).", t.mr, t.nr()))

	prefetchC(t)

	Comment(fmt.Sprintf("Accumulators: row i of the tile in vectors %d·i…%d·i+%d.", t.vecs, t.vecs, t.vecs-1))
	for i := 0; i < t.mr; i++ {
		for v := 0; v < t.vecs; v++ {
			s.zero(t.acc(i, v))
		}
	}
	k := Load(Param("k"), GP64())
	rs := Load(Param("rsA"), GP64())
	SHLQ(U8(2), rs)
	csA := Load(Param("csA"), GP64())
	SHLQ(U8(2), csA)
	csB := Load(Param("csB"), GP64())
	SHLQ(U8(2), csB)
	bp := Load(Param("b").Base(), GP64())
	a := GP64()
	Load(Param("a").Base(), a)
	bases := []reg.GPVirtual{a}
	rs3 := GP64()
	LEAQ(Mem{Base: rs, Index: rs, Scale: 2}, rs3)
	for g := 1; g < t.mr/3; g++ {
		base := GP64()
		LEAQ(Mem{Base: bases[g-1], Index: rs3, Scale: 1}, base)
		bases = append(bases, base)
	}
	rowA := func(i int) Mem {
		m := Mem{Base: bases[i/3]}
		if i%3 > 0 {
			m.Index, m.Scale = rs, uint8(i%3)
		}
		return m
	}

	free := t.free()
	bvec, bcast := free[:t.vecs], free[t.vecs:]
	bcast = bcast[:min(len(bcast), 6)]
	TESTQ(k, k)
	JZ(LabelRef(name + "_store"))
	Label(name + "_loop")
	Comment("One k step: a row of B, a column of A, mr·vecs FMAs.")
	for v, b := range bvec {
		VMOVUPS(mem(bp, v*s.bytes()), b)
	}
	for i := 0; i < t.mr; i++ {
		x := bcast[i%len(bcast)]
		VBROADCASTSS(rowA(i), x)
		for v, b := range bvec {
			VFMADD231PS(b, x, t.acc(i, v))
		}
	}
	ADDQ(csB, bp)
	for _, base := range bases {
		ADDQ(csA, base)
	}
	DECQ(k)
	JNZ(LabelRef(name + "_loop"))

	Label(name + "_store")
	alpha := free[0]
	VBROADCASTSS(paramAddr("alpha"), alpha)
	for i := 0; i < t.mr; i++ {
		for v := 0; v < t.vecs; v++ {
			VMULPS(alpha, t.acc(i, v), t.acc(i, v))
		}
	}
	if s.evex {
		storeMasked(t, kMasks(t))
	} else {
		storeAVX2(t)
	}
	Label(name + "_done")
	VZEROUPPER()
	RET()
}

// prefetchC asks for the tile's rows of C (prefetches never fault, so rows
// past mr are harmless).
func prefetchC(t tile) {
	c := Load(Param("c").Base(), GP64())
	ldc := Load(Param("ldc"), GP64())
	SHLQ(U8(2), ldc)
	for i := 0; i < t.mr; i++ {
		PREFETCHT0(mem(c, 0))
		PREFETCHT0(mem(c, 4*t.nr()-1))
		if i < t.mr-1 {
			ADDQ(ldc, c)
		}
	}
}

// betaIsZero jumps to label when beta is +0 or -0.
func betaIsZero(label string) {
	bits := GP32()
	MOVL(paramAddr("beta"), bits)
	ANDL(U32(0x7fffffff), bits)
	JZ(LabelRef(label))
}

// lanes selects the valid lanes of each vector of a row: K registers on
// AVX-512, mask vectors for VMASKMOVPS on AVX2.
type lanes struct {
	k    []reg.OpmaskPhysical
	vecs []reg.VecPhysical
}

// kMasks sets K1… to the lanes below nr of each vector.
func kMasks(t tile) lanes {
	nr := GP64()
	Load(Param("nr"), nr)
	bits := GP32()
	MOVL(U32(0xffffffff), bits)
	BZHIL(nr.As32(), bits, bits)
	ks := []reg.OpmaskPhysical{reg.K1, reg.K2}[:t.vecs]
	for v, k := range ks {
		if v > 0 {
			SHRL(U8(t.s.lanes), bits)
		}
		KMOVW(bits, k)
	}
	return lanes{k: ks}
}

// storeMasked writes rows below mr of the tile, lanes selected by m:
// C = acc (beta = 0) or C = acc + beta·C. The accumulators already hold
// alpha·ab.
func storeMasked(t tile, m lanes) {
	s, name := t.s, t.name()
	free := t.free()
	beta, tmp := free[0], free[1:1+t.vecs]
	if !s.evex {
		beta, tmp = free[len(free)-1], free[len(free)-2:len(free)-1]
	}
	c := Load(Param("c").Base(), GP64())
	ldc := Load(Param("ldc"), GP64())
	SHLQ(U8(2), ldc)
	mr := Load(Param("mr"), GP64())
	prefix := name + "_masked"
	betaIsZero(prefix + "_beta0")
	VBROADCASTSS(paramAddr("beta"), beta)
	for _, withBeta := range []bool{true, false} {
		if !withBeta {
			Label(prefix + "_beta0")
		}
		for i := 0; i < t.mr; i++ {
			if i > 0 {
				CMPQ(mr, U32(i))
				JLE(LabelRef(name + "_done"))
				ADDQ(ldc, c)
			}
			for v := 0; v < t.vecs; v++ {
				at, acc := mem(c, v*s.bytes()), t.acc(i, v)
				if withBeta {
					x := tmp[v%len(tmp)]
					if s.evex {
						VMOVUPS_Z(at, m.k[v], x)
					} else {
						VMASKMOVPS(at, m.vecs[v], x)
					}
					VFMADD231PS(beta, x, acc)
				}
				if s.evex {
					VMOVUPS(acc, m.k[v], at)
				} else {
					VMASKMOVPS(acc, m.vecs[v], at)
				}
			}
		}
		JMP(LabelRef(name + "_done"))
	}
}

// storeAVX2 writes a full tile with plain moves and a partial one with
// VMASKMOVPS (slow, but edge tiles are few).
func storeAVX2(t tile) {
	name := t.name()
	mr := Load(Param("mr"), GP64())
	nr := Load(Param("nr"), GP64())
	CMPQ(mr, U32(t.mr))
	JNE(LabelRef(name + "_partial"))
	CMPQ(nr, U32(t.nr()))
	JNE(LabelRef(name + "_partial"))
	storeFull(t)
	Label(name + "_partial")
	masks := t.free()[:t.vecs]
	laneMasks(nr, []reg.Register{masks[0], masks[1]}[:t.vecs])
	storeMasked(t, lanes{vecs: masks})
}

// storeFull writes all MR×NR: C = acc or C = acc + beta·C.
func storeFull(t tile) {
	s, name := t.s, t.name()
	beta := t.free()[0]
	c := Load(Param("c").Base(), GP64())
	ldc := Load(Param("ldc"), GP64())
	SHLQ(U8(2), ldc)
	prefix := name + "_full"
	betaIsZero(prefix + "_beta0")
	VBROADCASTSS(paramAddr("beta"), beta)
	for _, withBeta := range []bool{true, false} {
		if !withBeta {
			Label(prefix + "_beta0")
		}
		for i := 0; i < t.mr; i++ {
			if i > 0 {
				ADDQ(ldc, c)
			}
			for v := 0; v < t.vecs; v++ {
				at, acc := mem(c, v*s.bytes()), t.acc(i, v)
				if withBeta {
					VFMADD231PS(at, beta, acc)
				}
				VMOVUPS(acc, at)
			}
		}
		JMP(LabelRef(name + "_done"))
	}
}

// laneMaskOnes is the number of all-ones lanes at the start of laneMask,
// followed by as many zero lanes: the 8 lanes at index laneMaskOnes−n+8v
// are the VMASKMOVPS mask of vector v of a row n ≤ 32 floats wide.
const laneMaskOnes = 32

var laneMask Mem

func laneMaskTable() {
	laneMask = GLOBL("gemmLaneMask", RODATA|NOPTR)
	for i := 0; i < 2*laneMaskOnes; i++ {
		v := uint32(0)
		if i < laneMaskOnes {
			v = 0xffffffff
		}
		DATA(4*i, U32(v))
	}
}

// laneMasks loads into masks the VMASKMOVPS masks of a row n floats wide.
func laneMasks(n reg.Register, masks []reg.Register) {
	tbl, off := GP64(), GP64()
	LEAQ(laneMask, tbl)
	MOVQ(U32(laneMaskOnes), off)
	SUBQ(n, off)
	for v, m := range masks {
		VMOVDQU(Mem{Base: tbl, Index: off, Scale: 4, Disp: 32 * v}, m)
	}
}
