package queue

import (
	"math"
	"testing"

	"github.com/mlpsweep/mlpsweep/datasets"
	"github.com/mlpsweep/mlpsweep/engine"
	"github.com/mlpsweep/mlpsweep/sweeps/study"
)

// TestJobWork: a worker's partway ETA weighs a job's work left by the
// rule of its FLOPs (scheduler.ScoredWork): without curves, the scoring
// of the held-out rows once after the last epoch, which it left out. A
// group of 2 units, hidden [8] and [4], 3 epochs, on 4 features and 3
// classes, a fold of 50 training and 51 held-out rows: training rows of
// 6·(4·8 + 8·3) − 2·4·8 = 272 and 6·(4·4 + 4·3) − 2·4·4 = 136 FLOPs,
// scored rows of 2·(4·8 + 8·3) = 112 and 2·(4·4 + 4·3) = 56. Halfway
// through epoch 2, 1.5 epochs are done.
func TestJobWork(t *testing.T) {
	var a GroupArgs
	for _, h := range [][]int{{8}, {4}} {
		p, err := study.NewParams(engine.Config{Hidden: h, Batch: 10, Epochs: 3})
		if err != nil {
			t.Fatal(err)
		}
		a.Units = append(a.Units, UnitArgs{Params: p})
	}
	data := &datasets.Dataset{Features: 4, Classes: 3}
	fold := datasets.Fold{Train: make([]int, 50), Test: make([]int, 51)}
	epoch := 50.0 * (272 + 136) // 20,400 FLOPs of training an epoch
	scored := 51.0 * (112 + 56) //  8,568 of scoring
	half := engine.EpochPart{Epoch: 2, Step: 5, Steps: 10}
	for _, c := range []struct {
		name               string
		curves             bool
		from, to           int
		wantDone, wantLeft float64
	}{
		// The scoring once at the end: 8,568 / 20,400 = 0.42 of an epoch (1.5 left before).
		{"without curves", false, 0, 3, 1.5, 1.5 + scored/epoch},
		// After each epoch: a part of its steps is that part of its training.
		{"with curves", true, 0, 3, 0.5*epoch/(epoch+scored) + 1, 3 - (0.5*epoch/(epoch+scored) + 1)},
		// A pruned study's stage to epoch 2 of 3 ends before the last epoch.
		{"a stage before the last epoch", false, 1, 2, 0.5, 0.5},
	} {
		done, left := newJobWork(a, []int{0, 1}, data, fold, c.curves, c.from, c.to).at(half)
		if math.Abs(done-c.wantDone) > 1e-12 || math.Abs(left-c.wantLeft) > 1e-12 {
			t.Errorf("%s: %.6g epochs done, %.6g left; want %.6g, %.6g", c.name, done, left, c.wantDone, c.wantLeft)
		}
	}
}
