package scheduler

import (
	"context"
	"fmt"

	"github.com/mlpsweep/mlpsweep/datasets"
	"github.com/mlpsweep/mlpsweep/engine"
	"github.com/mlpsweep/mlpsweep/sweeps"
)

// TrainStage trains units of one fold (sharing the batch size and the
// epoch count) of a pruned study from epoch from to epoch to, as
// prunedRun's stages do: models[i] continues unit i where an earlier
// stage left it (engine.LoadMemberState, for the queue, whose workers
// keep it in the store), or, when nil (from must then be 0), starts fresh
// from its configuration; TrainStage sets it. The group draws the batch
// order of one Fit (engine.Group.Seek), so a unit's numbers are those of
// one uninterrupted Fit, whatever the stages, groups and workers.
// onEpoch(i, s) follows each epoch. The histories hold the stage's
// epochs; a configuration the engine rejects is an error.
func (t *GroupTrainer) TrainStage(ctx context.Context, data *datasets.Dataset, folds []datasets.Fold, seed int64,
	units []sweeps.Unit, models []*engine.Model, from, to int, onEpoch func(i int, s engine.EpochStats)) ([]engine.History, error) {
	f := &foldFit{data: data, folds: folds, seed: seed, curves: true, fuse: len(units) > 1}
	ws := &t.ws
	ws.members, ws.unit = ws.members[:0], ws.unit[:0]
	for i, u := range units {
		if models[i] == nil {
			if from != 0 {
				return nil, fmt.Errorf("unit %s fold %d: no model to continue from epoch %d", u.ID.Key, u.ID.Fold, from)
			}
			m, err := engine.NewNormalized(u.Normalized(), data.Features, data.Classes, ws.kc)
			if err != nil {
				return nil, fmt.Errorf("unit %s: %w", u.ID.Key, err)
			}
			models[i] = m
		}
		models[i].SetContext(ws.kc)
		ws.members = append(ws.members, models[i])
		ws.unit = append(ws.unit, i)
	}
	fold := units[0].ID.Fold
	train, test := f.split(fold)
	return fused(ctx, ws, sweeps.ShuffleSeed(seed, fold), train, &test, from, to, f.shares(units, ws.unit, from), onEpoch)
}

// StageResult is the result of a pruned study's unit trained on fold of
// data's folds whose training ended: at its last epoch, diverged (model,
// as it stopped, is then scored on the held-out rows), or stopped by the
// pruner (pruned; model may be nil). h is its whole learning curve,
// earlier stages' epochs first; it is scored as prunedRun scores a unit.
func StageResult(data *datasets.Dataset, folds []datasets.Fold, fold int, h engine.History, model *engine.Model, pruned bool) sweeps.UnitResult {
	r := sweeps.UnitResult{Epochs: []engine.EpochStats{}}
	for _, e := range h.Epochs {
		r.Seconds += e.Seconds
	}
	f := &foldFit{data: data, folds: folds}
	score(&r, h, len(folds[fold].Train), true, func() (float64, float64) {
		_, test := f.split(fold)
		return model.Evaluate(test)
	})
	if pruned && !r.Diverged {
		r.PrunedAt = len(r.Epochs)
	}
	return r
}

// PrunedResult is StageResult for unit u of plan (a cross-validated
// study's) that the pruner stopped after epochs, its learning curve.
func (plan Plan) PrunedResult(u sweeps.Unit, epochs []engine.EpochStats) sweeps.UnitResult {
	return StageResult(plan.folds.data, plan.folds.folds, u.ID.Fold, engine.History{Epochs: epochs}, nil, true)
}
