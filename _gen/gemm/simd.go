package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// simd describes one vector ISA: its registers and how it masks lanes.
type simd struct {
	name  string // ISA name in function names: AVX2, AVX512
	lanes int    // float32 lanes per vector
	regs  []reg.VecPhysical
	// evex: AVX-512 masks lanes with K registers (loads and stores of the
	// masked-out lanes do not fault); AVX2 uses VMASKMOVPS with a lane mask
	// vector from laneMaskTable.
	evex bool
}

var (
	avx2 = simd{name: "AVX2", lanes: 8, regs: []reg.VecPhysical{
		reg.Y0, reg.Y1, reg.Y2, reg.Y3, reg.Y4, reg.Y5, reg.Y6, reg.Y7,
		reg.Y8, reg.Y9, reg.Y10, reg.Y11, reg.Y12, reg.Y13, reg.Y14, reg.Y15}}
	avx512 = simd{name: "AVX512", lanes: 16, evex: true, regs: []reg.VecPhysical{
		reg.Z0, reg.Z1, reg.Z2, reg.Z3, reg.Z4, reg.Z5, reg.Z6, reg.Z7,
		reg.Z8, reg.Z9, reg.Z10, reg.Z11, reg.Z12, reg.Z13, reg.Z14, reg.Z15,
		reg.Z16, reg.Z17, reg.Z18, reg.Z19, reg.Z20, reg.Z21, reg.Z22, reg.Z23,
		reg.Z24, reg.Z25, reg.Z26, reg.Z27, reg.Z28, reg.Z29, reg.Z30, reg.Z31}}
	simds = []simd{avx2, avx512}
)

// bytes is the width of one vector in bytes.
func (s simd) bytes() int { return 4 * s.lanes }

// zero clears v.
func (s simd) zero(v reg.VecPhysical) { VXORPS(v, v, v) }

// mem is base + disp.
func mem(base reg.Register, disp int) Mem { return Mem{Base: base, Disp: disp} }

// memIndex is base + index·scale.
func memIndex(base, index reg.Register, scale uint8) Mem {
	return Mem{Base: base, Index: index, Scale: scale}
}

// loopEnd closes the outer loop of a generated function and the function:
// n counts down, the loop restarts at name+loop until it reaches zero, then
// name+"_done" (where an empty loop jumps) clears the upper vector halves
// and returns.
func loopEnd(name, loop string, n reg.Register) {
	DECQ(n)
	JNZ(LabelRef(name + loop))
	Label(name + "_done")
	VZEROUPPER()
	RET()
}

// paramAddr is the frame address of a scalar argument.
func paramAddr(name string) Mem {
	b, err := Param(name).Resolve()
	if err != nil {
		panic(err)
	}
	return b.Addr
}

// strideBytes loads the integer argument name, a stride in floats, and
// turns it into bytes.
func strideBytes(name string) reg.GPVirtual {
	r := Load(Param(name), GP64())
	SHLQ(U8(2), r)
	return r.(reg.GPVirtual)
}
