package scheduler

import (
	"fmt"
	"testing"

	"github.com/mlpsweep/mlpsweep/datasets"
	"github.com/mlpsweep/mlpsweep/engine"
)

// BenchmarkGroupWidth is what calibrate measures at the start of a fused
// run, at more widths and for longer: one fused
// training step (engine.Group.TrainBatch, one thread) of members 784-128-10
// models (Adam, batch 128, seeds 1 … members) on 128 scattered MNIST rows,
// reported as the time per member step (ns/member) and the GFLOP/s of all
// members' GEMM work. Fusion pays while ns/member falls with the width.
// See bench/NOTES.md for the figures and the rule drawn from them.
func BenchmarkGroupWidth(b *testing.B) {
	train, _, err := datasets.MNIST("")
	if err != nil {
		b.Fatal(err)
	}
	rows := make([]int, 128)
	for i := range rows {
		rows[i] = (i * 337) % 45000 // scattered, as after a shuffle
	}
	t := make([]float32, 128*train.Classes)
	for i, r := range rows {
		copy(t[i*train.Classes:], train.Y[r*train.Classes:(r+1)*train.Classes])
	}
	for _, members := range []int{1, 2, 4, 8, 16, 32, 48} {
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
			for b.Loop() {
				if _, _, err := g.TrainBatch(engine.DataOf(train, nil), rows, t); err != nil {
					b.Fatal(err)
				}
			}
			perStep := b.Elapsed().Seconds() / float64(b.N)
			b.ReportMetric(perStep/float64(members)*1e9, "ns/member")
			b.ReportMetric(128*flops/perStep/1e9, "GFLOP/s")
		})
	}
}
