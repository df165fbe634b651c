package scheduler

import (
	"context"
	"fmt"
	"sync"

	"github.com/mlpsweep/mlpsweep/datasets"
	"github.com/mlpsweep/mlpsweep/engine"
	"github.com/mlpsweep/mlpsweep/sweeps"
	"github.com/mlpsweep/mlpsweep/sweeps/study"
)

// CrossValidate trains params on every fold of data, workers folds at a time,
// and scores each on its held-out rows. Each fold's unit seed is
// sweeps.UnitSeed(seed, key, fold) and its batch order comes from
// sweeps.ShuffleSeed(seed, fold), as in a sweep with study seed seed, so
// `mlpsweep train --folds K` and a sweep report the same numbers for the
// same config, split and data. onEpoch (if set) is called one call at a
// time, after the held-out rows are scored for that epoch (as Keras's fit
// with validation data does; the final results do not change).
// part (if set) reports partway through the epochs, one call at a time
// with onEpoch's. Nothing is stored. A cancelled ctx returns ctx.Err().
func CrossValidate(ctx context.Context, data *datasets.Dataset, params study.Params, folds []datasets.Fold,
	seed int64, workers int, onEpoch func(fold int, s engine.EpochStats), part Partway) (sweeps.ConfigResult, error) {
	if len(folds) == 0 {
		return sweeps.ConfigResult{}, fmt.Errorf("cross-validation: no folds")
	}
	pt := study.Point{Params: params}
	h := sweeps.Header{Folds: len(folds), Seed: seed, Engine: sweeps.EngineID()}
	var mu sync.Mutex
	units := make([]sweeps.UnitResult, len(folds))
	fit := &foldFit{data: data, folds: folds, seed: seed, curves: onEpoch != nil}
	p := &pool{
		workers: max(1, workers), fit: fit.fit,
		epoch: func(u sweeps.Unit, s engine.EpochStats) {
			if onEpoch != nil {
				mu.Lock()
				defer mu.Unlock()
				onEpoch(u.ID.Fold, s)
			}
		},
		done: func(u sweeps.Unit, r sweeps.UnitResult) error {
			units[u.ID.Fold] = r
			return nil
		},
	}
	if part.Report != nil {
		p.partEvery = part.Every
		p.part = func(j job, is []int, pt engine.EpochPart) {
			mu.Lock()
			defer mu.Unlock()
			for _, i := range is {
				part.Report(j[i].ID.Fold, pt)
			}
		}
	}
	if err := p.run(ctx, fit.jobs(sweeps.Plan(h, []study.Point{pt}), workers)); err != nil {
		return sweeps.ConfigResult{}, err
	}
	c := sweeps.Summarize(pt, units)
	c.Rank = 1
	return c, nil
}
