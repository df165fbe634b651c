package bench

import (
	"context"
	"testing"

	"github.com/mlpsweep/mlpsweep/datasets"
	"github.com/mlpsweep/mlpsweep/sweeps/scheduler"
	"github.com/mlpsweep/mlpsweep/sweeps/study"
)

// Size of the sweep-unit benchmark: the first fold of a 5-fold split of
// 10,000 MNIST-shaped rows (8,000 train, 2,000 held out), 2 epochs.
const (
	unitRows   = 10000
	unitFolds  = 5
	unitEpochs = 2
)

// BenchmarkSweepUnit is one sweep work unit as sweeps runs it
// (CrossValidate on one fold, one worker): build and initialize the
// reference model, train it on the fold, score it on the fold's held-out
// rows. Throughput counts the training samples only.
func BenchmarkSweepUnit(b *testing.B) {
	const batch = 128
	b.Run(benchName(Reference, batch), func(b *testing.B) {
		all := mnistShaped()
		data := &datasets.Dataset{
			Name: "synthetic", N: unitRows, Features: MNISTFeatures, Classes: MNISTClasses,
			Pixels: all.Pixels[:unitRows*MNISTFeatures], Y: all.Y[:unitRows*MNISTClasses], Labels: make([]int, unitRows),
		}
		for i := range data.Labels {
			for c, v := range data.Y[i*MNISTClasses : (i+1)*MNISTClasses] {
				if v == 1 {
					data.Labels[i] = c
				}
			}
		}
		folds, err := datasets.KFold(unitRows, unitFolds, 42)
		if err != nil {
			b.Fatal(err)
		}
		cfg := Reference.Config(batch)
		cfg.Epochs = unitEpochs
		params, err := study.NewParams(cfg)
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if _, err := scheduler.CrossValidate(context.Background(), data, params, folds[:1], 42, 1, nil, scheduler.Partway{}); err != nil {
				b.Fatal(err)
			}
		}
		m, err := Reference.NewModel(batch)
		if err != nil {
			b.Fatal(err)
		}
		reportTraining(b, unitEpochs*len(folds[0].Train), m.FlopsPerSample())
	})
}
