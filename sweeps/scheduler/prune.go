package scheduler

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/mlpsweep/mlpsweep/engine"
	"github.com/mlpsweep/mlpsweep/sweeps"
	"github.com/mlpsweep/mlpsweep/sweeps/prune"
	"github.com/mlpsweep/mlpsweep/sweeps/store"
	"github.com/mlpsweep/mlpsweep/sweeps/study"
)

// A pruned study (study.Pruner) trains in stages (ASHA in one process
// without them, see asha): each stage trains every configuration still in
// the running to its next rung (prune.Run.Targets),
// fused as any study is (the units of a fold that share the batch size and
// the stage's epochs form groups), then the pruner decides the rungs the
// stage completed. A configuration that goes on continues from its models
// as the stage left them, kept in memory, in groups formed anew (a
// member's numbers do not depend on its group, and every group of a fold
// draws the same batch order: engine.Group.Seek); one that stops is
// stored as pruned at the rung. So every unit's numbers are those of the
// same unit trained alone for as many epochs, whatever the workers and
// groups, and synchronous successive halving decides the same for any of
// them. A sampled study's configurations come in batches (RunSearch,
// Plan.Batch) that the pruner judges apart.
//
// A study stopped and run again (or killed) replays the pruner on the
// scores of the units found in the store (their learning curves) and
// trains what is missing; a unit that was in flight trains again from its
// first epoch, with the same numbers. ASHA, whose decisions depend on the
// order configurations reached a rung, takes back the decisions the store
// holds instead (adopt) and judges only the configurations that arrive
// later.
//
// Shards of a pruned study share one PostgreSQL store: each trains its
// own units stage by stage and, before each decision, waits until the
// store holds every other unit's score at its target (written as each
// epoch finishes), so that every shard makes the same decisions (a
// pruner that decides the same from the same scores: not ASHA's).

// ASHAShards is why ASHA does not run in shards. Shards are alike and
// decide alone, each from the same scores; ASHA's decisions depend on the
// order configurations reach a rung, so shards would need one decider
// and one ordered log of decisions in the store, and would wait on each
// other mid-run (the folds of a configuration are in different shards):
// what queue mode's coordinator does (sweeps/queue), with River's
// claiming and rescue of a killed worker's jobs besides.
const ASHAShards = "decides in the order configurations reach each rung, which shards deciding alone cannot agree on: " +
	"run it on the queue (sweep --enqueue --wait with mlpsweep worker processes on the machines: one process decides), " +
	"or use sha or hyperband in shards"

// unitRun is a unit of a pruned study: what this run trained of it, or
// what the store holds.
type unitRun struct {
	u      sweeps.Unit
	stored *sweeps.UnitResult // found finished in the store (done or pruned); nil: none
	mine   bool               // this run trains it (not another shard)

	remote        []float64 // another shard's unit: its held-out accuracies as the store has them
	remoteStopped bool      // it trains no further (diverged, failed)

	model   *engine.Model       // in memory between stages; nil before its first stage and once finished
	epochs  []engine.EpochStats // this run's epochs, 1 … len
	stopped string              // why it trains no further: the engine rejected its configuration, or it diverged
	failed  bool                // the engine rejected its configuration
	diverge string              // where it diverged
	scored  [2]float64          // a diverged model's held-out loss and accuracy as it stopped
	seconds float64
	trained bool // this run trained it (its result is this run's to store)
	done    bool // its result is stored (or it was found finished)
}

// curve is the held-out accuracies the unit has, per epoch: this run's,
// else the stored unit's when it scored every epoch; and whether it trains
// no further (diverged or rejected: its later epochs score NaN).
func (ur *unitRun) curve() ([]float64, bool) {
	if !ur.mine {
		return ur.remote, ur.remoteStopped
	}
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
// store, stored, included; of a shard, those in mine, the others followed
// in st) on p's workers, stage by stage, storing each unit as it finishes
// (p.done) and the pruner's decisions after each stage, the first time
// even none (save: all of them, and the new ones that judged units this
// run trained, not only stored ones replayed); a sampled study's configurations come in batches
// (by key: Plan.Batch; nil: one), judged apart. It returns ctx's error or
// the first callback's.
func (f *foldFit) prunedRun(ctx context.Context, p *pool, pr study.Pruner, batch map[string]int, h sweeps.Header, units []sweeps.Unit, mine map[sweeps.UnitID]bool,
	st store.Store, stored map[sweeps.UnitID]sweeps.UnitResult, workers int, save func(all, news []sweeps.Decision) error) error {
	// The configurations, in study order, and their units.
	var keys []string
	byKey := map[string][]*unitRun{}
	config := map[string]int{} // key → index in keys
	unitOf := map[sweeps.UnitID]*unitRun{}
	for _, u := range units {
		k := u.ID.Key
		if byKey[k] == nil {
			config[k] = len(keys)
			keys = append(keys, k)
		}
		ur := &unitRun{u: u, mine: mine == nil || mine[u.ID]}
		if r, ok := stored[u.ID]; ok {
			ur.stored = &r
		}
		byKey[k] = append(byKey[k], ur)
		unitOf[u.ID] = ur
	}
	perRow := make([]float64, len(keys)) // each configuration's training FLOPs per row, for the forecast (prune.Outlook.OfWork)
	for _, u := range units {
		perRow[config[u.ID.Key]] = TrainingFLOPsPerRow(u.Point.Params.Hidden(), f.data.Features, f.data.Classes)
	}
	run, err := prune.New(pr, h.Epochs, keys, prune.Batches(keys, batch))
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
	reportFrom := func(c int, curve func(*unitRun) ([]float64, bool)) {
		// The configuration's score at each epoch all its folds reached:
		// the mean of their held-out accuracies.
		var curves [][]float64
		var stopped []bool
		for _, ur := range byKey[keys[c]] {
			acc, short := curve(ur)
			curves, stopped = append(curves, acc), append(stopped, short)
		}
		run.Report(c, prune.Scores(curves, stopped, h.Epochs))
	}
	report := func(c int) { reportFrom(c, (*unitRun).curve) }
	ashaHere := pr.Kind == "asha" && mine == nil
	if !ashaHere {
		for c := range keys {
			report(c)
		}
	}

	// finish stores the units this run trained of the configurations
	// decided, and those that stopped short (diverged or failed: other
	// shards waiting for their scores find them).
	finish := func() error {
		for c, k := range keys {
			state, _ := run.State(c)
			for _, ur := range byKey[k] {
				if ur.done || !ur.trained || state == prune.Live && ur.stopped == "" {
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
		return nil
	}
	// forecast tells p how far each unit of this run will train, from
	// the pruner's outlook (the units that stopped short: as far as they
	// did).
	forecast := func() {
		if p.forecast == nil {
			return
		}
		o := run.Outlook()
		p.forecast(o.OfWork(perRow), func(u sweeps.Unit) [3]float64 {
			ur, c := unitOf[u.ID], config[u.ID.Key]
			t := float64(len(ur.epochs))
			if ur.stopped != "" {
				return [3]float64{t, t, t}
			}
			return [3]float64{max(float64(o.Least[c]), t), max(o.Expect[c], t), max(float64(o.Most[c]), t)}
		})
	}
	saved := false // the first decide saves even none: the stored decisions of a run before are replaced by the replay's
	decide := func() error {
		ds := run.Decide()
		forecast()
		if len(ds) > 0 || !saved {
			saved = true
			var news []sweeps.Decision
			for _, d := range ds {
				if slices.ContainsFunc(byKey[d.Key], func(ur *unitRun) bool { return ur.trained }) {
					news = append(news, d)
				}
			}
			if err := save(run.Decisions(), news); err != nil {
				return err
			}
		}
		return finish()
	}
	// plan adds to target and runs the units of the configurations c
	// with targets[c] > 0 (and only(c)) short of it, from the epochs they
	// trained (0 for a unit the store had, or one a stopped run left in
	// flight), and returns their jobs: fused as any study's, by fold,
	// batch size, epochs trained and target. Called with mu held or
	// before any job runs.
	plan := func(targets []int, only func(c int) bool, target map[sweeps.UnitID]int, runs map[sweeps.UnitID]*unitRun) []job {
		buckets := map[[2]int][]sweeps.Unit{}
		var order [][2]int
		for c, k := range keys {
			if targets[c] == 0 || !only(c) {
				continue
			}
			for _, ur := range byKey[k] {
				acc, stopped := ur.curve()
				if !ur.mine || stopped || len(acc) >= targets[c] {
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
		return jobs
	}
	fitTo := func(target map[sweeps.UnitID]int, runs map[sweeps.UnitID]*unitRun) groupFit {
		return func(ctx context.Context, ws *workspace, units []sweeps.Unit, onEpoch func(int, engine.EpochStats), _ func(int, sweeps.UnitResult) error) error {
			return f.stage(ctx, ws, units, target, runs, &mu, onEpoch)
		}
	}
	all := func(int) bool { return true }

	if ashaHere {
		redo, err := adopt(ctx, st, h.Name, keys, byKey, run, reportFrom, save)
		if err != nil {
			return err
		}
		return f.asha(ctx, p, run, config, byKey, &mu, report, decide, plan, fitTo, redo)
	}
	for {
		if err := decide(); err != nil {
			return err
		}
		targets := run.Targets()
		if targets == nil {
			return nil
		}
		target, runs := map[sweeps.UnitID]int{}, map[sweeps.UnitID]*unitRun{}
		jobs := plan(targets, all, target, runs)
		p.fit = fitTo(target, runs)
		if err := p.run(ctx, jobs); err != nil {
			return err
		}
		if err := finish(); err != nil { // the units that stopped short
			return err
		}
		if mine != nil {
			if err := follow(ctx, st, h.Name, keys, byKey, targets); err != nil {
				return err
			}
		}
		for c := range keys {
			if targets[c] > 0 {
				report(c)
			}
		}
	}
}

// adopt has a restarted ASHA run in one process take back the decisions
// st holds for the study (prune.Run.Resume), as the queue's coordinator
// does, instead of replaying the pruner over the stored scores in study
// order: ASHA's decisions depend on the order configurations reached a
// rung, which this process does not know, and a user may have seen them.
// Only configurations that arrive later are judged anew. It reports every
// configuration's scores (report): the pruner needs them up to each
// configuration's last decision, so a unit the store does not hold
// finished (in flight at the stop: its model is lost, and it trains
// again from its first epoch) reports the held-out accuracies stored as
// its epochs finished, up to that decision, and one whose accuracies end
// before it stopped short there (diverged), as it had when judged. A unit
// the store holds pruned before that decision was stopped by another
// study (units are shared; this one judged it further): it counts as in
// flight, its stored curve being the same numbers. It
// saves the decisions back (save; none: the study starts afresh) and
// returns, per configuration, the rung to train again the units of a
// configuration stopped there that the store does not hold (the run
// stopped between storing the decision and its units), to store them
// pruned there; 0 for the others.
func adopt(ctx context.Context, st store.Store, study string, keys []string, byKey map[string][]*unitRun, run *prune.Run,
	report func(int, func(*unitRun) ([]float64, bool)), save func(all, news []sweeps.Decision) error) ([]int, error) {
	ds, err := st.Decisions(ctx, study)
	if err != nil {
		return nil, err
	}
	last := map[string]int{} // configuration → the epoch of its last decision
	for _, d := range ds {
		last[d.Key] = max(last[d.Key], d.Epoch)
	}
	type curve struct {
		acc   []float64
		short bool
	}
	adopted := map[*unitRun]curve{}
	if len(ds) > 0 {
		scores, err := st.EpochScores(ctx, study)
		if err != nil {
			return nil, err
		}
		acc := prune.Accuracies(scores)
		for k, e := range last {
			for _, ur := range byKey[k] {
				if ur.stored != nil && ur.stored.PrunedAt > 0 && ur.stored.PrunedAt < e {
					// Stored pruned before this study's last decision on
					// its configuration: another study stopped it (units
					// are shared), not this one, which judged it on
					// epochs it trained itself and has not stored. Its
					// stored curve up to its stop is the same numbers as
					// this study's; the stop is not this study's: it is
					// adopted as a unit in flight, and trains again (to
					// this study's rung if the study stopped it there,
					// further if it went on), stored at its end.
					ur.stored = nil
				}
				if ur.stored == nil {
					a := acc[prune.FoldKey{Key: k, Fold: ur.u.ID.Fold}]
					adopted[ur] = curve{a[:min(len(a), e)], len(a) < e}
				}
			}
		}
	}
	for c := range keys {
		report(c, func(ur *unitRun) ([]float64, bool) {
			if a, ok := adopted[ur]; ok {
				return a.acc, a.short
			}
			return ur.curve()
		})
	}
	if err := run.Resume(ds); err != nil {
		return nil, fmt.Errorf("study %s: %w", study, err)
	}
	if err := save(run.Decisions(), nil); err != nil {
		return nil, err
	}
	redo := make([]int, len(keys))
	for c, k := range keys {
		if state, _ := run.State(c); state == prune.Pruned && slices.ContainsFunc(byKey[k], func(ur *unitRun) bool { return ur.stored == nil }) {
			redo[c] = last[k]
		}
	}
	return redo, nil
}

// asha is prunedRun for ASHA in one process, without stages: as soon as
// every fold of a configuration reached its rung, the pruner judges it
// against those that reached the rung before it, and a configuration that
// goes on is queued for its next rung while the others still train (the
// pool's after); no worker waits for a rung to fill. The units of the
// configurations c with redo[c] > 0 (adopt's) train first, to that rung.
func (f *foldFit) asha(ctx context.Context, p *pool, run *prune.Run, config map[string]int, byKey map[string][]*unitRun, mu *sync.Mutex,
	report func(int), decide func() error,
	plan func([]int, func(int) bool, map[sweeps.UnitID]int, map[sweeps.UnitID]*unitRun) []job,
	fitTo func(map[sweeps.UnitID]int, map[sweeps.UnitID]*unitRun) groupFit, redo []int) error {
	if err := decide(); err != nil {
		return err
	}
	targets := run.Targets()
	if targets == nil && !slices.ContainsFunc(redo, func(e int) bool { return e > 0 }) {
		return nil
	}
	target, runs := map[sweeps.UnitID]int{}, map[sweeps.UnitID]*unitRun{}
	pending := map[int]int{} // configuration → its units queued or training
	queue := func(targets []int, only func(int) bool) []job {
		jobs := plan(targets, only, target, runs)
		for _, j := range jobs {
			for _, u := range j {
				pending[config[u.ID.Key]]++
			}
		}
		return jobs
	}
	all := func(int) bool { return true }
	jobs := queue(redo, all)
	if targets != nil {
		jobs = append(jobs, queue(targets, all)...)
	}
	p.fit = fitTo(target, runs)
	p.after = func(j job) ([]job, error) {
		mu.Lock()
		defer mu.Unlock()
		var arrived []int
		for _, u := range j {
			c := config[u.ID.Key]
			if pending[c]--; pending[c] == 0 {
				arrived = append(arrived, c)
			}
		}
		if len(arrived) == 0 {
			return nil, nil
		}
		for _, c := range arrived {
			report(c) // none of its units trains: their epochs are settled
		}
		if err := decide(); err != nil {
			return nil, err
		}
		targets := run.Targets()
		if targets == nil {
			return nil, nil
		}
		return queue(targets, func(c int) bool { return pending[c] == 0 }), nil
	}
	defer func() { p.after = nil }()
	return p.run(ctx, jobs)
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
			m, err := engine.NewNormalized(u.Normalized(), f.data.Features, f.data.Classes, ws.kc)
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
	var from, to int
	if len(urs) > 0 {
		from, to = len(urs[0].epochs), target[units[0].ID]
	}
	mu.Unlock()
	if len(urs) == 0 {
		return nil
	}
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
			// Scored now, on this worker's Context, which the model uses.
			ur.scored[0], ur.scored[1] = ur.model.Evaluate(test)
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
	h := engine.History{Epochs: ur.epochs, Diverged: ur.diverge != "", Divergence: ur.diverge}
	score(&r, h, len(f.folds[ur.u.ID.Fold].Train), true, func() (float64, float64) { return ur.scored[0], ur.scored[1] })
	if pruned && !r.Diverged {
		r.PrunedAt = len(r.Epochs)
	}
	return r
}

// followEvery is how often a shard of a pruned study reads the store for
// the other shards' scores while it waits for them.
const followEvery = 500 * time.Millisecond

// follow waits until st holds, for every unit of another shard whose
// configuration has a target, its held-out accuracy at every epoch up to
// the target, or its result when it stopped short (diverged, failed, or
// pruned before), and keeps them in the unitRuns.
func follow(ctx context.Context, st store.Store, study string, keys []string, byKey map[string][]*unitRun, targets []int) error {
	for {
		scores, err := st.EpochScores(ctx, study)
		if err != nil {
			return err
		}
		acc := prune.Accuracies(scores)
		waiting := 0
		for c, k := range keys {
			for _, ur := range byKey[k] {
				if ur.mine || targets[c] == 0 || ur.remoteStopped {
					continue
				}
				ur.remote = acc[prune.FoldKey{Key: k, Fold: ur.u.ID.Fold}]
				if len(ur.remote) >= targets[c] {
					continue
				}
				r, state, err := st.Find(ur.u.ID, sweeps.Reuse{Strict: true, Study: study})
				if err != nil {
					return err
				}
				if state != "" && (r.Diverged || r.Failed()) {
					ur.remote, ur.remoteStopped = accuracies(r.Epochs), true
					continue
				}
				waiting++
			}
		}
		if waiting == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(followEvery):
		}
	}
}
