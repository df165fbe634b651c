package kernels

import (
	"fmt"
	"time"
)

// peakLoop is one ISA's FMA peak loop: run(n) does n iterations of flops
// floating-point operations each (see peakAVX2).
type peakLoop struct {
	run   func(n int)
	flops int
}

// peakChunk is the iteration count of one timed run of a peak loop:
// about 0.1 ms, long against the clock's resolution, short enough that
// some runs fall between preemptions on a shared machine.
const peakChunk = 1 << 14

// PeakGFLOPS measures the fp32 FMA throughput of one core on isa's vectors
// (independent accumulators, no memory traffic): the ceiling of a GEMM on
// that path. It repeats runs of the peak loop for about d and returns the
// fastest, so load from other processes lowers it less than it would an
// average. It fails for Generic (no vector loop: the portable kernel has no
// hardware ceiling of its own) and for a path this CPU or build cannot run.
func PeakGFLOPS(isa ISA, d time.Duration) (float64, error) {
	if isa > DetectedISA() {
		return 0, fmt.Errorf("kernels: no %v peak: this CPU or build supports at most %v", isa, DetectedISA())
	}
	if int(isa) >= len(peakLoops) || peakLoops[isa].run == nil {
		return 0, fmt.Errorf("kernels: no FMA peak loop for %v", isa)
	}
	loop := peakLoops[isa]
	best := time.Duration(1<<63 - 1)
	for start := time.Now(); time.Since(start) < d || best == 1<<63-1; {
		t0 := time.Now()
		loop.run(peakChunk)
		best = min(best, time.Since(t0))
	}
	return float64(peakChunk) * float64(loop.flops) / best.Seconds() / 1e9, nil
}
