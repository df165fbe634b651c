package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// packWidths are the panel widths packed in asm: the NR of the AVX2 and
// AVX-512 micro-kernels. The packers use AVX2 only, so both paths share them.
var packWidths = []int{16, 32}

// packCopy emits packCopy<w>AVX2: a full w-wide panel from a source whose
// panel rows are contiguous (B not transposed).
func packCopy(w int) {
	name := fmt.Sprintf("packCopy%dAVX2", w)
	TEXT(name, NOSPLIT, "func(panel, src []float32, ld, cols int)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s copies cols rows of %d floats, ld apart in src, into panel:", name, w),
		"",
		fmt.Sprintf("\tfor p < cols { copy(panel[p·%d:p·%d+%d], src[p·ld:]) }", w, w, w))
	dst, src := GP64(), GP64()
	Load(Param("panel").Base(), dst)
	Load(Param("src").Base(), src)
	ld := Load(Param("ld"), GP64())
	SHLQ(U8(2), ld)
	n := Load(Param("cols"), GP64())
	TESTQ(n, n)
	JZ(LabelRef(name + "_done"))
	Label(name + "_loop")
	x := []reg.VecVirtual{YMM(), YMM(), YMM(), YMM()}[:w/8]
	for v, y := range x {
		VMOVUPS(mem(src, 32*v), y)
	}
	for v, y := range x {
		VMOVUPS(y, mem(dst, 32*v))
	}
	ADDQ(ld, src)
	ADDQ(U32(4*w), dst)
	DECQ(n)
	JNZ(LabelRef(name + "_loop"))
	Label(name + "_done")
	VZEROUPPER()
	RET()
}

// packTranspose emits packTranspose<w>AVX2: a full w-wide panel from w
// contiguous rows (B transposed), by 8×8 in-register transposes.
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
	n := Load(Param("cols"), GP64())
	SHRQ(U8(3), n)
	JZ(LabelRef(name + "_done"))
	Label(name + "_loop")
	Comment("Eight columns of the panel: w/8 blocks of 8 rows × 8 columns.")
	for j0 := 0; j0 < w; j0 += 8 {
		b, b4 := GP64(), GP64()
		MOVQ(src, b)
		if j0 > 0 {
			for i := 0; i < j0/8; i++ { // b = src + j0·ld
				LEAQ(Mem{Base: b, Index: ld, Scale: 8}, b)
			}
		}
		LEAQ(Mem{Base: b, Index: ld, Scale: 4}, b4)
		var r [8]reg.VecVirtual
		for i := range r {
			r[i] = YMM()
			base := b
			if i >= 4 {
				base = b4
			}
			switch i % 4 {
			case 0:
				VMOVUPS(Mem{Base: base}, r[i])
			case 3:
				VMOVUPS(Mem{Base: base, Index: ld3, Scale: 1}, r[i])
			default:
				VMOVUPS(Mem{Base: base, Index: ld, Scale: uint8(i % 4)}, r[i])
			}
		}
		out := transpose8x8(r)
		for p, y := range out {
			VMOVUPS(y, mem(dst, 4*(p*w+j0)))
		}
	}
	ADDQ(U32(32), src)
	ADDQ(U32(4*8*w), dst)
	DECQ(n)
	JNZ(LabelRef(name + "_loop"))
	Label(name + "_done")
	VZEROUPPER()
	RET()
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
