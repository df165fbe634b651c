package serve

import (
	"fmt"
	"strings"
	"time"

	"github.com/mlpsweep/mlpsweep/datasets"
	"github.com/mlpsweep/mlpsweep/sweeps"
	"github.com/mlpsweep/mlpsweep/sweeps/store"
	"github.com/mlpsweep/mlpsweep/sweeps/study"
)

// A study's ETA on the list (StudyInfo.ETASeconds) counts training work,
// as sweep's and the queue's do (sweeps.ETA), not units: units differ
// many times in cost (architectures), a pruned study's units stop at its
// rungs and a fused group finishes many units at once.
//
// An epoch of a unit weighs its training rows × its configuration's
// training FLOPs per row (scheduler.TrainingFLOPsPerRow, the same
// measure as the list's GFLOP/s). The work done is the epochs the store's
// per-epoch rows say were written in the last Window; the work left is
// each unfinished unit's epochs to go (a running unit's epochs of its run
// so far count as done) and none for a unit done, failed or pruned. The
// store does not record a study's pruner, so its outlook (how far each
// configuration will go, prune.Run.Outlook) cannot be computed here: a
// live unit of a pruned study counts to its last epoch, and the ETA is
// the most the study can take at that rate (the CLI's says less, or ~).

// studyETA is the time study h's work left takes at the rate of its work
// in the last Window (from its first unit's start when that is later),
// at time now: plan is its units (sweeps.Plan), units its stored units as
// store.ReadStudy reads them, epochs their per-epoch rows
// (store.ReadEpochs since now − Window).
func studyETA(h sweeps.Header, points []study.Point, plan []sweeps.Unit, units []store.StudyUnit, epochs map[sweeps.UnitID]store.UnitEpochs, now time.Time) time.Duration {
	since := now.Add(-Window).UnixNano()
	start := now.UnixNano() // the first start of a unit running or finished in the window
	stored := map[sweeps.UnitID]store.StudyUnit{}
	for _, u := range units {
		stored[u.ID] = u
		if (u.State == "running" || u.Finished >= since) && u.Started > 0 {
			start = min(start, u.Started)
		}
	}
	start = max(start, since)
	perRow := workPerRow(h, points, units)
	rows := trainRows(h)
	var done, left float64
	for _, pu := range plan {
		w := rows(pu.ID.Fold) * perRow[pu.ID.Key] // an epoch's
		e := epochs[pu.ID]
		done += float64(e.Recent) * w
		if u, ok := stored[pu.ID]; ok && u.State != "running" {
			continue // done, failed or pruned
		}
		left += float64(max(0, pu.Point.Params.Epochs()-e.Trained)) * w
	}
	return sweeps.ETA(left, done, time.Duration(now.UnixNano()-start))
}

// workPerRow is each configuration's training FLOPs per row: as its
// stored units recorded it (UnitResult.GFLOP over Samples), else by the
// shape of MNIST data (flopsPerRow), else the mean of the configurations
// known (1 when none is: the ETA then weighs epochs × rows alone).
func workPerRow(h sweeps.Header, points []study.Point, units []store.StudyUnit) map[string]float64 {
	m := flopsPerRow(h, points)
	for _, u := range units {
		if r := u.Result; r.GFLOP > 0 && r.Samples > 0 {
			m[u.ID.Key] = r.GFLOP * 1e9 / float64(r.Samples)
		}
	}
	sum := 0.0
	for _, f := range m {
		sum += f
	}
	mean := 1.0
	if len(m) > 0 {
		mean = sum / float64(len(m))
	}
	for _, pt := range points {
		if _, ok := m[pt.Params.Key()]; !ok {
			m[pt.Params.Key()] = mean
		}
	}
	return m
}

// trainRows is the training rows of a unit of each fold of a k-fold
// study whose record names its rows ("mnist-train (60000 rows)"):
// scikit-learn's KFold sizes; 1 for every fold otherwise (a held-out
// split's units all train on the same rows).
func trainRows(h sweeps.Header) func(fold int) float64 {
	var n int
	if i := strings.LastIndex(h.Data, " ("); i >= 0 {
		fmt.Sscanf(h.Data[i:], " (%d rows)", &n)
	}
	if n < h.Folds || h.Folds < 2 || h.Split != sweeps.KFoldSplit(h.Folds, h.Seed) {
		return func(int) float64 { return 1 }
	}
	return func(fold int) float64 { return float64(n - datasets.FoldSize(n, h.Folds, fold)) }
}
