package bench

import "testing"

// BenchmarkStep is one training step (forward, backward, Adam update) of
// each StepArchs model at each StepBatches size: the engine's unit of work.
func BenchmarkStep(b *testing.B) {
	for _, a := range StepArchs {
		for _, batch := range StepBatches {
			b.Run(benchName(a, batch), func(b *testing.B) {
				m := newModel(b, a, batch, 1)
				in, out := a[0], a[len(a)-1]
				data := Synthetic(batch, in, out)
				x := make([]float32, batch*in) // [batch×in] the batch as float32, as the depth study gathers it
				data.Gather(data.Head(batch, in).Rows, x, make([]float32, batch*out), in, out)
				if _, _, err := m.TrainBatch(x, data.Y, batch); err != nil { // warm-up
					b.Fatal(err)
				}
				b.ReportAllocs()
				for b.Loop() {
					m.TrainBatch(x, data.Y, batch)
				}
				reportTraining(b, batch, m.FlopsPerSample())
			})
		}
	}
}
