package report

import (
	"math"

	"github.com/mlpsweep/mlpsweep/engine"
	"github.com/mlpsweep/mlpsweep/sweeps"
	"github.com/mlpsweep/mlpsweep/sweeps/study"
)

// fixtureUnit is one fold of a synthetic configuration.
type fixtureUnit struct {
	acc, valLoss float64
	diverged     bool
}

// fixtureConfig builds a sweeps.ConfigResult whose units end at the given
// accuracies, with 4-epoch learning curves leading there, and the summary
// fields filled as the aggregator does (population std over folds). A
// diverged unit stops after its first epoch.
func fixtureConfig(axis, value string, params engine.Config, units ...fixtureUnit) sweeps.ConfigResult {
	const epochs = 4
	p, err := study.NewParams(params)
	if err != nil {
		panic(err)
	}
	c := sweeps.ConfigResult{Axis: axis, Value: value, Key: p.Key(), Params: p}
	for f, fu := range units {
		u := sweeps.UnitResult{Fold: f, Accuracy: fu.acc, ValLoss: fu.valLoss, Seconds: float64(10 + f), Diverged: fu.diverged}
		run := epochs
		if fu.diverged {
			run = 1
			u.Error = "diverged at epoch 2, step 7"
		}
		for e := 1; e <= run; e++ {
			u.Epochs = append(u.Epochs, engine.EpochStats{
				Epoch: e, Loss: (1.1 - fu.acc) * 4 / float64(e), Accuracy: fu.acc - 0.01*float64(epochs-e),
				ValLoss: fu.valLoss + 0.05*float64(epochs-e), ValAccuracy: fu.acc - 0.02*float64(epochs-e),
				Seconds: u.Seconds / epochs, SamplesPerSecond: 1000,
			})
		}
		u.Samples = int64(1000 * run)
		c.Units = append(c.Units, u)
		c.FoldAccuracies = append(c.FoldAccuracies, fu.acc)
		c.MeanValLoss += fu.valLoss / float64(len(units))
		c.Seconds += u.Seconds
	}
	for _, a := range c.FoldAccuracies {
		c.MeanAccuracy += a / float64(len(units))
	}
	for _, a := range c.FoldAccuracies {
		c.StdAccuracy += (a - c.MeanAccuracy) * (a - c.MeanAccuracy) / float64(len(units))
	}
	c.StdAccuracy = math.Sqrt(c.StdAccuracy)
	return c
}

func withParams(edit func(*engine.Config)) engine.Config {
	c := engine.DefaultConfig()
	c.Epochs, c.Seed = 4, 7
	edit(&c)
	c, err := c.Normalize()
	if err != nil {
		panic(err)
	}
	return c
}

// axisStudy is 2 axes × 3 values × 3 folds, each config distinct (the lr
// axis has hidden [128], the hidden axis lr 0.001). Expected, by hand
// (population std):
//
//	lr 0.001:   0.95 0.96 0.97     → 0.9600 ± 0.0082
//	lr 0.01:    0.97 0.975 0.98    → 0.9750 ± 0.0041  best lr
//	lr 1:       0.90 0.10† 0.92    → 0.6400 ± 0.3819  († diverged, val loss +Inf)
//	hidden [64]:      0.96 0.962 0.964  → 0.9620 ± 0.0016
//	hidden [256]:     0.975 0.975 0.978 → 0.9760 ± 0.0014
//	hidden [256,128]: 0.98 0.981 0.985  → 0.9820 ± 0.0022  best hidden
func axisStudy() sweeps.StudyResult {
	lr := func(v float64) engine.Config { return withParams(func(c *engine.Config) { c.LR = v }) }
	hidden := func(h ...int) engine.Config { return withParams(func(c *engine.Config) { c.Hidden = h }) }
	r := sweeps.StudyResult{
		Name: "demo-axes", Folds: 3, Epochs: 4, Seed: 7,
		Configs: []sweeps.ConfigResult{
			fixtureConfig("lr", "0.001", lr(0.001), fixtureUnit{0.95, 0.20, false}, fixtureUnit{0.96, 0.15, false}, fixtureUnit{0.97, 0.10, false}),
			fixtureConfig("lr", "0.01", lr(0.01), fixtureUnit{0.97, 0.10, false}, fixtureUnit{0.975, 0.09, false}, fixtureUnit{0.98, 0.08, false}),
			fixtureConfig("lr", "1", lr(1), fixtureUnit{0.90, 0.40, false}, fixtureUnit{0.10, math.Inf(1), true}, fixtureUnit{0.92, 0.30, false}),
			fixtureConfig("hidden", "[64]", hidden(64), fixtureUnit{0.96, 0.13, false}, fixtureUnit{0.962, 0.12, false}, fixtureUnit{0.964, 0.11, false}),
			fixtureConfig("hidden", "[256]", hidden(256), fixtureUnit{0.975, 0.09, false}, fixtureUnit{0.975, 0.09, false}, fixtureUnit{0.978, 0.06, false}),
			fixtureConfig("hidden", "[256,128]", hidden(256, 128), fixtureUnit{0.98, 0.07, false}, fixtureUnit{0.981, 0.07, false}, fixtureUnit{0.985, 0.04, false}),
		},
		TotalSeconds: 125, UnitsTotal: 18, UnitsRun: 15, UnitsReused: 3,
	}
	return r
}

// gridStudy is lr × batch with 3 folds, no axes. By hand:
//
//	lr 0.01 batch 32:  0.97 0.97 0.97  → 0.9700 ± 0.0000 rank 2
//	lr 0.01 batch 128: 0.98 0.98 0.98  → 0.9800 ± 0.0000 rank 1
//	lr 0.1 batch 32:   0.97 0.97 0.97  → 0.9700 ± 0.0000 rank 2 (tie)
//	lr 0.1 batch 128:  0.95 0.96 (fold 2 missing) → 0.9550 ± 0.0050 rank 4
func gridStudy() sweeps.StudyResult {
	cfg := func(lr float64, batch int) engine.Config {
		return withParams(func(c *engine.Config) { c.LR, c.Batch = lr, batch })
	}
	return sweeps.StudyResult{
		Name: "demo-grid", Folds: 3, Epochs: 4, Seed: 7,
		Configs: []sweeps.ConfigResult{
			fixtureConfig("", "", cfg(0.01, 32), fixtureUnit{0.97, 0.1, false}, fixtureUnit{0.97, 0.1, false}, fixtureUnit{0.97, 0.1, false}),
			fixtureConfig("", "", cfg(0.01, 128), fixtureUnit{0.98, 0.08, false}, fixtureUnit{0.98, 0.08, false}, fixtureUnit{0.98, 0.08, false}),
			fixtureConfig("", "", cfg(0.1, 32), fixtureUnit{0.97, 0.12, false}, fixtureUnit{0.97, 0.12, false}, fixtureUnit{0.97, 0.12, false}),
			fixtureConfig("", "", cfg(0.1, 128), fixtureUnit{0.95, 0.2, false}, fixtureUnit{0.96, 0.18, false}),
		},
		TotalSeconds: 4000, UnitsTotal: 12, UnitsRun: 11,
	}
}
