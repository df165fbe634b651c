package bench

import (
	"context"
	"runtime"
	"testing"

	"github.com/mlpsweep/mlpsweep/internal/cpuclock"
	"github.com/mlpsweep/mlpsweep/kernels"
)

// BenchmarkEpoch is one epoch of the reference model (784-128-10, Adam,
// batch 128) on 45,000 MNIST-shaped rows, as Fit runs it: shuffling,
// gathering each batch, the steps and the epoch's bookkeeping. One op is one
// epoch. Besides the wall-clock metrics it reports the thread's CPU time
// per epoch (cpu-ms/op) and the %peak that gives (%peak-cpu): on a machine
// shared with other processes the time they take does not count.
func BenchmarkEpoch(b *testing.B) {
	const batch = 128
	b.Run(benchName(Reference, batch), func(b *testing.B) {
		data := mnistShaped()
		m := newModel(b, Reference, batch, 1)
		if _, err := m.Fit(context.Background(), data, nil, nil); err != nil { // warm-up epoch
			b.Fatal(err)
		}
		runtime.LockOSThread() // one thread trains (one-thread Context): its clock counts the epoch
		defer runtime.UnlockOSThread()
		start := cpuclock.Thread()
		for b.Loop() {
			if _, err := m.Fit(context.Background(), data, nil, nil); err != nil {
				b.Fatal(err)
			}
		}
		cpu := (cpuclock.Thread() - start).Seconds() / float64(b.N)
		reportTraining(b, MNISTRows, m.FlopsPerSample())
		b.ReportMetric(cpu*1e3, "cpu-ms/op")
		b.ReportMetric(kernels.MachinePeak().Percent(MNISTRows*m.FlopsPerSample()/cpu/1e9), "%peak-cpu")
	})
}
