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

// packCopyGather emits packCopyGather<w>AVX2: packCopy whose source rows
// are named by offsets instead of being ld apart, for op(A) = Xᵀ with X's
// rows picked by index (the weight gradient xᵀ·dz of a shuffled batch).
func packCopyGather(w int) {
	name := fmt.Sprintf("packCopyGather%dAVX2", w)
	TEXT(name, NOSPLIT, "func(dst, src []float32, offs []int, cols, panels int)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s copies panels full panels of %d floats × len(offs) rows, the", name, w),
		"row p at src[offs[p]:], into panels of cols rows in dst (panels ≥ 1):",
		"",
		fmt.Sprintf("	for p < len(offs) { for q < panels { copy(dst[(q·cols+p)·%d:][:%d], src[offs[p]+q·%d:]) } }", w, w, w))
	dst0, base, offp := GP64(), GP64(), GP64()
	Load(Param("dst").Base(), dst0)
	Load(Param("src").Base(), base)
	Load(Param("offs").Base(), offp)
	n := Load(Param("offs").Len(), GP64())
	cols := Load(Param("cols"), GP64())
	panelBytes := GP64()
	IMUL3Q(U32(4*w), cols, panelBytes)
	TESTQ(n, n)
	JZ(LabelRef(name + "_done"))
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
	DECQ(n)
	JNZ(LabelRef(name + "_row"))
	Label(name + "_done")
	VZEROUPPER()
	RET()
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
	TEXT(name, NOSPLIT, "func(panel, src []float32, offs []int, cols int)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s transposes the %d rows src[offs[j]:] (len(offs) ≥ %d) of cols", name, w, w),
		"floats into panel; cols must be a multiple of 8:",
		"",
		fmt.Sprintf("\tfor p < cols { for j < %d { panel[p·%d+j] = src[offs[j]+p] } }", w, w))
	dst, src, offp := GP64(), GP64(), GP64()
	Load(Param("panel").Base(), dst)
	Load(Param("src").Base(), src)
	Load(Param("offs").Base(), offp)
	transposeRows(name, w, dst, src, func(int) {}, func(j0, i int, r reg.VecVirtual) {
		off := GP64()
		MOVQ(Mem{Base: offp, Disp: 8 * (j0 + i)}, off)
		VMOVUPS(memIndex(src, off, 4), r)
	})
}
