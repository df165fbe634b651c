package queue

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/mlpsweep/mlpsweep/datasets"
	"github.com/mlpsweep/mlpsweep/sweeps"
	"github.com/mlpsweep/mlpsweep/sweeps/prune"
	"github.com/mlpsweep/mlpsweep/sweeps/scheduler"
	"github.com/mlpsweep/mlpsweep/sweeps/store"
	"github.com/mlpsweep/mlpsweep/sweeps/study"
	"github.com/mlpsweep/mlpsweep/sweeps/tpe"
)

// Search runs study s, which has a sampler (s.Search), on the queue's
// workers: it keeps inFlight configurations enqueued or training and,
// whenever one is decided (every fold recorded), proposes the next from
// the results so far, the configurations still in flight counted as
// pending with the worst value (the constant liar), until s.Search.N
// configurations are decided, enqueued with opt (opt.Workers: the
// configurations in flight), planned with learning curves when curves is
// set (scheduler.StudyPlan). It looks at the store every every. report,
// if set, is called after each look with the configurations decided and
// in flight, and the time left (sweeps.ETA of sampledLeft at the rate of
// the work the workers did since the first look; 0 until they did some).
//
// Which configurations it proposes depends on the order results come in,
// so unlike a local run (scheduler.RunSearch) a queued sampler study is
// not reproducible; every unit's result still is. (With a pruner, the
// study runs in batches as locally, and is: SearchPruned.) Started again
// after a stop, it takes up the configurations the store lists under s's
// name (those of this search) and goes on from their results.
func Search(ctx context.Context, st *store.Postgres, s *study.Study, data *datasets.Dataset, src Source, curves bool, opt EnqueueOptions,
	every time.Duration, report func(decided, inFlight int, eta time.Duration)) error {
	inFlight := opt.Workers
	search := s.Search
	if search == nil {
		return fmt.Errorf("study %s has no sampler", s.Name)
	}
	if inFlight < 1 {
		return fmt.Errorf("study %s: %d configurations in flight (want ≥ 1)", s.Name, inFlight)
	}
	sampler, err := tpe.New(search.Space, tpe.Options{Seed: uint64(search.Seed), Maximize: true})
	if err != nil {
		return fmt.Errorf("study %s: %w", s.Name, err)
	}
	var (
		sub      = *s
		trials   []tpe.Trial // one per point of sub
		decided  []bool
		reused   = -1 // units found done by the first enqueue
		nDecided int
		dead     deadWatch

		since      time.Time // the first look at the store
		doneBefore float64   // the work done then (Progress.DoneFLOPs)
	)
	sub.Points = nil
	started := time.Now().UnixNano() // the store's record of the run's start, kept by every Enqueue
	// Started again: the configurations proposed before come first, their
	// results read from the store like any others. (A store without the
	// study says so with an error; another error shows at Enqueue.)
	if _, before, err := st.Study(ctx, s.Name); err == nil {
		for _, pt := range before {
			if x, ok := search.X(pt); ok && pt.Axis == "tpe" && len(sub.Points) < search.N {
				sub.Points = append(sub.Points, pt)
				trials = append(trials, tpe.Trial{X: x, State: tpe.Running})
				decided = append(decided, false)
			}
		}
	}
	for nDecided < search.N {
		// The first pass enqueues the configurations proposed before too:
		// their units not stored (or, with opt.StrictEngine, stored under
		// another ISA path) are queued again.
		if pending := len(sub.Points) - nDecided; reused < 0 || len(sub.Points) < search.N && pending < inFlight {
			var xs [][]float64
			if n := min(inFlight-pending, search.N-len(sub.Points)); n > 0 {
				if xs, err = sampler.Propose(trials, n); err != nil {
					return err
				}
			}
			for _, x := range xs {
				pt, kept, err := search.Point(x)
				if err != nil {
					return fmt.Errorf("study %s: %w", s.Name, err)
				}
				sub.Points = append(sub.Points, pt)
				trials = append(trials, tpe.Trial{X: kept, State: tpe.Running})
				decided = append(decided, false)
			}
			plan, err := scheduler.StudyPlan(&sub, data, curves)
			if err != nil {
				return err
			}
			plan.Header.Started = started
			e, err := Enqueue(ctx, st, plan, src, opt)
			if err != nil {
				return err
			}
			if reused < 0 {
				reused = e.Done
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: %w", ErrInterrupted, ctx.Err())
		case <-time.After(every):
		}
		// With opt.StrictEngine only this path's results decide (another
		// path's units are being trained again on the workers).
		r, err := store.Load(ctx, st, s.Name, opt.StrictEngine)
		if err != nil {
			return err
		}
		p, err := StudyProgress(ctx, st, s.Name)
		if err != nil {
			return err
		}
		if since.IsZero() {
			since, doneBefore = time.Now(), p.DoneFLOPs
		}
		if err := dead.look(ctx, st, p); err != nil {
			return err
		}
		idle := p.Finished() // whatever is not recorded now never will be (units on a dead worker will)
		for i, pt := range sub.Points {
			if decided[i] {
				continue
			}
			var c sweeps.ConfigResult // none yet when the store has no unit of it
			if j := slices.IndexFunc(r.Configs, func(c sweeps.ConfigResult) bool { return c.Key == pt.Params.Key() }); j >= 0 {
				c = r.Configs[j]
			}
			if len(c.Units) < s.Folds && !idle {
				continue
			}
			decided[i] = true
			nDecided++
			trials[i].State, trials[i].Value = tpe.Failed, math.NaN()
			if slices.ContainsFunc(c.Units, func(u sweeps.UnitResult) bool { return !u.Failed() }) {
				trials[i].State, trials[i].Value = tpe.Complete, c.MeanAccuracy
			}
		}
		if report != nil {
			report(nDecided, len(sub.Points)-nDecided, sweeps.ETA(sampledLeft(s, data, sub.Points, p, curves), p.DoneFLOPs-doneBefore, time.Since(since)))
		}
	}
	// The study's record counts as reused only the units found done at
	// the start, not those this search trained (see Enqueue).
	return st.FinishRun(s.Name, sweeps.QueueRun(0, 0, max(reused, 0)))
}

// SearchPruned runs study s, which has a sampler and a pruner (sha or
// hyperband; the study language refuses the others beside a sampler), on
// the queue's workers as the local run does (scheduler.RunSearch): the
// TPE proposes a batch of s.Search.Batch configurations (η² by default)
// from the results of the batches before (scheduler.Proposals, shared
// with the local run), Prune's coordinator trains the batch rung by rung
// on the workers, judging each batch apart (Plan.Batch; the coordinator's
// lock held from the first batch to the last), and the results
// it leaves in the store (a pruned configuration at the deepest rung it
// reached, with its score there) inform the next proposals. report, if
// set, gets a line per batch, stage and decision.
//
// A proposal depends only on the seed, the batch size and the results
// before it (unlike Search's constant liar, nothing depends on the order
// results come in: a batch is proposed once the one before is decided);
// the workers' results are the local run's bit for bit and the pruner
// decides from them as it does locally (prune.Run). So the queue proposes
// the configurations a local run of the same study proposes, and ends
// with its numbers, decisions and best configuration, whatever the
// workers and whenever they are killed. (With hyperband, the decisions'
// order can differ after the coordinator was restarted: it then decides
// at once, bracket by bracket, rungs at the same epoch that a run without
// a restart decided over two stages; a local run resumed does the same.)
// Started again after a stop, it proposes the same batches again, finds
// their units decided in the store (the coordinator replays the pruner on
// their scores and enqueues nothing for them) and goes on where the
// stopped run was.
//
// The price of the batches, beside Search: a worker waits while a rung
// of its batch fills, and while the last stage of a batch ends.
func SearchPruned(ctx context.Context, st *store.Postgres, s *study.Study, data *datasets.Dataset, src Source, opt EnqueueOptions,
	every time.Duration, report func(string)) error {
	if s.Search == nil || s.Pruner == nil || s.Search.Batch < 1 {
		return fmt.Errorf("study %s: SearchPruned runs a study with a sampler, a pruner and a batch size", s.Name)
	}
	if report == nil {
		report = func(string) {}
	}
	props, err := scheduler.NewProposals(s)
	if err != nil {
		return err
	}
	sub := *s
	batches := (s.Search.N + s.Search.Batch - 1) / s.Search.Batch
	var spent time.Duration // in the batches this process trained (not found decided)
	var trained float64     // the training work (FLOPs) they did
	reused := 0             // units of the batches so far found finished when their batch began
	// The store's record of the run's start, kept by every batch's coordinator.
	started := time.Now().UnixNano()
	return locked(ctx, st, s.Name, func() error { // one coordinator for every batch
		for b := 1; ; b++ {
			before := len(props.Points)
			if more, err := props.Next(s.Search.Batch); err != nil || !more {
				return err
			}
			sub.Points = props.Points
			plan, err := scheduler.StudyPlan(&sub, data, true)
			if err != nil {
				return err
			}
			plan.Batch, plan.Header.Started = props.Batch, started
			eta := "" // the work left at the rate of the batches trained so far
			if trained > 0 {
				eta = fmt.Sprintf(", eta ~%v", sweeps.ETA(searchLeft(s, data, plan, before), trained, spent).Round(time.Second))
			}
			report(fmt.Sprintf("study %s: batch %d of %d: configurations %d–%d of %d proposed by the TPE%s", s.Name, b, batches, before+1, len(props.Points), s.Search.N, eta))
			todo, err := undecided(ctx, st, plan)
			if err != nil {
				return err
			}
			var elsewhere map[string]int
			reused, elsewhere, err = recordReused(ctx, st, plan, batchUnits(plan, before), reused)
			if err != nil {
				return err
			}
			if note := retrainNote(plan.Header, elsewhere); note != "" {
				report(note)
			}
			began := time.Now()
			work, err := coordinate(ctx, st, plan, *s.Pruner, src, opt, every, false, report) // the batch line has the ETA
			if err != nil {
				return err
			}
			if todo {
				spent += time.Since(began)
				trained += work
			}
			r, err := store.Load(ctx, st, s.Name, true)
			if err != nil {
				return err
			}
			props.Record(r)
		}
	})
}

// sampledLeft is the work (FLOPs: training, and the held-out scoring,
// with curves after each epoch, else once at a unit's end: the rule of
// scheduler.Plan.Work) sampled study s without a pruner has left, points
// proposed and p its progress, at the expectation, as the local run
// forecasts it: the units of points not finished (their jobs' work,
// p.LeftFLOPs), and the configurations not proposed yet
// scheduler.SearchForecast's.
func sampledLeft(s *study.Study, data *datasets.Dataset, points []study.Point, p Progress, curves bool) float64 {
	return p.LeftFLOPs + scheduler.SearchForecast(s, data, points, 1, curves)[1]
}

// searchLeft is the training work (FLOPs) sampled study s, whose plan's
// points from from on are the batch about to train, has left at the
// expectation, as the local run forecasts it: the batch's configurations
// train the epochs its pruner's schedule gives a batch of them
// (prune.Future), each at their mean work per epoch (plan.EpochWork, its
// folds together), and the configurations not proposed yet
// scheduler.SearchForecast's.
func searchLeft(s *study.Study, data *datasets.Dataset, plan scheduler.Plan, from int) float64 {
	var work float64 // an epoch of each configuration of the batch
	configs := map[string]bool{}
	for _, u := range batchUnits(plan, from) {
		work += float64(plan.EpochWork(u))
		configs[u.ID.Key] = true
	}
	left := scheduler.SearchForecast(s, data, plan.Points, s.Search.Batch, true)[1]
	if n := len(configs); n > 0 {
		left += prune.Future(s.Pruner, s.Base.Epochs(), n, s.Search.Batch)[1] * work / float64(n)
	}
	return left
}

// batchUnits returns the units of plan's points from from on.
func batchUnits(plan scheduler.Plan, from int) []sweeps.Unit {
	batch := map[string]bool{}
	for _, pt := range plan.Points[from:] {
		batch[pt.Params.Key()] = true
	}
	var units []sweeps.Unit
	for _, u := range plan.Units {
		if batch[u.ID.Key] {
			units = append(units, u)
		}
	}
	return units
}

// undecided reports whether some unit of plan is not finished in the
// store (done, pruned or failed).
func undecided(ctx context.Context, st *store.Postgres, plan scheduler.Plan) (bool, error) {
	ids := sweeps.UnitIDs(plan.Units)
	states, err := st.UnitStates(ctx, ids, plan.Header.Name)
	if err != nil {
		return false, err
	}
	for _, id := range ids {
		if s := states[id]; s != "done" && s != "pruned" && s != "failed" {
			return true, nil
		}
	}
	return false, nil
}
