package scheduler

import (
	"testing"

	"github.com/mlpsweep/mlpsweep/datasets"
	"github.com/mlpsweep/mlpsweep/sweeps"
)

// TestPlanJobsFuseShards: Plan.Jobs forms the fused groups Run trains: a
// whole study's and a shard's (a shard runs Run on its slice of the units,
// so its units of one fold train fused too); every unit in exactly one job,
// each job's units of one fold, batch size and epoch count, within the
// width.
func TestPlanJobsFuseShards(t *testing.T) {
	data := datasets.Blobs(300, 10, 3)
	plan, err := StudyPlan(parse(t, mixStudy), data, false)
	if err != nil {
		t.Fatal(err)
	}
	// The whole study, then its 3 shards.
	for s, units := range append([][]sweeps.Unit{plan.Units}, AssignShards(plan.Units, plan.UnitWork, 3)...) {
		s-- // -1: the whole study
		jobs, g := plan.Jobs(units, 2, 64)
		if g.Columns != 64 || g.From != "given" {
			t.Errorf("shard %d: grouping %+v", s, g)
		}
		seen, fused := 0, 0
		for _, j := range jobs {
			cols := 0
			for _, u := range j {
				cols += plan.folds.columns(u)
				a, b := u.Point.Params, j[0].Point.Params
				if u.ID.Fold != j[0].ID.Fold || a.Config(0).Batch != b.Config(0).Batch || a.Epochs() != b.Epochs() {
					t.Fatalf("shard %d: a job mixes folds, batch sizes or epochs: %v", s, j)
				}
			}
			if len(j) > 1 && cols > 64 {
				t.Errorf("shard %d: a job of %d columns", s, cols)
			}
			seen += len(j)
			if len(j) > 1 {
				fused += len(j)
			}
		}
		if seen != len(units) || fused < len(units)/2 {
			t.Errorf("shard %d: %d jobs hold %d of %d units, %d of them in fused groups", s, len(jobs), seen, len(units), fused)
		}
		t.Logf("shard %d: %d units in %d jobs, %d units fused", s, len(units), len(jobs), fused)
	}
}
