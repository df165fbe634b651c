package kernels

import (
	"fmt"
	"sync"
	"time"

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

// peakProbeTime is how long MachinePeak runs the FMA probe.
const peakProbeTime = 200 * time.Millisecond

// documentedPeak is the fp32 peak of one core with two FMA pipes at about
// 3.45 GHz, by the widest FMA the hardware has. It is the fallback of
// builds without the kernels' asm (purego, non-amd64), where the probe
// cannot run.
func documentedPeak() (gflops float64, width string) {
	switch {
	case cpuid.CPU.Supports(cpuid.AVX512F):
		return 220, "512-bit FMA" // 2 FMA × 16 lanes × 2 FLOPs × 3.45 GHz
	case cpuid.CPU.Supports(cpuid.AVX2, cpuid.FMA3):
		return 110, "256-bit FMA" // 2 FMA × 8 lanes × 2 FLOPs × 3.45 GHz
	}
	return 55, "128-bit SSE" // 2 × (mul + add) × 4 lanes × 3.45 GHz
}

// MachinePeak returns the single-core peak of the widest vector path this
// CPU and build run (kernels.DetectedISA, whatever MLPSWEEP_ISA selects),
// measured once per process with PeakGFLOPS; builds without that
// probe get the documented figure, labelled as such.
var MachinePeak = sync.OnceValue(func() Peak {
	isa := DetectedISA()
	if gflops, err := PeakGFLOPS(isa, peakProbeTime); err == nil {
		return Peak{
			GFLOPS: gflops,
			Method: "fma-probe",
			Source: fmt.Sprintf("measured: PeakGFLOPS(%v), fastest FMA-loop run over %v, one core", isa, peakProbeTime),
		}
	}
	gflops, width := documentedPeak()
	return Peak{
		GFLOPS: gflops,
		Method: "documented",
		Source: fmt.Sprintf("documented, not measured (no FMA probe in this build): %s at 3.45 GHz", width),
	}
})
