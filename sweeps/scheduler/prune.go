package scheduler

import (
	"context"
	"math"
	"sync"
	"time"

	"github.com/mlpsweep/mlpsweep/engine"
	"github.com/mlpsweep/mlpsweep/sweeps"
	"github.com/mlpsweep/mlpsweep/sweeps/prune"
	"github.com/mlpsweep/mlpsweep/sweeps/study"
)

// A pruned study (study.Pruner) trains in stages: each stage trains every
// configuration still in the running to its next rung (prune.Run.Targets),
// fused as any study is (the units of a fold that share the batch size and
// the stage's epochs form groups), then the pruner decides the rungs the
// stage completed. A configuration that goes on continues from its models
// as the stage left them, kept in memory, in groups formed anew (a
// member's numbers do not depend on its group, and every group of a fold
// draws the same batch order: engine.Group.Seek); one that stops is
// stored as pruned at the rung. So every unit's numbers are those of the
// same unit trained alone for as many epochs, whatever the workers and
// groups, and synchronous successive halving decides the same for any of
// them.
//
// A study stopped and run again (or killed) replays the pruner on the
// scores of the units found in the store (their learning curves) and
// trains what is missing; a unit that was in flight trains again from its
// first epoch, with the same numbers.

// unitRun is a unit of a pruned study: what this run trained of it, or
// what the store holds.
type unitRun struct {
	u      sweeps.Unit
	stored *sweeps.UnitResult // found finished in the store (done or pruned); nil: none

	model   *engine.Model       // in memory between stages; nil before its first stage and once finished
	epochs  []engine.EpochStats // this run's epochs, 1 … len
	stopped string              // why it trains no further: the engine rejected its configuration, or it diverged
	failed  bool                // the engine rejected its configuration
	diverge string              // where it diverged
	seconds float64
	trained bool // this run trained it (its result is this run's to store)
	done    bool // its result is stored (or it was found finished)
}

// curve is the held-out accuracies the unit has, per epoch: this run's,
// else the stored unit's when it scored every epoch; and whether it trains
// no further (diverged or rejected: its later epochs score NaN).
func (ur *unitRun) curve() ([]float64, bool) {
	epochs := ur.epochs
	if !ur.trained && ur.stored != nil {
		epochs = ur.stored.Epochs
		if ur.stored.Diverged || ur.stored.Failed() {
			return accuracies(epochs), true
		}
	}
	return accuracies(epochs), ur.stopped != ""
}

// accuracies are the held-out accuracies of epochs, up to the first not
// scored.
func accuracies(epochs []engine.EpochStats) []float64 {
	acc := make([]float64, 0, len(epochs))
	for _, e := range epochs {
		if math.IsNaN(e.ValAccuracy) {
			break
		}
		acc = append(acc, e.ValAccuracy)
	}
	return acc
}

// prunedRun trains a pruned study's units (all of them: those found in the
// store, stored, included) on p's workers, stage by stage, storing each
// unit as it finishes (p.done) and the pruner's decisions after each
// stage (save). It returns ctx's error or the first callback's.
func (f *foldFit) prunedRun(ctx context.Context, p *pool, pr study.Pruner, h sweeps.Header, units []sweeps.Unit,
	stored map[sweeps.UnitID]sweeps.UnitResult, workers int, save func([]sweeps.Decision) error) error {
	// The configurations, in study order, and their units.
	var keys []string
	byKey := map[string][]*unitRun{}
	for _, u := range units {
		k := u.ID.Key
		if byKey[k] == nil {
			keys = append(keys, k)
		}
		ur := &unitRun{u: u}
		if r, ok := stored[u.ID]; ok {
			ur.stored = &r
		}
		byKey[k] = append(byKey[k], ur)
	}
	run, err := prune.New(pr, h.Epochs, keys)
	if err != nil {
		return err
	}
	var mu sync.Mutex // guards started, and the unitRuns while a stage trains
	started := map[sweeps.UnitID]bool{}
	start, done := p.start, p.done
	p.start = func(u sweeps.Unit, threads int) error {
		mu.Lock()
		again := started[u.ID] // continued from an earlier stage
		started[u.ID] = true
		mu.Unlock()
		if again {
			return nil
		}
		return start(u, threads)
	}
	report := func(c int) {
		// The configuration's score at each epoch all its folds reached:
		// the mean of their held-out accuracies.
		var scores []float64
		n := h.Epochs
		curves := make([][]float64, 0, len(byKey[keys[c]]))
		for _, ur := range byKey[keys[c]] {
			acc, stopped := ur.curve()
			if !stopped {
				n = min(n, len(acc))
			}
			curves = append(curves, acc)
		}
		for e := range n {
			sum := 0.0
			for _, acc := range curves {
				if e < len(acc) {
					sum += acc[e]
				} else {
					sum = math.NaN()
				}
			}
			scores = append(scores, sum/float64(len(curves)))
		}
		run.Report(c, scores)
	}
	for c := range keys {
		report(c)
	}

	stageFit := func(target map[sweeps.UnitID]int, runs map[sweeps.UnitID]*unitRun) groupFit {
		return func(ctx context.Context, ws *workspace, units []sweeps.Unit, onEpoch func(int, engine.EpochStats), _ func(int, sweeps.UnitResult) error) error {
			return f.stage(ctx, ws, units, target, runs, &mu, onEpoch)
		}
	}
	for {
		ds := run.Decide()
		if len(ds) > 0 {
			if err := save(run.Decisions()); err != nil {
				return err
			}
		}
		// The units of configurations decided are finished: stored.
		for c, k := range keys {
			state, _ := run.State(c)
			if state == prune.Live {
				continue
			}
			for _, ur := range byKey[k] {
				if ur.done || !ur.trained {
					continue
				}
				ur.done = true
				r := f.unitResult(ur, state == prune.Pruned)
				ur.model = nil
				if err := done(ur.u, p.finish(ur.u, r)); err != nil {
					return err
				}
			}
		}
		targets := run.Targets()
		if targets == nil {
			return nil
		}
		// The stage: every unit of a configuration with a target, short of
		// it, from the epochs it trained (0 for a unit the store had, or
		// one a stopped run left in flight).
		target := map[sweeps.UnitID]int{}
		runs := map[sweeps.UnitID]*unitRun{}
		buckets := map[[2]int][]sweeps.Unit{}
		var order [][2]int
		for c, k := range keys {
			if targets[c] == 0 {
				continue
			}
			for _, ur := range byKey[k] {
				acc, stopped := ur.curve()
				if stopped || len(acc) >= targets[c] {
					continue
				}
				if !ur.trained { // trained afresh: what the store had is replaced
					ur.trained, ur.epochs = true, nil
				}
				b := [2]int{len(ur.epochs), targets[c]}
				if buckets[b] == nil {
					order = append(order, b)
				}
				buckets[b] = append(buckets[b], ur.u)
				target[ur.u.ID], runs[ur.u.ID] = targets[c], ur
			}
		}
		var jobs []job
		for _, b := range order {
			jobs = append(jobs, f.jobs(buckets[b], workers)...)
		}
		p.fit = stageFit(target, runs)
		if err := p.run(ctx, jobs); err != nil {
			return err
		}
		for c := range keys {
			if targets[c] > 0 {
				report(c)
			}
		}
	}
}

// stage trains units (of one fold, batch size, epochs trained and target:
// prunedRun's buckets, grouped by jobs) from the epochs they trained to
// their target, fused or alone, continuing their models.
func (f *foldFit) stage(ctx context.Context, ws *workspace, units []sweeps.Unit, target map[sweeps.UnitID]int,
	runs map[sweeps.UnitID]*unitRun, mu *sync.Mutex, onEpoch func(int, engine.EpochStats)) error {
	fold := units[0].ID.Fold
	train, test := f.split(fold)
	shuffle := sweeps.ShuffleSeed(f.seed, fold)
	mu.Lock()
	ws.members, ws.unit = ws.members[:0], ws.unit[:0]
	var urs []*unitRun
	for i, u := range units {
		ur := runs[u.ID]
		if ur.model == nil {
			m, err := engine.New(u.Config(), f.data.Features, f.data.Classes, ws.kc)
			if err != nil {
				ur.stopped, ur.failed = err.Error(), true
				continue
			}
			ur.model = m
		}
		ur.model.SetContext(ws.kc)
		ws.members = append(ws.members, ur.model)
		ws.unit = append(ws.unit, i)
		urs = append(urs, ur)
	}
	mu.Unlock()
	if len(urs) == 0 {
		return nil
	}
	from, to := len(urs[0].epochs), target[units[0].ID]
	start := time.Now()
	shares := f.shares(units, ws.unit, from)
	hists, err := fused(ctx, ws, shuffle, train, &test, from, to, shares, onEpoch)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	mu.Lock()
	defer mu.Unlock()
	for k, ur := range urs {
		if err != nil { // invalid data: every member fails alike
			ur.stopped, ur.failed = err.Error(), true
			ur.seconds += time.Since(start).Seconds() * shares.part(k)
			continue
		}
		ur.epochs = append(ur.epochs, hists[k].Epochs...)
		ur.seconds += shares.seconds[k]
		if hists[k].Diverged {
			ur.stopped, ur.diverge = hists[k].Divergence, hists[k].Divergence
		}
	}
	return nil
}

// unitResult is a finished unit's result: its learning curve, scored on
// its last epoch (a diverged model evaluated as it stopped), pruned at its
// last epoch when the pruner stopped its configuration.
func (f *foldFit) unitResult(ur *unitRun, pruned bool) sweeps.UnitResult {
	r := sweeps.UnitResult{Epochs: []engine.EpochStats{}, Seconds: ur.seconds}
	if ur.failed {
		r.Error = ur.stopped
		return r
	}
	_, test := f.split(ur.u.ID.Fold)
	h := engine.History{Epochs: ur.epochs, Diverged: ur.diverge != "", Divergence: ur.diverge}
	score(&r, h, len(f.folds[ur.u.ID.Fold].Train), true, func() (float64, float64) { return ur.model.Evaluate(test) })
	if pruned && !r.Diverged {
		r.PrunedAt = len(r.Epochs)
	}
	return r
}
