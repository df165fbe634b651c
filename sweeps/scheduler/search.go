package scheduler

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"slices"

	"github.com/mlpsweep/mlpsweep/datasets"
	"github.com/mlpsweep/mlpsweep/sweeps"
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
	run := 0                // units trained by this call, over the batches
	var wall, flops float64 // wall time and training GEMM work of the batches
	sub := *s
	for {
		if more, err := props.Next(batch); err != nil || !more {
			return r, err
		}
		sub.Points = props.Points
		r, err = runStudy(ctx, &sub, data, opt, props.Batch)
		// The summary covers every batch: the earlier batches' units count
		// as run by this call, not reused, and their time and work add up.
		run += r.UnitsRun
		wall += r.TotalSeconds
		flops += r.GFLOP * 1e9
		r.UnitsRun, r.UnitsReused, r.TotalSeconds = run, r.UnitsTotal-run, wall
		if flops > 0 {
			r.Rate = sweeps.NewRate(flops, wall, workers)
		}
		if err != nil {
			return r, err
		}
		props.Record(r)
	}
}

// Proposals are a sampled study's configurations proposed in batches, as
// RunSearch proposes them and the queue's coordinator of a sampled,
// pruned study (queue.PruneSearch): each batch from the results of the
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
