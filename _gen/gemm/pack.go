package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// packWidths are the panel widths packed in asm: the MR and NR of the AVX2
// and AVX-512 micro-kernels. These packers use AVX2, so both paths share
// them; the AVX-512 path's 12-row A panels also have an AVX-512 copy
// (packCopyAVX512).
var packWidths = []int{6, 12, 16, 32}

// storeFloats writes the first n ≤ 8 floats of y to m: 8 as a YMM, then
// 4 as an XMM and 2 as a quadword.
func storeFloats(y reg.VecVirtual, n int, m Mem) {
	switch n {
	case 8:
		VMOVUPS(y, m)
	case 4:
		VMOVUPS(y.AsX(), m)
	case 6:
		VMOVUPS(y.AsX(), m)
		hi := XMM()
		VEXTRACTF128(U8(1), y, hi)
		VMOVQ(hi, m.Offset(16))
	case 2:
		VMOVQ(y.AsX(), m)
	default:
		panic(fmt.Sprintf("storeFloats: %d floats", n))
	}
}

// chunks splits a run of w floats into pieces of 8, then one of 4 or 6.
func chunks(w int) []int {
	var c []int
	for ; w >= 8; w -= 8 {
		c = append(c, 8)
	}
	if w > 0 {
		c = append(c, w)
	}
	return c
}

// packCopy emits packCopy<w>AVX2: full w-wide panels from a source whose
// panel rows are contiguous (B, or A transposed). It walks the source row by
// row across all panels, so the reads stream instead of striding by ld.
func packCopy(w int) {
	name := fmt.Sprintf("packCopy%dAVX2", w)
	packCopyText(name, w, "")
	dst0, src0 := GP64(), GP64()
	Load(Param("dst").Base(), dst0)
	Load(Param("src").Base(), src0)
	ld := Load(Param("ld"), GP64())
	SHLQ(U8(2), ld)
	cols := Load(Param("cols"), GP64())
	panelBytes := GP64()
	IMUL3Q(U32(4*w), cols, panelBytes)
	n := cols
	TESTQ(n, n)
	JZ(LabelRef(name + "_done"))
	Label(name + "_row")
	src, dst, q := GP64(), GP64(), GP64()
	MOVQ(src0, src)
	MOVQ(dst0, dst)
	Load(Param("panels"), q)
	Label(name + "_panel")
	copyPieces(src, dst, w)
	ADDQ(U32(4*w), src)
	ADDQ(panelBytes, dst)
	DECQ(q)
	JNZ(LabelRef(name + "_panel"))
	ADDQ(ld, src0)
	ADDQ(U32(4*w), dst0)
	loopEnd(name, "_row", n)
}

// packCopyText opens packCopy<w><ISA>: its signature and doc, with the
// reference loop; cond is a condition on the arguments ("" for none).
func packCopyText(name string, w int, cond string) {
	TEXT(name, NOSPLIT, "func(dst, src []float32, ld, cols, panels int)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s copies panels full panels of %d floats × cols rows, ld apart in", name, w),
		"src, into consecutive panels of dst"+docCond(cond),
		"",
		fmt.Sprintf("	for p < cols { for q < panels { copy(dst[(q·cols+p)·%d:][:%d], src[p·ld+q·%d:]) } }", w, w, w))
}

// docCond ends a doc line before a reference loop: ":", or "; cond:".
func docCond(cond string) string {
	if cond == "" {
		return ":"
	}
	return "; " + cond + ":"
}

// packCopyMasked emits packCopyMasked<w>AVX2: a partial panel, h < w
// columns wide, from a source whose panel rows are contiguous, zero-padded:
// masked loads read only the h valid floats of each row (and never fault
// past them) and return zeros in the other lanes.
func packCopyMasked(w int) {
	name := fmt.Sprintf("packCopyMasked%dAVX2", w)
	TEXT(name, NOSPLIT, "func(panel, src []float32, ld, cols, h int)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s copies cols rows of h < %d floats, ld apart in src, into", name, w),
		fmt.Sprintf("panel rows %d wide, zero-padded:", w),
		"",
		fmt.Sprintf("	for p < cols { copy(panel[p·%d:p·%d+h], src[p·ld:]); clear(panel[p·%d+h:p·%d+%d]) }", w, w, w, w, w))
	dst, src := GP64(), GP64()
	Load(Param("panel").Base(), dst)
	Load(Param("src").Base(), src)
	ld := Load(Param("ld"), GP64())
	SHLQ(U8(2), ld)
	h := Load(Param("h"), GP64())
	masks := make([]reg.Register, w/8)
	for v := range masks {
		masks[v] = YMM()
	}
	laneMasks(h, masks)
	n := Load(Param("cols"), GP64())
	TESTQ(n, n)
	JZ(LabelRef(name + "_done"))
	Label(name + "_loop")
	for v, m := range masks {
		y := YMM()
		VMASKMOVPS(mem(src, 32*v), m, y)
		VMOVUPS(y, mem(dst, 32*v))
	}
	ADDQ(ld, src)
	ADDQ(U32(4*w), dst)
	loopEnd(name, "_loop", n)
}

// packTranspose emits packTranspose<w>AVX2: a full w-wide panel from w
// contiguous rows (A, or B transposed), ld apart.
func packTranspose(w int) {
	name := fmt.Sprintf("packTranspose%dAVX2", w)
	TEXT(name, NOSPLIT, "func(panel, src []float32, ld, cols int)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s transposes %d rows of cols floats, ld apart in src, into panel;", name, w),
		"cols must be a multiple of 8:",
		"",
		fmt.Sprintf("\tfor p < cols { for j < %d { panel[p·%d+j] = src[j·ld+p] } }", w, w))
	dst, src := GP64(), GP64()
	Load(Param("panel").Base(), dst)
	Load(Param("src").Base(), src)
	ld := Load(Param("ld"), GP64())
	SHLQ(U8(2), ld)
	ld3 := GP64()
	LEAQ(Mem{Base: ld, Index: ld, Scale: 2}, ld3)
	// Row j0+i of a block: the block's base b = src + j0·ld, and b4 = b +
	// 4·ld for its rows 4…7, addressed with ld and ld3.
	var b, b4 reg.GPVirtual
	transposeRows(name, w, dst, src, false, func(j0 int) {
		b, b4 = GP64(), GP64()
		MOVQ(src, b)
		for i := 0; i < j0/8; i++ { // b = src + j0·ld
			LEAQ(Mem{Base: b, Index: ld, Scale: 8}, b)
		}
		LEAQ(Mem{Base: b, Index: ld, Scale: 4}, b4)
	}, func(j0, i int, r reg.Register) {
		base := b
		if i >= 4 {
			base = b4
		}
		switch i % 4 {
		case 0:
			VMOVUPS(Mem{Base: base}, r)
		case 3:
			VMOVUPS(memIndex(base, ld3, 1), r)
		default:
			VMOVUPS(memIndex(base, ld, uint8(i%4)), r)
		}
	})
}

// transposeRows emits the loop of packTranspose and packTransposeGather,
// which differ only in where a row starts: per 8 columns, blocks of up to
// 8 rows (missing rows zero, unused columns not stored) are loaded with
// load (row j0+i of the block starting at row j0, after block(j0) set up
// its addresses), transposed 8×8 in registers and stored, src advanced by
// 8 floats, until the multiple of 8 below cols is done; with tail4, a last
// step of 4 columns when cols mod 8 ≥ 4 (the rows loaded as XMMs).
//
// Six-row panels (w = 6) store each column of the block but the last as a
// whole YMM: its lanes 6 and 7 (rows 6 and 7, zero) land on the next
// column's first two floats, which the next store overwrites; the last
// column is stored exactly, so nothing past the block is written.
func transposeRows(name string, w int, dst, src reg.GPVirtual, tail4 bool, block func(j0 int), load func(j0, i int, r reg.Register)) {
	transposeRowsOf(name, w, 4, dst, src, tail4, block, load)
}

// transposeRowsOf is transposeRows on rows of elem-byte values (4: floats;
// 1: bytes, which load widens to floats): src advances by 8 values a step.
func transposeRowsOf(name string, w, elem int, dst, src reg.GPVirtual, tail4 bool, block func(j0 int), load func(j0, i int, r reg.Register)) {
	n := Load(Param("cols"), GP64())
	SHRQ(U8(3), n)
	after := name + "_done"
	if tail4 {
		after = name + "_tail"
	}
	JZ(LabelRef(after))
	Label(name + "_loop")
	Comment("Eight columns of the panel, by blocks of up to 8 rows.")
	transposeStep(w, 8, dst, block, load)
	ADDQ(U32(8*elem), src)
	ADDQ(U32(4*8*w), dst)
	DECQ(n)
	JNZ(LabelRef(name + "_loop"))
	if tail4 {
		Label(name + "_tail")
		cols := Load(Param("cols"), GP64())
		TESTQ(U32(4), cols)
		JZ(LabelRef(name + "_done"))
		Comment("Four more columns: the rows' next 4 floats, as XMMs (upper lanes zero).")
		transposeStep(w, 4, dst, block, load)
	}
	Label(name + "_done")
	VZEROUPPER()
	RET()
}

// transposeStep emits one step of transposeRows: cols (8 or 4) columns of
// the w rows, stored at dst.
func transposeStep(w, cols int, dst reg.GPVirtual, block func(j0 int), load func(j0, i int, r reg.Register)) {
	j0 := 0
	for _, h := range chunks(w) {
		block(j0)
		var r [8]reg.VecVirtual
		for i := range r {
			r[i] = YMM()
			switch {
			case i >= h:
				VXORPS(r[i], r[i], r[i])
			case cols == 4:
				load(j0, i, r[i].AsX())
			default:
				load(j0, i, r[i])
			}
		}
		out := transpose8x8(r)
		for p, y := range out[:cols] {
			at := mem(dst, 4*(p*w+j0))
			if w == 6 && p < cols-1 {
				VMOVUPS(y, at)
				continue
			}
			storeFloats(y, h, at)
		}
		j0 += h
	}
}

// transpose8x8 returns the columns of the 8×8 block whose rows are r.
func transpose8x8(r [8]reg.VecVirtual) [8]reg.VecVirtual {
	var t, s, out [8]reg.VecVirtual
	for i := 0; i < 8; i += 2 { // t[i] = r[i]0 r[i+1]0 r[i]1 r[i+1]1 | …4 …5
		t[i], t[i+1] = YMM(), YMM()
		VUNPCKLPS(r[i+1], r[i], t[i])
		VUNPCKHPS(r[i+1], r[i], t[i+1])
	}
	for i := 0; i < 8; i += 4 { // s[i+c] = column c (and c+4) of rows i…i+3
		for c, pair := range [][2]int{{0, 2}, {0, 2}, {1, 3}, {1, 3}} {
			imm := U8(0x44)
			if c%2 == 1 {
				imm = U8(0xEE)
			}
			s[i+c] = YMM()
			VSHUFPS(imm, t[i+pair[1]], t[i+pair[0]], s[i+c])
		}
	}
	for c := 0; c < 4; c++ { // join the 128-bit halves: rows 0…3 with rows 4…7
		out[c], out[c+4] = YMM(), YMM()
		VPERM2F128(U8(0x20), s[4+c], s[c], out[c])
		VPERM2F128(U8(0x31), s[4+c], s[c], out[c+4])
	}
	return out
}
