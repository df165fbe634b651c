package sweeps

import (
	"context"
	"fmt"
	"sync"

	"github.com/mlpsweep/mlpsweep/datasets"
	"github.com/mlpsweep/mlpsweep/engine"
)

// CrossValidate trains cfg on every fold of data, workers folds at a time,
// and scores each on its held-out rows. Each fold's unit seed is
// UnitSeed(seed, ConfigKey(cfg), fold), as in a sweep with study seed seed,
// so `mlpsweep train --folds K` and a sweep report the same numbers for the
// same config, split and data. onEpoch (if set) is called one call at a time,
// after the held-out rows are scored for that epoch (as Keras's fit with
// validation data does; the final results do not change).
// Nothing is stored. A cancelled ctx returns ctx.Err().
func CrossValidate(ctx context.Context, data *datasets.Dataset, cfg engine.Config, folds []datasets.Fold,
	seed int64, workers int, onEpoch func(fold int, s engine.EpochStats)) (ConfigResult, error) {
	n, err := cfg.Normalize()
	if err != nil {
		return ConfigResult{}, err
	}
	n.Seed = 0
	if len(folds) == 0 {
		return ConfigResult{}, fmt.Errorf("cross-validation: no folds")
	}
	pt := Point{Config: n, Key: ConfigKey(n)}
	var jobs []job
	for f := range folds {
		id := unitID{Key: pt.Key, Fold: f, Seed: UnitSeed(seed, pt.Key, f), Engine: engineID()}
		jobs = append(jobs, job{id: id, cfg: configOf(pt, id), pt: &pt})
	}
	var mu sync.Mutex
	units := make([]UnitResult, len(folds))
	p := &pool{
		workers: max(1, workers), data: data, folds: folds, curves: onEpoch != nil,
		epoch: func(j job, s engine.EpochStats) {
			if onEpoch != nil {
				mu.Lock()
				defer mu.Unlock()
				onEpoch(j.id.Fold, s)
			}
		},
		done: func(j job, u UnitResult) error {
			units[j.id.Fold] = u
			return nil
		},
	}
	if err := p.run(ctx, jobs); err != nil {
		return ConfigResult{}, err
	}
	c := summarize(pt, units)
	c.Rank = 1
	return c, nil
}
