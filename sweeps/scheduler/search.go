package scheduler

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"slices"
	"time"

	"github.com/mlpsweep/mlpsweep/datasets"
	"github.com/mlpsweep/mlpsweep/sweeps"
	"github.com/mlpsweep/mlpsweep/sweeps/prune"
	"github.com/mlpsweep/mlpsweep/sweeps/study"
	"github.com/mlpsweep/mlpsweep/sweeps/tpe"
)

// RunSearch runs a study whose configurations a sampler proposes
// (s.Search, a study file's sampler: section): batches of s.Search.Batch
// configurations (when 0, of batch: the worker count, in local mode)
// proposed by the TPE from the results of the batches before, each batch
// trained as RunStudy trains a study (every configuration's folds, fused),
// until s.Search.N configurations are trained. A configuration's score is
// its mean held-out accuracy over its folds; one without any scored fold
// is a failed trial.
//
// With a pruner (s.Pruner: sha or hyperband), each batch is a study of
// its own for the pruner: RunStudy's pruned run trains it rung by rung
// and its rungs judge only its configurations (prune.New's batches), so
// adding a batch never changes an earlier batch's decisions. A
// configuration the pruner stopped is a pruned trial for the TPE, at the
// deepest rung it reached, with its score there (tpe.Trial's Step and
// Value): after every complete trial, the deepest pruned ones fill the
// TPE's "below".
//
// A proposal depends only on the seed, the batch size and the results
// before it, and results and pruning decisions are bit-reproducible, so
// the same study with the same batch size proposes the same
// configurations on any machine and for any worker count when the study
// fixes the batch (sampler.batch, or a pruner's η²), and a rerun after an
// interruption proposes them again, replays the pruner's decisions and
// reuses every unit the store holds (done or pruned).
func RunSearch(ctx context.Context, s *study.Study, data *datasets.Dataset, batch int, opt Options) (sweeps.StudyResult, error) {
	search := s.Search
	if search == nil {
		return sweeps.StudyResult{}, fmt.Errorf("study %s has no sampler", s.Name)
	}
	if search.Batch > 0 {
		batch = search.Batch
	}
	if batch < 1 {
		return sweeps.StudyResult{}, fmt.Errorf("study %s: batch %d (want ≥ 1)", s.Name, batch)
	}
	if opt.Shard.Sharded() {
		return sweeps.StudyResult{}, fmt.Errorf("study %s: a sampler proposes each batch from the results of the last, so its units cannot be split into shards in advance: run it on one machine or in queue mode", s.Name)
	}
	workers := opt.Workers
	if workers <= 0 {
		workers = runtime.NumCPU()
	}
	props, err := NewProposals(s)
	if err != nil {
		return sweeps.StudyResult{}, err
	}
	var r sweeps.StudyResult
	started := time.Now()
	run := 0          // units trained by this call, over the batches
	var flops float64 // training GEMM work of the batches
	sub := *s
	sized := *search // the batch size the store records (sweeps.Schedule)
	sized.Batch = batch
	sub.Search = &sized
	opt.runStarted = started // every batch saves the study again: the run's start stays
	sp := &searchProgress{progress: opt.Progress, started: started, units: search.N * s.Folds}
	if opt.Progress != nil {
		opt.Progress = sp.event
	}
	for {
		if more, err := props.Next(batch); err != nil || !more {
			return r, err
		}
		sub.Points = props.Points
		sp.future = SearchForecast(s, data, sub.Points, batch, opt.Curves || s.Pruner != nil)
		opt.runBefore = run
		r, err = runStudy(ctx, &sub, data, opt, props.Batch)
		sp.batchDone()
		// The summary covers every batch: the earlier batches' units count
		// as run by this call, not reused, and their work adds up; the
		// study's time is the store's, every invocation's (Run's).
		run += r.UnitsRun
		flops += r.GFLOP * 1e9
		r.UnitsRun, r.UnitsReused = run, r.UnitsTotal-run
		if flops > 0 {
			r.Rate = sweeps.NewRate(flops, time.Since(started).Seconds(), workers)
		}
		if err != nil {
			return r, err
		}
		props.Record(r)
	}
}

// Proposals are a sampled study's configurations proposed in batches, as
// RunSearch proposes them and the queue's coordinator of a sampled,
// pruned study (queue.SearchPruned): each batch from the results of the
// batches before (Record), so the same results give the same proposals.
type Proposals struct {
	Points []study.Point  // the configurations proposed so far, in order
	Batch  map[string]int // each configuration's first batch (by key): the pruner's batches (prune.New)

	name    string // the study's, for errors
	search  *study.Search
	sampler *tpe.Sampler
	trials  []tpe.Trial // one per point
	batches int
}

// NewProposals starts the proposals of study s, which has a sampler.
func NewProposals(s *study.Study) (*Proposals, error) {
	if s.Search == nil {
		return nil, fmt.Errorf("study %s has no sampler", s.Name)
	}
	sampler, err := tpe.New(s.Search.Space, tpe.Options{Seed: uint64(s.Search.Seed), Maximize: true})
	if err != nil {
		return nil, fmt.Errorf("study %s: %w", s.Name, err)
	}
	return &Proposals{Batch: map[string]int{}, name: s.Name, search: s.Search, sampler: sampler}, nil
}

// Next proposes the next batch, of batch configurations (fewer to end at
// the study's N), and appends it to Points; false when all N are
// proposed.
func (p *Proposals) Next(batch int) (bool, error) {
	if len(p.Points) >= p.search.N {
		return false, nil
	}
	xs, err := p.sampler.Propose(p.trials, min(batch, p.search.N-len(p.Points)))
	if err != nil {
		return false, err
	}
	for _, x := range xs {
		pt, kept, err := p.search.Point(x)
		if err != nil {
			return false, fmt.Errorf("study %s: %w", p.name, err)
		}
		if _, ok := p.Batch[pt.Params.Key()]; !ok {
			p.Batch[pt.Params.Key()] = p.batches
		}
		p.Points = append(p.Points, pt)
		p.trials = append(p.trials, tpe.Trial{X: kept, State: tpe.Running})
	}
	p.Points = slices.Clip(p.Points) // a study given Points may keep them while later batches grow them
	p.batches++
	return true, nil
}

// Record gives the sampler the results r of the study of Points: each
// configuration's mean accuracy, or, for one the pruner stopped, its
// score at the rung where it stopped (the deepest it reached, tpe.Trial's
// Step); one without a scored fold failed.
func (p *Proposals) Record(r sweeps.StudyResult) {
	trials, points := p.trials, p.Points
	stopped := map[string]sweeps.Decision{}
	for _, d := range r.Decisions {
		if !d.Promoted {
			stopped[d.Key] = d
		}
	}
	score := map[string]float64{}
	for _, c := range r.Configs {
		s := math.NaN()
		if slices.ContainsFunc(c.Units, func(u sweeps.UnitResult) bool { return !u.Failed() }) {
			s = c.MeanAccuracy
		}
		score[c.Key] = s
	}
	for i, pt := range points {
		v, ok := score[pt.Params.Key()]
		d, pruned := stopped[pt.Params.Key()]
		switch {
		case pruned:
			trials[i].Value, trials[i].Step, trials[i].State = d.Score, d.Epoch, tpe.Pruned
		case !ok || math.IsNaN(v):
			trials[i].State = tpe.Failed
		default:
			trials[i].Value, trials[i].State = v, tpe.Complete
		}
	}
}

// SearchForecast is the work (least, expected, most) of the
// configurations of sampled study s not proposed yet, after points,
// proposed batch at a time (the local run's ETA and the queue's Search's
// and SearchPruned's), by the rule of a unit's work (ScoredWork, as
// Plan.Work counts it): Σ epochs × rows × training FLOPs per row, with
// curves the held-out rows scored after each epoch, and without curves
// once after the last (curves is the plan's: set with a pruner, whose
// configurations stop early). Each trains as many epochs as the study's
// pruner's schedule gives a batch (every epoch without one), at the mean
// work of the configurations proposed so far (the sampler's next ones
// are not known).
func SearchForecast(s *study.Study, data *datasets.Dataset, points []study.Point, batch int, curves bool) [3]float64 {
	left := s.Search.N - len(points)
	if left <= 0 || len(points) == 0 {
		return [3]float64{}
	}
	var epochs, finals float64
	for _, pt := range points {
		// A configuration's folds: every row trained on k−1 of them, and
		// scored on one.
		w, final := ScoredWork(pt.Params.Hidden(), data.Features, data.Classes, data.N*(s.Folds-1), data.N, curves)
		epochs += w.Total()
		finals += final
	}
	perEpoch, final := epochs/float64(len(points)), finals/float64(len(points))
	e := prune.Future(s.Pruner, s.Base.Epochs(), left, batch)
	for i := range e {
		e[i] = e[i]*perEpoch + float64(left)*final
	}
	return e
}

// searchProgress turns the progress of each batch of a sampled study (a
// Run of its own, which counts the batches before as reused) into the
// whole study's: its units, the work of the batches before, and the
// forecast of the configurations not proposed yet.
type searchProgress struct {
	progress func(Event)
	started  time.Time
	units    int        // the study's: trials × folds
	future   [3]float64 // SearchForecast of the configurations not proposed yet
	planned  bool       // a batch's Planned was passed on (the others' are not)

	before      Status        // the batches before: units done and reused, work done, samples
	beforeUnits int           // their units (a batch's Run finds them stored)
	warmup      time.Duration // the first batch's Status.Warmup
	last        Status        // the current batch's latest
}

// event passes e on with the whole study's status.
func (sp *searchProgress) event(e Event) {
	sp.last = e.Status
	if e.Kind == Planned {
		// Planned once: at the first batch with units to train (those
		// before were found stored: a rerun's), or the last.
		if sp.planned || e.Status.UnitsToRun == 0 && sp.future != [3]float64{} {
			return
		}
		sp.planned = true
	}
	s, b := e.Status, sp.before
	s.UnitsTotal = sp.units
	s.UnitsReused = b.UnitsReused + max(0, s.UnitsReused-sp.beforeUnits)
	s.UnitsToRun = s.UnitsTotal - s.UnitsReused
	s.UnitsDone += b.UnitsDone
	s.WorkFull += b.WorkDone + int64(sp.future[2])
	s.WorkLeast += b.WorkDone + int64(sp.future[0])
	s.WorkToRun += b.WorkDone + int64(sp.future[1])
	s.WorkMost += b.WorkDone + int64(sp.future[2])
	s.WorkDone += b.WorkDone
	s.Samples += b.Samples
	s.Elapsed = time.Since(sp.started)
	if b.WorkDone > 0 { // the first batch's warm-up is the search's; the others' is work
		s.Warmup, s.Timed = sp.warmup, true
	} else {
		sp.warmup = s.Warmup
	}
	if sp.future[1] > 0 && s.Forecast == prune.Schedule {
		s.Forecast = prune.Expected // the sampler's configurations to come are not known
	}
	e.Status = s
	sp.progress(e)
}

// batchDone adds the batch that ended to the batches before.
func (sp *searchProgress) batchDone() {
	s := sp.last
	sp.before.UnitsDone += s.UnitsDone
	sp.before.UnitsReused += max(0, s.UnitsReused-sp.beforeUnits)
	sp.before.WorkDone += s.WorkDone
	sp.before.Samples += s.Samples
	sp.beforeUnits = s.UnitsTotal
	sp.last = Status{}
}
