package main

import (
	"errors"
	"fmt"
	"io"
	"runtime"
	"time"

	"github.com/mlpsweep/mlpsweep/internal/words"
	"github.com/mlpsweep/mlpsweep/sweeps/queue"
)

func init() {
	register(command{name: "worker", summary: "train the units queued by sweep --enqueue (queue mode, on any machines)", run: runWorker})
}

const workerSynopsis = `worker --store postgres://… [--workers N] [--exit-when-done] [flags]

Trains the units that mlpsweep sweep STUDY --store URL --enqueue queued in
the PostgreSQL database at URL (or in MLPSWEEP_STORE), --workers jobs at a
time, each a fused group of units on one core (bit for bit a local run's
numbers), and records each unit's result in its own transaction, the last
completing the job, so that a result is recorded exactly once. Start any
number of workers on any machines that have the study's data at the same
paths; a worker takes only the units planned by its own engine (version and
ISA path), whose numbers it reproduces bit for bit, and names the queues of
other engines that hold jobs, with what would train them.

A unit that fails (a divergence is a result, not a failure) is recorded and
not retried. A job times out after --timeout-factor times its units'
expected time (and at least --min-timeout) and is retried, 5 attempts in
all.

Each worker holds a lock in its own database session. When a worker dies,
its session ends: at once when the process is killed (kill -9, a crash), and
within about 25 s when its machine or network is lost (the server's TCP
keepalives). Every worker, and sweep --wait, looks every --liveness-every
for jobs running on a worker whose session is gone, and hands such a job
back to the queue once two looks 2×--liveness-every apart found it so: with
the defaults a killed worker's units start again on another worker about
10–15 s after the kill (35–40 s for a lost machine). The units it had stored
are kept, the others trained again; the job keeps the attempts it had left.
A worker that is slow, busy or stopped keeps its session, and so its jobs,
however long they take. A worker whose session was cut while it kept
running (a network partition) stores nothing of a job handed on meanwhile,
and stops training it once it reaches the database again. mlpsweep status
names the units on dead workers. The lock needs a session of the worker's
own: through PgBouncer, use session pooling. River's rescuer remains the
backstop for workers of builds before this one: it hands on a job that has
run for --rescue-after and for its own timeout.

Ctrl-C or SIGTERM stops at once, handing the jobs in flight back to the
queue (exit status 130). With --exit-when-done the worker exits when the
queue holds nothing to run; otherwise it waits for more. A job partway
through a long epoch logs how far it is every 30 s, with its time left.

Example:
  mlpsweep sweep study.yaml --store postgres://sweep@db:5432/sweeps --enqueue
  mlpsweep worker --store postgres://sweep@db:5432/sweeps --workers 8   # on each machine
  mlpsweep sweep study.yaml --store postgres://sweep@db:5432/sweeps --wait`

// The bounds of --timeout-factor and --liveness-every. A timeout factor
// below 1 times a job out before its expected end; above 10⁶ a 1 s job
// waits 11 days, and NaN or 1e308 made every timeout --min-timeout (the
// product overflows a time.Duration). A worker looks at its session every
// --liveness-every: less often than every 10 minutes, a dead worker's
// units wait half an hour to run again, and a worker cut off from the
// database trains a job handed on elsewhere as long.
const (
	minTimeoutFactor = 1.0
	maxTimeoutFactor = 1e6
	maxLivenessEvery = 10 * time.Minute
)

func runWorker(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("worker", workerSynopsis, stderr)
	storeFlag := fs.String("store", "", "the PostgreSQL database holding the queue, a postgres:// URL (default: $"+storeEnv+")")
	var opt queue.Options
	fs.IntVar(&opt.Workers, "workers", runtime.NumCPU(), "jobs (fused groups of units) trained at once, each on one core (at most 4096)")
	fs.BoolVar(&opt.ExitWhenDone, "exit-when-done", false, "exit when the queue holds nothing to run (for batch jobs and tests)")
	fs.Float64Var(&opt.TimeoutFactor, "timeout-factor", queue.DefaultTimeoutFactor, fmt.Sprintf("a unit times out after this many times its expected time on this machine (%.0f to %.0f: below 1 a job times out before its expected end)", minTimeoutFactor, maxTimeoutFactor))
	fs.DurationVar(&opt.MinTimeout, "min-timeout", queue.DefaultMinTimeout, "a unit's timeout is at least this")
	fs.DurationVar(&opt.LivenessEvery, "liveness-every", queue.DefaultLivenessEvery, "how often to check this worker's database session and look for jobs of workers whose session is gone (give every worker the same; 100ms to 10m: a dead worker's units wait about 3× this, and a worker cut off from the database trains on a job handed on for up to this long)")
	fs.DurationVar(&opt.RescueAfter, "rescue-after", 0, "River's rescuer: a job running this long, and past its own timeout, is taken from its worker and run again, for workers of earlier builds (0: the longest queued job's timeout + 1m)")
	fs.DurationVar(&opt.FetchCooldown, "fetch-cooldown", queue.DefaultFetchCooldown, "least time between two fetches of jobs from the queue")
	positional, code := parseInterleaved(fs, args, stdout)
	if code >= 0 {
		return code
	}
	switch {
	case len(positional) > 0:
		return usageError(stderr, "worker", "unexpected arguments %q: the queue is in the --store database", positional)
	case opt.Workers < 1:
		return usageError(stderr, "worker", "--workers %d: want N ≥ 1", opt.Workers)
	case !(opt.TimeoutFactor >= minTimeoutFactor && opt.TimeoutFactor <= maxTimeoutFactor): // NaN too
		return usageError(stderr, "worker", "--timeout-factor %g: want a factor from %.0f to %.0f (default %v)", opt.TimeoutFactor, minTimeoutFactor, maxTimeoutFactor, queue.DefaultTimeoutFactor)
	case opt.MinTimeout <= 0:
		return usageError(stderr, "worker", "--min-timeout %v: want a duration > 0", opt.MinTimeout)
	case opt.RescueAfter < 0 || opt.RescueAfter > 0 && opt.RescueAfter <= opt.MinTimeout:
		return usageError(stderr, "worker", "--rescue-after %v: want a duration longer than --min-timeout %v (or 0)", opt.RescueAfter, opt.MinTimeout)
	case opt.LivenessEvery < 100*time.Millisecond || opt.LivenessEvery > maxLivenessEvery:
		return usageError(stderr, "worker", "--liveness-every %v: want 100ms to %v (default %v)", opt.LivenessEvery, maxLivenessEvery, queue.DefaultLivenessEvery)
	case opt.FetchCooldown < time.Millisecond:
		return usageError(stderr, "worker", "--fetch-cooldown %v: want at least 1ms", opt.FetchCooldown)
	}
	warnCores(stderr, "worker", "--workers", opt.Workers)
	url, from, err := storeURL(fs, *storeFlag)
	if err != nil {
		return usageError(stderr, "worker", "%v", err)
	}
	st, code := openQueueStore(url, from, "worker", "the queue is in PostgreSQL: ", stderr)
	if code >= 0 {
		return code
	}
	defer st.Close()

	ctx := commandContext() // canceled by Ctrl-C or SIGTERM (interrupt.go)
	opt.Log, opt.PartEvery = stderr, workerPartLines
	s, err := queue.Work(ctx, st, opt)
	if s.Units > 0 {
		fmt.Fprintf(stderr, "worker: %s recorded (%d failed) in %.2fs, %.2fs training on %s: queue overhead %.2f ms per unit\n",
			words.Count(s.Units, "unit"), s.Failed, s.Busy.Seconds(), s.Train.Seconds(), words.Count(s.Workers, "worker"), float64(s.OverheadPerUnit())/1e6)
	}
	if s.HandedBack > 0 {
		fmt.Fprintf(stderr, "worker: handed %s of dead workers back to the queue\n", words.Count(s.HandedBack, "job"))
	}
	if s.Lost > 0 {
		fmt.Fprintf(stderr, "worker: stopped %s of jobs handed on while its database session was gone (their units are the new holders' to store)\n", words.Count(s.Lost, "run"))
	}
	if errors.Is(err, queue.ErrInterrupted) {
		fmt.Fprintf(stderr, "mlpsweep worker: %v\n", err)
		return 130
	}
	if err != nil {
		return fail(stderr, "worker", err)
	}
	fmt.Fprintf(stderr, "worker: queue %s is empty\n", s.Queue)
	return 0
}
