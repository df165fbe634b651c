package bench

import (
	"fmt"
	"sync"

	"github.com/klauspost/cpuid/v2"
)

// Peak is the single-core fp32 peak that "%peak" figures divide by.
type Peak struct {
	GFLOPS float64 // GFLOP/s
	Method string  // "fma-probe" (measured) or "documented"
	Source string  // how GFLOPS was obtained, for reports
}

// Percent is gflops as a percentage of p.
func (p Peak) Percent(gflops float64) float64 { return 100 * gflops / p.GFLOPS }

// documentedPeak is the fp32 peak of one core with two FMA pipes at about
// 3.45 GHz, by the widest FMA the hardware has (shared/kernel-facts.md,
// measured on AMD Zen 5). It stands in until kernels exports its FMA probe.
func documentedPeak() (gflops float64, width string) {
	switch {
	case cpuid.CPU.Supports(cpuid.AVX512F):
		return 220, "512-bit FMA" // 2 FMA × 16 lanes × 2 FLOPs × 3.45 GHz
	case cpuid.CPU.Supports(cpuid.AVX2, cpuid.FMA3):
		return 110, "256-bit FMA" // 2 FMA × 8 lanes × 2 FLOPs × 3.45 GHz
	}
	return 55, "128-bit SSE" // 2 × (mul + add) × 4 lanes × 3.45 GHz
}

// MachinePeak returns the peak of this CPU's hardware (whatever ISA path
// the build or MLPSWEEP_ISA selects), computed once per process.
var MachinePeak = sync.OnceValue(func() Peak {
	gflops, width := documentedPeak()
	return Peak{
		GFLOPS: gflops,
		Method: "documented",
		Source: fmt.Sprintf("documented, not measured: %s at 3.45 GHz per shared/kernel-facts.md", width),
	}
})
