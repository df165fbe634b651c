package bench

import (
	"context"
	"testing"
)

// BenchmarkEpoch is one epoch of the reference model (784-128-10, Adam,
// batch 128) on 45,000 MNIST-shaped rows, as Fit runs it: shuffling,
// gathering each batch, the steps and the epoch's bookkeeping. One op is one
// epoch.
func BenchmarkEpoch(b *testing.B) {
	const batch = 128
	b.Run(benchName(Reference, batch), func(b *testing.B) {
		data := mnistShaped()
		m := newModel(b, Reference, batch, 1)
		if _, err := m.Fit(context.Background(), data, nil, nil); err != nil { // warm-up epoch
			b.Fatal(err)
		}
		for b.Loop() {
			if _, err := m.Fit(context.Background(), data, nil, nil); err != nil {
				b.Fatal(err)
			}
		}
		reportTraining(b, MNISTRows, m.FlopsPerSample())
	})
}
