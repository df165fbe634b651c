package queue

// A pruned study (study.Pruner) in queue mode: one coordinator, Prune,
// run by the process that enqueues and waits (sweep --enqueue --wait),
// and any number of workers. Synchronous successive halving (sha;
// hyperband and the median rule decide the same way) goes in stages;
// ASHA goes configuration by configuration, without stages.
//
// Each stage, the coordinator enqueues a job per fused group of the
// units to train from epoch From (the configuration's last rung) to To
// (its next target); the worker trains them (scheduler.TrainStage),
// stores every epoch's scores as it finishes and, in the transaction that
// records the unit (the last one completing the job), its training state
// at To (engine.Model.MemberState, in the store's mlpsweep_checkpoints:
// workers may be on other machines, a shared folder is not a given), or
// its result when it reached the last epoch or diverged. A job that runs
// again after a kill skips the units already checkpointed at To and
// continues the others from their checkpoint at From: nothing is trained
// twice past a checkpoint. When every unit of a stage is checkpointed (or
// finished), the coordinator reads the stage's scores from the store,
// decides the rungs completed (prune.Run, the one decision-maker of the
// local run, so the same scores give the same decisions, recorded once),
// stores the configurations it stops as pruned, and enqueues the next
// stage. A unit continued from its checkpoint in another group draws the
// batch order of one Fit (engine.Group.Seek), so its numbers are those of
// the local run bit for bit.
//
// ASHA (Li et al., MLSys 2020) has the same jobs and checkpoints but no
// stages: every configuration is enqueued to its first rung at once, and
// whenever all the units of one are at their target, the coordinator
// reports its scores to prune.Run, which judges it against those that
// reached the rung before it (the local run's ASHA), records the
// decision (rung, score, cutoff at the time) in the store, and, if it
// goes on, enqueues its next rung at once, ahead of the first rung's
// jobs (River priorities: the deeper a job's rung, the sooner it is
// taken), while the others still train. No job waits for a rung to fill.
// A coordinator started again takes the decisions the store holds
// (prune.Run.Resume), since ASHA's depend on the order configurations
// arrived.
//
// Why a coordinator rather than workers deciding: a synchronous rung
// decides once, when complete; one process that waits for it and decides
// needs no election (a session lock keeps it one: lockStudy), and the
// enqueuing process waits anyway. For
// ASHA, workers could decide in the transaction that records a
// configuration's last unit, but each decision reads every earlier one at
// its rung: the transactions would have to serialize on the study (a
// lock, or retries under SERIALIZABLE), every worker would hold the
// pruner's code and state, and a worker killed between its record and
// its decision would leave a configuration undecided for another process
// to find anyway. The coordinator's only cost is its polling interval
// (a fraction of a second against units that train for seconds), and
// its decisions are one process's sequence, stored in order.

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/mlpsweep/mlpsweep/engine"
	"github.com/mlpsweep/mlpsweep/sweeps"
	"github.com/mlpsweep/mlpsweep/sweeps/prune"
	"github.com/mlpsweep/mlpsweep/sweeps/scheduler"
	"github.com/mlpsweep/mlpsweep/sweeps/store"
	"github.com/mlpsweep/mlpsweep/sweeps/study"
)

// Prune runs plan's study, whose pruner is pr, on the queue's workers as
// the coordinator described above, looking at the store every every, and
// returns when every configuration is decided (its units done or pruned
// in the store). report, if set, gets a line per stage and rung decided
// (with asha, per decision) and, while a stage trains, as its units reach
// their rung, each with the time the study has left (", eta 1m30s", as a
// local run gives it: "~" for asha's expectation, a range for the median
// pruner's bounds).
func Prune(ctx context.Context, st *store.Postgres, plan scheduler.Plan, pr study.Pruner, src Source, opt EnqueueOptions,
	every time.Duration, report func(string)) error {
	return locked(ctx, st, plan.Header.Name, func() error {
		// The study's queue record counts as reused the units found
		// finished now, as Enqueue's does (--wait reads it).
		_, elsewhere, err := recordReused(ctx, st, plan, plan.Units, 0)
		if err != nil {
			return err
		}
		if note := retrainNote(plan.Header, elsewhere); note != "" && report != nil {
			report(note)
		}
		_, err = coordinate(ctx, st, plan, pr, src, opt, every, true, report)
		return err
	})
}

// recordReused records in plan's study's queue record, as reused, before
// and the units of units whose result the study takes is this engine's
// own, done or pruned (the coordinator's: its pruner reads their curves),
// and returns their sum, and how many of the others the study takes done
// under another ISA path of the engine's version, by engine: those the
// coordinator trains again (retrainNote). It chooses by the rule every
// reader follows (sweeps.Reuse, with a pruner), so that the report and
// status count as the coordinator does. A unit failed here is neither:
// the coordinator trains it no further.
func recordReused(ctx context.Context, st *store.Postgres, plan scheduler.Plan, units []sweeps.Unit, before int) (int, map[string]int, error) {
	ids := sweeps.UnitIDs(units)
	found, err := st.FindStates(ctx, ids, sweeps.Reuse{Pruned: true, Study: plan.Header.Name})
	if err != nil {
		return 0, nil, err
	}
	own, err := st.UnitStates(ctx, ids, plan.Header.Name)
	if err != nil {
		return 0, nil, err
	}
	n := before
	var elsewhere map[string]int
	for _, id := range ids {
		switch f, ok := found[id]; {
		case !ok:
		case f.Engine == id.Engine:
			if f.State == "done" || f.State == "pruned" {
				n++
			}
		case own[id] == "failed": // it trains no further
		default:
			if elsewhere == nil {
				elsewhere = map[string]int{}
			}
			elsewhere[f.Engine]++
		}
	}
	if err := st.SaveStudy(plan.Header, plan.Points); err != nil { // the record's study, before its first coordinator saves it
		return 0, nil, err
	}
	return n, elsewhere, st.FinishRun(plan.Header.Name, sweeps.QueueRun(0, 0, n))
}

// retrainNote says that the units done only under another ISA path
// (elsewhere, by engine) are trained again by h's engine's workers, and
// why; "" when there are none. A local pruned run reuses them, their
// curves feeding its pruner; the queue's coordinator reads curves and
// resumes promoted units from checkpoints of its own engine only.
func retrainNote(h sweeps.Header, elsewhere map[string]int) string {
	if len(elsewhere) == 0 {
		return ""
	}
	n, counts := 0, []string{}
	for _, e := range slices.Sorted(maps.Keys(elsewhere)) {
		n += elsewhere[e]
		counts = append(counts, fmt.Sprintf("%s: %d", e, elsewhere[e]))
	}
	return fmt.Sprintf("note: study %s: %d units done under another ISA path (%s) are trained again on the workers of %s: the queue's pruner decides from curves, "+
		"and resumes units from checkpoints, of one engine; a local pruned run (mlpsweep sweep --store, without --enqueue) reuses them", h.Name, n, strings.Join(counts, ", "), h.Engine)
}

// locked runs coordinate, the coordinator of study name (Prune's, or
// SearchPruned's batches), under the study's coordinator lock
// (lockStudy); an error after ctx ended is ErrInterrupted.
func locked(ctx context.Context, st *store.Postgres, name string, coordinate func() error) error {
	if err := Migrate(ctx, st.Pool()); err != nil {
		return err
	}
	unlock, err := lockStudy(ctx, st, name)
	if err != nil {
		return err
	}
	defer unlock()
	err = coordinate()
	if err != nil && ctx.Err() != nil && !errors.Is(err, ErrInterrupted) {
		return fmt.Errorf("%w: %w", ErrInterrupted, ctx.Err()) // started again, it goes on from the store
	}
	return err
}

// coordinate is Prune's coordinator of plan, its lines with the study's
// ETA when withETA; it returns the training work (FLOPs) its units
// trained while it ran (the epochs the pruner was told they reached,
// beyond those of the scores it found in the store), for SearchPruned's
// rate.
func coordinate(ctx context.Context, st *store.Postgres, plan scheduler.Plan, pr study.Pruner, src Source, opt EnqueueOptions,
	every time.Duration, withETA bool, report func(string)) (float64, error) {
	h := plan.Header
	if report == nil {
		report = func(string) {}
	}
	src, err := src.Absolute()
	if err != nil {
		return 0, err
	}
	if err := st.SaveStudy(h, plan.Points); err != nil {
		return 0, err
	}
	var keys []string
	byKey := map[string][]sweeps.Unit{} // the configuration's units, by fold
	for _, u := range plan.Units {
		if byKey[u.ID.Key] == nil {
			keys = append(keys, u.ID.Key)
		}
		byKey[u.ID.Key] = append(byKey[u.ID.Key], u)
	}
	run, err := prune.New(pr, h.Epochs, keys, prune.Batches(keys, plan.Batch)) // a sampler's batches (SearchPruned), judged apart
	if err != nil {
		return 0, err
	}
	client, err := river.NewClient(riverpgxv5.New(st.Pool()), &river.Config{})
	if err != nil {
		return 0, err
	}
	resc, err := newRescuer(st, client, "", 2*DefaultLivenessEvery, nil)
	if err != nil {
		return 0, err
	}
	c := &coordinator{st: st, plan: plan, src: src, opt: opt, run: run, keys: keys, byKey: byKey, client: client, resc: resc, stored: map[sweeps.UnitID]bool{},
		withETA: withETA, trained: map[sweeps.UnitID]int{}}
	if err := c.report(ctx, nil); err != nil { // a study started before: its scores so far
		return 0, err
	}
	c.noteReached()
	c.doneStart, _, _, _ = c.work(run.Outlook())
	c.started = time.Now()
	if pr.Kind == "asha" {
		rungs := prune.Rungs(pr.Eta, pr.MinEpochs, h.Epochs)
		c.priority = func(from int) int { // 4 (River's lowest) from scratch, 3 from the first rung, …
			passed := 0
			for passed < len(rungs) && rungs[passed] <= from {
				passed++
			}
			return max(1, 4-passed)
		}
		err = c.asynchronous(ctx, every, report)
	} else {
		err = c.stages(ctx, every, report)
	}
	done, _, _, _ := c.work(run.Outlook())
	return done - c.doneStart, err
}

// etaEvery is the least time between two progress lines of a stage.
const etaEvery = 5 * time.Second

// coordinatorLock is the first key of the advisory lock a coordinator
// holds on its study (the second: the hash of the study's name).
const coordinatorLock = 0x6d6c7063 // "mlpc"

// lockStudy takes the study's coordinator lock, a PostgreSQL session
// lock on a connection of its own, released by the function it returns
// or by the server when this process dies: one process decides a study's
// rungs, so each configuration is decided once even when sweep --enqueue
// --wait is started twice.
func lockStudy(ctx context.Context, st *store.Postgres, name string) (func(), error) {
	conn, err := st.Pool().Acquire(ctx)
	if err != nil {
		return nil, err
	}
	var ok bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1, hashtext($2))`, int32(coordinatorLock), name).Scan(&ok); err != nil || !ok {
		conn.Release()
		if err == nil {
			err = fmt.Errorf("study %s: another process decides its rungs (sweep --enqueue --wait, on this or another machine): follow it with mlpsweep status, or stop it and start this one again", name)
		}
		return nil, err
	}
	return func() {
		if _, err := conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1, hashtext($2))`, int32(coordinatorLock), name); err != nil {
			conn.Hijack().Close(context.WithoutCancel(ctx)) // the session ends, and its lock with it
			return
		}
		conn.Release()
	}, nil
}

// coordinator is Prune's state.
type coordinator struct {
	st     *store.Postgres
	plan   scheduler.Plan
	src    Source
	opt    EnqueueOptions
	run    *prune.Run
	keys   []string
	byKey  map[string][]sweeps.Unit
	client *river.Client[pgx.Tx]
	resc   *rescuer               // hands back dead workers' jobs, as the workers do
	stored map[sweeps.UnitID]bool // pruned units stored by this run
	saved  bool                   // this run stored its decisions once (see decide)
	// priority is the River priority of a job from epoch from (nil:
	// River's default): ASHA's deeper rungs go first.
	priority func(from int) int

	// For the ETA (on the lines when withETA) and the work trained: the
	// epochs each unit is known to have trained, and the FLOPs they held
	// when this coordinator started.
	withETA   bool
	trained   map[sweeps.UnitID]int
	doneStart float64
	started   time.Time
}

// noteReached records the epochs the pruner was told each configuration
// reached (report) as its units'.
func (c *coordinator) noteReached() {
	for ci, k := range c.keys {
		_, reached := c.run.State(ci)
		for _, u := range c.byKey[k] {
			c.trained[u.ID] = max(c.trained[u.ID], reached)
		}
	}
}

// eta is the time the study has left, ", eta 1m30s", at the rate the
// workers trained since this coordinator started (training FLOPs per
// second) for the work the pruner's outlook leaves: ", eta ~1m30s" for
// asha's expectation, ", eta 40s–1m30s" for the median pruner's bounds;
// "" before any work was seen, or without an ETA.
func (c *coordinator) eta() string {
	if !c.withETA {
		return ""
	}
	o := c.run.Outlook()
	done, least, expect, most := c.work(o)
	done -= c.doneStart
	if done <= 0 || most <= 0 {
		return ""
	}
	at := func(w float64) string {
		return sweeps.ETA(w, done, time.Since(c.started)).Round(time.Second).String()
	}
	work := make([]float64, len(c.keys)) // an epoch of each configuration, its folds together
	for ci, k := range c.keys {
		for _, u := range c.byKey[k] {
			work[ci] += float64(c.plan.EpochWork(u))
		}
	}
	f := o.OfWork(work)
	switch {
	case f == prune.Bounded && least < most:
		return ", eta " + at(least) + "–" + at(most)
	case f == prune.Expected:
		return ", eta ~" + at(expect)
	}
	return ", eta " + at(expect)
}

// work is the training FLOPs the units hold (trained) and, by the
// pruner's outlook o, have left at the least, expected and most.
func (c *coordinator) work(o prune.Outlook) (done, least, expect, most float64) {
	for ci, k := range c.keys {
		for _, u := range c.byKey[k] {
			w := float64(c.plan.EpochWork(u)) // an epoch's
			t := c.trained[u.ID]
			done += float64(t) * w
			least += float64(max(0, o.Least[ci]-t)) * w
			expect += max(0, o.Expect[ci]-float64(t)) * w
			most += float64(max(0, o.Most[ci]-t)) * w
		}
	}
	return done, least, expect, most
}

// stages is the coordinator's loop for the synchronous pruners: a stage
// trains every configuration with a target to it, then the rungs it
// completed decide.
func (c *coordinator) stages(ctx context.Context, every time.Duration, report func(string)) error {
	h, run := c.plan.Header, c.run
	for stage := 1; ; stage++ {
		ds, err := c.decide(ctx)
		if err != nil {
			return err
		}
		if len(ds) > 0 {
			promoted := 0
			for _, d := range ds {
				if d.Promoted {
					promoted++
				}
			}
			if stage == 1 { // the pruner replayed on the scores in the store (a study started before, or a sampler's earlier batches)
				report(fmt.Sprintf("study %s: %d decisions from the scores in the store so far (%d go on)", h.Name, len(ds), promoted))
			} else {
				report(fmt.Sprintf("study %s: rung at epoch %d decided: %d of %d configurations go on%s", h.Name, ds[0].Epoch, promoted, len(ds), c.eta()))
			}
		}
		targets := run.Targets()
		if targets == nil {
			return c.finish(ctx)
		}
		units, err := c.enqueue(ctx, targets)
		if err != nil {
			return err
		}
		report(fmt.Sprintf("study %s: stage %d: %d units to train on the workers%s", h.Name, stage, len(units), c.eta()))
		shown := time.Now()
		if err := c.wait(ctx, units, every, func(at int) {
			if c.withETA && at < len(units) && time.Since(shown) >= etaEvery {
				shown = time.Now()
				report(fmt.Sprintf("study %s: stage %d: %d of %d units at their rung%s", h.Name, stage, at, len(units), c.eta()))
			}
		}); err != nil {
			return err
		}
		if err := c.report(ctx, targets); err != nil {
			return err
		}
		c.noteReached()
	}
}

// asynchronous is the coordinator's loop for ASHA: each look at the store
// reports the configurations whose units all reached their target, and
// the pruner judges them in the order they came; the decisions are
// stored, and the configurations that go on are enqueued to their next
// rung at once.
func (c *coordinator) asynchronous(ctx context.Context, every time.Duration, report func(string)) error {
	h, run := c.plan.Header, c.run
	stored, err := c.st.Decisions(ctx, h.Name)
	if err != nil {
		return err
	}
	if err := run.Resume(stored); err != nil {
		return fmt.Errorf("study %s: %w", h.Name, err)
	}
	name := map[string]string{} // a configuration as the study writes it: "lr=0.01"
	for _, pt := range c.plan.Points {
		name[pt.Params.Key()] = pt.Value
	}
	enqueued := make([]int, len(c.keys)) // the target each configuration was enqueued to by this run
	idle := false                        // no job of the study was live at the last look
	for {
		ds, err := c.decide(ctx) // with those a coordinator stopped before storing them
		if err != nil {
			return err
		}
		for _, d := range ds {
			report(fmt.Sprintf("study %s: %s (%.8s) at epoch %d (rung %d): score %.4f, cutoff %.4f: %s%s", h.Name, cmp.Or(name[d.Key], "configuration"), d.Key, d.Epoch, d.Rung, d.Score, d.Cutoff, d.Verdict(), c.eta()))
		}
		targets := run.Targets()
		if targets == nil {
			return c.finish(ctx)
		}
		arrived, err := c.arrived(ctx, targets)
		if err != nil {
			return err
		}
		if arrived != nil {
			idle = false
			if err := c.report(ctx, arrived); err != nil {
				return err
			}
			c.noteReached()
			continue
		}
		next := make([]int, len(targets)) // the targets not enqueued yet
		n := 0
		for ci, to := range targets {
			if to > 0 && enqueued[ci] != to {
				next[ci], enqueued[ci] = to, to
				n++
			}
		}
		if n > 0 {
			units, err := c.enqueue(ctx, next)
			if err != nil {
				return err
			}
			report(fmt.Sprintf("study %s: %d configuration(s), %d units, to their next rung on the workers", h.Name, n, len(units)))
		}
		live, err := c.liveJobs(ctx)
		if err != nil {
			return err
		}
		if live == 0 {
			// Look again at once: the last job may have completed between the two reads.
			if idle {
				return fmt.Errorf("study %s: configurations wait for units that have no state at their rung and no job to train them (discarded after %d attempts: see mlpsweep status)", h.Name, MaxAttempts)
			}
			idle = true
			continue
		}
		idle = false
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: %w", ErrInterrupted, ctx.Err())
		case <-time.After(every):
		}
	}
}

// arrived returns the targets of the configurations (among those with
// one) whose every unit is at its target, checkpointed there or finished,
// and 0 for the others; nil when none is.
func (c *coordinator) arrived(ctx context.Context, targets []int) ([]int, error) {
	var units []stageUnit
	for ci, to := range targets {
		if to > 0 {
			for _, u := range c.byKey[c.keys[ci]] {
				units = append(units, stageUnit{u, to})
			}
		}
	}
	at, err := c.atTarget(ctx, units)
	if err != nil {
		return nil, err
	}
	var arrived []int
	for ci, to := range targets {
		if to == 0 || slices.ContainsFunc(c.byKey[c.keys[ci]], func(u sweeps.Unit) bool { return !at[u.ID] }) {
			continue
		}
		if arrived == nil {
			arrived = make([]int, len(targets))
		}
		arrived[ci] = to
	}
	return arrived, nil
}

// finish drops the units' training states, of no more use once every
// configuration is decided.
func (c *coordinator) finish(ctx context.Context) error {
	for _, u := range c.plan.Units {
		if err := c.st.DropCheckpoints(ctx, u.ID, 0); err != nil {
			return err
		}
	}
	return nil
}

// stageUnit is a unit a stage trains to epoch to.
type stageUnit struct {
	u  sweeps.Unit
	to int
}

// curves reads the held-out accuracies of the study's units from the
// store, per unit up to the first epoch not scored.
func (c *coordinator) curves(ctx context.Context) (map[[2]any][]float64, map[[2]any][]engine.EpochStats, error) {
	scores, err := c.st.EpochScores(ctx, c.plan.Header.Name)
	if err != nil {
		return nil, nil, err
	}
	acc := map[[2]any][]float64{}
	epochs := map[[2]any][]engine.EpochStats{}
	for _, e := range scores {
		k := [2]any{e.Key, e.Fold}
		if e.Epoch != len(epochs[k])+1 {
			continue
		}
		epochs[k] = append(epochs[k], engine.EpochStats{Epoch: e.Epoch, Loss: e.TrainLoss, Accuracy: e.TrainAccuracy, ValLoss: e.Loss, ValAccuracy: e.Accuracy, Seconds: e.Seconds})
		if len(acc[k]) == e.Epoch-1 && !math.IsNaN(e.Accuracy) {
			acc[k] = append(acc[k], e.Accuracy)
		}
	}
	return acc, epochs, nil
}

// report gives the pruner the scores of the configurations with a target
// (all when targets is nil) at every epoch all their folds reached: the
// mean over folds of the held-out accuracy, as the local run's.
func (c *coordinator) report(ctx context.Context, targets []int) error {
	acc, _, err := c.curves(ctx)
	if err != nil {
		return err
	}
	ids := sweeps.UnitIDs(c.plan.Units)
	states, err := c.st.UnitStates(ctx, ids, c.plan.Header.Name)
	if err != nil {
		return err
	}
	h := c.plan.Header
	for ci, k := range c.keys {
		if targets != nil && targets[ci] == 0 {
			continue
		}
		var curves [][]float64
		var stopped []bool
		for _, u := range c.byKey[k] {
			a := acc[[2]any{k, u.ID.Fold}]
			// A unit finished short of the last epoch diverged (or failed): its later epochs score NaN.
			s := states[u.ID]
			curves, stopped = append(curves, a), append(stopped, (s == "done" || s == "failed") && len(a) < h.Epochs)
		}
		c.run.Report(ci, prune.Scores(curves, stopped, h.Epochs))
	}
	return nil
}

// storePruned stores the units of the configurations the pruner stopped
// as pruned at their last epoch (their learning curves from the store),
// each with the machine of the worker that trained its last stage (the
// one that marked it running last), and drops their checkpoints. A unit
// another study stored pruned keeps that result when this study trained
// it no further; one this study trained past it is stored with the
// machine its mark names beside the other study's result
// (store.UnitMachine.Retrain).
func (c *coordinator) storePruned(ctx context.Context) error {
	var units []sweeps.Unit
	for ci, k := range c.keys {
		if s, _ := c.run.State(ci); s == prune.Pruned {
			units = append(units, slices.DeleteFunc(slices.Clone(c.byKey[k]), func(u sweeps.Unit) bool { return c.stored[u.ID] })...)
		}
	}
	if len(units) == 0 {
		return nil // the study's curves are not read for nothing
	}
	_, epochs, err := c.curves(ctx)
	if err != nil {
		return err
	}
	marks, err := c.st.UnitMachines(ctx, sweeps.UnitIDs(units), c.plan.Header.Name)
	if err != nil {
		return err
	}
	for _, u := range units {
		curve := epochs[[2]any{u.ID.Key, u.ID.Fold}]
		m := marks[u.ID]
		if m.State == "" || m.State == "running" || m.State == "pruned" && m.PrunedAt < len(curve) {
			r := c.plan.PrunedResult(u, curve)
			r.Fold, r.EngineVer, r.DataSHA256 = u.ID.Fold, u.ID.Engine, u.ID.Data
			if m.State != "pruned" || m.Retrain == c.plan.Header.Name {
				r.Machine = m.Machine
			}
			if err := c.st.SaveUnit(u.ID, c.plan.Header.Name, r); err != nil {
				return err
			}
		}
		if err := c.st.DropCheckpoints(ctx, u.ID, 0); err != nil {
			return err
		}
		c.stored[u.ID] = true
	}
	return nil
}

// decide has the pruner judge what the scores reported complete, and
// stores its decisions and the units of the configurations it stopped;
// it returns the decisions made.
func (c *coordinator) decide(ctx context.Context) ([]sweeps.Decision, error) {
	ds := c.run.Decide()
	if len(ds) > 0 || !c.saved {
		// The first save replaces what the store holds (the pruner
		// replayed the stored scores, or ASHA took back the stored
		// decisions, so its list is the study's whole), writing only what
		// differs; the later ones append the new decisions.
		write := c.st.AppendDecisions
		if !c.saved {
			write = c.st.ReplaceDecisions
		}
		if err := write(c.plan.Header.Name, c.run.Decisions()); err != nil {
			return nil, err
		}
		c.saved = true
	}
	return ds, c.storePruned(ctx)
}

// enqueue inserts the jobs that take each configuration with a target
// there, from its last rung, and returns its units. A unit already in a
// job of the study to that target (queued or running: enqueued by a
// coordinator that stopped) is not enqueued again.
func (c *coordinator) enqueue(ctx context.Context, targets []int) ([]stageUnit, error) {
	h := c.plan.Header
	ids := sweeps.UnitIDs(c.plan.Units)
	states, err := c.st.UnitStates(ctx, ids, c.plan.Header.Name)
	if err != nil {
		return nil, err
	}
	queued, err := c.queued(ctx)
	if err != nil {
		return nil, err
	}
	type bucket struct{ from, to int }
	buckets := map[bucket][]sweeps.Unit{}
	var order []bucket
	var all []stageUnit
	for ci, k := range c.keys {
		if targets[ci] == 0 {
			continue
		}
		// From its last rung, where its units' states are: not from the
		// epochs reported, which may run past it when this process
		// started again after a stage's worker was killed.
		from := 0
		for _, d := range c.run.Decisions() {
			if d.Key == k && d.Promoted {
				from = max(from, d.Epoch)
			}
		}
		b := bucket{from, targets[ci]}
		var elsewhere []sweeps.UnitID // stopped by another study (see elsewhere)
		for _, u := range c.byKey[k] {
			if s := states[u.ID]; s == "done" || s == "failed" { // diverged or rejected: trains no further
				continue
			} else if s == "pruned" && from > 0 {
				elsewhere = append(elsewhere, u.ID)
			}
		}
		restart, err := c.restart(ctx, elsewhere, from)
		if err != nil {
			return nil, err
		}
		for _, u := range c.byKey[k] {
			if s := states[u.ID]; s == "done" || s == "failed" {
				continue
			}
			all = append(all, stageUnit{u, b.to})
			if queued[stageKey{u.ID.Key, u.ID.Fold, b.to}] {
				continue
			}
			b := b
			if restart[u.ID] {
				b.from = 0
			}
			if buckets[b] == nil {
				order = append(order, b)
			}
			buckets[b] = append(buckets[b], u)
		}
	}
	var params []river.InsertManyParams
	for _, b := range order {
		opts := jobOpts(QueueName(h.Engine), MaxAttempts)
		if c.priority != nil {
			opts.Priority = c.priority(b.from)
		}
		groups, _ := c.plan.Jobs(buckets[b], c.opt.Workers, c.opt.GroupColumns)
		for _, g := range groups {
			a := GroupArgs{Study: h.Name, Fold: g[0].ID.Fold, Split: h.Split, DataSHA: h.DataSHA, Engine: h.Engine,
				Folds: h.Folds, SplitSeed: h.Seed, Data: c.src, Curves: h.Schedule.EachEpoch(), From: b.from, To: b.to}
			for _, u := range g {
				flops := float64(int64(b.to-b.from) * c.plan.EpochWork(u))
				a.Units = append(a.Units, UnitArgs{Key: u.ID.Key, Seed: u.ID.Seed, Params: u.Point.Params, FLOPs: flops})
				a.FLOPs += flops
			}
			params = append(params, river.InsertManyParams{InsertOpts: opts, Args: a})
		}
	}
	if len(params) == 0 {
		return all, nil
	}
	err = pgx.BeginFunc(ctx, c.st.Pool(), func(tx pgx.Tx) error {
		_, err := c.client.InsertManyTx(ctx, tx, params)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("%s: enqueuing a stage of study %s: %w", c.st.Name(), h.Name, err)
	}
	return all, nil
}

// Units are shared between studies, so a unit of a configuration this
// study takes on may be stored pruned by another study (this study's own
// stops have no target): that study's stop, not this one's. Its stored
// epoch scores are the same numbers this study's would be: it is at a
// target they reach (atTarget), and otherwise trains again, from its
// first epoch when it has no checkpoint at its configuration's last rung
// (restart), as far as this study's decisions take it; a worker skips it
// only when it stopped at or past the job's end (workStage).

// restart returns the units of ids (stored pruned by another study) that
// have no checkpoint at epoch from: their jobs start from the first epoch.
func (c *coordinator) restart(ctx context.Context, ids []sweeps.UnitID, from int) (map[sweeps.UnitID]bool, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	has, err := c.st.Checkpointed(ctx, ids, from)
	if err != nil {
		return nil, err
	}
	restart := map[sweeps.UnitID]bool{}
	for _, id := range ids {
		restart[id] = !has[id]
	}
	return restart, nil
}

// stageKey is a unit (by key and fold) in a stage job to epoch to.
type stageKey struct {
	key      string
	fold, to int
}

// queued returns the units in the study's stage jobs that will still run.
func (c *coordinator) queued(ctx context.Context) (map[stageKey]bool, error) {
	rs, err := c.st.Pool().Query(ctx, `SELECT u->>'key', (j.args->>'fold')::bigint, coalesce((j.args->>'to')::bigint, 0)
		FROM river_job j CROSS JOIN LATERAL jsonb_array_elements(j.args->'units') AS u
		WHERE j.kind = $1 AND j.args->>'study' = $2 AND j.state IN `+liveStates, Kind, c.plan.Header.Name)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	queued := map[stageKey]bool{}
	for rs.Next() {
		var k stageKey
		var fold, to int64
		if err := rs.Scan(&k.key, &fold, &to); err != nil {
			return nil, err
		}
		k.fold, k.to = int(fold), int(to)
		queued[k] = true
	}
	return queued, rs.Err()
}

// liveJobs counts the study's jobs that will still run, having first
// handed back, at most every DefaultLivenessEvery, the jobs of dead
// workers (liveness.go): the workers look too, so a failure to is theirs
// to mend.
func (c *coordinator) liveJobs(ctx context.Context) (int, error) {
	c.resc.lookEvery(ctx, DefaultLivenessEvery)
	return liveJobs(ctx, c.st, c.plan.Header.Name)
}

// wait returns once every unit of the stage is checkpointed at its
// target or finished; an error when some are neither and no job of the
// study will still run (discarded after MaxAttempts attempts). It passes
// progress the count of units at their target after each look that found
// more (and notes their epochs for the ETA).
func (c *coordinator) wait(ctx context.Context, units []stageUnit, every time.Duration, progress func(at int)) error {
	last := -1
	for {
		at, err := c.atTarget(ctx, units)
		if err != nil || len(at) == len(units) {
			return err
		}
		if len(at) > last {
			last = len(at)
			for _, su := range units {
				if at[su.u.ID] {
					c.trained[su.u.ID] = max(c.trained[su.u.ID], su.to)
				}
			}
			progress(len(at))
		}
		live, err := c.liveJobs(ctx)
		if err != nil {
			return err
		}
		if live == 0 {
			// Read again: the last job may have completed between the two reads.
			left, err := c.left(ctx, units)
			if err != nil || left == 0 {
				return err
			}
			return fmt.Errorf("study %s: %d units of the stage have no state at their rung and no job to train them (discarded after %d attempts: see mlpsweep status)", c.plan.Header.Name, left, MaxAttempts)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: %w", ErrInterrupted, ctx.Err())
		case <-time.After(every):
		}
	}
}

// left counts the stage's units neither checkpointed at their target
// nor finished.
func (c *coordinator) left(ctx context.Context, units []stageUnit) (int, error) {
	at, err := c.atTarget(ctx, units)
	return len(units) - len(at), err
}

// atTarget returns which of units are checkpointed at their target or
// finished (done, diverged or failed).
func (c *coordinator) atTarget(ctx context.Context, units []stageUnit) (map[sweeps.UnitID]bool, error) {
	ids := make([]sweeps.UnitID, len(units))
	for i, su := range units {
		ids[i] = su.u.ID
	}
	marks, err := c.st.UnitMachines(ctx, ids, c.plan.Header.Name)
	if err != nil {
		return nil, err
	}
	at := map[sweeps.UnitID]bool{}
	byTarget := map[int][]sweeps.UnitID{} // few: one per bracket, or rung
	for _, su := range units {
		switch m := marks[su.u.ID]; m.State {
		case "done", "failed":
			at[su.u.ID] = true
		case "pruned": // stored by another study: at the targets its stored scores reach
			if m.PrunedAt >= su.to {
				at[su.u.ID] = true
				continue
			}
			fallthrough
		default:
			byTarget[su.to] = append(byTarget[su.to], su.u.ID)
		}
	}
	for to, ids := range byTarget {
		has, err := c.st.Checkpointed(ctx, ids, to)
		if err != nil {
			return nil, err
		}
		for id := range has {
			at[id] = true
		}
	}
	return at, nil
}

// workStage is Work for a job of a pruned study's stage (Prune): it
// trains the job's units not checkpointed at To nor finished yet from
// their checkpoints at From, as one fused group, and records each unit's
// state at To, or its result when it reached its last epoch or diverged.
func (w *groupWorker) workStage(ctx context.Context, job *river.Job[GroupArgs]) error {
	a := job.Args
	ids := a.IDs()
	states, err := w.st.UnitStates(ctx, ids, a.Study)
	if err != nil {
		return err
	}
	var todo []int // indices into a.Units
	for i, id := range ids {
		if s := states[id]; s == "done" || s == "failed" {
			continue
		} else if s == "pruned" {
			// Stopped at or past To: by this study (a run of this job
			// again after the coordinator stored it) or by another. One
			// another study stopped before To trains (see restart).
			u, _, err := w.st.Unit(id)
			if err != nil {
				return err
			}
			if u.PrunedAt == 0 || u.PrunedAt >= a.To {
				continue
			}
		}
		if _, err := w.st.Checkpoint(ctx, id, a.To); err == nil {
			continue // trained to To by a run of this job that died before completing it
		} else if !errors.Is(err, store.ErrNoCheckpoint) {
			return err
		}
		todo = append(todo, i)
	}
	if skipped := len(ids) - len(todo); skipped > 0 {
		w.mu.Lock()
		w.elsewhere += skipped
		w.mu.Unlock()
		w.logf("group of %d units, fold %d of study %s, epochs %d–%d (attempt %d): %d at epoch %d already; not trained again",
			len(ids), a.Fold, a.Study, a.From+1, a.To, attempt(job), skipped, a.To)
	}
	if len(todo) == 0 {
		return w.record(ctx, job, -1, nil, true)
	}
	data, folds, err := w.load(a)
	if err != nil {
		return err
	}
	var units []sweeps.Unit
	var models []*engine.Model
	kept := todo[:0]
	for _, i := range todo {
		u := sweeps.Unit{ID: ids[i], Point: &study.Point{Params: a.Units[i].Params}}
		if a.From == 0 {
			// A configuration the engine rejects is a result, as in a local run.
			m, err := engine.NewNormalized(u.Normalized(), data.Features, data.Classes, nil)
			if err != nil {
				r := sweeps.UnitResult{Epochs: []engine.EpochStats{}, Error: err.Error(), Fold: a.Fold, EngineVer: a.Engine, DataSHA256: a.DataSHA, Machine: sweeps.ThisMachine()}
				if err := w.record(ctx, job, i, &r, false); err != nil {
					return err
				}
				w.count(time.Now(), 0, true)
				w.logf("%s: failed: %s; recorded, not retried", unitName(job, i), r.Error)
				continue
			}
			models = append(models, m)
		} else {
			b, err := w.st.Checkpoint(ctx, ids[i], a.From)
			if err != nil {
				return err
			}
			m, e, err := engine.LoadMemberState(b, nil)
			if err != nil {
				return fmt.Errorf("%s: %w", unitName(job, i), err)
			}
			if e != a.From {
				return fmt.Errorf("%s: checkpoint after epoch %d, want %d", unitName(job, i), e, a.From)
			}
			models = append(models, m)
		}
		units = append(units, u)
		kept = append(kept, i)
	}
	todo = kept
	if len(todo) == 0 {
		return w.record(ctx, job, -1, nil, true)
	}
	t, threads := w.trainer(ctx)
	defer w.release(t)
	t.SetProgress(w.opt.PartEvery, w.partway(job, todo, data, folds, true, a.From, a.To))
	if err := w.st.MarkRunningAll(ctx, sweeps.UnitIDs(units), a.Study, threads); err != nil {
		return err
	}
	started := time.Now()
	w.logf("group of %d units, fold %d of study %s (attempt %d): epochs %d–%d, %d trained fused, %d GEMM thread(s)",
		len(ids), a.Fold, a.Study, attempt(job), a.From+1, a.To, len(units), threads)
	epochs := newEpochWriter(w.st)
	hists, err := t.TrainStage(ctx, data, folds, a.SplitSeed, units, models, a.From, a.To, func(k int, s engine.EpochStats) {
		epochs.add(store.EpochRow{ID: ids[todo[k]], Study: a.Study, Stats: s})
	})
	if ferr := epochs.flush(); err == nil {
		err = ferr // the earlier stages' epochs are read back below
	}
	if err != nil {
		return err
	}
	for k, i := range todo {
		var r *sweeps.UnitResult
		var state []byte
		last := k == len(todo)-1
		if hists[k].Diverged || a.To >= a.Units[i].Params.Epochs() {
			// Its whole curve: the earlier stages' epochs from the store.
			earlier, err := w.st.UnitEpochScores(ctx, ids[i])
			if err != nil {
				return err
			}
			h := hists[k]
			var all []engine.EpochStats
			for _, e := range earlier {
				if e.Epoch <= a.From {
					all = append(all, engine.EpochStats{Epoch: e.Epoch, Loss: e.TrainLoss, Accuracy: e.TrainAccuracy, ValLoss: e.Loss, ValAccuracy: e.Accuracy, Seconds: e.Seconds})
				}
			}
			h.Epochs = append(all, h.Epochs...)
			res := scheduler.StageResult(data, folds, a.Fold, h, models[k], false)
			res.GFLOP = float64(res.Samples) * scheduler.TrainingFLOPsPerRow(a.Units[i].Params.Hidden(), data.Features, data.Classes) / 1e9
			res.Started = started.UnixNano()
			res.Fold, res.EngineVer, res.DataSHA256 = a.Fold, a.Engine, a.DataSHA
			res.Machine = sweeps.ThisMachine()
			r = &res
		} else if state, err = models[k].MemberState(); err != nil {
			return fmt.Errorf("%s: %w", unitName(job, i), err)
		}
		if err := w.recordState(context.WithoutCancel(ctx), job, i, r, state, last); err != nil {
			return err
		}
		seconds := 0.0
		for _, e := range hists[k].Epochs {
			seconds += e.Seconds
		}
		w.count(started, seconds, false)
		if r != nil {
			w.logf("%s: epochs %d–%d trained, finished: accuracy %.4f; recorded", unitName(job, i), a.From+1, a.From+len(hists[k].Epochs), r.Accuracy)
		} else {
			w.logf("%s: epochs %d–%d trained, checkpointed; recorded", unitName(job, i), a.From+1, a.To)
		}
	}
	return nil
}
