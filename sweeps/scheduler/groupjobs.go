package scheduler

import (
	"context"
	"time"

	"github.com/mlpsweep/mlpsweep/datasets"
	"github.com/mlpsweep/mlpsweep/engine"
	"github.com/mlpsweep/mlpsweep/kernels"
	"github.com/mlpsweep/mlpsweep/sweeps"
)

// Fused groups for runners other than Run (the queue, sweeps/queue): the
// jobs a plan's units form, and a trainer of one job.

// Grouping is how Plan.Jobs grouped units.
type Grouping struct {
	Columns int    // the cap on a group's first-layer columns; 0: every unit alone
	From    string // how Columns was chosen, as Status.GroupWidth
}

// Jobs groups units (of plan, not done yet) into jobs as Run does for
// workers workers: with the study's fuse, groups of one fold sharing the
// batch size and the epoch count, of at most groupColumns first-layer
// columns (as Options.GroupColumns: 0 takes the kernels' table's width or
// measures it, MeasureGroupColumns measures it), the largest first;
// otherwise, or for a plan that is not a study's (StudyPlan), one unit per
// job. Train each job with a GroupTrainer.
func (plan Plan) Jobs(units []sweeps.Unit, workers, groupColumns int) ([][]sweeps.Unit, Grouping) {
	var jobs []job
	var g Grouping
	if f := plan.folds; f != nil {
		f.maxColumns = groupColumns
		jobs = f.jobs(units, max(1, workers))
		if f.fuse {
			g = Grouping{Columns: f.maxColumns, From: f.widthFrom}
		}
	} else {
		jobs = singles(units)
	}
	out := make([][]sweeps.Unit, len(jobs))
	for i, j := range jobs {
		out[i] = j
	}
	return out, g
}

// GroupTrainer trains the units of a job (Plan.Jobs) of a cross-validated
// study, on its own single-threaded kernels.Context and models, which it
// reuses from job to job as a Run's worker does: the numbers are bit for
// bit Run's. Its methods are for one goroutine at a time.
type GroupTrainer struct {
	ws workspace
}

// NewGroupTrainer returns a trainer with a single-threaded context.
func NewGroupTrainer() *GroupTrainer {
	return &GroupTrainer{ws: workspace{kc: kernels.NewContext(1)}}
}

// SetThreads sets the GEMM threads of the next jobs: it changes their
// speed, not their numbers.
func (t *GroupTrainer) SetThreads(n int) { t.ws.kc.SetThreads(n) }

// SetProgress makes the next jobs (Train, TrainStage) report partway
// through their epochs, as Run's do with Options.PartEvery: f(is, p) at
// most once per every of wall time, that units[i], i in is (those still
// training), are p of the way through an epoch; f nil: no reports.
func (t *GroupTrainer) SetProgress(every time.Duration, f func(is []int, p engine.EpochPart)) {
	t.ws.onPart, t.ws.partEvery = f, every
}

// Train trains units, one fold's (sharing the batch size and the epoch
// count when more than one), of a cross-validation of data on folds with
// study seed seed (learning curves when curves is set): fused as one group,
// or alone when there is one. It calls onDone(i, r) once for each unit as
// its result is known, one unit after the other (the caller stores each in
// its own transaction), after calling onEpoch(i, s) after each of its
// epochs. Its only errors are ctx's (the units not done are abandoned) and
// onDone's.
func (t *GroupTrainer) Train(ctx context.Context, data *datasets.Dataset, folds []datasets.Fold, seed int64, curves bool,
	units []sweeps.Unit, onEpoch func(i int, s engine.EpochStats), onDone func(i int, r sweeps.UnitResult) error) error {
	f := &foldFit{data: data, folds: folds, seed: seed, curves: curves, fuse: len(units) > 1}
	return f.fit(ctx, &t.ws, units, onEpoch, onDone)
}
