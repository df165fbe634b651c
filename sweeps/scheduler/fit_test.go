package scheduler

import (
	"context"
	"strings"
	"testing"

	"github.com/mlpsweep/mlpsweep/datasets"
	"github.com/mlpsweep/mlpsweep/engine"
)

// A run whose only step has a finite loss but whose update blows the
// weights up is a divergence, not a silent chance-level result.
func TestLastUpdateBlowingUpIsADivergence(t *testing.T) {
	d := datasets.Blobs(60, 5, 3)
	train := engine.Data{X: d.X, Y: d.Y, Rows: make([]int, 40)}
	test := engine.Data{X: d.X, Y: d.Y, Rows: make([]int, 20)}
	for i := range train.Rows {
		train.Rows[i] = i
	}
	for i := range test.Rows {
		test.Rows[i] = 40 + i
	}
	for _, lr := range []float64{1e30, 0.01} {
		cfg, err := engine.Config{Hidden: []int{8}, Optimizer: "sgd", LR: lr, Batch: 64, Epochs: 1, Seed: 1}.Normalized()
		if err != nil {
			t.Fatal(err)
		}
		u, err := TrainAndScore(context.Background(), nil, cfg, 5, 3, train, test, false, nil)
		if err != nil {
			t.Fatal(err)
		}
		if blown := lr > 1; u.Diverged != blown || blown != strings.Contains(u.Error, "held-out loss") {
			t.Errorf("lr %g: diverged %v (%q)", lr, u.Diverged, u.Error)
		}
	}
}
