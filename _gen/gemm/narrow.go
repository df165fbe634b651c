package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// narrowRows is the height of a narrow tile: two ZMM along the rows of C.
const narrowRows = 32

// narrowMaxN is the widest narrow kernel: 2n accumulators and the two
// vectors of A's column fit the 32 ZMM registers up to n = 15; 14 leaves
// two for the store.
const narrowMaxN = 14

// narrowName names the narrow kernel of n columns.
func narrowName(n int) string { return fmt.Sprintf("gemm32x%dNarrowAVX512", n) }

const narrowSignature = "func(k int, alpha float32, a []float32, csA, psA int, b []float32, csB int, beta float32, c []float32, ldc, m int, tile *[512]float32)"

// narrowTranspose4 writes columns g…g+3 of half h of the tile (rows
// 16h…16h+15, in the accumulators acc(j, h)) into the row-major tile
// buffer at t, 16 floats a row: a 4×4 transpose in each 128-bit lane
// (unpack into the four spare registers, then a shuffle per row), each
// lane's row stored as four floats. Columns past n repeat the last one
// (never stored to C). Column g's accumulator is clobbered.
func narrowTranspose4(t reg.Register, h, g, n int, acc func(j, h int) reg.VecPhysical, spare []reg.VecPhysical) {
	col := func(j int) reg.VecPhysical { return acc(min(j, n-1), h) }
	c0, c1, c2, c3 := col(g), col(g+1), col(g+2), col(g+3)
	t0, t1, t2, t3 := spare[0], spare[1], spare[2], spare[3]
	VUNPCKLPS(c1, c0, t0) // lane l: rows 4l, 4l+1 of columns g, g+1
	VUNPCKHPS(c1, c0, t1) // rows 4l+2, 4l+3
	VUNPCKLPS(c3, c2, t2)
	VUNPCKHPS(c3, c2, t3)
	out := c0
	for q, r := range []struct {
		lo, hi reg.VecPhysical
		imm    uint8
	}{{t0, t2, 0x44}, {t0, t2, 0xee}, {t1, t3, 0x44}, {t1, t3, 0xee}} {
		VSHUFPS(U8(r.imm), r.hi, r.lo, out) // lane l: row 4l+q, columns g…g+3
		for l := 0; l < 4; l++ {
			at := mem(t, 4*((16*h+4*l+q)*16+g))
			if l == 0 {
				VMOVUPS(out.AsX(), at)
			} else {
				VEXTRACTF32X4(U8(l), out, at)
			}
		}
	}
}

// narrowKernel emits the micro-kernel for products with n ≤ narrowMaxN
// columns vectorized along the rows of C: a 32×n tile in 2n accumulators,
// accumulator (j, h) holding rows 16h…16h+15 of column j. Per k step it
// loads the 32 values of op(A)'s column (two ZMM, masked to the rows left)
// and does 2n FMAs with B[p][j] broadcast from memory, so every lane works
// whatever n. Each element gets the operations of the other kernels in the
// same order (0, then fma over p, then alpha·ab, then fma with beta·C): the
// same bits. The tile leaves through the buffer tile, transposed in
// registers into rows, and each row of C is then one masked vector.
func narrowKernel(n int) {
	s, name := avx512, narrowName(n)
	TEXT(name, NOSPLIT, narrowSignature)
	Pragma("noescape")
	Doc(fmt.Sprintf("%s is the AVX512 micro-kernel for products with %d columns, in", name, n),
		"tiles of 32 rows vectorized along m. It updates the m×n block of C below c:",
		"",
		"\tfor i < m, j < n: with t, r = i / 32, i % 32:",
		"\t\tab := Σ_{p<k} a[t·psA + p·csA + r] · b[p·csB + j]",
		"\t\tc[i·ldc + j] = alpha·ab + beta·c[i·ldc + j]   (beta = 0: c is not read)",
		"",
		"It reads only rows r < m − 32t of each A tile, so op(A) may be read in place",
		"(csA = lda, psA = 32, A stored k×m) or packed in 32-row panels (csA = 32,",
		"psA = 32·k); tile is scratch (32 rows × 16 columns, row-major).")
	acc := func(j, h int) reg.VecPhysical { return s.regs[2*j+h] }
	av := []reg.VecPhysical{s.regs[2*n], s.regs[2*n+1]}

	aTile := Load(Param("a").Base(), GP64())
	cTile := Load(Param("c").Base(), GP64())
	left := Load(Param("m"), GP64())
	Label(name + "_tile")
	Comment("K1, K2: the rows of this tile in each half, min(left, 32).")
	rows := GP64()
	MOVQ(left, rows)
	CMPQ(rows, U32(narrowRows))
	JLE(LabelRef(name + "_rows"))
	MOVQ(U32(narrowRows), rows)
	Label(name + "_rows")
	bits := GP32()
	MOVL(U32(0xffffffff), bits)
	BZHIL(rows.As32(), bits, bits)
	KMOVW(bits, reg.K1)
	SHRL(U8(16), bits)
	KMOVW(bits, reg.K2)
	for j := 0; j < n; j++ {
		for h := 0; h < 2; h++ {
			s.zero(acc(j, h))
		}
	}
	k := Load(Param("k"), GP64())
	csA, csB := strideBytes("csA"), strideBytes("csB")
	bp := Load(Param("b").Base(), GP64())
	ap := GP64()
	MOVQ(aTile, ap)
	TESTQ(k, k)
	JZ(LabelRef(name + "_store"))
	Label(name + "_loop")
	Comment("One k step: op(A)'s column (32 rows), a row of B broadcast, 2n FMAs.")
	VMOVUPS_Z(mem(ap, 0), reg.K1, av[0])
	VMOVUPS_Z(mem(ap, s.bytes()), reg.K2, av[1])
	for j := 0; j < n; j++ {
		for h := 0; h < 2; h++ {
			VFMADD231PS_BCST(mem(bp, 4*j), av[h], acc(j, h))
		}
	}
	ADDQ(csA, ap)
	ADDQ(csB, bp)
	DECQ(k)
	JNZ(LabelRef(name + "_loop"))

	Label(name + "_store")
	Comment("alpha·ab, transposed into tile, row-major (row r at tile[16·r:]).")
	free := s.regs[2*n:]
	alphaIsOne(name + "_scaled")
	alpha := free[0]
	VBROADCASTSS(paramAddr("alpha"), alpha)
	for j := 0; j < n; j++ {
		for h := 0; h < 2; h++ {
			VMULPS(alpha, acc(j, h), acc(j, h))
		}
	}
	Label(name + "_scaled")
	t := Load(Param("tile"), GP64())
	for h := 0; h < 2; h++ {
		for g := 0; g < n; g += 4 {
			narrowTranspose4(t, h, g, n, acc, free[:4])
		}
	}
	Comment("Row by row (K3: the lanes below n): C = tile (beta = 0) or tile + beta·C.")
	x, y, beta := s.regs[0], s.regs[1], s.regs[2]
	nb := GP32()
	MOVL(U32(1<<n-1), nb)
	KMOVW(nb, reg.K3)
	c := GP64()
	MOVQ(cTile, c)
	ldc := strideBytes("ldc")
	betaIsZero(name + "_beta0")
	VBROADCASTSS(paramAddr("beta"), beta)
	for _, withBeta := range []bool{true, false} {
		loop := name + "_rowbeta"
		if !withBeta {
			Label(name + "_beta0")
			loop = name + "_row"
		}
		Label(loop)
		VMOVUPS(mem(t, 0), x)
		if withBeta {
			VMOVUPS_Z(mem(c, 0), reg.K3, y)
			VFMADD231PS(y, beta, x)
		}
		VMOVUPS(x, reg.K3, mem(c, 0))
		ADDQ(U32(4*16), t)
		ADDQ(ldc, c)
		DECQ(rows)
		JNZ(LabelRef(loop))
		JMP(LabelRef(name + "_next"))
	}

	Label(name + "_next")
	nextTile(name, aTile, cTile, left, narrowRows)
}

// packTranspose32AVX512 emits the packer of the narrow kernels' 32-row
// panels of a non-transposed A (and of the 12×32 kernel's transposed B):
// 16×16 blocks loaded as rows and transposed in registers (unpack, shuffle
// within 128-bit lanes, then two rounds of 128-bit lane shuffles), each
// column of a block stored as one ZMM; the last cols mod 16 columns with
// masked loads and only their columns stored. It replaces
// packTranspose32AVX2 on the AVX-512 path, whose YMMs run at half the
// rate on a full 512-bit datapath, and the Go loop that packed the columns
// past its multiple of 8 (k = 10: 2 of 10 columns).
func packTranspose32AVX512() {
	const w = narrowRows
	name := "packTranspose32AVX512"
	TEXT(name, NOSPLIT, "func(panel, src []float32, ld, cols int)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s transposes %d rows of cols floats, ld apart in src, into panel:", name, w),
		"",
		fmt.Sprintf("\tfor p < cols { for j < %d { panel[p·%d+j] = src[j·ld+p] } }", w, w))
	dst := Load(Param("panel").Base(), GP64())
	src := Load(Param("src").Base(), GP64())
	ld := strideBytes("ld")
	n := Load(Param("cols"), GP64())
	SHRQ(U8(4), n)
	JZ(LabelRef(name + "_tail"))
	Label(name + "_loop")
	Comment("Sixteen columns of the panel: two 16×16 blocks (rows 0…15, 16…31).")
	transpose32x16(name, dst, src, ld, nil)
	ADDQ(U32(4*16), src)
	ADDQ(U32(4*16*w), dst)
	DECQ(n)
	JNZ(LabelRef(name + "_loop"))
	Label(name + "_tail")
	Comment("The last cols mod 16 columns: loads masked by K1, columns past them not stored.")
	tail := GP64()
	Load(Param("cols"), tail)
	ANDQ(U32(15), tail)
	JZ(LabelRef(name + "_done"))
	bits := GP32()
	MOVL(U32(0xffff), bits)
	BZHIL(tail.As32(), bits, bits)
	KMOVW(bits, reg.K1)
	transpose32x16(name, dst, src, ld, tail)
	Label(name + "_done")
	VZEROUPPER()
	RET()
}

// transpose32x16 emits one step of packTranspose32AVX512: columns src…
// src+15 of the panel's 32 rows (ld bytes apart) into panel columns at
// dst. With tail set, only its first tail columns: the rows loaded with
// the mask K1, and column c stored only when c < tail.
func transpose32x16(name string, dst, src, ld, tail reg.Register) {
	const w = narrowRows
	s := avx512
	r, t := s.regs[:16], s.regs[16:]
	row := GP64()
	MOVQ(src, row)
	for h := 0; h < 2; h++ {
		for i := 0; i < 16; i++ {
			if tail != nil {
				VMOVUPS_Z(mem(row, 0), reg.K1, r[i])
			} else {
				VMOVUPS(mem(row, 0), r[i])
			}
			ADDQ(ld, row)
		}
		for i := 0; i < 8; i++ { // t[2i], t[2i+1]: rows 2i, 2i+1 interleaved
			VUNPCKLPS(r[2*i+1], r[2*i], t[2*i])
			VUNPCKHPS(r[2*i+1], r[2*i], t[2*i+1])
		}
		for i := 0; i < 4; i++ { // r[4i+q], lane l: rows 4i…4i+3 of column 4l+q
			VSHUFPS(U8(0x44), t[4*i+2], t[4*i], r[4*i])
			VSHUFPS(U8(0xee), t[4*i+2], t[4*i], r[4*i+1])
			VSHUFPS(U8(0x44), t[4*i+3], t[4*i+1], r[4*i+2])
			VSHUFPS(U8(0xee), t[4*i+3], t[4*i+1], r[4*i+3])
		}
		for q := 0; q < 4; q++ { // column 4l+q: lane l of r[q], r[4+q], r[8+q], r[12+q]
			VSHUFF32X4(U8(0x88), r[4+q], r[q], t[4*q])   // lanes 0, 2 of r[q], r[4+q]
			VSHUFF32X4(U8(0xdd), r[4+q], r[q], t[4*q+1]) // lanes 1, 3
			VSHUFF32X4(U8(0x88), r[12+q], r[8+q], t[4*q+2])
			VSHUFF32X4(U8(0xdd), r[12+q], r[8+q], t[4*q+3])
			for l, x := range []struct {
				lo, hi reg.VecPhysical
				imm    uint8
			}{{t[4*q], t[4*q+2], 0x88}, {t[4*q+1], t[4*q+3], 0x88}, {t[4*q], t[4*q+2], 0xdd}, {t[4*q+1], t[4*q+3], 0xdd}} {
				col := 4*l + q
				VSHUFF32X4(U8(x.imm), x.hi, x.lo, r[col])
				if tail == nil {
					VMOVUPS(r[col], mem(dst, 4*(col*w+16*h)))
					continue
				}
				skip := fmt.Sprintf("%s_skip%d_%d", name, h, col)
				CMPQ(tail, U32(col))
				JLE(LabelRef(skip))
				VMOVUPS(r[col], mem(dst, 4*(col*w+16*h)))
				Label(skip)
			}
		}
	}
}
