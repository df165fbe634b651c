package main

import (
	"testing"
	"time"

	"github.com/mlpsweep/mlpsweep/sweeps/prune"
	"github.com/mlpsweep/mlpsweep/sweeps/scheduler"
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
