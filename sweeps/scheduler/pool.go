package scheduler

import (
	"context"
	"sync"
	"time"

	"github.com/mlpsweep/mlpsweep/engine"
	"github.com/mlpsweep/mlpsweep/kernels"
	"github.com/mlpsweep/mlpsweep/sweeps"
	"github.com/mlpsweep/mlpsweep/sweeps/prune"
)

// TrainFunc trains one unit on kc and scores it, calling onEpoch after every
// epoch. A configuration the engine rejects, bad data or a divergence are
// results (with Error set), not errors; the only error is ctx's.
type TrainFunc func(ctx context.Context, kc *kernels.Context, u sweeps.Unit, onEpoch func(engine.EpochStats)) (sweeps.UnitResult, error)

// pool runs jobs on workers goroutines, each with its own single-threaded
// kernels.Context and models (a workspace) reused across the jobs it runs.
// A job is one unit trained by train, or, when fit is set, units of one
// fold trained together (see group.go). When the queue is empty, a starting
// job takes the cores no other job uses as GEMM threads: that changes its
// speed, not its numbers, since GEMM threads split only the m and n loops.
type pool struct {
	workers int
	train   TrainFunc // trains a job's one unit, when fit is nil
	fit     groupFit  // trains a job's units together

	// Callbacks, called from the worker running the unit. A start or done
	// error stops the pool.
	start func(u sweeps.Unit, threads int) error
	epoch func(u sweeps.Unit, s engine.EpochStats)
	done  func(u sweeps.Unit, r sweeps.UnitResult) error
	// part, if set, is told at most once per partEvery of a job's wall
	// time that the units j[i], i in is, are partway through an epoch
	// (engine.Group.SetProgress); is is the worker's, reused.
	part      func(j job, is []int, p engine.EpochPart)
	partEvery time.Duration
	// forecast is told, by a pruned run after each decision, how its
	// outlook is known and the epochs (least, expected, most) each unit
	// to run will have trained when it stops (prune.Run.Outlook).
	forecast func(f prune.Forecast, epochs func(sweeps.Unit) [3]float64)

	// after, if set, is called when a job is done, one call at a time:
	// the jobs it returns go to the head of the queue (ASHA promotes before
	// it starts more configurations, see prune.go), and idle workers wait
	// for them while any job is in flight. An error stops the pool.
	after   func(j job) ([]job, error)
	afterMu sync.Mutex
	wake    *sync.Cond // with after: signalled when the queue grows or a job ends

	mu      sync.Mutex
	queue   []job
	running int // jobs in flight
}

// job is units trained by one worker at once: one unit, or the members of
// a fused group.
type job []sweeps.Unit

// singles makes a job of each unit.
func singles(units []sweeps.Unit) []job {
	jobs := make([]job, len(units))
	for i := range units {
		jobs[i] = job(units[i : i+1 : i+1])
	}
	return jobs
}

// run trains every job. It returns ctx.Err() when ctx is cancelled (units
// in flight are abandoned: done is not called for them), or the first
// callback error.
func (p *pool) run(ctx context.Context, jobs []job) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	p.queue = jobs
	workers := min(p.workers, len(jobs))
	if p.after != nil {
		workers = p.workers // the queue grows as jobs end
		p.wake = sync.NewCond(&p.mu)
		stop := context.AfterFunc(ctx, func() {
			p.mu.Lock()
			defer p.mu.Unlock()
			p.wake.Broadcast()
		})
		defer stop()
	}
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			ws := &workspace{kc: kernels.NewContext(1)}
			for {
				j, threads, ok := p.take(ctx)
				if !ok {
					return
				}
				err := p.job(ctx, ws, j, threads)
				if err == nil && p.after != nil {
					err = p.more(j)
				}
				p.mu.Lock()
				p.running-- // after the jobs it led to are queued: no worker leaves early
				if p.wake != nil {
					p.wake.Broadcast()
				}
				p.mu.Unlock()
				if err != nil {
					cancel(err)
					return
				}
			}
		})
	}
	wg.Wait()
	return context.Cause(ctx)
}

// take pops the next job and the GEMM threads it may use.
func (p *pool) take(ctx context.Context) (job, int, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for p.wake != nil && len(p.queue) == 0 && p.running > 0 && ctx.Err() == nil {
		p.wake.Wait()
	}
	if len(p.queue) == 0 || ctx.Err() != nil {
		return nil, 0, false
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

// job trains a job's units and reports each as it finishes, unless ctx is
// cancelled first.
// The caller counts it out of p.running.
func (p *pool) job(ctx context.Context, ws *workspace, j job, threads int) error {
	ws.kc.SetThreads(threads)
	if p.start != nil {
		for _, u := range j {
			if err := p.start(u, threads); err != nil {
				return err
			}
		}
	}
	onEpoch := func(i int, s engine.EpochStats) {
		if p.epoch != nil {
			p.epoch(j[i], s)
		}
	}
	ws.onPart = nil
	if p.part != nil {
		ws.onPart = func(is []int, pt engine.EpochPart) { p.part(j, is, pt) }
	}
	ws.partEvery = p.partEvery
	onDone := func(i int, r sweeps.UnitResult) error {
		if p.done != nil {
			return p.done(j[i], p.finish(j[i], r))
		}
		return nil
	}
	if p.fit != nil {
		return p.fit(ctx, ws, j, onEpoch, onDone) // cancelled: the units not done are abandoned
	}
	r, err := p.train(ctx, ws.kc, j[0], func(s engine.EpochStats) { onEpoch(0, s) })
	if err != nil {
		return err // cancelled: the unit is abandoned
	}
	return onDone(0, r)
}

// more queues the jobs p.after makes of job j's end, first.
func (p *pool) more(j job) error {
	p.afterMu.Lock()
	jobs, err := p.after(j)
	p.afterMu.Unlock()
	if err != nil || len(jobs) == 0 {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.queue = append(jobs, p.queue...)
	p.wake.Broadcast()
	return nil
}

// finish completes unit u's result r with what identifies it and where it
// was trained.
func (p *pool) finish(u sweeps.Unit, r sweeps.UnitResult) sweeps.UnitResult {
	r.Fold, r.EngineVer, r.DataSHA256 = u.ID.Fold, u.ID.Engine, u.ID.Data
	r.Machine = sweeps.ThisMachine()
	return r
}

// TrainAndScore trains cfg on train and scores it on test (after every
// epoch too when curves is set). A configuration the engine rejects, bad
// data or a divergence are results (with Error set), not errors; the only
// error is ctx's.
func TrainAndScore(ctx context.Context, kc *kernels.Context, cfg engine.Normalized, features, classes int,
	train, test engine.Data, curves bool, onEpoch func(engine.EpochStats)) (sweeps.UnitResult, error) {
	m, err := engine.NewNormalized(cfg, features, classes, kc)
	if err != nil {
		return sweeps.UnitResult{Epochs: []engine.EpochStats{}, Error: err.Error()}, nil
	}
	return FitAndScore(ctx, m, train, test, curves, onEpoch)
}
