package sweeps

import (
	"context"
	"sync"
	"time"

	"github.com/mlpsweep/mlpsweep/datasets"
	"github.com/mlpsweep/mlpsweep/engine"
	"github.com/mlpsweep/mlpsweep/kernels"
)

// job is one work unit: a config (with its unit seed) trained on one fold.
type job struct {
	id  unitID
	cfg engine.Config // normalized; Seed = id.Seed
	pt  *Point        // where it comes from (the first point with its key)
}

// pool runs jobs on workers goroutines, each with its own single-threaded
// kernels.Context reused across the units it runs. When the queue is empty,
// a starting unit takes the cores no other unit uses as GEMM threads: that
// changes its speed, not its numbers, since GEMM threads split only the m
// and n loops.
type pool struct {
	workers int
	data    *datasets.Dataset
	folds   []datasets.Fold
	curves  bool // score the held-out fold after every epoch too

	// Callbacks, called from the worker running the unit. A start or done
	// error stops the pool.
	start func(j job, threads int) error
	epoch func(j job, s engine.EpochStats)
	done  func(j job, u UnitResult) error

	mu      sync.Mutex
	queue   []job
	running int
}

// run trains every job. It returns ctx.Err() when ctx is cancelled (units in
// flight are abandoned: done is not called for them), or the first callback
// error.
func (p *pool) run(ctx context.Context, jobs []job) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	p.queue = jobs
	var wg sync.WaitGroup
	for range min(p.workers, len(jobs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			kc := kernels.NewContext(1)
			for {
				j, threads, ok := p.take(ctx)
				if !ok {
					return
				}
				if err := p.unit(ctx, kc, j, threads); err != nil {
					cancel(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	return context.Cause(ctx)
}

// take pops the next job and the GEMM threads it may use.
func (p *pool) take(ctx context.Context) (job, int, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.queue) == 0 || ctx.Err() != nil {
		return job{}, 0, false
	}
	j := p.queue[0]
	p.queue = p.queue[1:]
	p.running++
	threads := 1
	if len(p.queue) == 0 {
		threads = max(1, p.workers/p.running)
	}
	return j, threads, true
}

// unit trains one job and reports it, unless ctx is cancelled first.
func (p *pool) unit(ctx context.Context, kc *kernels.Context, j job, threads int) error {
	defer func() {
		p.mu.Lock()
		p.running--
		p.mu.Unlock()
	}()
	kc.SetThreads(threads)
	if p.start != nil {
		if err := p.start(j, threads); err != nil {
			return err
		}
	}
	onEpoch := func(s engine.EpochStats) {
		if p.epoch != nil {
			p.epoch(j, s)
		}
	}
	u, err := trainUnit(ctx, kc, j.cfg, p.data, p.folds[j.id.Fold], j.id.Fold, p.curves, onEpoch)
	if err != nil {
		return err // cancelled: the unit is abandoned
	}
	u.EngineVer, u.DataSHA256 = j.id.Engine, j.id.Data
	if p.done != nil {
		return p.done(j, u)
	}
	return nil
}

// trainUnit trains cfg on fold's training rows and scores it on its test
// rows. A config the engine rejects, bad data or a divergence are results
// (with Error set), not errors; the only error is ctx's.
func trainUnit(ctx context.Context, kc *kernels.Context, cfg engine.Config, data *datasets.Dataset,
	fold datasets.Fold, foldIndex int, curves bool, onEpoch func(engine.EpochStats)) (UnitResult, error) {
	start := time.Now()
	u := UnitResult{Fold: foldIndex, Epochs: []engine.EpochStats{}}
	m, err := engine.New(cfg, data.Features, data.Classes, kc)
	if err != nil {
		u.Error = err.Error()
		return u, nil
	}
	train := engine.Data{X: data.X, Y: data.Y, Rows: fold.Train}
	test := engine.Data{X: data.X, Y: data.Y, Rows: fold.Test}
	var val *engine.Data
	if curves {
		val = &test
	}
	h, err := m.Fit(ctx, train, val, onEpoch)
	if ctx.Err() != nil {
		return u, ctx.Err()
	}
	if err != nil {
		u.Error = err.Error()
		u.Seconds = time.Since(start).Seconds()
		return u, nil
	}
	u.Epochs = h.Epochs
	u.Diverged, u.Error = h.Diverged, h.Divergence
	u.Samples = int64(len(fold.Train)) * int64(len(h.Epochs))
	if last := len(h.Epochs) - 1; curves && last >= 0 && !h.Diverged {
		u.ValLoss, u.Accuracy = h.Epochs[last].ValLoss, h.Epochs[last].ValAccuracy
	} else {
		u.ValLoss, u.Accuracy = m.Evaluate(test)
	}
	u.Seconds = time.Since(start).Seconds()
	return u, nil
}
