package main

import (
	"testing"
	"time"

	"github.com/mlpsweep/mlpsweep/sweeps"
	"github.com/mlpsweep/mlpsweep/sweeps/prune"
	"github.com/mlpsweep/mlpsweep/sweeps/scheduler"
	"github.com/mlpsweep/mlpsweep/sweeps/study"
)

// TestETA: the ETA extrapolates the rate of the work done to the work
// forecast, marks an expectation with ~, gives a median pruner's bounds
// as a range, and is empty before any work and after the last.
func TestETA(t *testing.T) {
	s := scheduler.Status{Elapsed: 10 * time.Second, WorkDone: 100, WorkLeast: 150, WorkToRun: 400, WorkMost: 400, WorkFull: 800}
	for _, c := range []struct {
		f    prune.Forecast
		done int64
		want string
	}{
		{prune.Schedule, 100, ", eta 30s"},
		{prune.Expected, 100, ", eta ~30s"},
		{prune.Bounded, 100, ", eta 5s–30s"},
		{prune.Bounded, 200, ", eta 0s–10s"},
		{prune.Schedule, 0, ""},
		{prune.Schedule, 400, ""},
		{prune.Bounded, 400, ""},
	} {
		s.Forecast, s.WorkDone = c.f, c.done
		if got := eta(s); got != c.want {
			t.Errorf("forecast %v, %d done: %q, want %q", c.f, c.done, got, c.want)
		}
	}
	s.Forecast = prune.Bounded
	if got, want := forecastLine(s, "median", false), "pruner median: between 19 % and 50 % of the work"; len(got) < len(want) || got[:len(want)] != want {
		t.Errorf("median's forecast line %q", got)
	}
	if got := forecastLine(s, "", false); got != "" {
		t.Errorf("forecast line without pruner or sampler: %q", got)
	}
}

// TestUnitLineOfADivergedUnit: a unit that diverged in its first epoch
// trained no whole epoch, so its line states no rate. Defect: "0 samples/s
// (diverged at epoch 1, step 3)".
func TestUnitLineOfADivergedUnit(t *testing.T) {
	e := scheduler.Event{Point: &study.Point{Axis: "lr", Value: "1e+12"}, Fold: 1,
		Unit: sweeps.UnitResult{Accuracy: 0.096, Seconds: 0.02, Diverged: true, Error: "diverged at epoch 1, step 3"}}
	if got, want := unitLine(e), "lr=1e+12 fold 1: accuracy 0.0960, 0.0 s (diverged at epoch 1, step 3)"; got != want {
		t.Errorf("unitLine = %q, want %q", got, want)
	}
	e.Unit = sweeps.UnitResult{Accuracy: 0.9, Seconds: 2, Samples: 1000}
	if got, want := unitLine(e), "lr=1e+12 fold 1: accuracy 0.9000, 2.0 s, 500 samples/s"; got != want {
		t.Errorf("unitLine = %q, want %q", got, want)
	}
}
