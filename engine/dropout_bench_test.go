package engine

import "testing"

// BenchmarkDropoutMask draws one step's dropout mask of a 256-wide hidden
// layer at batch 128 (the seed study's dropout axis).
func BenchmarkDropoutMask(b *testing.B) {
	m, err := New(Config{Hidden: []int{256}, Dropout: 0.25, Seed: 1}, 784, 10, nil)
	if err != nil {
		b.Fatal(err)
	}
	mask := make([]float32, 128*256)
	for b.Loop() {
		m.dropoutMask(mask)
	}
	b.ReportMetric(float64(len(mask))*float64(b.N)/b.Elapsed().Seconds()/1e6, "Melem/s")
}
