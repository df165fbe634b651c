package scheduler

import (
	"context"
	"fmt"
	"math"

	"github.com/mlpsweep/mlpsweep/datasets"
	"github.com/mlpsweep/mlpsweep/engine"
	"github.com/mlpsweep/mlpsweep/kernels"
	"github.com/mlpsweep/mlpsweep/sweeps"
	"github.com/mlpsweep/mlpsweep/sweeps/study"
)

// StudyPlan is the plan of a cross-validated study s on data: its header,
// its units in order, and how to train them on data's KFold split (with
// learning curves when curves is set, or s has a pruner): fused groups as
// s.Fuse says, or one at a time with FoldTrainer; in stages when s has a
// pruner (prune.go). RunStudy runs it on this process's workers;
// the queue (sweeps/queue) hands its units to workers on other machines.
func StudyPlan(s *study.Study, data *datasets.Dataset, curves bool) (Plan, error) {
	if len(s.Points) == 0 {
		return Plan{}, fmt.Errorf("study %s has no configurations", s.Name)
	}
	if s.Seed < 0 || s.Seed > math.MaxUint32 {
		return Plan{}, fmt.Errorf("study %s: seed %d is not a KFold random_state in [0, 2³²)", s.Name, s.Seed)
	}
	folds, err := datasets.KFold(data.N, s.Folds, uint32(s.Seed))
	if err != nil {
		return Plan{}, err
	}
	h := sweeps.Header{
		Name: s.Name, Folds: s.Folds, Epochs: s.Base.Epochs(), Seed: s.Seed,
		Split: sweeps.KFoldSplit(s.Folds, s.Seed),
		Data:  fmt.Sprintf("%s (%d rows)", data.Name, data.N), DataSHA: data.Fingerprint(), Engine: sweeps.EngineID(),
	}
	h.Schedule.Pruner = s.Pruner
	h.Schedule.Rows, h.Schedule.Features, h.Schedule.Classes = data.N, data.Features, data.Classes
	if s.Search != nil {
		h.Schedule.Trials, h.Schedule.Batch = s.Search.N, s.Search.Batch
	}
	if s.Pruner != nil {
		if err := s.CheckPruner(); err != nil {
			return Plan{}, err
		}
		curves = true // a rung judges the held-out accuracy at its epoch
	}
	h.Schedule.Curves = curves
	rows := func(u sweeps.Unit) int { return len(folds[u.ID.Fold].Train) }
	work := func(u sweeps.Unit) (sweeps.EpochWork, float64) {
		f := folds[u.ID.Fold]
		return ScoredWork(u.Point.Params.Hidden(), data.Features, data.Classes, len(f.Train), len(f.Test), curves)
	}
	eval := func(u sweeps.Unit) int64 { // the held-out rows scored after each epoch
		w, _ := work(u)
		return int64(w.Eval)
	}
	return Plan{
		Header: h, Points: s.Points, Units: sweeps.Plan(h, s.Points),
		Train:     FoldTrainer(data, folds, s.Seed, curves),
		folds:     &foldFit{data: data, folds: folds, seed: s.Seed, curves: curves, fuse: s.Fuse},
		pruner:    s.Pruner,
		EpochRows: rows,
		EpochWork: func(u sweeps.Unit) int64 {
			return EpochFLOPs(u.Point.Params.Hidden(), data.Features, data.Classes, rows(u)) + eval(u)
		},
		EpochEval: eval,
		UnitEval: func(u sweeps.Unit) int64 {
			_, final := work(u)
			return int64(final)
		},
		RowFLOPs: func(u sweeps.Unit) float64 {
			return TrainingFLOPsPerRow(u.Point.Params.Hidden(), data.Features, data.Classes)
		},
	}, nil
}

// FoldTrainer is the TrainFunc of one unit of a cross-validation of data
// on folds with study seed seed, trained alone: on its fold's training rows
// in the batch order of sweeps.ShuffleSeed(seed, fold), scored on the
// fold's held-out rows (after every epoch too when curves is set), bit for
// bit what RunStudy's fused groups give it.
func FoldTrainer(data *datasets.Dataset, folds []datasets.Fold, seed int64, curves bool) TrainFunc {
	f := &foldFit{data: data, folds: folds, seed: seed, curves: curves}
	return func(ctx context.Context, kc *kernels.Context, u sweeps.Unit, onEpoch func(engine.EpochStats)) (sweeps.UnitResult, error) {
		m, err := engine.NewNormalized(u.Normalized(), data.Features, data.Classes, kc)
		if err != nil {
			return sweeps.UnitResult{Epochs: []engine.EpochStats{}, Error: err.Error()}, nil
		}
		fold := folds[u.ID.Fold]
		train := engine.DataOf(data, fold.Train)
		test := engine.DataOf(data, fold.Test)
		var r sweeps.UnitResult
		err = f.alone(ctx, m, sweeps.ShuffleSeed(seed, u.ID.Fold), train, test, onEpoch,
			func(res sweeps.UnitResult) error { r = res; return nil })
		return r, err
	}
}
