package queue

// A dead worker's jobs go back to the queue within seconds, found by its
// database session, while a slow one keeps them however long it takes.
//
// Each Work call names its River client (newWorkerID) and holds, on a
// connection of its own, a session-level advisory lock whose key is a hash
// of that name. PostgreSQL releases the lock when the session ends: at
// once when the process dies (kill -9, a crash: the kernel closes its
// sockets), and within about 25 s when the machine or its network is lost
// (the server's TCP keepalives, which store.ParsePostgresURL sets). A
// stopped or busy process keeps its session, and so its jobs: the lock
// says whether the worker's session lives, not whether it keeps time.
//
// A running job's worker is the last client in River's attempted_by. A
// rescuer, in every worker and in sweep --wait, looks for running jobs
// whose worker's lock is gone (deadJobs); one seen so at looks in a row
// spanning grace, 2×Options.LivenessEvery (a live worker whose session
// broke takes its lock again at its next look), it hands back
// (handBack): in one
// transaction, under the job row's lock and checking again, it cancels
// the job, with an error saying why, and inserts the same arguments as a
// new job with the attempts it had left. River has no call for this: its
// JobRetry leaves running jobs alone, its JobCancel only asks the job's
// client (here dead) to stop, and its rescuer waits RescueStuckJobsAfter.
// A new job rather than the same row made available again: River's
// completer of the old run, should it still live (a network partition),
// sets the state of its job's row whatever attempt now runs it; the
// cancelled row it can no longer change. Its unit records, which check
// that their run still holds the job (record), are refused, and its
// liveness loop stops the run once it reaches the database again
// (flights.check), so each unit is still stored once. Only then, when a
// live worker's session was cut, does a job train twice at once, for as
// long as the cut lasts.
//
// A worker whose session was cut takes no job until it holds its lock
// again (gatedDriver, below): others would hand it back.
//
// Jobs run by workers of earlier builds (whose client ID has no
// workerPrefix) are left to River's rescuer, as before.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"

	"github.com/mlpsweep/mlpsweep/sweeps/store"
)

// DefaultLivenessEvery is how often a worker makes sure of its own
// session and looks for dead workers' jobs (Options.LivenessEvery), and
// how often sweep --wait looks for them.
const DefaultLivenessEvery = 5 * time.Second

// workerPrefix starts the River client ID of a worker that holds its
// liveness lock: a job attempted by any other client is not judged here.
const workerPrefix = "mlpsweep-worker:"

// lockSeed is hashtextextended's seed for the lock key of a client ID,
// kept apart from other hashes of the same text.
const lockSeed = 0x6d6c706c697665 // "mlplive"

// newWorkerID names a Work call's River client: host and process, for
// the messages that name a dead worker, and random bits, unique.
func newWorkerID() string {
	host, _ := os.Hostname()
	if len(host) > 50 {
		host = host[:50]
	}
	var b [4]byte
	rand.Read(b[:])
	return fmt.Sprintf("%s%s:%d:%s", workerPrefix, host, os.Getpid(), hex.EncodeToString(b[:]))
}

// WorkerName is how messages name the worker of client ID id:
// "host:pid:random".
func WorkerName(id string) string { return strings.TrimPrefix(id, workerPrefix) }

// jobOwner is the SQL expression of the client running river_job row j:
// the last to attempt it.
const jobOwner = `j.attempted_by[array_upper(j.attempted_by, 1)]`

// lockKey is the SQL expression of the lock key of the client ID in SQL
// expression id.
func lockKey(id string) string { return fmt.Sprintf("hashtextextended(%s, %d)", id, lockSeed) }

// lockHeld is an SQL condition on pg_locks row l: it is the liveness lock
// of the client ID in SQL expression id, granted (a bigint advisory lock
// shows in pg_locks as its high and low halves).
func lockHeld(id string) string {
	return fmt.Sprintf(`l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
		AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
		AND l.classid::bigint = (%[1]s >> 32) & 4294967295 AND l.objid::bigint = %[1]s & 4294967295`, lockKey(id))
}

// ownerGone is an SQL condition on river_job row j: it runs on a worker
// of this build whose liveness lock no session of the database holds.
var ownerGone = fmt.Sprintf(`(j.state = 'running' AND starts_with(%[1]s, '%[2]s') AND NOT EXISTS (
	SELECT 1 FROM pg_locks l WHERE %[3]s))`, jobOwner, workerPrefix, lockHeld(jobOwner))

// deadJob is a running job whose worker's session is gone.
type deadJob struct {
	id      int64
	attempt int
	owner   string // its worker's River client ID
}

// deadJobs returns the running jobs whose worker's session is gone.
func deadJobs(ctx context.Context, st *store.Postgres) ([]deadJob, error) {
	rs, err := st.Pool().Query(ctx, `SELECT j.id, j.attempt, `+jobOwner+` FROM river_job j WHERE j.kind = $1 AND j.state = 'running' AND `+ownerGone+` ORDER BY j.id`, Kind)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rs, func(r pgx.CollectableRow) (deadJob, error) {
		var d deadJob
		err := r.Scan(&d.id, &d.attempt, &d.owner)
		return d, err
	})
}

// pingTimeout bounds a look at the liveness session.
const pingTimeout = 5 * time.Second

// session is a worker's liveness lock, held on a connection of its own
// (the pool's connections come and go).
type session struct {
	id   string // the worker's River client ID
	cfg  *pgx.ConnConfig
	conn *pgx.Conn
	pid  atomic.Uint32 // conn's server process while keep last found it alive; 0: none
}

// openSession takes the liveness lock of client ID id in st's database.
func openSession(ctx context.Context, st *store.Postgres, id string) (*session, error) {
	s := &session{id: id, cfg: st.Pool().Config().ConnConfig}
	if _, err := s.keep(ctx); err != nil {
		return nil, fmt.Errorf("taking this worker's liveness lock: %w", err)
	}
	return s, nil
}

// keep makes sure the session holds the lock: it pings the connection,
// and when that fails connects again and takes the lock again, reporting
// renewed. The lock may still be held by the broken session, until the
// server ends it: an error, and the next keep tries again.
func (s *session) keep(ctx context.Context) (renewed bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, pingTimeout)
	defer cancel()
	if s.conn != nil {
		if err := s.conn.Ping(ctx); err == nil {
			return false, nil
		}
		s.pid.Store(0)
		s.conn.Close(ctx)
		s.conn = nil
	}
	conn, err := pgx.ConnectConfig(ctx, s.cfg)
	if err != nil {
		return false, err
	}
	var held bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock(`+lockKey("$1")+`)`, s.id).Scan(&held); err != nil || !held {
		conn.Close(ctx)
		if err == nil {
			err = errors.New("the lock is still held by this worker's previous session, which the server has not ended yet")
		}
		return false, err
	}
	s.conn = conn
	s.pid.Store(conn.PgConn().PID())
	return true, nil
}

// close ends the session, and so releases the lock.
func (s *session) close() {
	s.pid.Store(0)
	if s.conn != nil {
		s.conn.Close(context.Background())
	}
}

// rescuer hands back the jobs of workers whose session is gone.
type rescuer struct {
	st     *store.Postgres
	client *river.Client[pgx.Tx] // inserts the new jobs
	self   string                // the looking worker's client ID ("": not a worker)
	grace  time.Duration
	seen   map[[2]int64]time.Time // (job, attempt) → the first look that found its worker gone
	last   time.Time              // the last look
	logf   func(format string, a ...any)
}

// newRescuer returns a rescuer looking from st, as worker self (or ""),
// with client (nil: an insert-only client of its own).
func newRescuer(st *store.Postgres, client *river.Client[pgx.Tx], self string, grace time.Duration, logf func(string, ...any)) (*rescuer, error) {
	if client == nil {
		var err error
		if client, err = river.NewClient(riverpgxv5.New(st.Pool()), &river.Config{}); err != nil {
			return nil, err
		}
	}
	return &rescuer{st: st, client: client, self: self, grace: grace, seen: map[[2]int64]time.Time{}, logf: logf}, nil
}

// look hands back each job whose worker's session it found gone at this
// look and at one at least grace earlier, and returns how many it did.
func (r *rescuer) look(ctx context.Context) (int, error) {
	r.last = time.Now()
	dead, err := deadJobs(ctx, r.st)
	if err != nil {
		return 0, err
	}
	seen := map[[2]int64]time.Time{}
	handed := 0
	for _, d := range dead {
		k := [2]int64{d.id, int64(d.attempt)}
		first, ok := r.seen[k]
		switch {
		case d.owner == r.self:
			continue // its own session broke: others judge it
		case !ok:
			seen[k] = r.last
			continue
		case r.last.Sub(first) < r.grace-r.grace/10: // a tenth for the looks' jitter
			seen[k] = first
			continue
		}
		ok, err := r.handBack(ctx, d, r.last.Sub(first))
		if err != nil {
			return handed, err
		}
		if ok {
			handed++
		}
	}
	r.seen = seen
	return handed, nil
}

// lookEvery is look when the last look was every or more ago.
func (r *rescuer) lookEvery(ctx context.Context, every time.Duration) (int, error) {
	if time.Since(r.last) < every {
		return 0, nil
	}
	return r.look(ctx)
}

// deadWatch hands back dead workers' jobs from a loop that follows a
// study (Follow, Search), as the workers do: once the study has shown
// units on a dead worker, at most every DefaultLivenessEvery. A failure
// to hand back is the workers' to mend: they look too.
type deadWatch struct{ r *rescuer }

// look is called with each progress p of the study read.
func (d *deadWatch) look(ctx context.Context, st *store.Postgres, p Progress) error {
	if p.Dead > 0 && d.r == nil {
		r, err := newRescuer(st, nil, "", 2*DefaultLivenessEvery, nil)
		if err != nil {
			return err
		}
		d.r = r
	}
	if d.r != nil {
		d.r.lookEvery(ctx, DefaultLivenessEvery)
	}
	return nil
}

// handBack cancels dead job d, whose worker has been gone at least gone,
// and inserts its arguments as a new job with the attempts it has left,
// in one transaction, checking under the job row's lock that d still
// runs on that worker and that its session is still gone. It reports
// false when it did nothing (another process handed it back, or the
// worker is back). A job with no attempt left is discarded, as River
// discards one whose last attempt failed.
func (r *rescuer) handBack(ctx context.Context, d deadJob, gone time.Duration) (bool, error) {
	var line string
	err := pgx.BeginFunc(ctx, r.st.Pool(), func(tx pgx.Tx) error {
		var raw []byte
		var queue string
		var priority, maxAttempts int
		err := tx.QueryRow(ctx, `SELECT j.args, j.queue, j.priority, j.max_attempts FROM river_job j
			WHERE j.id = $1 AND j.attempt = $2 AND `+jobOwner+` = $3 AND `+ownerGone+` FOR UPDATE SKIP LOCKED`,
			d.id, d.attempt, d.owner).Scan(&raw, &queue, &priority, &maxAttempts)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		var a GroupArgs
		if err := json.Unmarshal(raw, &a); err != nil {
			return fmt.Errorf("job %d: %w", d.id, err)
		}
		left := maxAttempts - d.attempt
		state := "cancelled"
		if left <= 0 {
			state = "discarded"
		}
		reason := fmt.Sprintf("worker %s's database session ended (gone for at least %v)", WorkerName(d.owner), gone.Round(time.Second))
		attemptErr, err := json.Marshal(rivertype.AttemptError{At: time.Now().UTC(), Attempt: d.attempt, Error: reason})
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE river_job SET state = $2::text::river_job_state, finalized_at = now(), errors = array_append(errors, $3::jsonb) WHERE id = $1`,
			d.id, state, attemptErr); err != nil {
			return err
		}
		// Attempts counted over the jobs the group ran as, as worker.go's attempt.
		line = fmt.Sprintf("job %d (%s, attempt %d of %d): %s: ", d.id, a.describe(), d.attempt+max(0, MaxAttempts-maxAttempts), MaxAttempts, reason)
		if left <= 0 {
			line += "discarded: that was its last attempt"
			return nil
		}
		opts := jobOpts(queue, left)
		opts.Priority = priority
		res, err := r.client.InsertTx(ctx, tx, a, opts)
		if err != nil {
			return err
		}
		line += fmt.Sprintf("handed back to the queue as job %d (%d attempts left)", res.Job.ID, left)
		return nil
	})
	if err != nil || line == "" {
		return false, err
	}
	if r.logf != nil {
		r.logf("%s", line)
	}
	return true, nil
}

// flight is a job this process runs: its attempt, and how to stop it.
type flight struct {
	attempt int
	stop    context.CancelCauseFunc
}

// flights are the jobs a worker process runs.
type flights struct {
	mu sync.Mutex
	m  map[int64]flight
}

func (f *flights) add(id int64, attempt int, stop context.CancelCauseFunc) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.m == nil {
		f.m = map[int64]flight{}
	}
	f.m[id] = flight{attempt, stop}
}

func (f *flights) remove(id int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.m, id)
}

// check stops, with cause errNotOurs, the runs of jobs this process no
// longer holds (handed back or rescued while its session was gone, then
// taken by another run, or cancelled): their records would be refused,
// and their training is another's now. It returns how many it stopped.
func (f *flights) check(ctx context.Context, st *store.Postgres) (int, error) {
	f.mu.Lock()
	var ids []int64
	var attempts []int32
	for id, fl := range f.m {
		ids, attempts = append(ids, id), append(attempts, int32(fl.attempt))
	}
	f.mu.Unlock()
	if len(ids) == 0 {
		return 0, nil
	}
	// A job completed is one whose run recorded its last unit: still its.
	rs, err := st.Pool().Query(ctx, `SELECT p.id FROM unnest($1::bigint[], $2::int[]) AS p(id, attempt) LEFT JOIN river_job j ON j.id = p.id
		WHERE j.id IS NULL OR NOT (j.state = 'running' AND j.attempt = p.attempt OR j.state = 'completed')`, ids, attempts)
	if err != nil {
		return 0, err
	}
	lost, err := pgx.CollectRows(rs, pgx.RowTo[int64])
	if err != nil {
		return 0, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, id := range lost {
		if fl, ok := f.m[id]; ok {
			fl.stop(errNotOurs)
		}
	}
	return len(lost), nil
}

// A worker takes jobs only while it holds its liveness lock: a job taken
// without it looks to the other workers as on a dead worker, and they
// hand it back while this one trains it. That is so while the session
// holding the lock was cut (a network blip, a server restart, a session
// ended by an administrator) and keep cannot take the lock again: the
// server has not yet ended the old session, or new connections are
// refused. River has no pause of one client's fetches (its QueuePause
// pauses the queue for every worker), so the worker's River client
// fetches through gatedDriver, whose fetch first asks the database
// whether the session keep last found alive holds the lock: exact, for
// one small query per fetch.

// gatedDriver is River's pgx driver whose executors fetch jobs only when
// gate is open.
type gatedDriver struct {
	*riverpgxv5.Driver
	gate *fetchGate
}

func (d gatedDriver) GetExecutor() riverdriver.Executor {
	return gatedExecutor{d.Driver.GetExecutor(), d.gate}
}

// gatedExecutor is River's executor whose JobGetAvailable, River's fetch,
// returns no job while gate is shut.
type gatedExecutor struct {
	riverdriver.Executor
	gate *fetchGate
}

func (e gatedExecutor) JobGetAvailable(ctx context.Context, params *riverdriver.JobGetAvailableParams) (*riverdriver.JobGetAvailableResult, error) {
	if open, err := e.gate.open(ctx); !open || err != nil {
		return &riverdriver.JobGetAvailableResult{}, err
	}
	return e.Executor.JobGetAvailable(ctx, params)
}

// fetchGate is open while a worker's session holds its liveness lock.
type fetchGate struct {
	st   *store.Postgres
	sess *session
	shut atomic.Bool // the last look found it shut
	logf func(format string, a ...any)
}

// open reports whether the session keep last found alive holds the lock,
// and logs when that changes.
func (g *fetchGate) open(ctx context.Context) (bool, error) {
	held := false
	if pid := g.sess.pid.Load(); pid != 0 {
		err := g.st.Pool().QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_locks l WHERE l.pid = $2 AND `+lockHeld("$1::text")+`)`,
			g.sess.id, int64(pid)).Scan(&held)
		if err != nil {
			return false, err
		}
	}
	switch {
	case !held && !g.shut.Swap(true):
		g.logf("worker: takes no job until it holds its liveness lock again (its session holding it was cut): other workers would hand back a job it took")
	case held && g.shut.Swap(false):
		g.logf("worker: holds its liveness lock again; taking jobs")
	}
	return held, nil
}
