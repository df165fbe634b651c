package engine_test

import (
	"fmt"
	"testing"

	"github.com/mlpsweep/mlpsweep/engine"
)

// BenchmarkGroupStep times one fused training step (Group.TrainBatch) of
// members 784-128-10 (Adam, batch 128, seeds 1 … members) on a batch of
// 128 MNIST rows read by index, single-threaded; GFLOP/s counts all
// members' GEMM work. members=1 is the same step as a model alone.
func BenchmarkGroupStep(b *testing.B) {
	train, _ := loadMNIST(b)
	rows := make([]int, 128)
	for i := range rows {
		rows[i] = (i * 337) % 45000 // scattered, as after a shuffle
	}
	t := make([]float32, 128*train.Classes)
	for i, r := range rows {
		copy(t[i*train.Classes:], train.Y[r*train.Classes:(r+1)*train.Classes])
	}
	for _, members := range []int{1, 8, 32} {
		b.Run(fmt.Sprintf("members=%d", members), func(b *testing.B) {
			var models []*engine.Model
			flops := 0.0
			for s := range members {
				cfg := engine.DefaultConfig()
				cfg.Seed = int64(s + 1)
				m, err := engine.New(cfg, train.Features, train.Classes, nil)
				if err != nil {
					b.Fatal(err)
				}
				models = append(models, m)
				flops += m.FlopsPerSample()
			}
			g, err := engine.NewGroup(models, 1)
			if err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for b.Loop() {
				if _, _, err := g.TrainBatch(engine.DataOf(train, nil), rows, t); err != nil {
					b.Fatal(err)
				}
			}
			perStep := b.Elapsed().Seconds() / float64(b.N)
			b.ReportMetric(128*flops/perStep/1e9, "GFLOP/s")
		})
	}
}
