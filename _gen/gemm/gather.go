package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// gatherWidths are the panel widths the gathering packers serve: the MR of
// the AVX2 and AVX-512 micro-kernels (op(A) is the gathered operand).
var gatherWidths = []int{6, 12}

// packCopyGather6 emits packCopyGather6AVX2: packCopyGather for 6-wide
// panels, four gathered rows at a time, whose 24 floats are adjacent in
// each panel (three YMMs): each YMM is assembled from two masked loads
// (VMASKMOVPS reads only its mask's lanes, so no load reaches past a row's
// piece, and the other lanes are zero) joined by VXORPS, and stored whole.
// One row at a time copies the len(offs) mod 4 rows left. Per panel and
// row, the one-row loop stored 6 floats on a page of its own: four rows
// share each page's TLB entry and the loop's overhead (bench/NOTES.md
// "AVX2 path on Zen 4").
func packCopyGather6() {
	const w = 6
	name := "packCopyGather6AVX2"
	packCopyGatherText(name, w, "")
	// Lanes [lo, hi) of a YMM from row j of the four, at floats at…at+7 of
	// it: the three YMMs of 24 floats are rows 0|1, 1|2 and 2|3.
	type part struct{ row, at, lo, hi int }
	parts := [3][2]part{
		{{0, 0, 0, 6}, {1, -6, 6, 8}},
		{{1, 2, 0, 4}, {2, -4, 4, 8}},
		{{2, 4, 0, 2}, {3, -2, 2, 8}},
	}
	tbl := GP64()
	LEAQ(gatherLaneMask, tbl)
	masks := map[[2]int]reg.VecVirtual{}
	for _, pp := range parts {
		for _, pt := range pp {
			m := YMM()
			masks[[2]int{pt.lo, pt.hi}] = m
			VMOVDQU(mem(tbl, 4*gatherMaskAt(pt.lo, pt.hi)), m)
		}
	}
	dst0, base, offp, n, panelBytes := copyGatherArgs(w)
	n4 := GP64()
	MOVQ(n, n4)
	SHRQ(U8(2), n4)
	JZ(LabelRef(name + "_one"))
	rows4Loop(name+"_4", w, 4, dst0, n4, panelBytes, func(s [4]reg.GPVirtual) {
		for j := range s {
			MOVQ(Mem{Base: offp, Disp: 8 * j}, s[j])
			LEAQ(memIndex(base, s[j], 4), s[j])
		}
	}, func() { ADDQ(U8(32), offp) }, func(v int, s [4]reg.GPVirtual, dst reg.Register) {
		y := YMM()
		for i, pt := range parts[v] {
			x := y
			if i > 0 {
				x = YMM()
			}
			VMASKMOVPS(mem(s[pt.row], 4*pt.at), masks[[2]int{pt.lo, pt.hi}], x)
			if i > 0 {
				VXORPS(x, y, y)
			}
		}
		VMOVUPS(y, mem(dst, 32*v))
	})
	Label(name + "_one")
	ANDQ(U32(3), n)
	JZ(LabelRef(name + "_done"))
	copyGatherRows(name, w, dst0, base, offp, n, panelBytes)
}

// gatherLaneMask is 8 zero lanes, 8 all-ones lanes and 8 zero lanes: the
// 8 lanes from gatherMaskAt(lo, hi) are the VMASKMOVPS mask of lanes
// [lo, hi) when lo = 0 or hi = 8.
var gatherLaneMask Mem

func gatherLaneMaskTable() {
	gatherLaneMask = GLOBL("gatherLaneMask", RODATA|NOPTR)
	for i := 0; i < 24; i++ {
		v := uint32(0)
		if i >= 8 && i < 16 {
			v = 0xffffffff
		}
		DATA(4*i, U32(v))
	}
}

// gatherMaskAt is where in gatherLaneMask the mask of lanes [lo, hi)
// starts (lo = 0 or hi = 8).
func gatherMaskAt(lo, hi int) int {
	switch {
	case hi == 8:
		return 8 - lo
	case lo == 0:
		return 16 - hi
	}
	panic(fmt.Sprintf("gatherMaskAt: lanes [%d, %d)", lo, hi))
}

// packCopyGather emits packCopyGather<w>AVX2: packCopy whose source rows
// are named by offsets instead of being ld apart, for op(A) = Xᵀ with X's
// rows picked by index (the weight gradient xᵀ·dz of a shuffled batch).
func packCopyGather(w int) {
	name := fmt.Sprintf("packCopyGather%dAVX2", w)
	packCopyGatherText(name, w, "")
	dst0, base, offp, n, panelBytes := copyGatherArgs(w)
	TESTQ(n, n)
	JZ(LabelRef(name + "_done"))
	copyGatherRows(name, w, dst0, base, offp, n, panelBytes)
}

// copyGatherArgs loads the arguments of a packCopyGather packer: where dst
// and src start, the offsets' address and count, and the bytes of one
// panel (cols rows of w floats).
func copyGatherArgs(w int) (dst0, base, offp, n, panelBytes reg.Register) {
	dst0, base, offp = GP64(), GP64(), GP64()
	Load(Param("dst").Base(), dst0)
	Load(Param("src").Base(), base)
	Load(Param("offs").Base(), offp)
	n = Load(Param("offs").Len(), GP64())
	cols := Load(Param("cols"), GP64())
	panelBytes = GP64()
	IMUL3Q(U32(4*w), cols, panelBytes)
	return dst0, base, offp, n, panelBytes
}

// copyGatherRows emits the one-row loop of the packCopyGather packers and
// ends the function: n ≥ 1 gathered rows (offsets at offp into base), each
// giving w floats to every panel, dst0 advancing by one row.
func copyGatherRows(name string, w int, dst0, base, offp, n, panelBytes reg.Register) {
	Label(name + "_row")
	src, dst, q := GP64(), GP64(), GP64()
	MOVQ(Mem{Base: offp}, src)
	LEAQ(Mem{Base: base, Index: src, Scale: 4}, src)
	MOVQ(dst0, dst)
	Load(Param("panels"), q)
	Label(name + "_panel")
	copyPieces(src, dst, w)
	ADDQ(U32(4*w), src)
	ADDQ(panelBytes, dst)
	DECQ(q)
	JNZ(LabelRef(name + "_panel"))
	ADDQ(U8(8), offp)
	ADDQ(U32(4*w), dst0)
	loopEnd(name, "_row", n)
}

// packCopyGatherText opens packCopyGather<w><ISA>: its signature and doc,
// with the reference loop; cond is a condition on the arguments ("" for
// none).
func packCopyGatherText(name string, w int, cond string) {
	TEXT(name, NOSPLIT, "func(dst, src []float32, offs []int, cols, panels int)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s copies panels full panels of %d floats × len(offs) rows, the", name, w),
		"row p at src[offs[p]:], into panels of cols rows in dst (panels ≥ 1)"+docCond(cond),
		"",
		fmt.Sprintf("	for p < len(offs) { for q < panels { copy(dst[(q·cols+p)·%d:][:%d], src[offs[p]+q·%d:]) } }", w, w, w))
}

// packTransposeGatherText opens packTransposeGather<w><ISA> (bytes:
// packTransposeGatherBytes<w><ISA>, whose rows are bytes read as
// float32(b)/div): its signature and doc, with the reference loop, for cols
// a multiple of step.
func packTransposeGatherText(name string, w, step int, bytes bool) {
	sig, what, ref := "func(panel, src []float32, offs []int, cols int)", "floats into panel;", "src[offs[j]+p]"
	if bytes {
		sig, what, ref = "func(panel []float32, src []uint8, offs []int, cols int, div float32)",
			"bytes into panel, each as float32(b)/div;", "float32(src[offs[j]+p]) / div"
	}
	TEXT(name, NOSPLIT, sig)
	Pragma("noescape")
	Doc(fmt.Sprintf("%s transposes the %d rows src[offs[j]:] (len(offs) ≥ %d) of cols", name, w, w),
		fmt.Sprintf("%s cols must be a multiple of %d:", what, step),
		"",
		fmt.Sprintf("\tfor p < cols { for j < %d { panel[p·%d+j] = %s } }", w, w, ref))
}

// packCopyGatherBytesText opens packCopyGatherBytes<w><ISA>: its signature
// and doc, with the reference loop.
func packCopyGatherBytesText(name string, w int) {
	TEXT(name, NOSPLIT, "func(dst []float32, src []uint8, offs []int, cols, panels int, div float32)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s copies panels full panels of %d bytes × len(offs) rows, the", name, w),
		"row p at src[offs[p]:], each byte b as float32(b)/div, into panels of cols rows in dst",
		"(panels ≥ 1); len(offs) must be a multiple of 4:",
		"",
		fmt.Sprintf("\tfor p < len(offs) { for q < panels { for i < %d { dst[(q·cols+p)·%d+i] = float32(src[offs[p]+q·%d+i]) / div } } }", w, w, w))
}

// copyPieces copies w floats from src to dst in pieces of 8, 4 and 2.
func copyPieces(src, dst reg.Register, w int) {
	for off := 0; off < w; {
		switch n := w - off; {
		case n >= 8:
			y := YMM()
			VMOVUPS(mem(src, 4*off), y)
			VMOVUPS(y, mem(dst, 4*off))
			off += 8
		case n >= 4:
			x := XMM()
			VMOVUPS(mem(src, 4*off), x)
			VMOVUPS(x, mem(dst, 4*off))
			off += 4
		default:
			x := XMM()
			VMOVQ(mem(src, 4*off), x)
			VMOVQ(x, mem(dst, 4*off))
			off += 2
		}
	}
}

// packTransposeGather emits packTransposeGather<w>AVX2: packTranspose whose
// w source rows are named by offsets instead of being ld apart, for op(A)
// = X with X's rows picked by index (the forward x·W of a shuffled batch).
func packTransposeGather(w int) {
	name := fmt.Sprintf("packTransposeGather%dAVX2", w)
	step := 8
	if w == 6 {
		step = 4 // the AVX2 path's k-blocks of 196 columns of k = 784
	}
	packTransposeGatherText(name, w, step, false)
	dst, src, offp := GP64(), GP64(), GP64()
	Load(Param("panel").Base(), dst)
	Load(Param("src").Base(), src)
	Load(Param("offs").Base(), offp)
	transposeRows(name, w, dst, src, step == 4, func(int) {}, func(j0, i int, r reg.Register) {
		off := GP64()
		MOVQ(Mem{Base: offp, Disp: 8 * (j0 + i)}, off)
		VMOVUPS(memIndex(src, off, 4), r)
	})
}

// byteDivisor divides converted bytes by the packers' div (PixelMax, 255)
// without a VDIVPS per vector (one ZMM in about 5 cycles on Zen 4, the
// bound of the copying packer on rows in cache): with r = 1/div rounded,
//
//	q = x·r;  e = x − q·div (FMA: exact);  x/div = e·r + q (FMA)
//
// is the correctly rounded quotient of every byte x by 255 (checked for all
// 256 by TestGatherBytePackers and TestPixelPackersEveryByte, natively and
// emulated), so a panel holds the bits of float32(b)/div as before. The
// two VDIVPS that form r run once per call. d and r are vectors, or (where
// the AVX2 transpose needs all 16 registers) the two 32-byte slots of a
// local.
type byteDivisor struct {
	d, r  Op
	asX   func() (Op, Op) // d and r for XMM operands
	vsize uint
}

// loadByteDivisor broadcasts div and forms r = (div/div)/div = 1/div in
// vectors made by vec (XMM, YMM or ZMM), kept in registers or, with
// inMemory, stored in a local.
func loadByteDivisor(vec func() reg.VecVirtual, inMemory bool) byteDivisor {
	d, r := vec(), vec()
	VBROADCASTSS(paramAddr("div"), d)
	VDIVPS(d, d, r) // 1
	VDIVPS(d, r, r) // 1/div
	if inMemory {
		local := AllocLocal(2 * int(d.Size()))
		dm, rm := local, local.Offset(int(d.Size()))
		VMOVUPS(d, dm)
		VMOVUPS(r, rm)
		return byteDivisor{d: dm, r: rm, asX: func() (Op, Op) { return dm, rm }, vsize: d.Size()}
	}
	return byteDivisor{d: d, r: r, asX: func() (Op, Op) { return d.AsX(), r.AsX() }, vsize: d.Size()}
}

// divide sets x (converted bytes; an XMM x takes the divisor's low lanes)
// to x/div, using tmp, a vector of x's size.
func (v byteDivisor) divide(x, tmp reg.Register) {
	d, r := v.d, v.r
	if x.Size() < v.vsize {
		d, r = v.asX()
	}
	VMULPS(r, x, tmp)       // q = x·r
	VFNMADD231PS(d, tmp, x) // e = x − q·div, exact
	VFMADD132PS(r, tmp, x)  // e·r + q
}

// packTransposeGatherBytes6 emits packTransposeGatherBytes6AVX2:
// packTransposeGather6AVX2 on stored bytes, each widened to a 32-bit lane
// (VPMOVZXBD), converted and divided by div (exact: byteDivisor) as it is
// loaded.
func packTransposeGatherBytes6() {
	const w = 6
	name := "packTransposeGatherBytes6AVX2"
	packTransposeGatherText(name, w, 4, true)
	dv := loadByteDivisor(YMM, true)
	dst, src, offp := GP64(), GP64(), GP64()
	Load(Param("panel").Base(), dst)
	Load(Param("src").Base(), src)
	Load(Param("offs").Base(), offp)
	transposeRowsOf(name, w, 1, dst, src, true, func(int) {}, func(j0, i int, r reg.Register) {
		off := GP64()
		MOVQ(Mem{Base: offp, Disp: 8 * (j0 + i)}, off)
		tmp := reg.Register(YMM())
		if r.Size() == 16 {
			tmp = XMM()
		}
		VPMOVZXBD(memIndex(src, off, 1), r)
		VCVTDQ2PS(r, r)
		dv.divide(r, tmp)
	})
}

// packCopyGatherBytes6 emits packCopyGatherBytes6AVX2:
// packCopyGather6AVX2 on stored bytes, four rows at a time (len(offs) a
// multiple of 4). A row's 6 bytes of a panel are two 4-byte loads, at 0
// and 2, each widened, converted, divided (exact: byteDivisor) and stored as an
// XMM, the second over the first's last two floats: nothing is read past
// the row's 6 bytes, nothing written past its 6 floats.
func packCopyGatherBytes6() {
	const w = 6
	name := "packCopyGatherBytes6AVX2"
	packCopyGatherBytesText(name, w)
	dv := loadByteDivisor(XMM, false)
	dst0, base, offp, n, panelBytes := copyGatherArgs(w)
	SHRQ(U8(2), n)
	JZ(LabelRef(name + "_done"))
	rows4LoopN(name, w, 1, 4, dst0, n, panelBytes, func(s [4]reg.GPVirtual) {
		for j := range s {
			MOVQ(Mem{Base: offp, Disp: 8 * j}, s[j])
			ADDQ(base, s[j])
		}
	}, func() { ADDQ(U8(32), offp) }, func(j int, s [4]reg.GPVirtual, dst reg.Register) {
		for _, at := range []int{0, 2} {
			x := XMM()
			VPMOVZXBD(mem(s[j], at), x)
			VCVTDQ2PS(x, x)
			dv.divide(x, XMM())
			VMOVUPS(x, mem(dst, 4*(w*j+at)))
		}
	})
	Label(name + "_done")
	VZEROUPPER()
	RET()
}

// gatherWidthsAVX512 are the panel widths of the AVX-512 gathering
// packers: the MR of the AVX-512 micro-kernel.
var gatherWidthsAVX512 = []int{12}

// packTransposeGatherAVX512 emits packTransposeGather<w>AVX512 (w a
// multiple of 4): packTransposeGather on 16 columns at a time. The w rows
// are loaded as ZMMs, each 4-row group transposed 4×4 inside every 128-bit
// lane (as transpose8x8 starts), then the 128-bit lanes of every four
// results transposed 4×4 (VSHUFF32X4), which leaves the 16 columns × w
// rows of the panel in w whole ZMMs, stored with plain full-width moves.
func packTransposeGatherAVX512(w int) { packTransposeGatherZ(w, false) }

// packTransposeGatherBytesAVX512 emits packTransposeGatherBytes<w>AVX512:
// packTransposeGather<w>AVX512 on stored bytes, each converted to float32
// and divided by div (exact: byteDivisor) as it is loaded.
func packTransposeGatherBytesAVX512(w int) { packTransposeGatherZ(w, true) }

func packTransposeGatherZ(w int, bytes bool) {
	name := fmt.Sprintf("packTransposeGather%dAVX512", w)
	if bytes {
		name = fmt.Sprintf("packTransposeGatherBytes%dAVX512", w)
		packTransposeGatherText(name, w, 16, true)
	} else {
		packTransposeGatherText(name, w, 16, false)
	}
	var dv byteDivisor
	if bytes {
		dv = loadByteDivisor(ZMM, false)
	}
	dst, src, offp := GP64(), GP64(), GP64()
	Load(Param("panel").Base(), dst)
	Load(Param("src").Base(), src)
	Load(Param("offs").Base(), offp)
	n := Load(Param("cols"), GP64())
	SHRQ(U8(4), n)
	JZ(LabelRef(name + "_done"))
	Label(name + "_loop")
	Comment("Sixteen columns of the panel: each 4-row group transposed inside the 128-bit lanes.")
	// cols[g][i] lane c holds rows 4g…4g+3 of column 4c+i.
	cols := make([][4]reg.VecVirtual, w/4)
	for g := range cols {
		var r [4]reg.VecVirtual
		for i := range r {
			off := GP64()
			MOVQ(Mem{Base: offp, Disp: 8 * (4*g + i)}, off)
			r[i] = ZMM()
			if bytes {
				VPMOVZXBD(memIndex(src, off, 1), r[i])
				VCVTDQ2PS(r[i], r[i])
				dv.divide(r[i], ZMM())
			} else {
				VMOVUPS(memIndex(src, off, 4), r[i])
			}
		}
		var t [4]reg.VecVirtual
		for i := range t {
			t[i] = ZMM()
		}
		VUNPCKLPS(r[1], r[0], t[0])
		VUNPCKHPS(r[1], r[0], t[1])
		VUNPCKLPS(r[3], r[2], t[2])
		VUNPCKHPS(r[3], r[2], t[3])
		for i, sel := range [][3]int{{0x44, 0, 2}, {0xEE, 0, 2}, {0x44, 1, 3}, {0xEE, 1, 3}} {
			cols[g][i] = ZMM()
			VSHUFPS(U8(sel[0]), t[sel[2]], t[sel[1]], cols[g][i])
		}
	}
	Comment("The 128-bit pieces in panel order (column by column, 4-row groups in order), four ZMMs",
		"at a time, 128-bit lanes transposed: lane c of each goes to column group c.")
	var seq []reg.VecVirtual // the pieces of column i (all groups), for i = 0…3
	for i := 0; i < 4; i++ {
		for g := range cols {
			seq = append(seq, cols[g][i])
		}
	}
	for s := 0; s < len(seq)/4; s++ {
		a, b, c, d := seq[4*s], seq[4*s+1], seq[4*s+2], seq[4*s+3]
		p, q, r, u := ZMM(), ZMM(), ZMM(), ZMM()
		VSHUFF32X4(U8(0x88), b, a, p) // a0 a2 b0 b2
		VSHUFF32X4(U8(0xDD), b, a, q) // a1 a3 b1 b3
		VSHUFF32X4(U8(0x88), d, c, r) // c0 c2 d0 d2
		VSHUFF32X4(U8(0xDD), d, c, u) // c1 c3 d1 d3
		for c, sel := range [][3]any{{0x88, p, r}, {0x88, q, u}, {0xDD, p, r}, {0xDD, q, u}} {
			o := ZMM()
			VSHUFF32X4(U8(sel[0].(int)), sel[2].(reg.VecVirtual), sel[1].(reg.VecVirtual), o) // lane c of a, b, c, d
			VMOVUPS(o, mem(dst, 4*(c*4*w+16*s)))
		}
	}
	if bytes {
		ADDQ(U32(16), src)
	} else {
		ADDQ(U32(64), src)
	}
	ADDQ(U32(4*16*w), dst)
	loopEnd(name, "_loop", n)
}

// packCopyGatherAVX512 emits packCopyGather12AVX512: packCopyGather on
// four rows at a time (copyRows4).
func packCopyGatherAVX512(w int) {
	name := fmt.Sprintf("packCopyGather%dAVX512", w)
	packCopyGatherText(name, w, "len(offs) must be a multiple of 4")
	ks := copyRows4Masks(w)
	dst0, base, offp := GP64(), GP64(), GP64()
	Load(Param("dst").Base(), dst0)
	Load(Param("src").Base(), base)
	Load(Param("offs").Base(), offp)
	n := Load(Param("offs").Len(), GP64())
	copyRows4(name, w, ks, dst0, n, func(s [4]reg.GPVirtual) {
		for j := range s {
			MOVQ(Mem{Base: offp, Disp: 8 * j}, s[j])
			LEAQ(memIndex(base, s[j], 4), s[j])
		}
	}, func() { ADDQ(U8(32), offp) })
}

// packCopyGatherBytesAVX512 emits packCopyGatherBytes12AVX512:
// packCopyGather12AVX512 on stored bytes, each converted to float32 and
// divided by div (exact: byteDivisor).
func packCopyGatherBytesAVX512(w int) {
	name := fmt.Sprintf("packCopyGatherBytes%dAVX512", w)
	packCopyGatherBytesText(name, w)
	ks := copyRows4Masks(w)
	dv := loadByteDivisor(ZMM, false)
	dst0, base, offp := GP64(), GP64(), GP64()
	Load(Param("dst").Base(), dst0)
	Load(Param("src").Base(), base)
	Load(Param("offs").Base(), offp)
	n := Load(Param("offs").Len(), GP64())
	copyRows4Of(name, w, ks, &dv, dst0, n, func(s [4]reg.GPVirtual) {
		for j := range s {
			MOVQ(Mem{Base: offp, Disp: 8 * j}, s[j])
			ADDQ(base, s[j])
		}
	}, func() { ADDQ(U8(32), offp) })
}

// packCopyAVX512 emits packCopy12AVX512: packCopy on four rows at a time
// (copyRows4).
func packCopyAVX512(w int) {
	name := fmt.Sprintf("packCopy%dAVX512", w)
	packCopyText(name, w, "cols must be a multiple of 4")
	ks := copyRows4Masks(w)
	dst0, src := GP64(), GP64()
	Load(Param("dst").Base(), dst0)
	Load(Param("src").Base(), src)
	ld := Load(Param("ld"), GP64())
	SHLQ(U8(2), ld)
	n := Load(Param("cols"), GP64())
	copyRows4(name, w, ks, dst0, n, func(s [4]reg.GPVirtual) {
		MOVQ(src, s[0])
		for j := 1; j < 4; j++ {
			LEAQ(memIndex(s[j-1], ld, 1), s[j])
		}
	}, func() { LEAQ(memIndex(src, ld, 4), src) })
}

// copyRows4Masks loads the K masks of copyRows4 for w = 12: ZMM v of the
// three takes its lanes [0, 16) from the 48 floats of four rows, lanes
// below 12 − 16v mod 12 from one row (zeroing load) and the rest from the
// next (merging load).
func copyRows4Masks(w int) []reg.OpmaskPhysical {
	if w != 12 {
		panic("copyRows4: only 12-wide panels")
	}
	masks := []uint16{0x0FFF, 0xF000, 0x00FF, 0xFF00, 0x000F, 0xFFF0}
	ks := []reg.OpmaskPhysical{reg.K1, reg.K2, reg.K3, reg.K4, reg.K5, reg.K6}
	bits := GP32()
	for i, m := range masks {
		MOVL(U32(uint32(m)), bits)
		KMOVW(bits, ks[i])
	}
	return ks
}

// copyRows4 emits the loop of packCopyGatherAVX512 and packCopyAVX512,
// which differ only in where a row starts: n/4 steps of four rows (rows
// sets s to the four rows' addresses, next moves on to the next four),
// their w-float pieces of each of the panels panels adjacent in the panel:
// the 4w = 48 floats are gathered into three ZMMs by masked loads
// (zeroing, then merging the next row's head; masked-out lanes are not
// read, so a row's neighbours need not exist) and stored whole, dst0
// advancing by the four rows.
func copyRows4(name string, w int, ks []reg.OpmaskPhysical, dst0, n reg.Register, rows func(s [4]reg.GPVirtual), next func()) {
	copyRows4Of(name, w, ks, nil, dst0, n, rows, next)
}

// copyRows4Of is copyRows4 on stored floats (div nil) or, with div (ZMMs),
// on stored bytes: each byte widened to a 32-bit lane by the same masked
// loads, converted and divided (byteDivisor: exact) before the store.
func copyRows4Of(name string, w int, ks []reg.OpmaskPhysical, div *byteDivisor, dst0, n reg.Register, rows func(s [4]reg.GPVirtual), next func()) {
	SHRQ(U8(2), n)
	JZ(LabelRef(name + "_done"))
	cols := Load(Param("cols"), GP64())
	panelBytes := GP64()
	IMUL3Q(U32(4*w), cols, panelBytes)
	elem := 4
	if div != nil {
		elem = 1
	}
	rows4Loop(name, w, elem, dst0, n, panelBytes, rows, next, func(v int, s [4]reg.GPVirtual, dst reg.Register) {
		z := ZMM()
		row, at := 16*v/w, 16*v%w
		if div == nil {
			VMOVUPS_Z(mem(s[row], 4*at), ks[2*v], z)
			VMOVUPS(mem(s[row+1], 4*(at-w)), ks[2*v+1], z)
		} else {
			VPMOVZXBD_Z(mem(s[row], at), ks[2*v], z)
			VPMOVZXBD(mem(s[row+1], at-w), ks[2*v+1], z)
			VCVTDQ2PS(z, z)
			div.divide(z, ZMM())
		}
		VMOVUPS(z, mem(dst, 64*v))
	})
	Label(name + "_done")
	VZEROUPPER()
	RET()
}

// rows4Loop emits the loop of the four-row copying packers (copyRows4,
// packCopyGather6): n4 ≥ 1 steps of four rows (rows sets s to the four
// rows' addresses, next moves on to the next four), each storing the 4w
// floats the four rows give every panel (adjacent in the panel) as three
// vectors, vector v at dst by vector(v, s, dst); dst0 advances by the four
// rows. Labels start with prefix.
func rows4Loop(prefix string, w, elem int, dst0, n4, panelBytes reg.Register, rows func(s [4]reg.GPVirtual), next func(), vector func(v int, s [4]reg.GPVirtual, dst reg.Register)) {
	rows4LoopN(prefix, w, elem, 3, dst0, n4, panelBytes, rows, next, vector)
}

// rows4LoopN is rows4Loop with nvec calls of vector per panel (v = 0 …
// nvec−1) on rows of elem-byte values.
func rows4LoopN(prefix string, w, elem, nvec int, dst0, n4, panelBytes reg.Register, rows func(s [4]reg.GPVirtual), next func(), vector func(v int, s [4]reg.GPVirtual, dst reg.Register)) {
	Label(prefix + "_rows")
	var s [4]reg.GPVirtual
	for j := range s {
		s[j] = GP64()
	}
	rows(s)
	dst, q := GP64(), GP64()
	MOVQ(dst0, dst)
	Load(Param("panels"), q)
	Label(prefix + "_panel")
	for v := 0; v < nvec; v++ {
		vector(v, s, dst)
	}
	for j := range s {
		ADDQ(U32(elem*w), s[j])
	}
	ADDQ(panelBytes, dst)
	DECQ(q)
	JNZ(LabelRef(prefix + "_panel"))
	next()
	ADDQ(U32(4*4*w), dst0)
	DECQ(n4)
	JNZ(LabelRef(prefix + "_rows"))
}
