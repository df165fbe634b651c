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
	// next: the first tile's k loop also asks, with PREFETCHT2, for the
	// same rows of the next micro-panel of B (b + NR floats on each row),
	// for B read in place (microKernelsNext).
	next bool
	// ahead: the k loop also prefetches (PREFETCHT0) the row of the B
	// micro-panel ahead rows further on (0: none).
	ahead int
}

// aheadRows is how far ahead the AVX2 path's kernels prefetch B: B read in
// place with rows 512 bytes apart (the weights of a 128-wide layer) maps a
// 16-column micro-panel to 8 of the 64 sets of a 32 KiB 8-way L1, which
// holds 64 of its KC rows: every tile of the panel reads it from L2 again,
// and the hardware prefetchers do not keep up (bench/NOTES.md "AVX2 path
// on Zen 4"; 4, 8 and 16 rows alike).
const aheadRows = 4

var tiles = []tile{
	{s: avx2, mr: 6, vecs: 2}, // BLIS haswell's 6×16 (the AVX-512 path's column edges)

	// The AVX2 path's kernels: the 6×16 that prefetches B a few rows
	// ahead, and its row edges, the last ≤ 4 rows (m = 784) and ≤ 2
	// (m = 128) of a panel.
	{s: avx2, mr: 6, vecs: 2, ahead: aheadRows},
	{s: avx2, mr: 4, vecs: 2, ahead: aheadRows},
	{s: avx2, mr: 2, vecs: 2, ahead: aheadRows},
	{s: avx512, mr: 12, vecs: 2}, // BLIS zen4's 32×12, transposed for row-major C
	{s: avx512, mr: 12, vecs: 1}, // its half, for column edges nr ≤ 16
	{s: avx512, mr: 8, vecs: 2},  // row edges of the 12×32: the last ≤ 8 rows (m = 128)
	{s: avx512, mr: 4, vecs: 2},  // and the last ≤ 4 (m = 784)

	// The 12×32 for B read in place, with the next panel's prefetches.
	{s: avx512, mr: 12, vecs: 2, next: true},
}

func (t tile) nr() int { return t.vecs * t.s.lanes }
func (t tile) name() string {
	if t.ahead > 0 {
		return fmt.Sprintf("gemm%dx%dAhead%s", t.mr, t.nr(), t.s.name)
	}
	if t.next {
		return fmt.Sprintf("gemm%dx%dNext%s", t.mr, t.nr(), t.s.name)
	}
	return fmt.Sprintf("gemm%dx%d%s", t.mr, t.nr(), t.s.name)
}

// acc is the accumulator of row i, vector v.
func (t tile) acc(i, v int) reg.VecPhysical { return t.s.regs[i*t.vecs+v] }

// free returns the vector registers the accumulators leave.
func (t tile) free() []reg.VecPhysical { return t.s.regs[t.mr*t.vecs:] }

const signature = "func(k int, alpha float32, a []float32, rsA, csA, psA int, b []float32, csB int, beta float32, c []float32, ldc, m, nr int)"

// microKernel emits the micro-kernel of t, which runs the tiles of a column
// panel of C one after the other: one call per B micro-panel, not per tile.
// A's rows are addressed from one base per group of three (base, base+rs,
// base+2·rs), so the same code reads packed panels (rsA 1, csA MR) and A in
// place, either orientation.
func microKernel(t tile) {
	s, name := t.s, t.name()
	TEXT(name, NOSPLIT, signature)
	Pragma("noescape")
	doc := []string{fmt.Sprintf("%s is the %s micro-kernel for %d×%d tiles of C. It updates the", name, s.name, t.mr, t.nr()),
		"m×nr panel of C below c, tile by tile (see microKernel):",
		"",
		fmt.Sprintf("\tfor i < m, j < nr: with t, r = i / %d, i %% %d:", t.mr, t.mr),
		"\t\tab := Σ_{p<k} a[t·psA + r·rsA + p·csA] · b[p·csB + j]",
		"\t\tc[i·ldc + j] = alpha·ab + beta·c[i·ldc + j]   (beta = 0: c is not read)",
		"",
		fmt.Sprintf("It reads all %d rows of each A panel and %d columns of b (zero-padded when packed).", t.mr, t.nr())}
	if t.ahead > 0 {
		doc = append(doc, "",
			fmt.Sprintf("Each k step also prefetches (PREFETCHT0) the row of b %d rows further on,", t.ahead),
			fmt.Sprintf("b[(p+%d)·csB], for B read in place. Each element of C gets the operations", t.ahead),
			"of gemm6x16AVX2 in the same order: the same bits.")
	}
	if t.next {
		doc = append(doc, "",
			fmt.Sprintf("During the first tile it also prefetches (PREFETCHT2) b[p·csB+%d … p·csB+%d] for p < k:", t.nr(), 2*t.nr()-1),
			"the same rows of the next micro-panel of B when B is read in place. Its results",
			fmt.Sprintf("are those of %s.", tile{s: t.s, mr: t.mr, vecs: t.vecs}.name()))
	}
	Doc(doc...)

	Comment("Tile loop: aTile, cTile at the current tile, left rows from it on.")
	aTile := Load(Param("a").Base(), GP64())
	cTile := Load(Param("c").Base(), GP64())
	left := Load(Param("m"), GP64())
	Label(name + "_tile")
	prefetchC(t, cTile)

	Comment(fmt.Sprintf("Accumulators: row i of the tile in vectors %d·i…%d·i+%d.", t.vecs, t.vecs, t.vecs-1))
	for i := 0; i < t.mr; i++ {
		for v := 0; v < t.vecs; v++ {
			s.zero(t.acc(i, v))
		}
	}
	k := Load(Param("k"), GP64())
	rs, csA, csB := strideBytes("rsA"), strideBytes("csA"), strideBytes("csB")
	bp := Load(Param("b").Base(), GP64())
	a := GP64()
	MOVQ(aTile, a)
	bases := []reg.GPVirtual{a}
	rs3 := GP64()
	LEAQ(Mem{Base: rs, Index: rs, Scale: 2}, rs3)
	for g := 1; g < (t.mr+2)/3; g++ {
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
	var pf reg.GPVirtual
	if t.ahead > 0 {
		pf = GP64()
		IMUL3Q(U32(t.ahead), csB, pf)
		ADDQ(bp, pf)
	}
	TESTQ(k, k)
	JZ(LabelRef(name + "_store"))
	step := func(prefetch bool) {
		Comment("One k step: a row of B, a column of A, mr·vecs FMAs.")
		for v, b := range bvec {
			VMOVUPS(mem(bp, v*s.bytes()), b)
		}
		if t.ahead > 0 {
			for l := 0; l < s.bytes()*t.vecs; l += 64 {
				PREFETCHT0(mem(pf, l))
			}
			ADDQ(csB, pf)
		}
		if prefetch {
			PREFETCHT2(mem(bp, 4*t.nr()))
			PREFETCHT2(mem(bp, 8*t.nr()-1))
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
	}
	if t.next {
		Comment("The first tile (left = m) asks for the next micro-panel's part of each row of B.")
		CMPQ(left, paramAddr("m"))
		JNE(LabelRef(name + "_loop"))
		Label(name + "_loopnext")
		step(true)
		JNZ(LabelRef(name + "_loopnext"))
		JMP(LabelRef(name + "_store"))
	}
	Label(name + "_loop")
	step(false)
	JNZ(LabelRef(name + "_loop"))

	Label(name + "_store")
	alphaIsOne(name + "_scaled")
	alpha := free[0]
	VBROADCASTSS(paramAddr("alpha"), alpha)
	for i := 0; i < t.mr; i++ {
		for v := 0; v < t.vecs; v++ {
			VMULPS(alpha, t.acc(i, v), t.acc(i, v))
		}
	}
	Label(name + "_scaled")
	mr := GP64() // rows of this tile: min(MR, left)
	MOVQ(left, mr)
	CMPQ(mr, U32(t.mr))
	JLE(LabelRef(name + "_rows"))
	MOVQ(U32(t.mr), mr)
	Label(name + "_rows")
	if s.evex {
		storeEVEX(t, cTile, mr)
	} else {
		storeAVX2(t, cTile, mr)
	}

	Label(name + "_next")
	nextTile(name, aTile, cTile, left, t.mr)
}

// nextTile ends a micro-kernel: it moves aTile to the next A panel (psA
// floats on) and cTile down rows rows of C, takes rows from left and
// loops back to name+"_tile" while rows are left, else returns.
func nextTile(name string, aTile, cTile, left reg.Register, rows int) {
	psA := strideBytes("psA")
	ADDQ(psA, aTile)
	ldcTile := Load(Param("ldc"), GP64())
	IMUL3Q(U32(4*rows), ldcTile, ldcTile)
	ADDQ(ldcTile, cTile)
	SUBQ(U32(rows), left)
	CMPQ(left, U32(0))
	JLE(LabelRef(name + "_done"))
	JMP(LabelRef(name + "_tile"))
	Label(name + "_done")
	VZEROUPPER()
	RET()
}

// prefetchC asks for the tile's rows of C at cTile (prefetches never
// fault, so rows past mr are harmless).
func prefetchC(t tile, cTile reg.Register) {
	c := GP64()
	MOVQ(cTile, c)
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

// alphaIsOne jumps to label when alpha is 1: alpha·ab is then ab, bit for
// bit (an FMA's result is never a signaling NaN), and the tile's
// multiplies are skipped, a tenth of a tile's floating-point work at k = 10.
func alphaIsOne(label string) {
	bits := GP64()
	MOVL(paramAddr("alpha"), bits.As32())
	CMPQ(bits, U32(0x3f800000))
	JE(LabelRef(label))
}

// betaIsZero jumps to label when beta is +0 or -0.
func betaIsZero(label string) {
	bits := GP32()
	MOVL(paramAddr("beta"), bits)
	ANDL(U32(0x7fffffff), bits)
	JZ(LabelRef(label))
}

// kMasks sets K1… to the lanes below nr of each vector of a row.
func kMasks(t tile) []reg.OpmaskPhysical {
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
	return ks
}

// storeEVEX writes an AVX-512 tile: a full one with plain moves, a
// partial one (mr < MR or nr < NR) with masked moves. On Zen 4 the masked
// stores cost more than plain ones where stores are a large part of a
// tile's work (short k; bench/NOTES.md).
func storeEVEX(t tile, cTile, mr reg.Register) {
	storeWhole(t, cTile, mr)
	storeMasked(t, kMasks(t), cTile, mr)
}

// storeWhole stores a full tile (mr = MR and nr = NR) with storeFull and
// falls through to the code that follows, for a partial one, with nr
// loaded into the register it returns.
func storeWhole(t tile, cTile, mr reg.Register) reg.Register {
	name := t.name()
	nr := Load(Param("nr"), GP64())
	CMPQ(mr, U32(t.mr))
	JNE(LabelRef(name + "_partial"))
	CMPQ(nr, U32(t.nr()))
	JNE(LabelRef(name + "_partial"))
	storeFull(t, cTile)
	Label(name + "_partial")
	return nr
}

// storeMasked writes rows below mr of an AVX-512 tile, lanes selected by
// the K masks ks: C = acc (beta = 0) or C = acc + beta·C. The accumulators
// already hold alpha·ab.
func storeMasked(t tile, ks []reg.OpmaskPhysical, cTile, mr reg.Register) {
	s, name := t.s, t.name()
	beta, tmp := t.free()[0], t.free()[1:1+t.vecs]
	next := func(i int, c, ldc reg.Register) { nextRow(mr, i, c, ldc, name+"_next") }
	storeRows(t, cTile, name+"_masked", beta, t.vecs, next, func(c reg.Register, i, v int, withBeta bool) {
		at, acc := mem(c, v*s.bytes()), t.acc(i, v)
		if withBeta {
			x := tmp[v%len(tmp)]
			VMOVUPS_Z(at, ks[v], x)
			VFMADD231PS(beta, x, acc)
		}
		VMOVUPS(acc, ks[v], at)
	})
}

// storeRows is the skeleton every tile store shares: row i of C at c (next
// moves c from row i−1 to row i), and two copies of the row loop, with
// beta broadcast into the register beta (C = acc + beta·C) and, from
// prefix_beta0 on, without it (C = acc); store writes vector v < vecs of
// row i, at c + v·vector bytes.
func storeRows(t tile, cTile reg.Register, prefix string, beta reg.VecPhysical, vecs int,
	next func(i int, c, ldc reg.Register), store func(c reg.Register, i, v int, withBeta bool)) {
	c := GP64()
	MOVQ(cTile, c)
	ldc := Load(Param("ldc"), GP64())
	SHLQ(U8(2), ldc)
	betaIsZero(prefix + "_beta0")
	VBROADCASTSS(paramAddr("beta"), beta)
	for _, withBeta := range []bool{true, false} {
		if !withBeta {
			Label(prefix + "_beta0")
		}
		for i := 0; i < t.mr; i++ {
			if i > 0 {
				next(i, c, ldc)
			}
			for v := 0; v < vecs; v++ {
				store(c, i, v, withBeta)
			}
		}
		JMP(LabelRef(t.name() + "_next"))
	}
}

// nextRow jumps to done when row i is past mr, else moves c to row i.
func nextRow(mr reg.Register, i int, c, ldc reg.Register, done string) {
	CMPQ(mr, U32(i))
	JLE(LabelRef(done))
	ADDQ(ldc, c)
}

// storeAVX2 writes a full tile with plain moves. A partial tile (mr < MR
// or nr < NR) is stored row by row: the nr/8 whole vectors with plain
// moves, the last nr%8 lanes in pieces of 4, 2 and 1 floats (VMASKMOVPS
// stores are slow on AMD; with n = 10 every tile is an edge tile). With
// beta ≠ 0 the partial vector of C is read with a masked load, which is
// fast and never faults past the row.
func storeAVX2(t tile, cTile, mr reg.Register) {
	name := t.name()
	nr := storeWhole(t, cTile, mr)
	masks := t.free()[:t.vecs]
	laneMasks(nr, []reg.Register{masks[0], masks[1]}[:t.vecs])
	whole := GP64()
	MOVQ(nr, whole)
	SHRQ(U8(3), whole)
	tail := nr
	ANDQ(U32(7), tail)
	for f := 0; f < t.vecs; f++ {
		CMPQ(whole, U32(f))
		JE(LabelRef(fmt.Sprintf("%s_partial%d", name, f)))
	}
	for f := t.vecs; f >= 0; f-- { // f = vecs: whole rows, mr < MR
		Label(fmt.Sprintf("%s_partial%d", name, f))
		storePartialRows(t, f, cTile, mr, tail, masks)
	}
}

// storePartialRows stores rows below mr of a tile whose rows are f whole
// vectors and tail more lanes: C = acc or C = acc + beta·C.
func storePartialRows(t tile, f int, cTile, mr, tail reg.Register, masks []reg.VecPhysical) {
	s, name := t.s, t.name()
	free := t.free()
	beta, tmp := free[len(free)-1], free[len(free)-2]
	prefix := fmt.Sprintf("%s_partial%d", name, f)
	next := func(i int, c, ldc reg.Register) { nextRow(mr, i, c, ldc, name+"_next") }
	storeRows(t, cTile, prefix, beta, min(f+1, t.vecs), next, func(c reg.Register, i, v int, withBeta bool) {
		at, acc := mem(c, v*s.bytes()), t.acc(i, v)
		if v < f {
			if withBeta {
				VFMADD231PS(at, beta, acc)
			}
			VMOVUPS(acc, at)
			return
		}
		if withBeta {
			VMASKMOVPS(at, masks[v], tmp)
			VFMADD231PS(beta, tmp, acc)
		}
		storeTail(acc, tail, c, v*s.bytes(), fmt.Sprintf("%s_b%v_r%d", prefix, withBeta, i))
	})
}

// storeTail writes the first tail < 8 lanes of y to c+disp in pieces of 4,
// 2 and 1 floats, shifting y down as it goes (y is clobbered).
func storeTail(y reg.VecPhysical, tail, c reg.Register, disp int, prefix string) {
	x := y.AsX()
	at := GP64()
	LEAQ(mem(c, disp), at)
	TESTQ(U32(4), tail)
	JZ(LabelRef(prefix + "_2"))
	VMOVUPS(x, Mem{Base: at})
	VEXTRACTF128(U8(1), y, x)
	ADDQ(U32(16), at)
	Label(prefix + "_2")
	TESTQ(U32(2), tail)
	JZ(LabelRef(prefix + "_1"))
	VMOVQ(x, Mem{Base: at})
	VSHUFPS(U8(0x0e), x, x, x) // lanes 2, 3 down to 0, 1
	ADDQ(U32(8), at)
	Label(prefix + "_1")
	TESTQ(U32(1), tail)
	JZ(LabelRef(prefix + "_end"))
	VMOVSS(x, Mem{Base: at})
	Label(prefix + "_end")
}

// storeFull writes all MR×NR: C = acc or C = acc + beta·C.
func storeFull(t tile, cTile reg.Register) {
	s, beta := t.s, t.free()[0]
	next := func(_ int, c, ldc reg.Register) { ADDQ(ldc, c) }
	storeRows(t, cTile, t.name()+"_full", beta, t.vecs, next, func(c reg.Register, i, v int, withBeta bool) {
		at, acc := mem(c, v*s.bytes()), t.acc(i, v)
		if withBeta {
			VFMADD231PS(at, beta, acc)
		}
		VMOVUPS(acc, at)
	})
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
