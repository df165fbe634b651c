// Package scheduler trains a study's work units, (configuration, fold)
// pairs, on a pool of workers and commits each finished unit to the store,
// so that a study resumes after any stop. RunStudy runs a cross-validated
// study; Run runs any plan of units with its own train-and-score function
// (the depth study's, for one); CrossValidate trains one configuration on
// every fold without storing anything (mlpsweep train --folds).
package scheduler

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync"
	"time"

	"github.com/mlpsweep/mlpsweep/datasets"
	"github.com/mlpsweep/mlpsweep/engine"
	"github.com/mlpsweep/mlpsweep/sweeps"
	"github.com/mlpsweep/mlpsweep/sweeps/prune"
	"github.com/mlpsweep/mlpsweep/sweeps/store"
	"github.com/mlpsweep/mlpsweep/sweeps/study"
)

// ErrInterrupted is returned (wrapped) by Run when its context is cancelled:
// finished units are stored, units in flight are not, and running the same
// study again resumes.
var ErrInterrupted = errors.New("interrupted")

// Options control Run.
type Options struct {
	Dir     string // output directory holding mlpsweep.db (created if needed); Run holds its lock (store.ErrLocked when another run does)
	Workers int    // units trained at once, and cores used; 0 means runtime.NumCPU()
	Curves  bool   // also score the held-out fold after every epoch (learning curves; ~15% slower)
	Shard   Shard  // when set, run only this shard of the units (AssignShards) and report only them

	// StrictEngine reuses only units stored under this run's engine
	// identity (sweeps.EngineID: engine version and ISA path), so results
	// are bit-identical to a run on this kind of machine; otherwise units
	// of the same engine version from hosts with another ISA path are
	// reused too, and the results note it (see store.Store.Find).
	StrictEngine bool

	// Store, if set, is the store to use instead of the one in Dir
	// (see store.Open); the caller opens and closes it.
	Store store.Store

	// GroupColumns caps the first-layer columns of a fused group of a
	// study's units (RunStudy with Study.Fuse); 0 takes the kernels'
	// per-CPU table's width or, for a CPU the table does not know,
	// measures the fastest width at the start of the run (about 0.2 s;
	// see calibrate); MeasureGroupColumns measures it in any case.
	GroupColumns int

	// Progress, if set, is called on every event, one call at a time.
	Progress func(Event)
	// PartEvery > 0 adds InEpoch events: each job partway through an
	// epoch reports at most once per PartEvery of wall time (a long
	// epoch's progress). 0: none.
	PartEvery time.Duration

	runStarted time.Time // RunSearch's start, which each batch's Run records (sweeps.Header.Started); zero: Run's
	runBefore  int       // units RunSearch's earlier batches trained, which its run record counts as run, not reused
}

// EventKind says what an Event reports.
type EventKind int

const (
	Planned   EventKind = iota // the units are known: Status.UnitsTotal, UnitsReused, UnitsToRun
	UnitStart                  // a unit started (Point, Fold, Threads)
	EpochDone                  // a unit finished an epoch (Point, Fold, Epoch)
	UnitDone                   // a unit's result is stored (Point, Fold, Unit)
	Decided                    // a pruner decided (Decisions: the new ones, in the order made)
	InEpoch                    // a job is partway through an epoch (Part; Options.PartEvery): Status.WorkDone counts the part done
)

// Event is one progress report of Run.
type Event struct {
	Kind      EventKind
	Point     *study.Point // the unit's configuration (the first point with its key)
	Fold      int
	Threads   int               // UnitStart: GEMM threads the unit uses
	Epoch     engine.EpochStats // EpochDone
	Part      engine.EpochPart  // InEpoch: how far the job's epoch is (Point and Fold: its first unit's)
	Unit      sweeps.UnitResult // UnitDone
	Decisions []sweeps.Decision // Decided
	Status    Status
}

// Status counts a run's progress at the time of an event.
type Status struct {
	UnitsTotal   int            // distinct units of the study
	UnitsReused  int            // found finished in the store
	UnitsToRun   int            // to train in this run
	UnitsDone    int            // trained and stored by this run
	UnitsRunning int            // in flight
	WorkFull     int64          // training work of the units to run, each trained every epoch: Σ epochs × Plan.EpochWork
	WorkToRun    int64          // of which this run is expected to do, as Forecast says: less when units diverge or a pruner stops them
	WorkLeast    int64          // bounds on WorkToRun: with Forecast prune.Bounded, WorkToRun is WorkMost
	WorkMost     int64          //
	Forecast     prune.Forecast // how WorkToRun is known: prune.Schedule (every epoch, or sha's and hyperband's rung schedule over configurations of one size), prune.Expected (asha, sha's and hyperband's over configurations of different sizes: prune.Outlook.OfWork; a sampler's batches to come) or prune.Bounded (median)
	WorkDone     int64          // training work done by this run (abandoned units included; epochs in flight by their part done, see InEpoch), for ETAs
	Warmup       time.Duration  // of Elapsed, the warm-up before the run's first steps (sweeps.Clock, from InEpoch reports): an ETA leaves it out
	Timed        bool           // a rate past the warm-up is known (an epoch ended, or an InEpoch report after a first step): before, an ETA would extrapolate a first step
	Samples      int64          // training samples processed by this run (epochs in flight by their part done)
	GroupColumns int            // a fused run's cap on a group's first-layer columns; 0: every unit trains alone
	GroupWidth   string         // how GroupColumns was chosen: "given" (Options.GroupColumns), "table" (the kernels' per-CPU table), "tuned" (mlpsweep tune's file) or "measured"
	Elapsed      time.Duration  // since the run started
}

// Plan is what Run trains: a study's header and points, the order of its
// units, how to train one, and what an epoch of one costs.
type Plan struct {
	Header sweeps.Header
	Points []study.Point
	Units  []sweeps.Unit // every unit of the study, in the order to train them
	Train  TrainFunc
	// EpochWork is the work of one epoch of a unit for progress and ETAs:
	// its training FLOPs (EpochFLOPs) plus EpochEval's, the forward FLOPs
	// of the held-out rows scored after it (ScoringFLOPs; nil: none
	// scored, see sweeps.EpochWork); EpochRows is its training rows.
	EpochWork func(sweeps.Unit) int64
	EpochEval func(sweeps.Unit) int64
	EpochRows func(sweeps.Unit) int
	// UnitEval is the work of scoring a unit's held-out rows once after
	// its last epoch, when they are not scored after each (ScoredWork);
	// nil: none counted.
	UnitEval func(sweeps.Unit) int64
	// RowFLOPs is the GEMM work of training a unit on one row, for the
	// achieved rate (see TrainingFLOPsPerRow).
	RowFLOPs func(sweeps.Unit) float64
	// Batch is a sampled study's batch of each configuration (by key),
	// each judged apart by the pruner (prune.New); nil: one batch.
	Batch map[string]int

	folds  *foldFit      // RunStudy's: trains the units in jobs of fused groups (group.go) instead of Train
	pruner *study.Pruner // RunStudy's study's pruner: the units train in stages (prune.go); nil: none
}

// RunStudy trains every unit of study s on data (KFold cross-validation)
// that the store in opt.Dir does not already hold, storing each as it
// finishes, and returns the study's results. Configurations that appear on
// several axes train once. Each unit's seed comes from sweeps.UnitSeed, so
// results do not depend on the worker count or order. When ctx is
// cancelled, RunStudy returns what is finished and an error wrapping
// ErrInterrupted.
//
// Every unit of fold f trains in the batch order of sweeps.ShuffleSeed(study
// seed, f). With s.Fuse, the units of a fold that share the batch size and
// the epoch count train fused, a few at a time, as the members of an
// engine.Group (see foldFit.jobs); without, each alone. The numbers are
// the same, bit for bit. With s.Pruner, the units train in stages, rung by
// rung, and the pruner stops configurations early (see prune.go); the
// result's Decisions say why.
func RunStudy(ctx context.Context, s *study.Study, data *datasets.Dataset, opt Options) (sweeps.StudyResult, error) {
	return runStudy(ctx, s, data, opt, nil)
}

// runStudy is RunStudy, the configurations of s in batches (by key; nil:
// one) that its pruner judges apart (RunSearch's).
func runStudy(ctx context.Context, s *study.Study, data *datasets.Dataset, opt Options, batch map[string]int) (sweeps.StudyResult, error) {
	plan, err := StudyPlan(s, data, opt.Curves)
	if err != nil {
		return sweeps.StudyResult{}, err
	}
	plan.folds.maxColumns, plan.Batch = opt.GroupColumns, batch
	return Run(ctx, plan, opt)
}

// Run trains every unit of plan that the store in opt.Dir does not already
// hold as done, storing each as it finishes, and returns the study's
// results: TotalSeconds is the wall time of every invocation of the
// study so far, this one's included, and Rate this invocation's. When ctx is cancelled, Run returns what is finished and an error
// wrapping ErrInterrupted.
func Run(ctx context.Context, plan Plan, opt Options) (sweeps.StudyResult, error) {
	started := time.Now()
	workers := opt.Workers
	if workers <= 0 {
		workers = runtime.NumCPU()
	}
	h := plan.Header
	if !opt.runStarted.IsZero() {
		h.Started = opt.runStarted.UnixNano()
	}
	all := plan.Units // a pruned study's shard follows the others' units in the store
	if plan.pruner != nil && opt.Shard.Sharded() {
		if plan.pruner.Kind == "asha" {
			return sweeps.StudyResult{}, fmt.Errorf("study %s: pruner asha %s", h.Name, ASHAShards)
		}
		if _, shared := opt.Store.(*store.Postgres); !shared {
			return sweeps.StudyResult{}, fmt.Errorf("study %s has a pruner, which decides over all its configurations at each rung: its shards must share one PostgreSQL store (--store URL), where each reads the others' scores", h.Name)
		}
	}
	if opt.Shard.Sharded() {
		if err := opt.Shard.check(); err != nil {
			return sweeps.StudyResult{}, err
		}
		plan.Units = AssignShards(plan.Units, plan.UnitWork, opt.Shard.Count)[opt.Shard.Index]
	}
	st := opt.Store
	if st == nil {
		sq, err := store.Open(ctx, opt.Dir)
		if err != nil {
			return sweeps.StudyResult{}, err
		}
		defer sq.Close()
		st = sq
	}
	if err := st.SaveStudy(h, plan.Points); err != nil {
		return sweeps.StudyResult{}, err
	}

	// Every unit, reused when stored as done (or, in a pruned study, as
	// pruned: its curve is what the pruner needs of it), by the rule
	// every reader of the store follows (sweeps.Reuse).
	results := map[sweeps.UnitID]sweeps.UnitResult{}
	var todo []sweeps.Unit
	var status Status
	reuse := sweeps.Reuse{Strict: opt.StrictEngine, Pruned: plan.pruner != nil, Study: h.Name}
	for _, u := range plan.Units {
		r, state, err := st.Find(u.ID, reuse)
		if err != nil {
			return sweeps.StudyResult{}, err
		}
		status.UnitsTotal++
		if state == "done" || state == "pruned" && plan.pruner != nil {
			r.Reused = true
			results[u.ID] = r
			status.UnitsReused++
			continue
		}
		todo = append(todo, u)
		status.WorkFull += plan.Work(u)
	}
	status.WorkToRun, status.WorkLeast, status.WorkMost = status.WorkFull, status.WorkFull, status.WorkFull
	status.UnitsToRun = len(todo)
	jobs := singles(todo)
	var fit groupFit
	if plan.folds != nil {
		fit, jobs = plan.folds.fit, plan.folds.jobs(todo, workers)
		if plan.folds.fuse {
			status.GroupColumns, status.GroupWidth = plan.folds.maxColumns, plan.folds.widthFrom
		}
	}

	var flops float64                       // training GEMM work done by this run
	var epochErr error                      // the first failure to store an epoch's scores
	startedAt := map[sweeps.UnitID]int64{}  // when each unit this run trains started (unix ns)
	inEpoch := map[sweeps.UnitID][2]int64{} // the work and samples of each unit's epoch in flight done so far, counted in status
	settled := false                        // an epoch finished: later InEpoch reports are past the warm-up (Status.Timed)
	clock := sweeps.NewClock(started)       // Status.Warmup's
	var mu sync.Mutex                       // guards results, status, flops, epochErr, settled, clock and Progress calls
	report := func(e Event) {
		e.Status = status
		e.Status.Elapsed = time.Since(started)
		if opt.Progress != nil {
			opt.Progress(e)
		}
	}
	planned := false // a pruned study is planned once its pruner's outlook is known (forecast)
	if plan.pruner == nil {
		planned = true
		report(Event{Kind: Planned})
	}
	p := &pool{
		workers: workers, train: plan.Train, fit: fit,
		start: func(u sweeps.Unit, threads int) error {
			at := time.Now().UnixNano()
			if err := st.MarkRunning(u.ID, h.Name, threads); err != nil {
				return err
			}
			mu.Lock()
			defer mu.Unlock()
			startedAt[u.ID] = at
			status.UnitsRunning++
			report(Event{Kind: UnitStart, Point: u.Point, Fold: u.ID.Fold, Threads: threads})
			return nil
		},
		epoch: func(u sweeps.Unit, e engine.EpochStats) {
			// Stored as the epoch finishes (held-out figures with Curves);
			// a failure to store stops the run at the unit's end (done).
			err := st.SaveEpoch(u.ID, h.Name, e)
			mu.Lock()
			defer mu.Unlock()
			if err != nil && epochErr == nil {
				epochErr = err
			}
			part := inEpoch[u.ID]
			delete(inEpoch, u.ID)
			settled, status.Timed = true, true
			status.WorkDone += plan.EpochWork(u) - part[0]
			status.Samples += int64(plan.EpochRows(u)) - part[1]
			report(Event{Kind: EpochDone, Point: u.Point, Fold: u.ID.Fold, Epoch: e})
		},
		done: func(u sweeps.Unit, r sweeps.UnitResult) error {
			if plan.RowFLOPs != nil {
				r.GFLOP = float64(r.Samples) * plan.RowFLOPs(u) / 1e9
			}
			mu.Lock()
			r.Started = startedAt[u.ID]
			mu.Unlock()
			r.Finished = time.Now().UnixNano()
			if err := st.SaveUnit(u.ID, h.Name, r); err != nil {
				return err
			}
			mu.Lock()
			defer mu.Unlock()
			if epochErr != nil {
				return epochErr
			}
			results[u.ID] = r
			delete(inEpoch, u.ID) // the part of an epoch it diverged in stays done
			flops += r.GFLOP * 1e9
			status.WorkDone += plan.unitEval(u) // its final scoring, counted in WorkToRun as it ends
			status.UnitsRunning--
			status.UnitsDone++
			if plan.pruner == nil { // a unit that diverged or failed stopped short (a pruned study's forecast counts them)
				lost := int64(u.Point.Params.Epochs()-len(r.Epochs)) * plan.EpochWork(u)
				status.WorkToRun, status.WorkLeast, status.WorkMost = status.WorkToRun-lost, status.WorkLeast-lost, status.WorkMost-lost
			}
			report(Event{Kind: UnitDone, Point: u.Point, Fold: u.ID.Fold, Unit: r})
			return nil
		},
		forecast: func(f prune.Forecast, epochs func(sweeps.Unit) [3]float64) {
			var w [3]float64 // least, expected, most
			for _, u := range todo {
				e, work := epochs(u), float64(plan.EpochWork(u))
				for i := range w {
					w[i] += e[i] * work
				}
			}
			mu.Lock()
			defer mu.Unlock()
			status.Forecast = f
			status.WorkLeast, status.WorkToRun, status.WorkMost = int64(math.Round(w[0])), int64(math.Round(w[1])), int64(math.Round(w[2]))
			if !planned {
				planned = true
				report(Event{Kind: Planned})
			}
		},
	}
	if opt.PartEvery > 0 {
		p.partEvery = opt.PartEvery
		p.part = func(j job, is []int, part engine.EpochPart) {
			if len(is) == 0 {
				return
			}
			at := time.Now()
			mu.Lock()
			defer mu.Unlock()
			clock.Part(at, part, !settled)
			status.Warmup = clock.Warmup()
			_, status.Timed = clock.Elapsed(at)
			status.Timed = status.Timed || settled
			for _, i := range is {
				u := j[i]
				f, was := part.Fraction(), inEpoch[u.ID]
				now := [2]int64{int64(plan.epochWork(u).Done(f)), int64(f * float64(plan.EpochRows(u)))}
				status.WorkDone += now[0] - was[0]
				status.Samples += now[1] - was[1]
				inEpoch[u.ID] = now
			}
			u := j[is[0]]
			report(Event{Kind: InEpoch, Point: u.Point, Fold: u.ID.Fold, Part: part})
		}
	}
	var runErr error
	var decisions []sweeps.Decision
	if plan.pruner != nil {
		stored := map[sweeps.UnitID]sweeps.UnitResult{}
		for id, r := range results {
			stored[id] = r
		}
		// A run's first save replaces what the store holds (its list is
		// the study's whole: replayed from the scores, or ASHA's taken
		// back, and writes only what differs); the later ones append
		// their new decisions.
		replaced := false
		save := func(ds, news []sweeps.Decision) error {
			decisions = ds
			write := st.AppendDecisions
			if !replaced {
				write = st.ReplaceDecisions
			}
			if err := write(h.Name, ds); err != nil {
				return err
			}
			replaced = true
			if len(news) > 0 {
				mu.Lock()
				defer mu.Unlock()
				report(Event{Kind: Decided, Decisions: news})
			}
			return nil
		}
		var mine map[sweeps.UnitID]bool // a shard's units; nil: every unit
		if opt.Shard.Sharded() {
			mine = map[sweeps.UnitID]bool{}
			for _, u := range plan.Units {
				mine[u.ID] = true
			}
		}
		runErr = plan.folds.prunedRun(ctx, p, *plan.pruner, plan.Batch, h, all, mine, st, stored, workers, save)
	} else {
		runErr = p.run(ctx, jobs)
	}
	wall := time.Since(started).Seconds()

	mu.Lock()
	defer mu.Unlock()
	h.WallSeconds, h.UnitsRun, h.UnitsReused = wall, status.UnitsDone, status.UnitsReused
	r := sweeps.Assemble(h, plan.Points, results, decisions)
	if opt.Shard.Sharded() {
		r.UnitsTotal = status.UnitsTotal // the shard's units: its report covers its slice
	}
	if flops > 0 {
		r.Rate = sweeps.NewRate(flops, wall, min(workers, max(1, len(todo))))
	}
	trained := wall
	if status.UnitsDone == 0 && status.WorkDone == 0 {
		trained = 0 // the study's time is unchanged by a rerun that trains nothing (one stopped mid-stage trained, though it stored no unit)
	}
	done, reused := status.UnitsDone+opt.runBefore, max(0, status.UnitsReused-opt.runBefore)
	rec := sweeps.LocalRun(trained, done, reused)
	if opt.Shard.Sharded() {
		rec = sweeps.ShardRun(opt.Shard.Index, opt.Shard.Count, trained, done, reused)
	}
	r.Runs = []sweeps.RunRecord{rec}
	if err := st.FinishRun(h.Name, rec); err != nil && runErr == nil {
		runErr = err
	}
	// The study's time is every invocation's, as the store adds them up
	// (the report reads the same), not this one's alone.
	if stored, _, err := st.Study(context.WithoutCancel(ctx), h.Name); err == nil {
		r.TotalSeconds = stored.WallSeconds
	} else if runErr == nil {
		runErr = err
	}
	if runErr != nil && ctx.Err() != nil {
		return r, fmt.Errorf("%w after %d of %d units (%d in flight abandoned); run the same command again to resume: %w",
			ErrInterrupted, status.UnitsDone+status.UnitsReused, status.UnitsTotal, status.UnitsRunning, ctx.Err())
	}
	return r, runErr
}

// Work is the work of unit u trained through all its epochs as plan
// trains it: each epoch's (EpochWork, with the held-out rows scored after
// it with curves or a pruner) and, without curves, the scoring once at
// its end (UnitEval): the one rule of a unit's work for progress, ETAs
// and the queue's jobs (their FLOPs, which its progress and the workers'
// timeouts read). Shards balance UnitWork instead.
func (plan Plan) Work(u sweeps.Unit) int64 {
	return int64(u.Point.Params.Epochs())*plan.EpochWork(u) + plan.unitEval(u)
}

// unitEval is u's UnitEval, 0 without one.
func (plan Plan) unitEval(u sweeps.Unit) int64 {
	if plan.UnitEval == nil {
		return 0
	}
	return plan.UnitEval(u)
}

// epochWork is u's EpochWork with its scoring apart.
func (plan Plan) epochWork(u sweeps.Unit) sweeps.EpochWork {
	var eval int64
	if plan.EpochEval != nil {
		eval = plan.EpochEval(u)
	}
	return sweeps.EpochWork{Train: float64(plan.EpochWork(u) - eval), Eval: float64(eval)}
}

// EpochFLOPs is the training work of an epoch on rows rows of a network
// with the given hidden widths (rows × TrainingFLOPsPerRow): the one
// weight of work, for every ETA (with the held-out scoring after each
// epoch, ScoringFLOPs: EpochWorkOf, Plan.EpochWork) and rate (sweep's,
// the queue's, and serve's, which reads it back from the units' GFLOP)
// and every balance of work (jobs between workers, shards, a fused
// group's time among its members). A 512-256-128 unit weighs about 6.3
// times a 128 one.
func EpochFLOPs(hidden []int, features, classes, rows int) int64 {
	return int64(rows) * int64(TrainingFLOPsPerRow(hidden, features, classes))
}

// TrainingFLOPsPerRow is the GEMM work of one training row: each Dense
// layer's forward product and weight gradient (2 FLOPs per multiply-add
// each), and the input gradient of every layer but the first.
func TrainingFLOPsPerRow(hidden []int, features, classes int) float64 {
	first := features * classes
	if len(hidden) > 0 {
		first = features * hidden[0]
	}
	return float64(6*macsPerRow(hidden, features, classes) - 2*int64(first))
}

// EpochWorkOf is the work of an epoch of a network with the given hidden
// widths that trains on rows rows and then scores scored held-out rows
// (0: none), for ETAs.
func EpochWorkOf(hidden []int, features, classes, rows, scored int) sweeps.EpochWork {
	return sweeps.EpochWork{Train: float64(EpochFLOPs(hidden, features, classes, rows)), Eval: float64(ScoringFLOPs(hidden, features, classes, scored))}
}

// ScoredWork is the work of a unit of a network with the given hidden
// widths that trains on rows rows and scores scored held-out rows, for
// ETAs (the CLI's Plan and serve's list): each epoch's (EpochWorkOf, with
// the scoring after it when curves is set) and, without curves, the one
// scoring after its last epoch (final; 0 with curves, whose last epoch's
// scores are the unit's).
func ScoredWork(hidden []int, features, classes, rows, scored int, curves bool) (epoch sweeps.EpochWork, final float64) {
	if curves {
		return EpochWorkOf(hidden, features, classes, rows, scored), 0
	}
	return EpochWorkOf(hidden, features, classes, rows, 0), float64(ScoringFLOPs(hidden, features, classes, scored))
}

// ScoringFLOPs is the GEMM work of scoring rows rows with a network of
// the given hidden widths: each Dense layer's forward product.
func ScoringFLOPs(hidden []int, features, classes, rows int) int64 {
	return int64(rows) * 2 * macsPerRow(hidden, features, classes)
}

// macsPerRow is the multiply-adds of the Dense layers of a network with
// the given hidden widths for one row.
func macsPerRow(hidden []int, features, classes int) int64 {
	var macs int64
	in := features
	for _, h := range hidden {
		macs += int64(in) * int64(h)
		in = h
	}
	return macs + int64(in)*int64(classes)
}
