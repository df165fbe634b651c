package queue

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/mlpsweep/mlpsweep/datasets"
	"github.com/mlpsweep/mlpsweep/engine"
	"github.com/mlpsweep/mlpsweep/kernels"
	"github.com/mlpsweep/mlpsweep/sweeps"
	"github.com/mlpsweep/mlpsweep/sweeps/scheduler"
	"github.com/mlpsweep/mlpsweep/sweeps/store"
	"github.com/mlpsweep/mlpsweep/sweeps/study"
)

// ErrInterrupted is returned (wrapped) by Work when its context is
// cancelled: the units in flight went back to the queue at once.
var ErrInterrupted = errors.New("interrupted")

// Options control Work.
type Options struct {
	Workers      int  // units trained at once (River's MaxWorkers), each on one core
	ExitWhenDone bool // return once the queue holds nothing to run (no job queued, running or waiting for a retry)

	// A job's timeout is TimeoutFactor times its unit's expected time on
	// this machine (ExpectedEfficiency of a core's peak), and at least
	// MinTimeout. A job timed out is retried, MaxAttempts in all.
	TimeoutFactor float64
	MinTimeout    time.Duration
	// LivenessEvery is how often the worker makes sure of its database
	// session, stops its runs of jobs it no longer holds, and looks for
	// running jobs whose worker's session is gone; such a job goes back to
	// the queue once two looks at least 2×LivenessEvery apart found it so
	// (liveness.go). 0: DefaultLivenessEvery.
	LivenessEvery time.Duration
	// RescueAfter is how long a job may run before River's rescuer (on
	// whichever worker leads) hands it to another worker, the backstop
	// for workers of earlier builds, which hold no liveness lock, and for
	// a live worker whose job never returns, unless the job's own timeout
	// is longer (the rescuer waits for that too). 0 derives it when Work
	// starts: the longest queued job's timeout plus a minute.
	RescueAfter time.Duration
	// FetchCooldown is River's minimum time between fetches of jobs (0:
	// DefaultFetchCooldown): it bounds how fast a worker takes tiny units.
	FetchCooldown time.Duration
	// PollInterval is how often an idle worker looks for jobs besides
	// LISTEN/NOTIFY, and how often ExitWhenDone checks the queue (0: 1 s).
	PollInterval time.Duration

	Log io.Writer // a line per unit and per event; nil: none
	// PartEvery > 0 adds a line at most this often while a job is partway
	// through a long epoch, with its time left (see partway); 0: none.
	PartEvery time.Duration
}

// Defaults of Options.
const (
	DefaultTimeoutFactor = 10
	DefaultMinTimeout    = time.Minute
	DefaultFetchCooldown = 5 * time.Millisecond
	// ExpectedEfficiency is the share of a core's peak (kernels.MachinePeak)
	// a unit is expected to train at, for its timeout: small MLPs reach
	// 10 to 40 % of it here, so an expectation at 5 % errs long.
	ExpectedEfficiency = 0.05
)

// Stats is what a Work call did.
type Stats struct {
	Units        int           // units recorded, failed ones included
	Failed       int           // of which recorded as failed (not retried)
	Train        time.Duration // summed over the units recorded
	Busy         time.Duration // first unit's start to last unit's record
	Workers      int
	Queue        string
	RescueAfter  time.Duration
	ElsewhereJob int // units of its jobs found done already (by another study's job, or before a worker running the job died): not trained again
	HandedBack   int // jobs of dead workers it handed back to the queue
	Lost         int // runs of its own it stopped: their jobs were handed to another while its session was gone
}

// OverheadPerUnit is the queue's cost per unit recorded: the worker
// slots' busy time not spent training (fetching, claiming, marking,
// recording), per unit.
func (s Stats) OverheadPerUnit() time.Duration {
	if s.Units == 0 {
		return 0
	}
	return (time.Duration(s.Workers)*s.Busy - s.Train) / time.Duration(s.Units)
}

// liveStates are the states of a job not finished yet.
const liveStates = `('available', 'pending', 'retryable', 'running', 'scheduled')`

// Work trains the jobs of the queue of this process's engine on
// opt.Workers goroutines, each a fused group at a time on its own
// scheduler.GroupTrainer, and records each unit's result in its own
// transaction, the last one completing the job. It returns when ctx is cancelled (an error wrapping ErrInterrupted;
// units in flight go back to the queue at once), or with ExitWhenDone when
// the queue is empty.
func Work(ctx context.Context, st *store.Postgres, opt Options) (Stats, error) {
	engine := sweeps.EngineID()
	w := &groupWorker{st: st, engine: engine, opt: opt, log: opt.Log,
		rate:     kernels.MachinePeak().GFLOPS * 1e9 * ExpectedEfficiency,
		trainers: make(chan *scheduler.GroupTrainer, opt.Workers),
		data:     map[Source]*loaded{},
		folds:    map[foldsKey][]datasets.Fold{},
	}
	if w.log == nil {
		w.log = io.Discard
	}
	stats := Stats{Workers: opt.Workers, Queue: QueueName(engine)}
	if opt.Workers < 1 || opt.TimeoutFactor <= 0 || opt.MinTimeout <= 0 || opt.RescueAfter < 0 || opt.LivenessEvery < 0 {
		return stats, fmt.Errorf("queue: bad options: %d workers, timeout factor %g, min timeout %v, rescue after %v, liveness every %v",
			opt.Workers, opt.TimeoutFactor, opt.MinTimeout, opt.RescueAfter, opt.LivenessEvery)
	}
	every := opt.LivenessEvery
	if every == 0 {
		every = DefaultLivenessEvery
	}
	if err := Migrate(ctx, st.Pool()); err != nil {
		return stats, fmt.Errorf("%s: %w", st.Name(), err)
	}
	longest, err := w.longestTimeout(ctx, stats.Queue)
	if err != nil {
		return stats, fmt.Errorf("%s: %w", st.Name(), err)
	}
	stats.RescueAfter = opt.RescueAfter
	if stats.RescueAfter == 0 {
		stats.RescueAfter = longest + time.Minute
	}
	cooldown := opt.FetchCooldown
	if cooldown == 0 {
		cooldown = DefaultFetchCooldown
	}
	poll := opt.PollInterval
	if poll == 0 {
		poll = time.Second
	}

	// The liveness lock before the client: no job of this worker may
	// be seen running without it.
	id := newWorkerID()
	sess, err := openSession(ctx, st, id)
	if err != nil {
		return stats, fmt.Errorf("%s: %w", st.Name(), err)
	}
	defer sess.close()

	workers := river.NewWorkers()
	river.AddWorker(workers, w)
	gate := &fetchGate{st: st, sess: sess, logf: w.logf}
	client, err := river.NewClient[pgx.Tx](gatedDriver{riverpgxv5.New(st.Pool()), gate}, &river.Config{
		ID:                   id,
		Queues:               map[string]river.QueueConfig{stats.Queue: {MaxWorkers: opt.Workers}},
		Workers:              workers,
		JobTimeout:           min(opt.MinTimeout, stats.RescueAfter),
		RescueStuckJobsAfter: stats.RescueAfter,
		FetchCooldown:        cooldown,
		FetchPollInterval:    max(cooldown, poll),
		MaxAttempts:          MaxAttempts,
		Logger:               slog.New(slog.NewTextHandler(w.log, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		return stats, err
	}
	resc, err := newRescuer(st, client, id, 2*every, w.logf)
	if err != nil {
		return stats, err
	}
	// River's rescuer takes a job from its worker once it has run for
	// RescueAfter and for its own timeout (Timeout): a shorter RescueAfter
	// does not rescue a long job sooner.
	fmt.Fprintf(w.log, "worker %s: %d at once from queue %s of %s; a unit times out after %g× its expected time (at least %v); "+
		"the units of a worker whose database session ends (killed, or its machine or network lost) run again within about %v; "+
		"River's rescuer hands on a job still running after %v",
		WorkerName(id), opt.Workers, stats.Queue, st.Name(), opt.TimeoutFactor, opt.MinTimeout, 3*every, stats.RescueAfter)
	if longest > stats.RescueAfter {
		fmt.Fprintf(w.log, ", or after its timeout when longer (the longest queued job's: %v; a lower --timeout-factor shortens it)", longest.Round(time.Second))
	}
	fmt.Fprintln(w.log)
	if err := w.noteOtherEngines(ctx); err != nil {
		return stats, fmt.Errorf("%s: %w", st.Name(), err)
	}
	// The client runs until told to stop: Ctrl-C hands running jobs back
	// (StopAndCancel), an empty queue stops it gently.
	if err := client.Start(context.WithoutCancel(ctx)); err != nil {
		return stats, fmt.Errorf("%s: %w", st.Name(), err)
	}
	stopLiveness := w.liveness(ctx, sess, resc, every)
	interrupted := false
	tick := time.NewTicker(poll)
	defer tick.Stop()
wait:
	for {
		select {
		case <-ctx.Done():
			interrupted = true
			break wait
		case <-tick.C:
			if !opt.ExitWhenDone {
				continue
			}
			var live int
			if err := st.Pool().QueryRow(ctx, `SELECT count(*) FROM river_job WHERE kind = $1 AND queue = $2 AND state IN `+liveStates,
				Kind, stats.Queue).Scan(&live); err != nil {
				if ctx.Err() != nil {
					continue
				}
				fmt.Fprintf(w.log, "worker: counting the queue's jobs: %v\n", err)
				continue
			}
			if live == 0 {
				break wait
			}
		}
	}
	stopCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if interrupted {
		w.stopping.Store(true)
		err = client.StopAndCancel(stopCtx)
	} else {
		err = client.Stop(stopCtx)
	}
	stats.HandedBack, stats.Lost = stopLiveness()
	w.mu.Lock()
	stats.Units, stats.Failed, stats.Train, stats.ElsewhereJob = w.units, w.failed, w.train, w.elsewhere
	if w.units > 0 {
		stats.Busy = w.last.Sub(w.first)
	}
	w.mu.Unlock()
	if err != nil {
		return stats, fmt.Errorf("stopping the River client: %w", err)
	}
	if interrupted {
		return stats, fmt.Errorf("%w: the units in flight went back to the queue", ErrInterrupted)
	}
	// Its queue is empty; jobs of other engines may still wait, for
	// workers this one is not.
	if err := w.noteOtherEngines(ctx); err != nil {
		fmt.Fprintf(w.log, "worker: counting other engines' jobs: %v\n", err)
	}
	return stats, nil
}

// noteOtherEngines logs the jobs waiting in the queues of engines other
// than this worker's, which it never takes (their numbers are another
// engine's), with what would train them: without this, a worker of
// another ISA path or version joining a study waits silently, or with
// ExitWhenDone calls the queue empty while the study's jobs wait.
func (w *groupWorker) noteOtherEngines(ctx context.Context) error {
	rs, err := w.st.Pool().Query(ctx, `SELECT args->>'engine', count(*) FROM river_job
		WHERE kind = $1 AND args->>'engine' <> $2 AND state IN `+liveStates+` GROUP BY 1 ORDER BY 1`, Kind, w.engine)
	if err != nil {
		return err
	}
	others, err := pgx.CollectRows(rs, func(r pgx.CollectableRow) (string, error) {
		var engine string
		var jobs int
		if err := r.Scan(&engine, &jobs); err != nil {
			return "", err
		}
		return fmt.Sprintf("worker: %d jobs wait in queue %s, planned by engine %s; this worker's engine is %s and takes none of them (their numbers are that engine's): %s",
			jobs, QueueName(engine), engine, w.engine, trainedBy(engine, w.engine)), nil
	})
	for _, line := range others {
		w.logf("%s", line)
	}
	return err
}

// trainedBy says which workers train the jobs of engine other, to a
// worker of engine this.
func trainedBy(other, this string) string {
	version, isa, _ := strings.Cut(other, "/")
	if version != sweeps.EngineVersionOf(this) {
		return fmt.Sprintf("run workers of a build at engine version %s (this build is at version %s)", version, sweeps.EngineVersionOf(this))
	}
	if path, err := kernels.ParseISA(isa); err == nil && path <= kernels.DetectedISA() {
		return fmt.Sprintf("run workers on the %s path; on this host: MLPSWEEP_ISA=%s mlpsweep worker", isa, isa)
	}
	return fmt.Sprintf("run workers on hosts with the %s path (this host's best is %s)", isa, kernels.DetectedISA())
}

// groupWorker is the River worker of GroupArgs jobs.
type groupWorker struct {
	river.WorkerDefaults[GroupArgs]
	st       *store.Postgres
	engine   string
	opt      Options
	rate     float64 // FLOP/s a unit is expected to train at
	log      io.Writer
	stopping atomic.Bool
	trainers chan *scheduler.GroupTrainer // reused by the jobs
	flights  flights                      // the jobs in flight, for the liveness loop

	mu          sync.Mutex // guards what follows, and log lines
	data        map[Source]*loaded
	folds       map[foldsKey][]datasets.Fold
	running     int // jobs in flight
	units       int
	failed      int
	elsewhere   int
	train       time.Duration
	first, last time.Time
}

type foldsKey struct {
	rows, k int
	seed    int64
}

// timeout is the timeout of a job of flops training FLOPs.
func (w *groupWorker) timeout(flops float64) time.Duration {
	expected := time.Duration(flops / w.rate * float64(time.Second))
	return max(w.opt.MinTimeout, time.Duration(w.opt.TimeoutFactor*float64(expected)))
}

// Timeout implements river.Worker: the job's own timeout, from the work of
// all its units (a fused group trains them together).
func (w *groupWorker) Timeout(job *river.Job[GroupArgs]) time.Duration {
	return w.timeout(job.Args.FLOPs)
}

// longestTimeout is the timeout of the largest job queued in queue.
func (w *groupWorker) longestTimeout(ctx context.Context, queue string) (time.Duration, error) {
	var flops float64
	err := w.st.Pool().QueryRow(ctx, `SELECT coalesce(max((args->>'flops')::float8), 0) FROM river_job WHERE kind = $1 AND queue = $2 AND state IN `+liveStates,
		Kind, queue).Scan(&flops)
	return w.timeout(flops), err
}

func (w *groupWorker) logf(format string, a ...any) {
	w.mu.Lock()
	defer w.mu.Unlock()
	fmt.Fprintf(w.log, format+"\n", a...)
}

// unitName names unit i of job in log lines.
func unitName(job *river.Job[GroupArgs], i int) string {
	a := job.Args
	return fmt.Sprintf("unit %s fold %d of study %s (attempt %d)", a.Units[i].Key, a.Fold, a.Study, attempt(job))
}

// attempt is the job's attempt counted over the jobs its group ran as: a
// dead worker's job is handed back as a new job with the attempts it had
// left (liveness.go), whose first attempt is then the old one's next.
func attempt(job *river.Job[GroupArgs]) int {
	return job.Attempt + max(0, MaxAttempts-job.MaxAttempts)
}

// errNotOurs: the job was taken from this run, handed back to the queue
// while this worker's database session was gone (liveness.go), or by
// River's rescuer (it ran longer than RescueAfter, which Work makes
// longer than the timeouts unless told otherwise), and another run holds
// it or will, and records its units.
var errNotOurs = errors.New("no longer this worker's job (handed back to the queue)")

// Work implements river.Worker: it trains the job's units not stored yet
// as one fused group and records each. The liveness loop stops it, with
// cause errNotOurs, once the job is no longer its.
func (w *groupWorker) Work(ctx context.Context, job *river.Job[GroupArgs]) error {
	name := fmt.Sprintf("%s (attempt %d)", job.Args.describe(), attempt(job))
	ctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	w.flights.add(job.ID, job.Attempt, stop)
	defer w.flights.remove(job.ID)
	err := w.work(ctx, job)
	if err != nil && errors.Is(context.Cause(ctx), errNotOurs) {
		err = fmt.Errorf("%w: stopped", errNotOurs)
	}
	switch {
	case err == nil:
	case errors.Is(err, errNotOurs):
		// An error, not nil: nil would let River complete the job under
		// the run that holds it now, whose records would then be refused.
		w.logf("%s: %v; its units not stored are left to the run that holds it", name, err)
	case w.stopping.Load():
		w.logf("%s: stopped; back to the queue", name)
	case errors.Is(err, context.DeadlineExceeded):
		w.logf("%s: timed out after %v (attempt %d of %d; River retries it)", name, w.Timeout(job), attempt(job), MaxAttempts)
	default:
		w.logf("%s: %v (attempt %d of %d)", name, err, attempt(job), MaxAttempts)
	}
	return err
}

func (w *groupWorker) work(ctx context.Context, job *river.Job[GroupArgs]) error {
	a := job.Args
	if a.Engine != w.engine {
		return fmt.Errorf("planned on engine %s, and this worker's is %s: run the job on a worker of that engine", a.Engine, w.engine)
	}
	if a.To > 0 {
		return w.workStage(ctx, job)
	}
	// The units to train: those not stored as done (by an earlier run of
	// this job that was killed, or by another study's job).
	ids := a.IDs()
	states, err := w.st.UnitStates(ctx, ids, a.Study)
	if err != nil {
		return err
	}
	var todo []int // indices into a.Units
	for i, id := range ids {
		if states[id] != "done" {
			todo = append(todo, i)
		}
	}
	if len(todo) < len(ids) {
		w.mu.Lock()
		w.elsewhere += len(ids) - len(todo)
		w.mu.Unlock()
		w.logf("group of %d units, fold %d of study %s (attempt %d): %d done already; not trained again",
			len(ids), a.Fold, a.Study, attempt(job), len(ids)-len(todo))
	}
	if len(todo) == 0 {
		return w.record(ctx, job, -1, nil, true)
	}
	data, folds, err := w.load(a)
	if err != nil {
		return err
	}
	units := make([]sweeps.Unit, len(todo))
	for k, i := range todo {
		units[k] = sweeps.Unit{ID: ids[i], Point: &study.Point{Params: a.Units[i].Params}}
	}
	t, threads := w.trainer(ctx)
	defer w.release(t)
	t.SetProgress(w.opt.PartEvery, w.partway(job, todo, data, folds, a.Curves, 0, 0))
	if err := w.st.MarkRunningAll(ctx, sweeps.UnitIDs(units), a.Study, threads); err != nil {
		return err
	}
	for _, i := range todo {
		w.logf("%s: started", unitName(job, i))
	}
	started := time.Now()
	if len(units) > 1 {
		w.logf("group of %d units, fold %d of study %s (attempt %d): %d trained fused, %d GEMM thread(s)",
			len(ids), a.Fold, a.Study, attempt(job), len(units), threads)
	}
	epochs := newEpochWriter(w.st)
	defer epochs.flush() // no writer left behind
	recorded := 0
	return t.Train(ctx, data, folds, a.SplitSeed, a.Curves, units, func(k int, s engine.EpochStats) {
		epochs.add(store.EpochRow{ID: ids[todo[k]], Study: a.Study, Stats: s})
	}, func(k int, r sweeps.UnitResult) error {
		if err := epochs.flush(); err != nil {
			return err // River retries the job
		}
		i := todo[k]
		r.GFLOP = float64(r.Samples) * scheduler.TrainingFLOPsPerRow(a.Units[i].Params.Hidden(), data.Features, data.Classes) / 1e9
		r.Started = started.UnixNano()
		r.Fold, r.EngineVer, r.DataSHA256 = a.Fold, a.Engine, a.DataSHA
		r.Machine = sweeps.ThisMachine()
		recorded++
		// The result is recorded even when a stop comes while it is written.
		if err := w.record(context.WithoutCancel(ctx), job, i, &r, recorded == len(todo)); err != nil {
			return err
		}
		w.count(started, r.Seconds, r.Failed())
		switch {
		case r.Failed():
			w.logf("%s: failed: %s; recorded, not retried", unitName(job, i), r.Error)
		case r.Diverged:
			w.logf("%s: accuracy %.4f (diverged) in %.2fs; recorded", unitName(job, i), r.Accuracy, r.Seconds)
		default:
			w.logf("%s: accuracy %.4f in %.2fs; recorded", unitName(job, i), r.Accuracy, r.Seconds)
		}
		return nil
	})
}

// record writes the result r of the job's unit i (when r is not nil) in
// one transaction, which first locks the job's row and checks that this
// run still holds it (running, on this attempt), else returns errNotOurs:
// so each unit is recorded once however often its job runs. With last, the
// same transaction completes the job. A failed unit is a result like any
// other (the same configuration fails again): recorded, not retried.
func (w *groupWorker) record(ctx context.Context, job *river.Job[GroupArgs], i int, r *sweeps.UnitResult, last bool) error {
	return w.recordState(ctx, job, i, r, nil, last)
}

// recordState is record that, with state not nil (r nil), writes unit i's
// training state after the job's epoch To instead of a result.
func (w *groupWorker) recordState(ctx context.Context, job *river.Job[GroupArgs], i int, r *sweeps.UnitResult, state []byte, last bool) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	return pgx.BeginFunc(ctx, w.st.Pool(), func(tx pgx.Tx) error {
		var ours bool
		err := tx.QueryRow(ctx, `SELECT state = 'running' AND attempt = $2 FROM river_job WHERE id = $1 FOR UPDATE`, job.ID, job.Attempt).Scan(&ours)
		if errors.Is(err, pgx.ErrNoRows) || err == nil && !ours {
			return errNotOurs
		}
		if err != nil {
			return err
		}
		if r != nil {
			if err := w.st.SaveUnitTx(ctx, tx, job.Args.ID(i), job.Args.Study, *r); err != nil {
				return err
			}
		}
		if state != nil {
			if err := w.st.SaveCheckpointTx(ctx, tx, job.Args.ID(i), job.Args.Study, job.Args.To, state); err != nil {
				return err
			}
		}
		if !last {
			return nil
		}
		_, err = river.JobCompleteTx[*riverpgxv5.Driver](ctx, tx, job)
		return err
	})
}

// count adds a unit recorded to the worker's Stats: started with its job,
// trained for seconds, failed or not.
func (w *groupWorker) count(started time.Time, seconds float64, failed bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.units++
	w.train += time.Duration(seconds * float64(time.Second))
	if w.first.IsZero() || started.Before(w.first) {
		w.first = started
	}
	w.last = time.Now()
	if failed {
		w.failed++
	}
}

// load returns the job's data and folds, loaded once per process.
func (w *groupWorker) load(a GroupArgs) (*datasets.Dataset, []datasets.Fold, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	data := w.data[a.Data]
	if data == nil {
		d, err := study.LoadData(a.Data.Spec, a.Data.LimitRows)
		if err != nil {
			return nil, nil, fmt.Errorf("loading the data: %w", err)
		}
		data = &loaded{d, d.Fingerprint()} // hashing MNIST takes ~10 ms: once
		w.data[a.Data] = data
	}
	if data.sha != a.DataSHA {
		return nil, nil, fmt.Errorf("%s here has fingerprint %s, the study's has %s: give this worker the same file", a.Data.Spec, data.sha, a.DataSHA)
	}
	if want := sweeps.KFoldSplit(a.Folds, a.SplitSeed); a.Split != want {
		return nil, nil, fmt.Errorf("split %q is not %q: an unknown kind of split", a.Split, want)
	}
	fk := foldsKey{data.N, a.Folds, a.SplitSeed}
	folds := w.folds[fk]
	if folds == nil {
		f, err := datasets.KFold(data.N, a.Folds, uint32(a.SplitSeed))
		if err != nil {
			return nil, nil, err
		}
		folds = f
		w.folds[fk] = f
	}
	if a.Fold < 0 || a.Fold >= len(folds) {
		return nil, nil, fmt.Errorf("fold %d of %d", a.Fold, len(folds))
	}
	return data.Dataset, folds, nil
}

// loaded is a job's data set and its fingerprint.
type loaded struct {
	*datasets.Dataset
	sha string
}

// trainer takes a GroupTrainer, reusing one a finished job left (with its
// models' buffers), and returns it with its GEMM threads. A job that starts when the queue holds no other job
// waiting uses the cores of the slots idle in this process as GEMM
// threads, as the local scheduler's last jobs do: that changes its speed,
// not its numbers.
func (w *groupWorker) trainer(ctx context.Context) (*scheduler.GroupTrainer, int) {
	var t *scheduler.GroupTrainer
	select {
	case t = <-w.trainers:
	default:
		t = scheduler.NewGroupTrainer()
	}
	w.mu.Lock()
	w.running++
	running := w.running
	w.mu.Unlock()
	threads := 1
	if running < w.opt.Workers {
		var waiting bool
		err := w.st.Pool().QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM river_job WHERE kind = $1 AND queue = $2 AND state = 'available')`,
			Kind, QueueName(w.engine)).Scan(&waiting)
		if err == nil && !waiting {
			threads = max(1, w.opt.Workers/running)
		}
	}
	t.SetThreads(threads)
	return t, threads
}

func (w *groupWorker) release(t *scheduler.GroupTrainer) {
	w.mu.Lock()
	w.running--
	w.mu.Unlock()
	select {
	case w.trainers <- t:
	default:
	}
}

// liveness runs the worker's liveness loop (liveness.go) every every until
// the returned function is called, which returns how many dead workers'
// jobs it handed back and how many runs of its own it stopped.
func (w *groupWorker) liveness(ctx context.Context, sess *session, resc *rescuer, every time.Duration) func() (handedBack, lost int) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	var handed, stopped int
	go func() {
		defer close(done)
		tick := time.NewTicker(every)
		defer tick.Stop()
		var broken error // the session's last failure, until it is back
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			renewed, err := sess.keep(ctx)
			switch {
			case err != nil && ctx.Err() != nil:
				return
			case err != nil && broken == nil:
				w.logf("worker: its database session is gone (%v): other workers may hand its jobs back in %v; connecting again every %v", err, 2*every, every)
			case err == nil && renewed:
				w.logf("worker: its database session had ended (a network cut, or the server restarted); connected again")
			}
			broken = err
			n, err := w.flights.check(ctx, w.st)
			if n > 0 {
				stopped += n
				w.logf("worker: %d of its jobs are no longer its (handed back while its session was gone, or by River's rescuer): stopped", n)
			}
			if err == nil {
				n, err = resc.look(ctx)
				handed += n
			}
			if err != nil && ctx.Err() == nil && broken == nil {
				w.logf("worker: looking for dead workers' jobs: %v", err)
			}
		}
	}()
	return func() (int, int) {
		cancel()
		<-done
		return handed, stopped
	}
}
