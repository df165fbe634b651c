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
				// [batch] rows 0 …, read from the pixels, as Fit and the depth study read them
				rows := data.Head(batch, in).Rows
				if _, _, err := m.TrainBatch(data, rows, data.Y); err != nil { // warm-up
					b.Fatal(err)
				}
				b.ReportAllocs()
				for b.Loop() {
					m.TrainBatch(data, rows, data.Y)
				}
				reportTraining(b, batch, m.FlopsPerSample())
			})
		}
	}
}
