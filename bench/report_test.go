package bench

import (
	"fmt"
	"sync"
	"testing"

	"github.com/mlpsweep/mlpsweep/engine"
	"github.com/mlpsweep/mlpsweep/kernels"
)

// reportTraining adds the training metrics to b after its loop: samples/s
// for samplesPerOp training samples per iteration, GFLOP/s at
// flopsPerSample each (engine.Model.FlopsPerSample), and %peak of
// MachinePeak.
func reportTraining(b *testing.B, samplesPerOp int, flopsPerSample float64) {
	samples := float64(b.N) * float64(samplesPerOp) / b.Elapsed().Seconds()
	gflops := samples * flopsPerSample / 1e9
	b.ReportMetric(samples, "samples/s")
	b.ReportMetric(gflops, "GFLOP/s")
	b.ReportMetric(kernels.MachinePeak().Percent(gflops), "%peak")
}

// newModel builds a for batch size batch and epochs epochs, or stops b.
func newModel(b *testing.B, a Arch, batch, epochs int) *engine.Model {
	b.Helper()
	cfg := a.Config(batch)
	cfg.Epochs = epochs
	m, err := engine.New(cfg, a[0], a[len(a)-1], nil)
	if err != nil {
		b.Fatal(err)
	}
	return m
}

// mnistShaped is Synthetic data of MNIST's training shape, built once per
// test binary (141 MB of X).
var mnistShaped = sync.OnceValue(func() engine.Data {
	return Synthetic(MNISTRows, MNISTFeatures, MNISTClasses)
})

// benchName is "784-128-10/b128".
func benchName(a Arch, batch int) string { return fmt.Sprintf("%v/b%d", a, batch) }
