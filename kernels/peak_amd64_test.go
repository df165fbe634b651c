//go:build amd64 && !purego

package kernels

import "testing"

// peakFMAs is the number of vector FMAs per iteration of the peak loops
// (peakAccumulators in _gen/gemm/peak.go).
const peakFMAs = 12

// BenchmarkPeak measures the FMA throughput of one core (peakAVX2,
// peakAVX512: independent accumulators, no memory traffic), the ceiling to
// read BenchmarkSgemm's GFLOP/s against.
func BenchmarkPeak(b *testing.B) {
	for _, p := range []struct {
		isa   ISA
		lanes int
		run   func(n int)
	}{{AVX512, 16, peakAVX512}, {AVX2, 8, peakAVX2}} {
		b.Run(p.isa.String(), func(b *testing.B) {
			if DetectedISA() < p.isa {
				b.Skipf("CPU has no %v", p.isa)
			}
			const iters = 1 << 16
			for b.Loop() {
				p.run(iters)
			}
			flops := float64(iters) * peakFMAs * float64(p.lanes) * 2
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
