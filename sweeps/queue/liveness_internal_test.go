package queue

import (
	"context"
	"errors"
	"fmt"
	"math"
	neturl "net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"

	"github.com/mlpsweep/mlpsweep/engine"
	"github.com/mlpsweep/mlpsweep/sweeps"
	"github.com/mlpsweep/mlpsweep/sweeps/store"
	"github.com/mlpsweep/mlpsweep/sweeps/store/storetest"
	"github.com/mlpsweep/mlpsweep/sweeps/study"
)

// riverStore opens a fresh PostgreSQL store with River's tables and an
// insert-only client.
func riverStore(t *testing.T) (string, *store.Postgres, *river.Client[pgx.Tx]) {
	t.Helper()
	url := storetest.Postgres(t)
	ctx := context.Background()
	s, err := store.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	st := s.(*store.Postgres)
	if err := Migrate(ctx, st.Pool()); err != nil {
		t.Fatal(err)
	}
	client, err := river.NewClient(riverpgxv5.New(st.Pool()), &river.Config{})
	if err != nil {
		t.Fatal(err)
	}
	return url, st, client
}

// runningOn inserts a job of args and marks it running on attempt
// attempt of maxAttempts by client owner, as River's fetch does.
func runningOn(t *testing.T, url string, client *river.Client[pgx.Tx], a GroupArgs, owner string, attempt, maxAttempts int) int64 {
	t.Helper()
	res, err := client.Insert(context.Background(), a, jobOpts(QueueName(a.Engine), maxAttempts))
	if err != nil {
		t.Fatal(err)
	}
	storetest.Exec(t, url, fmt.Sprintf(`UPDATE river_job SET state = 'running', attempt = %d, attempted_at = now(), attempted_by = ARRAY['%s'] WHERE id = %d`,
		attempt, owner, res.Job.ID))
	return res.Job.ID
}

// deadIDs returns the IDs of the jobs deadJobs finds, waiting up to 30 s
// for want of them (a closed session's backend ends a moment later).
func deadIDs(t *testing.T, st *store.Postgres, want int) []int64 {
	t.Helper()
	var ids []int64
	for end := time.Now().Add(30 * time.Second); ; {
		dead, err := deadJobs(context.Background(), st)
		if err != nil {
			t.Fatal(err)
		}
		ids = ids[:0]
		for _, d := range dead {
			ids = append(ids, d.id)
		}
		if len(ids) == want || time.Now().After(end) {
			return ids
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestHandBackDeadWorker: a running job whose worker holds its liveness
// lock is never handed back; once the worker's session ends, a look finds
// it, and a look at least grace later cancels it and queues its arguments
// again as a new job with the attempts it had left (discarded when none
// are). A job of a worker of an earlier build (no lock) is left to River's
// rescuer, and a worker never hands back its own. The old run's records
// are then refused and its run is stopped; the new run's are stored; and
// a second result of the same unit, as a worker finishing it again would
// store, leaves the same numbers.
func TestHandBackDeadWorker(t *testing.T) {
	url, st, client := riverStore(t)
	ctx := context.Background()
	params, err := study.NewParams(engine.Config{Hidden: []int{64, 32}, Optimizer: "sgd", LR: 0.0123456789, Momentum: 0.9, Batch: 24, Epochs: 7})
	if err != nil {
		t.Fatal(err)
	}
	args := func(key string) GroupArgs {
		return GroupArgs{Study: "s", Fold: 1, Split: "kfold", DataSHA: "d", Engine: sweeps.EngineID(),
			Units: []UnitArgs{{Key: key, Seed: 1, Params: params, FLOPs: 1e9}}, FLOPs: 1e9, Folds: 3}
	}
	owner := workerPrefix + "test:1:aa"
	sess, err := openSession(ctx, st, owner)
	if err != nil {
		t.Fatal(err)
	}
	defer sess.close()
	job := runningOn(t, url, client, args("k"), owner, 1, MaxAttempts)
	last := runningOn(t, url, client, args("last"), owner, MaxAttempts, MaxAttempts)
	runningOn(t, url, client, args("old"), "host_2026_12_08T01_00_00_000000", 1, MaxAttempts) // River's default ID: an earlier build
	if ids := deadIDs(t, st, 0); len(ids) != 0 {
		t.Fatalf("jobs of a worker holding its lock found dead: %v", ids)
	}
	var lines []string
	// A grace of a minute, which the test passes by setting the rescuer's
	// first sightings back: two looks in a row are within it however
	// slow a loaded machine makes them.
	const grace = time.Minute
	r, err := newRescuer(st, client, "", grace, func(f string, a ...any) { lines = append(lines, fmt.Sprintf(f, a...)) })
	if err != nil {
		t.Fatal(err)
	}
	if n, err := r.look(ctx); n != 0 || err != nil {
		t.Fatalf("look with the worker alive: %d handed back, %v", n, err)
	}
	renewed, err := sess.keep(ctx)
	if renewed || err != nil {
		t.Fatalf("keep on a live session: renewed %v, %v", renewed, err)
	}

	sess.close() // the worker's session ends
	if ids := deadIDs(t, st, 2); !slices.Equal(ids, []int64{job, last}) {
		t.Fatalf("dead jobs %v, want %v", ids, []int64{job, last})
	}
	self, err := newRescuer(st, client, owner, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if n, err := self.look(ctx); n != 0 || err != nil {
			t.Fatalf("a worker's look at its own jobs: %d handed back, %v", n, err)
		}
	}
	if n, err := r.look(ctx); n != 0 || err != nil {
		t.Fatalf("first look: %d handed back, %v", n, err)
	}
	if n, err := r.look(ctx); n != 0 || err != nil {
		t.Fatalf("a look within grace: %d handed back, %v", n, err)
	}
	for k, first := range r.seen {
		r.seen[k] = first.Add(-grace)
	}
	if n, err := r.look(ctx); n != 2 || err != nil {
		t.Fatalf("look after grace: %d handed back, %v\n%s", n, err, strings.Join(lines, "\n"))
	}
	if n, err := r.look(ctx); n != 0 || err != nil {
		t.Fatalf("look again: %d handed back, %v", n, err)
	}
	want := fmt.Sprintf("job %d (group of 1 unit, fold 1 of study s, attempt 1 of 5): worker test:1:aa's database session ended (gone for at least 1m", job)
	if len(lines) != 2 || !strings.HasPrefix(lines[0], want) || !strings.Contains(lines[0], "s): handed back to the queue as job ") || !strings.HasSuffix(lines[0], " (4 attempts left)") ||
		!strings.HasSuffix(lines[1], "discarded: that was its last attempt") {
		t.Errorf("log, want %q…:\n%s", want, strings.Join(lines, "\n"))
	}

	// The jobs: the first cancelled with the reason, its arguments queued
	// again with 4 attempts; the one on its last attempt discarded; the
	// earlier build's still running.
	type row struct {
		state, args, errors string
		attempt, max        int
	}
	rows := map[int64]row{}
	rs, err := st.Pool().Query(ctx, `SELECT id, state::text, args::text, coalesce(errors[1]->>'error', ''), attempt, max_attempts FROM river_job ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for rs.Next() {
		var id int64
		var r row
		if err := rs.Scan(&id, &r.state, &r.args, &r.errors, &r.attempt, &r.max); err != nil {
			t.Fatal(err)
		}
		rows[id] = r
		ids = append(ids, id)
	}
	if len(ids) != 4 {
		t.Fatalf("%d jobs, want 4 (3 and a new one): %v", len(ids), rows)
	}
	newJob := ids[3]
	if r := rows[job]; r.state != "cancelled" || !strings.Contains(r.errors, "worker test:1:aa's database session ended") {
		t.Errorf("the dead worker's job: %+v", r)
	}
	if r := rows[last]; r.state != "discarded" {
		t.Errorf("the dead worker's job on its last attempt: %+v", r)
	}
	if r := rows[newJob]; r.state != "available" || r.args != rows[job].args || r.attempt != 0 || r.max != MaxAttempts-1 {
		t.Errorf("the new job: %+v, want available, attempt 0 of %d, the args %s", r, MaxAttempts-1, rows[job].args)
	}
	if r := rows[ids[2]]; r.state != "running" {
		t.Errorf("the earlier build's job: %+v, want running (River's rescuer's)", r)
	}

	// The old run stores nothing and is stopped; the new run stores.
	a := args("k")
	w := &groupWorker{st: st}
	oldRun := &river.Job[GroupArgs]{JobRow: &rivertype.JobRow{ID: job, Attempt: 1}, Args: a}
	res := sweeps.UnitResult{Accuracy: 0.75, ValLoss: 0.5, Seconds: 1, Epochs: []engine.EpochStats{{Epoch: 1, Loss: 0.25, Accuracy: 0.75}}}
	if err := w.record(ctx, oldRun, 0, &res, true); !errors.Is(err, errNotOurs) {
		t.Fatalf("the old run's record: %v, want errNotOurs", err)
	}
	if _, state, err := st.Unit(a.ID(0)); err != nil || state != "" {
		t.Fatalf("the old run stored the unit: %q, %v", state, err)
	}
	runCtx, stop := context.WithCancelCause(ctx)
	var f flights
	f.add(job, 1, stop)
	if n, err := f.check(ctx, st); n != 1 || err != nil || !errors.Is(context.Cause(runCtx), errNotOurs) {
		t.Errorf("check of the old run: %d stopped, %v, cause %v", n, err, context.Cause(runCtx))
	}
	storetest.Exec(t, url, fmt.Sprintf(`UPDATE river_job SET state = 'running', attempt = 1, attempted_by = ARRAY['%sother:2:bb'] WHERE id = %d`, workerPrefix, newJob))
	newRun := &river.Job[GroupArgs]{JobRow: &rivertype.JobRow{ID: newJob, Attempt: 1, State: rivertype.JobStateRunning}, Args: a}
	newCtx, newStop := context.WithCancelCause(ctx)
	f = flights{}
	f.add(newJob, 1, newStop)
	if n, err := f.check(ctx, st); n != 0 || err != nil || newCtx.Err() != nil {
		t.Errorf("check of the run holding the job: %d stopped, %v", n, err)
	}
	if err := w.record(ctx, newRun, 0, &res, false); err != nil { // (completing needs a River worker's context)
		t.Fatalf("the new run's record: %v", err)
	}
	storetest.Exec(t, url, fmt.Sprintf(`UPDATE river_job SET state = 'completed', finalized_at = now() WHERE id = %d`, newJob))
	if n, err := f.check(ctx, st); n != 0 || err != nil || newCtx.Err() != nil {
		t.Errorf("check of a run whose job completed: %d stopped, %v", n, err)
	}
	// Were a unit's result stored twice (two runs finishing it, as before
	// the record check), the second write leaves the same numbers: a
	// unit's numbers are the same bits wherever it trains.
	again := res
	again.Seconds = 2
	if err := st.SaveUnit(a.ID(0), "s", again); err != nil {
		t.Fatal(err)
	}
	got, state, err := st.Unit(a.ID(0))
	if err != nil || state != "done" || math.Float64bits(got.Accuracy) != math.Float64bits(res.Accuracy) ||
		math.Float64bits(got.ValLoss) != math.Float64bits(res.ValLoss) || len(got.Epochs) != 1 || got.Epochs[0] != res.Epochs[0] {
		t.Errorf("the unit after a second result: %+v %q %v", got, state, err)
	}
	var units int
	storetest.QueryRow(t, url, `SELECT count(*) FROM mlpsweep_units`, &units)
	if units != 1 {
		t.Errorf("%d unit rows, want 1", units)
	}
}

// TestServerKeepalives: mlpsweep's sessions ask the server to probe a
// silent client after 10 s, every 5 s, 3 times, so that a lost machine's
// sessions, and with them its worker's liveness lock, end within about
// 25 s; the URL's own settings win. (Over TCP: a Unix socket reads 0.)
func TestServerKeepalives(t *testing.T) {
	url := storetest.Postgres(t)
	own, err := neturl.Parse(url)
	if err != nil {
		t.Fatal(err)
	}
	q := own.Query()
	q.Set("tcp_keepalives_idle", "30")
	own.RawQuery = q.Encode()
	for _, c := range []struct{ name, url, want string }{{"default", url, "10 5 3"}, {"the URL's", own.String(), "30 5 3"}} {
		s, err := store.Open(context.Background(), c.url)
		if err != nil {
			t.Fatal(err)
		}
		var idle, interval, count string
		err = s.(*store.Postgres).Pool().QueryRow(context.Background(), `SELECT current_setting('tcp_keepalives_idle'), current_setting('tcp_keepalives_interval'), current_setting('tcp_keepalives_count')`).Scan(&idle, &interval, &count)
		s.Close()
		if got := idle + " " + interval + " " + count; err != nil || got != c.want {
			t.Errorf("%s: keepalives %q, %v; want %q", c.name, got, err, c.want)
		}
	}
}
