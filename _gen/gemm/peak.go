package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
)

// peakAccumulators is the number of independent FMA chains of the peak
// loop: enough to cover FMA latency (4 cycles) on two pipes, with margin.
const peakAccumulators = 12

// peak emits peak<ISA>(n), n iterations of peakAccumulators independent
// vector FMAs: the machine's FMA throughput, with no memory traffic.
func peak(s simd) {
	name := "peak" + s.name
	TEXT(name, NOSPLIT, "func(n int)")
	Doc(fmt.Sprintf("%s runs n iterations of %d independent %d-lane FMAs,", name, peakAccumulators, s.lanes),
		fmt.Sprintf("%d flops each:", 2*peakAccumulators*s.lanes),
		"",
		"\tfor ; n > 0; n-- { for i := range acc { acc[i] += x·y } }")
	n := Load(Param("n"), GP64())
	x, y := s.regs[14], s.regs[15]
	for i := 0; i < peakAccumulators; i++ {
		s.zero(s.regs[i])
	}
	s.zero(x)
	s.zero(y)
	TESTQ(n, n)
	JZ(LabelRef(name + "_done"))
	Label(name + "_loop")
	for i := 0; i < peakAccumulators; i++ {
		VFMADD231PS(x, y, s.regs[i])
	}
	loopEnd(name, "_loop", n)
}
