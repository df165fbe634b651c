package main

import (
	"fmt"
	"math"

	. "github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/gotypes"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// simd is one instruction-set path: its vector width and the few operations
// (tail masks, compares, blends, horizontal reductions) whose encodings
// differ between AVX2 and AVX-512. Everything else is the same avo call
// on YMM or ZMM registers.
type simd struct {
	name  string // suffix of the generated function names
	width int    // float32 lanes per vector
}

var (
	avx2   = &simd{name: "AVX2", width: 8}
	avx512 = &simd{name: "AVX512", width: 16}
)

func (s *simd) wide() bool { return s.width == 16 }

// vec allocates a virtual vector register of the path's width.
func (s *simd) vec() reg.VecVirtual {
	if s.wide() {
		return ZMM()
	}
	return YMM()
}

// labels are numbered per function.
var labelCount int

func label(what string) string {
	labelCount++
	return fmt.Sprintf("%s%d", what, labelCount)
}

// splats holds the 64-byte constant vectors already declared.
var splats = map[string]Mem{}

// splat is a read-only vector with every float32 lane holding bits; 64 bytes,
// so AVX2 code reads its first half.
func splat(name string, bits uint32) Mem {
	if m, ok := splats[name]; ok {
		return m
	}
	m := GLOBL(name, RODATA|NOPTR)
	for i := 0; i < 16; i++ {
		DATA(4*i, U32(bits))
	}
	splats[name] = m
	return m
}

// constant is splat for a float32 value.
func constant(name string, v float32) Mem { return splat(name, math.Float32bits(v)) }

// load copies a vector from memory (or a register) into a new register.
func (s *simd) load(src Op) reg.VecVirtual {
	v := s.vec()
	VMOVUPS(src, v)
	return v
}

// zero returns a new register of zeros.
func (s *simd) zero() reg.VecVirtual {
	v := s.vec()
	VXORPS(v, v, v)
	return v
}

// broadcast loads the float32 argument name into every lane.
func (s *simd) broadcast(name string) reg.VecVirtual {
	v := s.vec()
	VBROADCASTSS(address(Param(name)), v)
	return v
}

// returnFloat stores lane 0 of x as the float32 result name. Scalar moves
// are VEX-encoded: a legacy SSE instruction while the upper halves of the
// vector registers are dirty costs a state transition (bench/NOTES.md).
func returnFloat(x reg.VecVirtual, name string) {
	VMOVSS(x.AsX(), address(Return(name)))
}

// address is the frame slot of an argument or result.
func address(c gotypes.Component) Mem {
	b, err := c.Resolve()
	if err != nil {
		panic(err)
	}
	return b.Addr
}

// Comparison predicates (ordered compares are false on NaN, ≠ is true).
const (
	cmpEQ  = 0x00 // EQ_OQ
	cmpLT  = 0x11 // LT_OQ
	cmpNEQ = 0x04 // NEQ_UQ
	cmpGT  = 0x1e // GT_OQ
)

// cmp returns the lane mask a pred b: an opmask register on AVX-512, a
// vector of all-ones/all-zeros lanes on AVX2.
func (s *simd) cmp(pred uint64, a reg.VecVirtual, b Op) reg.Register {
	var m reg.Register
	if s.wide() {
		m = K()
	} else {
		m = YMM()
	}
	VCMPPS(Imm(pred), b, a, m)
	return m
}

// blend returns m ? ifTrue : ifFalse lane by lane.
func (s *simd) blend(m reg.Register, ifTrue, ifFalse reg.VecVirtual) reg.VecVirtual {
	d := s.vec()
	if s.wide() {
		VBLENDMPS(ifTrue, ifFalse, m, d)
	} else {
		VBLENDVPS(m, ifTrue, ifFalse, d)
	}
	return d
}

// keep returns x where m is set and 0 elsewhere.
func (s *simd) keep(m reg.Register, x reg.VecVirtual) reg.VecVirtual {
	d := s.vec()
	if s.wide() {
		VMOVAPS_Z(x, m, d)
	} else {
		VANDPS(x, m, d)
	}
	return d
}

// and intersects two masks into a.
func (s *simd) and(a, b reg.Register) {
	if s.wide() {
		KANDW(b, a, a)
	} else {
		VANDPS(b, a, a)
	}
}

// bits moves a mask into the low bits of a general register (lane i → bit i).
func (s *simd) bits(m reg.Register) reg.GPVirtual {
	r := GP32()
	if s.wide() {
		KMOVW(m, r)
	} else {
		VMOVMSKPS(m, r)
	}
	return r
}

// tailMask returns the mask of the first rem lanes (0 < rem < width).
func (s *simd) tailMask(rem reg.GPVirtual) reg.Register {
	if s.wide() {
		ones := GP32()
		MOVL(U32(0xffff), ones)
		BZHIL(rem.As32(), ones, ones)
		k := K()
		KMOVW(ones, k)
		return k
	}
	// Eight all-ones lanes followed by eight zero lanes: reading 8 lanes
	// from lane 8−rem gives rem ones.
	p, neg := GP64(), GP64()
	LEAQ(tailLanes().Offset(32), p)
	MOVQ(rem, neg)
	NEGQ(neg)
	m := YMM()
	VMOVDQU(Mem{Base: p, Index: neg, Scale: 4}, m)
	return m
}

var tailLanesMem *Mem

func tailLanes() Mem {
	if tailLanesMem == nil {
		m := GLOBL("tailLanes", RODATA|NOPTR)
		for i := 0; i < 16; i++ {
			v := uint32(0)
			if i < 8 {
				v = 0xffffffff
			}
			DATA(4*i, U32(v))
		}
		tailLanesMem = &m
	}
	return *tailLanesMem
}

// hsum adds the lanes of v; the result is lane 0 of the returned register.
func (s *simd) hsum(v reg.VecVirtual) reg.VecVirtual {
	return s.horizontal(v, func(b, a, d Op) { VADDPS(b, a, d) }, func(b, a, d Op) { VADDSS(b, a, d) })
}

// hmax is hsum with max.
func (s *simd) hmax(v reg.VecVirtual) reg.VecVirtual {
	return s.horizontal(v, func(b, a, d Op) { VMAXPS(b, a, d) }, func(b, a, d Op) { VMAXSS(b, a, d) })
}

func (s *simd) horizontal(v reg.VecVirtual, packed, scalar func(b, a, d Op)) reg.VecVirtual {
	y := v
	if s.wide() {
		y = YMM()
		VEXTRACTF64X4(Imm(1), v, y)
		packed(y, v.AsY(), y)
	}
	x := XMM()
	if s.wide() {
		VEXTRACTF32X4(Imm(1), y, x)
	} else {
		VEXTRACTF128(Imm(1), y, x)
	}
	packed(x, y.AsX(), x)
	t := XMM()
	VMOVHLPS(x, x, t)
	packed(t, x, x)
	VMOVSHDUP(x, t)
	scalar(t, x, x)
	return x
}

// block is a run of consecutive vectors starting at element index; on the
// tail it is one vector whose lanes beyond the slice end are masked off, so
// no load or store touches memory past the end.
type block struct {
	s       *simd
	index   reg.GPVirtual // element index of the first lane
	vectors int
	tail    reg.Register  // lane mask on the tail block, nil on full blocks
	rem     reg.GPVirtual // lanes in the tail block
}

func (b block) mem(p reg.Register, k int) Mem {
	return Mem{Base: p, Index: b.index, Scale: 4, Disp: 4 * k * b.s.width}
}

// load reads vector k of the block from the slice at p; masked-off lanes
// read as 0.
func (b block) load(p reg.Register, k int) reg.VecVirtual {
	v := b.s.vec()
	switch {
	case b.tail == nil:
		VMOVUPS(b.mem(p, k), v)
	case b.s.wide():
		VMOVUPS_Z(b.mem(p, k), b.tail, v)
	default:
		VMASKMOVPS(b.mem(p, k), b.tail, v)
	}
	return v
}

// loadOr is load with masked-off lanes set to the lanes of fill.
func (b block) loadOr(p reg.Register, k int, fill Mem) reg.VecVirtual {
	switch {
	case b.tail == nil:
		return b.load(p, k)
	case b.s.wide():
		v := b.s.load(fill)
		VMOVUPS(b.mem(p, k), b.tail, v)
		return v
	default:
		return b.s.blend(b.tail, b.load(p, k), b.s.load(fill))
	}
}

// store writes v as vector k of the block to the slice at p.
func (b block) store(v reg.VecVirtual, p reg.Register, k int) {
	switch {
	case b.tail == nil:
		VMOVUPS(v, b.mem(p, k))
	case b.s.wide():
		VMOVUPS(v, b.tail, b.mem(p, k))
	default:
		storeFirstLanes(v, b.mem(p, k), b.rem)
	}
}

// storeFirstLanes stores lanes [0, rem) of the YMM register v (rem < 8) as
// 4, 2 and 1 lanes, leaving v intact: VMASKMOVPS stores are microcoded on
// AMD cores and cost ~25 cycles, several times this sequence.
func storeFirstLanes(v reg.VecVirtual, m Mem, rem reg.GPVirtual) {
	p := GP64()
	LEAQ(m, p)
	x := XMM()
	VMOVAPS(v.AsX(), x)
	skip4, skip2, skip1 := label("skip4_"), label("skip2_"), label("skip1_")
	TESTQ(U32(4), rem)
	JZ(LabelRef(skip4))
	VMOVUPS(x, Mem{Base: p})
	VEXTRACTF128(U8(1), v, x)
	ADDQ(U8(16), p)
	Label(skip4)
	TESTQ(U32(2), rem)
	JZ(LabelRef(skip2))
	VMOVLPS(x, Mem{Base: p})
	VMOVHLPS(x, x, x)
	ADDQ(U8(8), p)
	Label(skip2)
	TESTQ(U32(1), rem)
	JZ(LabelRef(skip1))
	VMOVSS(x, Mem{Base: p})
	Label(skip1)
}

// live returns v with masked-off lanes zeroed (v itself on full blocks),
// for sums whose masked-off lanes would not be 0.
func (b block) live(v reg.VecVirtual) reg.VecVirtual {
	if b.tail == nil {
		return v
	}
	return b.s.keep(b.tail, v)
}

// forEachBlock emits a loop over n elements: body runs on blocks of widest
// vectors while they fit, then on single vectors, then once on the masked
// tail when n is not a multiple of the width.
func (s *simd) forEachBlock(n reg.GPVirtual, widest int, body func(b block)) {
	i := GP64()
	XORQ(i, i)
	widths := []int{widest}
	if widest > 1 {
		widths = append(widths, 1)
	}
	for _, w := range widths {
		step := w * s.width
		last := GP64() // the last index a full block can start at
		MOVQ(n, last)
		SUBQ(U32(step), last)
		loop, next := label("loop"), label("next")
		Label(loop)
		CMPQ(i, last)
		JG(LabelRef(next))
		body(block{s: s, index: i, vectors: w})
		ADDQ(U32(step), i)
		JMP(LabelRef(loop))
		Label(next)
	}
	done := label("done")
	rem := GP64()
	MOVQ(n, rem)
	SUBQ(i, rem)
	JZ(LabelRef(done))
	body(block{s: s, index: i, vectors: 1, tail: s.tailMask(rem), rem: rem})
	Label(done)
}

// each runs f on every vector of the block.
func (b block) each(f func(k int)) {
	for k := 0; k < b.vectors; k++ {
		f(k)
	}
}

// overColumns walks a rows×n row-major matrix at base by blocks of columns:
// head(b) once per block, row(b, p) for every row with p at the row's start,
// then foot(b). It is the loop of the bias kernels, which vectorize along a
// row and loop over rows inside, so the bias block stays in registers.
func (s *simd) overColumns(base, n, rows reg.GPVirtual, widest int, head func(b block), row func(b block, p reg.GPVirtual), foot func(b block)) {
	stride := GP64()
	MOVQ(n, stride)
	SHLQ(U8(2), stride)
	s.forEachBlock(n, widest, func(b block) {
		head(b)
		p, r := GP64(), GP64()
		MOVQ(base, p)
		MOVQ(rows, r)
		done, loop := label("rowsdone"), label("rows")
		TESTQ(r, r)
		JZ(LabelRef(done))
		Label(loop)
		row(b, p)
		ADDQ(stride, p)
		DECQ(r)
		JNZ(LabelRef(loop))
		Label(done)
		foot(b)
	})
}
