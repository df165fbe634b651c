package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mlpsweep/mlpsweep/sweeps"
	"github.com/mlpsweep/mlpsweep/sweeps/queue"
	"github.com/mlpsweep/mlpsweep/sweeps/store/storetest"
)

// writeQueueStudy writes a CSV data set and a study on it whose units take
// about a second each here (4 configurations × 3 folds: 12 units).
func writeQueueStudy(t *testing.T, dir string) string {
	t.Helper()
	return writeBlobsStudy(t, dir, `name: queuetest
folds: 3
epochs: 150
seed: 11
base: {hidden: [128, 128], batch: 8, optimizer: adam}
axes:
  - {name: lr, key: lr, values: [0.001, 0.0005]}
  - {name: batch, key: batch, values: [16, 32]}
`)
}

// writeBlobsStudy writes a CSV data set of 1500 rows of 16 features and
// the study yaml on it (its data line added) to dir, and returns the
// study's path.
func writeBlobsStudy(t *testing.T, dir, yaml string) string {
	t.Helper()
	writeBlobsCSV(t, dir, "blobs.csv", 1500, 16)
	path := filepath.Join(dir, "study.yaml")
	if err := os.WriteFile(path, []byte("data: {csv: blobs.csv, label: species}\n"+yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// sweepLocal runs study here, 2 workers, into dir/local, and returns its
// --json result: what a run elsewhere (the queue, PostgreSQL) must equal.
func sweepLocal(t *testing.T, study, dir string) sweeps.StudyResult {
	t.Helper()
	code, stdout, stderr := runCmd("sweep", study, "--out", filepath.Join(dir, "local"), "--workers", "2", "--json")
	if code != 0 {
		t.Fatalf("local sweep: exit %d: %s", code, stderr)
	}
	return decodeStudyJSON(t, stdout)
}

// worker is an mlpsweep process (a worker, or sweep --enqueue --wait): the
// test binary as the CLI.
type worker struct {
	cmd   *exec.Cmd
	mu    sync.Mutex
	lines []string
	done  chan struct{}
}

func startWorker(t *testing.T, onLine func(string), args ...string) *worker {
	t.Helper()
	return startProcess(t, onLine, append([]string{"worker"}, args...)...)
}

// startProcess starts mlpsweep with args, calling onLine with each line
// it writes to stderr.
func startProcess(t *testing.T, onLine func(string), args ...string) *worker {
	t.Helper()
	return startProcessEnv(t, nil, onLine, args...)
}

// startProcessEnv is startProcess with env added to the environment.
func startProcessEnv(t *testing.T, env []string, onLine func(string), args ...string) *worker {
	t.Helper()
	w := &worker{cmd: exec.Command(os.Args[0], args...), done: make(chan struct{})}
	w.cmd.Env = append(append(os.Environ(), "MLPSWEEP_TEST_CLI=1"), env...)
	pipe, err := w.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := w.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.cmd.Process.Kill() })
	go func() {
		defer close(w.done)
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			w.mu.Lock()
			w.lines = append(w.lines, sc.Text())
			w.mu.Unlock()
			if onLine != nil {
				onLine(sc.Text())
			}
		}
	}()
	return w
}

// wait waits for the process to exit and returns its exit status (-1 when
// killed by a signal).
func (w *worker) wait(t *testing.T, timeout time.Duration) int {
	t.Helper()
	exited := make(chan error, 1)
	go func() { <-w.done; exited <- w.cmd.Wait() }()
	select {
	case <-exited:
	case <-time.After(timeout):
		w.cmd.Process.Kill()
		<-exited
		t.Fatalf("worker did not exit within %v:\n%s", timeout, w.log())
	}
	return w.cmd.ProcessState.ExitCode()
}

func (w *worker) log() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return strings.Join(w.lines, "\n")
}

var workerUnitLine = regexp.MustCompile(`^unit ([0-9a-f]+) fold (\d+) of study \S+ \(attempt (\d+)\): (.*)$`)

// livenessEvery is the workers' --liveness-every in the tests that kill or
// stop one: short, so that they take seconds. MLPSWEEP_TEST_LIVENESS_EVERY
// sets another (5s, the default, measures what users get).
func livenessEvery(t *testing.T) time.Duration {
	t.Helper()
	every := time.Second
	if s := os.Getenv("MLPSWEEP_TEST_LIVENESS_EVERY"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			t.Fatal(err)
		}
		every = d
	}
	return every
}

// waitFor polls cond every 20 ms until it holds, and returns when it
// first did; it fails the test after timeout.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) time.Time {
	t.Helper()
	for end := time.Now().Add(timeout); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("%s: not within %v", what, timeout)
		}
	}
	return time.Now()
}

// unitStarted reports whether log has unit (KEY/FOLD)'s "started" line.
func unitStarted(log, unit string) bool {
	for _, line := range strings.Split(log, "\n") {
		if m := workerUnitLine.FindStringSubmatch(line); m != nil && m[1]+"/"+m[2] == unit && m[4] == "started" {
			return true
		}
	}
	return false
}

// TestQueueWorkersOneKilled: three worker processes train an enqueued
// study while sweep --wait follows it. Worker 0 holds its first job (a
// test hook stops it as it starts the job's first unit; the process and
// its database session live): the other workers train everything else
// and, for three of their looks, leave that job alone. Then worker 0 is
// killed with SIGKILL, and another worker starts the job's units again
// within seconds (River's rescuer took minutes: the job's timeout, and a
// minute more). Every unit is recorded exactly once, and the results are
// bit-identical to the same study run locally on SQLite. Enqueuing again
// is a no-op.
func TestQueueWorkersOneKilled(t *testing.T) {
	url := storetest.Postgres(t)
	clearShardEnv(t)
	dir := t.TempDir()
	study := writeQueueStudy(t, dir)
	code, stdout, stderr := runCmd("sweep", study, "--out", filepath.Join(dir, "local"), "--workers", "2", "--curves", "--json")
	if code != 0 {
		t.Fatalf("local: exit %d: %s", code, stderr)
	}
	local := decodeStudyJSON(t, stdout)

	// Per fold, the two units of batch 8 in one fused group, the others alone.
	code, _, stderr = runCmd("sweep", study, "--store", url, "--curves", "--enqueue", "--group-columns", "256")
	if code != 0 || !strings.Contains(stderr, "study queuetest: 12 units: 0 done already, 12 enqueued, 0 already queued (queue "+queue.QueueName(local.Configs[0].Units[0].EngineVer)) ||
		!strings.Contains(stderr, "9 jobs: fused groups of up to 256 first-layer columns (--group-columns)") {
		t.Fatalf("enqueue: exit %d: %s", code, stderr)
	}
	code, _, stderr = runCmd("sweep", study, "--store", url, "--curves", "--enqueue")
	if code != 0 || !strings.Contains(stderr, "12 units: 0 done already, 0 enqueued, 12 already queued") {
		t.Fatalf("enqueue again: exit %d: %s", code, stderr)
	}
	var jobs int
	storetest.QueryRow(t, url, `SELECT count(*) FROM river_job`, &jobs)
	if jobs != 9 {
		t.Fatalf("%d jobs after enqueuing twice, want 9", jobs)
	}

	every := livenessEvery(t)
	args := []string{"--store", url, "--workers", "1", "--exit-when-done", "--liveness-every", every.String()}
	started := make(chan string, 1)
	workers := []*worker{startProcessEnv(t, []string{"MLPSWEEP_TEST_HOLD_AT=): started"}, func(line string) {
		if m := workerUnitLine.FindStringSubmatch(line); m != nil && m[4] == "started" {
			select {
			case started <- m[1] + "/" + m[2]:
			default:
			}
		}
	}, append([]string{"worker"}, args...)...)}
	var victim string
	select {
	case victim = <-started:
	case <-time.After(time.Minute):
		t.Fatalf("worker 0 started no unit:\n%s", workers[0].log())
	}
	var held int64
	var heldUnits int
	storetest.QueryRow(t, url, `SELECT id, jsonb_array_length(args->'units') FROM river_job WHERE state = 'running'`, &held, &heldUnits)
	workers = append(workers, startWorker(t, nil, args...), startWorker(t, nil, args...))

	var waitCode int
	var waitOut, waitErr string
	waited := make(chan struct{})
	go func() {
		defer close(waited)
		waitCode, waitOut, waitErr = runCmd("sweep", study, "--store", url, "--wait", "--json", "--out", filepath.Join(dir, "queue"))
	}()
	// Everything else trained, and three looks more: the live worker's
	// job is still its own.
	waitFor(t, 3*time.Minute, "the other units recorded", func() bool {
		var done int
		storetest.QueryRow(t, url, `SELECT count(*) FROM mlpsweep_units WHERE state = 'done'`, &done)
		return done == 12-heldUnits
	})
	time.Sleep(3 * every)
	var state string
	var attempt int
	storetest.QueryRow(t, url, fmt.Sprintf(`SELECT state::text, attempt FROM river_job WHERE id = %d`, held), &state, &attempt)
	if state != "running" || attempt != 1 {
		t.Fatalf("the job of the live worker 0 is %s on attempt %d, want running on attempt 1:\n%s\n%s", state, attempt, workers[1].log(), workers[2].log())
	}

	killed := time.Now()
	workers[0].cmd.Process.Signal(syscall.SIGKILL)
	if code := workers[0].wait(t, time.Minute); code != -1 {
		t.Fatalf("worker 0 exited with %d, not killed:\n%s", code, workers[0].log())
	}
	restarted := waitFor(t, 3*time.Minute, "the killed worker's unit started again", func() bool {
		return unitStarted(workers[1].log(), victim) || unitStarted(workers[2].log(), victim)
	})
	recovery := restarted.Sub(killed)
	t.Logf("worker 0's unit %s started again %v after the kill (--liveness-every %v)", victim, recovery.Round(10*time.Millisecond), every)
	// That the liveness looks handed the job back, not River's rescuer,
	// the cancelled job below says. The bound is loose for a loaded
	// machine (2.1–2.7 s measured at --liveness-every 1s, 10–11 s at 5s).
	if bound := 3*every + 30*time.Second; recovery > bound {
		t.Errorf("the killed worker's unit started again %v after the kill, want within %v", recovery, bound)
	}
	for i, w := range workers[1:] {
		if code := w.wait(t, 3*time.Minute); code != 0 {
			t.Fatalf("worker %d: exit %d:\n%s", i+1, code, w.log())
		}
	}
	<-waited
	if waitCode != 0 {
		t.Fatalf("sweep --wait: exit %d: %s", waitCode, waitErr)
	}
	r := decodeStudyJSON(t, waitOut)
	if !slices.Equal(resultBits(r), resultBits(local)) || len(resultBits(r)) < 1000 || r.UnitsTotal != 12 || r.UnitsRun != 12 || r.UnitsReused != 0 {
		t.Errorf("the queue's results differ from the local run's:\n%+v\n%+v", r, local)
	}
	if !strings.Contains(waitErr, "study queuetest: 12 units: 12 done, 0 failed, 0 running, 0 queued") {
		t.Errorf("sweep --wait did not report the end:\n%s", waitErr)
	}

	// Every unit recorded exactly once, by the surviving workers' logs.
	recorded := map[string][]string{}
	for i, w := range workers {
		for _, line := range strings.Split(w.log(), "\n") {
			if m := workerUnitLine.FindStringSubmatch(line); m != nil && strings.HasSuffix(m[4], "; recorded") {
				recorded[m[1]+"/"+m[2]] = append(recorded[m[1]+"/"+m[2]], fmt.Sprintf("worker %d attempt %s", i, m[3]))
			}
		}
	}
	if len(recorded) != 12 {
		t.Errorf("%d units recorded, want 12: %v", len(recorded), recorded)
	}
	for u, by := range recorded {
		if len(by) != 1 {
			t.Errorf("unit %s recorded %d times: %v", u, len(by), by)
		}
	}
	// Its job cancelled, saying why; its units in a new job, on its
	// first attempt: the group's second.
	if by := recorded[victim]; len(by) != 1 || strings.HasPrefix(by[0], "worker 0") || !strings.HasSuffix(by[0], "attempt 2") {
		t.Errorf("the killed worker's unit %s was recorded by %v, want once by another worker on attempt 2", victim, by)
	}
	var completed, cancelled int
	var reason string
	storetest.QueryRow(t, url, `SELECT count(*) FILTER (WHERE state = 'completed'), count(*) FILTER (WHERE state = 'cancelled'), count(*),
		coalesce(max(errors[1]->>'error') FILTER (WHERE state = 'cancelled'), '') FROM river_job`, &completed, &cancelled, &jobs, &reason)
	if completed != 9 || cancelled != 1 || jobs != 10 || !strings.Contains(reason, fmt.Sprintf(":%d:", workers[0].cmd.Process.Pid)) ||
		!strings.Contains(reason, "database session ended") {
		t.Errorf("%d jobs completed, %d cancelled of %d (%q), want 9 and 1 of 10, the cancelled one saying worker 0's session ended", completed, cancelled, jobs, reason)
	}
	var rows int
	storetest.QueryRow(t, url, `SELECT count(*) FROM mlpsweep_units WHERE state = 'done'`, &rows)
	if rows != 12 {
		t.Errorf("%d units done in the store, want 12", rows)
	}

	code, stdout, stderr = runCmd("status", "--store", url)
	if code != 0 || !strings.Contains(stdout, "study queuetest: 12 units: 12 done, 0 failed, 0 running, 0 queued\n  units by their latest job's state: 12 completed") {
		t.Errorf("status: exit %d:\n%s%s", code, stdout, stderr)
	}
	// Enqueuing a finished study queues nothing.
	code, _, stderr = runCmd("sweep", study, "--store", url, "--curves", "--enqueue")
	if code != 0 || !strings.Contains(stderr, "12 units: 12 done already, 0 enqueued, 0 already queued") {
		t.Errorf("enqueue a finished study: exit %d: %s", code, stderr)
	}
}

// TestQueueDivergedUnitNotRetried: a unit that diverges is recorded as
// such, its job completed on its first attempt; the worker and --wait
// report it like a local run.
func TestQueueDivergedUnitNotRetried(t *testing.T) {
	url := storetest.Postgres(t)
	clearShardEnv(t)
	dir := t.TempDir()
	writeCSVStudy(t, dir)
	study := filepath.Join(dir, "diverge.yaml")
	if err := os.WriteFile(study, []byte(`name: diverge
data: {csv: blobs.csv, label: label}
folds: 2
epochs: 3
seed: 5
base: {hidden: [8], batch: 16, optimizer: sgd}
axes:
  - {name: lr, key: lr, values: [0.01, 1e30]}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	local := sweepLocal(t, study, dir)
	if code, _, stderr := runCmd("sweep", study, "--store", url, "--enqueue"); code != 0 {
		t.Fatalf("enqueue: exit %d: %s", code, stderr)
	}
	code, _, stderr := runCmd("worker", "--store", url, "--workers", "2", "--exit-when-done")
	if code != 0 || strings.Count(stderr, "(diverged)") != 2 || !strings.Contains(stderr, "4 units recorded (0 failed)") {
		t.Fatalf("worker: exit %d: %s", code, stderr)
	}
	code, stdout, stderr := runCmd("sweep", study, "--store", url, "--wait", "--json", "--out", filepath.Join(dir, "queue"))
	if code != 0 {
		t.Fatalf("wait: exit %d: %s", code, stderr)
	}
	r := decodeStudyJSON(t, stdout)
	if !slices.Equal(resultBits(r), resultBits(local)) || !r.Configs[1].Units[0].Diverged || !r.Configs[1].Units[1].Diverged {
		t.Errorf("queue %+v\nlocal %+v", r, local)
	}
	var jobs, completed, attempts int
	storetest.QueryRow(t, url, `SELECT count(*), count(*) FILTER (WHERE state = 'completed'), sum(attempt) FROM river_job`, &jobs, &completed, &attempts)
	if completed != jobs || attempts != jobs {
		t.Errorf("%d of %d jobs completed after %d attempts, want every job after one attempt each", completed, jobs, attempts)
	}
}

// TestQueueBadInput: queue mode without PostgreSQL is a usage error;
// an unreachable database a failure that says what to do.
func TestQueueBadInput(t *testing.T) {
	clearShardEnv(t)
	t.Setenv("MLPSWEEP_STORE", "")
	dir := t.TempDir()
	study := writeCSVStudy(t, dir)
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"sweep", study, "--enqueue"}, 2, "--enqueue works on a PostgreSQL store shared with the workers: give --store postgres://"},
		{[]string{"sweep", study, "--wait"}, 2, "--wait works on a PostgreSQL store"},
		{[]string{"sweep", study, "--enqueue", "--store", "postgres://u@127.0.0.1:1/db", "--shard", "0/2"}, 2, "is the other way to split it"},
		{[]string{"sweep", study, "--enqueue", "--store", "postgres://u@127.0.0.1:1/db", "--refit"}, 2, "--refit trains here, not on the queue"},
		{[]string{"sweep", study, "--enqueue", "--store", "mysql://u@h/db"}, 2, "not a PostgreSQL URL"},
		{[]string{"sweep", study, "--enqueue", "--store", "postgres://u@127.0.0.1:1/db?connect_timeout=2"}, 1, "cannot connect"},
		{[]string{"worker"}, 2, "the queue is in PostgreSQL: give --store postgres://"},
		{[]string{"worker", "--store", "postgres://u@127.0.0.1:1/db", "--workers", "0"}, 2, "--workers 0"},
		{[]string{"worker", "--store", "postgres://u@127.0.0.1:1/db", "--min-timeout", "10s", "--rescue-after", "5s"}, 2, "--rescue-after 5s: want a duration longer than --min-timeout 10s"},
		{[]string{"worker", "--store", "postgres://u@127.0.0.1:1/db?connect_timeout=2"}, 1, "cannot connect"},
		{[]string{"status"}, 2, "give --store postgres://"},
		{[]string{"status", "--store", "postgres://u@127.0.0.1:1/db?connect_timeout=2"}, 1, "cannot connect"},
	} {
		code, stdout, stderr := runCmd(tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.want) || stdout != "" {
			t.Errorf("%v: exit %d, want %d saying %q:\n%s%s", tc.args, code, tc.code, tc.want, stdout, stderr)
		}
	}
	if _, err := os.Stat(filepath.Join("out", "csvtest")); err == nil {
		t.Error("a failed queue command created out/csvtest")
	}
}

// TestWaitForAStudyNotEnqueued: --wait on a study that has no units queued
// or done reports the missing units and exits 1.
func TestWaitForAStudyNotEnqueued(t *testing.T) {
	url := storetest.Postgres(t)
	clearShardEnv(t)
	dir := t.TempDir()
	study := writeCSVStudy(t, dir)
	code, _, stderr := runCmd("sweep", study, "--store", url, "--wait", "--out", filepath.Join(dir, "out"))
	if code != 1 || !strings.Contains(stderr, `no study named "csvtest"`) || !strings.Contains(stderr, "--enqueue") {
		t.Errorf("exit %d: %s", code, stderr)
	}
}

// TestWaitWithOtherFlags: --wait on a study enqueued with other epochs,
// folds or axes is a usage error naming both values, and reports nothing.
func TestWaitWithOtherFlags(t *testing.T) {
	url := storetest.Postgres(t)
	clearShardEnv(t)
	dir := t.TempDir()
	study := writeCSVStudy(t, dir)
	if code, _, stderr := runCmd("sweep", study, "--store", url, "--enqueue"); code != 0 {
		t.Fatalf("enqueue: exit %d: %s", code, stderr)
	}
	for _, tc := range []struct {
		flags []string
		want  string
	}{
		{[]string{"--epochs", "3"}, "enqueued with 2 epochs, this command 3"},
		{[]string{"--folds", "3"}, "enqueued with 2 folds, this command 3"},
		{[]string{"--axes", "batch"}, "configurations"},
	} {
		out := filepath.Join(dir, "out")
		code, _, stderr := runCmd(append([]string{"sweep", study, "--store", url, "--wait", "--out", out}, tc.flags...)...)
		if code != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, want 2 and %q:\n%s", tc.flags, code, tc.want, stderr)
		}
		if _, err := os.Stat(filepath.Join(out, "results.csv")); err == nil {
			t.Errorf("%v: a report was written", tc.flags)
		}
	}
}

// TestQueueWorkerStoppedThenCutOff: worker 0 is stopped (SIGSTOP) in the
// middle of a unit. While its database sessions live, another worker
// leaves its job alone for four of its looks: a stopped, slow or busy
// worker keeps its job, however long it takes. Then its sessions are cut
// (pg_terminate_backend: a network partition, as the server sees it):
// status names the unit as on a dead worker, and the next worker to look
// hands the job back and trains it. Worker 0, continued (SIGCONT), finds
// the job no longer its and stores nothing: every unit is stored once,
// with the local run's numbers.
func TestQueueWorkerStoppedThenCutOff(t *testing.T) {
	url := storetest.Postgres(t)
	clearShardEnv(t)
	dir := t.TempDir()
	study := writeBlobsStudy(t, dir, `name: stoptest
folds: 2
epochs: 300
seed: 5
base: {hidden: [128, 128], batch: 16, optimizer: adam}
`)
	local := sweepLocal(t, study, dir)
	if code, _, stderr := runCmd("sweep", study, "--store", url, "--enqueue"); code != 0 || !strings.Contains(stderr, "2 enqueued") {
		t.Fatalf("enqueue: exit %d: %s", code, stderr)
	}
	every := livenessEvery(t)
	args := []string{"--workers", "1", "--exit-when-done", "--liveness-every", every.String()}
	url0 := storetest.WithApplication(t, url, "stopped-worker") // its sessions, to cut
	var victim string
	stopped := make(chan struct{})
	var w0 *worker
	w0 = startWorker(t, func(line string) {
		if m := workerUnitLine.FindStringSubmatch(line); m != nil && m[4] == "started" && victim == "" {
			w0.cmd.Process.Signal(syscall.SIGSTOP)
			victim = m[1] + "/" + m[2]
			close(stopped)
		}
	}, append([]string{"--store", url0}, args...)...)
	t.Cleanup(func() { w0.cmd.Process.Signal(syscall.SIGCONT) }) // so that the cleanup's kill ends it
	select {
	case <-stopped:
	case <-time.After(time.Minute):
		t.Fatalf("worker 0 started no unit:\n%s", w0.log())
	}
	var held int64
	storetest.QueryRow(t, url, `SELECT id FROM river_job WHERE state = 'running'`, &held)

	// Worker 1 trains the other unit, then looks four times more.
	w1 := startWorker(t, nil, append([]string{"--store", url}, args...)...)
	waitFor(t, 2*time.Minute, "worker 1 recorded the other unit", func() bool { return strings.Contains(w1.log(), "; recorded") })
	time.Sleep(4 * every)
	var state string
	var attempt int
	storetest.QueryRow(t, url, fmt.Sprintf(`SELECT state::text, attempt FROM river_job WHERE id = %d`, held), &state, &attempt)
	if state != "running" || attempt != 1 || strings.Contains(w1.log(), "handed back") {
		t.Fatalf("the stopped worker's job is %s on attempt %d, want running on attempt 1 (kept):\n%s", state, attempt, w1.log())
	}
	w1.cmd.Process.Signal(syscall.SIGTERM)
	if code := w1.wait(t, time.Minute); code != 130 {
		t.Fatalf("worker 1: exit %d after SIGTERM, want 130:\n%s", code, w1.log())
	}

	// Cut: the server ends worker 0's sessions. No worker looks now:
	// status shows where the unit is.
	cut := time.Now()
	storetest.Exec(t, url, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'stopped-worker'`)
	storetest.SessionsGone(t, url0, "stopped-worker")
	code, stdout, stderr := runCmd("status", "--store", url)
	host, _ := os.Hostname()
	key, fold, _ := strings.Cut(victim, "/")
	if want := fmt.Sprintf("study stoptest: 2 units: 1 done, 0 failed, 0 running, 1 on a dead worker (to run again), 0 queued\n"+
		"  units by their latest job's state: 1 completed, 1 running\n"+
		"  worker %.50s:%d:", host, w0.cmd.Process.Pid); code != 0 || !strings.Contains(stdout, want) ||
		!strings.Contains(stdout, fmt.Sprintf("is gone (its database session ended) with 1 unit: unit %s fold %s; a live worker or sweep --wait hands them back to the queue", key, fold)) {
		t.Fatalf("status: exit %d, want %q…:\n%s%s", code, want, stdout, stderr)
	}

	// sweep --wait says so too, without an ETA.
	deadLine := fmt.Sprintf("worker %.50s:%d:", host, w0.cmd.Process.Pid)
	waiting := startProcess(t, nil, "sweep", study, "--store", url, "--wait", "--out", filepath.Join(dir, "waited"))
	waitFor(t, time.Minute, "sweep --wait's first lines", func() bool { return strings.Contains(waiting.log(), deadLine) })
	if log := waiting.log(); !strings.Contains(log, "study stoptest: 2 units: 1 done, 0 failed, 0 running, 1 on a dead worker (to run again), 0 queued\n"+deadLine) {
		t.Errorf("sweep --wait:\n%s", log)
	}

	w2 := startWorker(t, nil, append([]string{"--store", url}, args...)...)
	w2Started := time.Now()
	restarted := waitFor(t, time.Minute, "the cut-off worker's unit started again", func() bool { return unitStarted(w2.log(), victim) })
	t.Logf("the cut-off worker's unit started again %v after worker 2 started (%v after the cut; --liveness-every %v)",
		restarted.Sub(w2Started).Round(10*time.Millisecond), restarted.Sub(cut).Round(10*time.Millisecond), every)
	w0.cmd.Process.Signal(syscall.SIGCONT)
	if code := w2.wait(t, 2*time.Minute); code != 0 {
		t.Fatalf("worker 2: exit %d:\n%s", code, w2.log())
	}
	if code := w0.wait(t, 2*time.Minute); code != 0 {
		t.Fatalf("worker 0: exit %d:\n%s", code, w0.log())
	}
	// Worker 0 stopped its run when it saw the job gone, or had its
	// record refused: either way it recorded nothing.
	if log := w0.log(); strings.Contains(log, "; recorded") || !strings.Contains(log, "no longer this worker's job (handed back to the queue)") {
		t.Errorf("worker 0 did not give up the job handed on:\n%s", log)
	}
	for _, line := range strings.Split(w0.log(), "\n") {
		if strings.Contains(line, "session") || strings.Contains(line, "no longer") || strings.Contains(line, "stopped") {
			t.Logf("worker 0: %s", line)
		}
	}
	if !strings.Contains(w2.log(), "; recorded") || !strings.Contains(w2.log(), "handed back to the queue as job") {
		t.Errorf("worker 2 did not hand back and record the unit:\n%s", w2.log())
	}
	if code := waiting.wait(t, time.Minute); code != 0 || !strings.Contains(waiting.log(), "study stoptest: 2 units: 2 done, 0 failed, 0 running, 0 queued") {
		t.Errorf("sweep --wait: exit %d:\n%s", code, waiting.log())
	}
	code, stdout, stderr = runCmd("sweep", study, "--store", url, "--wait", "--json", "--out", filepath.Join(dir, "queue"))
	if code != 0 {
		t.Fatalf("sweep --wait: exit %d: %s", code, stderr)
	}
	if r := decodeStudyJSON(t, stdout); !slices.Equal(resultBits(r), resultBits(local)) || len(resultBits(r)) < 100 {
		t.Errorf("the queue's results differ from the local run's:\n%+v\n%+v", r, local)
	}
	var completed, cancelled, jobs int
	storetest.QueryRow(t, url, `SELECT count(*) FILTER (WHERE state = 'completed'), count(*) FILTER (WHERE state = 'cancelled'), count(*) FROM river_job`, &completed, &cancelled, &jobs)
	if completed != 2 || cancelled != 1 || jobs != 3 {
		t.Errorf("%d jobs completed, %d cancelled of %d, want 2 and 1 of 3", completed, cancelled, jobs)
	}
}
