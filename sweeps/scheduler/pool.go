package scheduler

import (
	"context"
	"sync"

	"github.com/mlpsweep/mlpsweep/datasets"
	"github.com/mlpsweep/mlpsweep/engine"
	"github.com/mlpsweep/mlpsweep/kernels"
	"github.com/mlpsweep/mlpsweep/sweeps"
)

// TrainFunc trains one unit on kc and scores it, calling onEpoch after every
// epoch. A configuration the engine rejects, bad data or a divergence are
// results (with Error set), not errors; the only error is ctx's.
type TrainFunc func(ctx context.Context, kc *kernels.Context, u sweeps.Unit, onEpoch func(engine.EpochStats)) (sweeps.UnitResult, error)

// pool runs units on workers goroutines, each with its own single-threaded
// kernels.Context reused across the units it runs. When the queue is empty,
// a starting unit takes the cores no other unit uses as GEMM threads: that
// changes its speed, not its numbers, since GEMM threads split only the m
// and n loops.
type pool struct {
	workers int
	train   TrainFunc

	// Callbacks, called from the worker running the unit. A start or done
	// error stops the pool.
	start func(u sweeps.Unit, threads int) error
	epoch func(u sweeps.Unit, s engine.EpochStats)
	done  func(u sweeps.Unit, r sweeps.UnitResult) error

	mu      sync.Mutex
	queue   []sweeps.Unit
	running int
}

// run trains every unit. It returns ctx.Err() when ctx is cancelled (units
// in flight are abandoned: done is not called for them), or the first
// callback error.
func (p *pool) run(ctx context.Context, units []sweeps.Unit) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	p.queue = units
	var wg sync.WaitGroup
	for range min(p.workers, len(units)) {
		wg.Go(func() {
			kc := kernels.NewContext(1)
			for {
				u, threads, ok := p.take(ctx)
				if !ok {
					return
				}
				if err := p.unit(ctx, kc, u, threads); err != nil {
					cancel(err)
					return
				}
			}
		})
	}
	wg.Wait()
	return context.Cause(ctx)
}

// take pops the next unit and the GEMM threads it may use.
func (p *pool) take(ctx context.Context) (sweeps.Unit, int, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.queue) == 0 || ctx.Err() != nil {
		return sweeps.Unit{}, 0, false
	}
	u := p.queue[0]
	p.queue = p.queue[1:]
	p.running++
	threads := 1
	if len(p.queue) == 0 {
		threads = max(1, p.workers/p.running)
	}
	return u, threads, true
}

// unit trains one unit and reports it, unless ctx is cancelled first.
func (p *pool) unit(ctx context.Context, kc *kernels.Context, u sweeps.Unit, threads int) error {
	defer func() {
		p.mu.Lock()
		p.running--
		p.mu.Unlock()
	}()
	kc.SetThreads(threads)
	if p.start != nil {
		if err := p.start(u, threads); err != nil {
			return err
		}
	}
	onEpoch := func(s engine.EpochStats) {
		if p.epoch != nil {
			p.epoch(u, s)
		}
	}
	r, err := p.train(ctx, kc, u, onEpoch)
	if err != nil {
		return err // cancelled: the unit is abandoned
	}
	r.Fold, r.EngineVer, r.DataSHA256 = u.ID.Fold, u.ID.Engine, u.ID.Data
	r.Machine = sweeps.ThisMachine()
	if p.done != nil {
		return p.done(u, r)
	}
	return nil
}

// FoldTrainer is the TrainFunc of a cross-validation: a unit trains on its
// fold's training rows of data and is scored on the fold's held-out rows,
// after every epoch too when curves is set.
func FoldTrainer(data *datasets.Dataset, folds []datasets.Fold, curves bool) TrainFunc {
	return func(ctx context.Context, kc *kernels.Context, u sweeps.Unit, onEpoch func(engine.EpochStats)) (sweeps.UnitResult, error) {
		fold := folds[u.ID.Fold]
		return TrainAndScore(ctx, kc, u.Config(), data.Features, data.Classes,
			engine.Data{X: data.X, Y: data.Y, Rows: fold.Train}, engine.Data{X: data.X, Y: data.Y, Rows: fold.Test}, curves, onEpoch)
	}
}

// TrainAndScore trains cfg on train and scores it on test (after every
// epoch too when curves is set). A configuration the engine rejects, bad
// data or a divergence are results (with Error set), not errors; the only
// error is ctx's.
func TrainAndScore(ctx context.Context, kc *kernels.Context, cfg engine.Config, features, classes int,
	train, test engine.Data, curves bool, onEpoch func(engine.EpochStats)) (sweeps.UnitResult, error) {
	m, err := engine.New(cfg, features, classes, kc)
	if err != nil {
		return sweeps.UnitResult{Epochs: []engine.EpochStats{}, Error: err.Error()}, nil
	}
	return FitAndScore(ctx, m, train, test, curves, onEpoch)
}
