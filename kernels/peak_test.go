package kernels

import (
	"testing"
	"time"
)

// TestPeakGFLOPS checks the probe on every ISA: a plausible figure for the
// vector paths this CPU and build run, an error for Generic and the others.
func TestPeakGFLOPS(t *testing.T) {
	for isa := Generic; isa <= AVX512; isa++ {
		// 20 ms of 0.1 ms runs: some fall between preemptions however
		// loaded the machine (in 1 ms, one preempted run can be all).
		g, err := PeakGFLOPS(isa, 20*time.Millisecond)
		runs := isa != Generic && isa <= DetectedISA()
		switch {
		case runs && err != nil:
			t.Errorf("%v: %v", isa, err)
		case runs && !(g > 1 && g < 1e4): // GFLOP/s of one core
			t.Errorf("%v: %v GFLOP/s", isa, g)
		case !runs && err == nil:
			t.Errorf("%v: %v GFLOP/s, want an error", isa, g)
		}
	}
}

// BenchmarkPeak measures the FMA throughput of one core (PeakGFLOPS's
// loops), the ceiling to read BenchmarkSgemm's GFLOP/s against.
func BenchmarkPeak(b *testing.B) {
	for isa := AVX2; isa <= AVX512; isa++ {
		b.Run(isa.String(), func(b *testing.B) {
			if isa > DetectedISA() {
				b.Skipf("this CPU or build has no %v", isa)
			}
			loop := peakLoops[isa]
			for b.Loop() {
				loop.run(peakChunk)
			}
			b.ReportMetric(float64(peakChunk)*float64(loop.flops)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
