package bench

import (
	"fmt"

	"github.com/mlpsweep/mlpsweep/kernels"
)

// Result is one figure of the quick check, as `mlpsweep bench --json`
// prints it.
type Result struct {
	Name    string `json:"name"` // "peak", "sgemm-<shape>" or "epoch-<arch>"
	M       int    `json:"m,omitempty"`
	N       int    `json:"n,omitempty"`
	K       int    `json:"k,omitempty"`
	TransA  bool   `json:"trans_a,omitempty"`
	TransB  bool   `json:"trans_b,omitempty"`
	Backend string `json:"backend"`
	ISA     string `json:"isa,omitempty"` // kernels path, for the mlpsweep backend

	GFLOPS     float64 `json:"gflops"`
	PeakGFLOPS float64 `json:"peak_gflops"`
	PeakSource string  `json:"peak_source,omitempty"` // on the "peak" result
	Blocks     string  `json:"blocks,omitempty"`      // on the "peak" result: the GEMM blocks' table row or tuned file (kernels.TuningSource)

	// Epoch results.
	Batch            int     `json:"batch,omitempty"`
	Rows             int     `json:"rows,omitempty"`
	Seconds          float64 `json:"seconds,omitempty"`
	SamplesPerSecond float64 `json:"samples_per_second,omitempty"`
}

// PercentOfPeak is GFLOPS as a percentage of PeakGFLOPS.
func (r Result) PercentOfPeak() float64 { return 100 * r.GFLOPS / r.PeakGFLOPS }

// Check runs the quick check of `mlpsweep bench`: the peak, every
// GEMMShapes product on every backend, and one epoch of the reference model
// (Adam, batch 128) on rows MNIST-shaped synthetic rows. It passes each
// result to emit as soon as it is measured.
func Check(e Effort, rows int, emit func(Result)) error {
	peak := kernels.MachinePeak()
	isa := kernels.ActiveISA().String()
	emit(Result{Name: "peak", Backend: peak.Method,
		GFLOPS: peak.GFLOPS, PeakGFLOPS: peak.GFLOPS, PeakSource: peak.Source, Blocks: kernels.TuningSource()})
	for _, s := range GEMMShapes {
		for _, be := range Backends() {
			r := Result{Name: "sgemm-" + s.String(), M: s.M, N: s.N, K: s.K, TransA: s.TransA, TransB: s.TransB,
				Backend: be.Name, GFLOPS: MeasureGEMM(be, s, e), PeakGFLOPS: peak.GFLOPS}
			if be.Name == "mlpsweep" {
				r.ISA = isa
			}
			emit(r)
		}
	}
	const batch = 128
	tp, err := MeasureEpoch(Reference, batch, Synthetic(rows, MNISTFeatures, MNISTClasses), e)
	if err != nil {
		return fmt.Errorf("epoch: %w", err)
	}
	emit(Result{Name: "epoch-" + Reference.String(), Backend: KernelsGEMM(), ISA: isa,
		GFLOPS: tp.GFLOPS, PeakGFLOPS: peak.GFLOPS,
		Batch: batch, Rows: rows, Seconds: tp.Seconds, SamplesPerSecond: tp.SamplesPerSecond})
	return nil
}
