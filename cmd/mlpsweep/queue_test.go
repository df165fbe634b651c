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
	writeBlobsCSV(t, dir, "blobs.csv", 1500, 16)
	path := filepath.Join(dir, "study.yaml")
	if err := os.WriteFile(path, []byte(`name: queuetest
data: {csv: blobs.csv, label: species}
folds: 3
epochs: 150
seed: 11
base: {hidden: [128, 128], batch: 8, optimizer: adam}
axes:
  - {name: lr, key: lr, values: [0.001, 0.0005]}
  - {name: batch, key: batch, values: [16, 32]}
`), 0o644); err != nil {
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
	w := &worker{cmd: exec.Command(os.Args[0], args...), done: make(chan struct{})}
	w.cmd.Env = append(os.Environ(), "MLPSWEEP_TEST_CLI=1")
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

// TestQueueWorkersOneKilled: three worker processes train an enqueued
// study while sweep --wait follows it; one is killed with SIGKILL in the
// middle of a unit. Every unit is recorded exactly once, the killed one by
// another worker after River's rescue, and the results are bit-identical
// to the same study run locally on SQLite. Enqueuing again is a no-op.
func TestQueueWorkersOneKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("starts worker processes and waits for River's rescuer (about a minute)")
	}
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

	// Worker 0 is killed as it starts its first unit; the rescue delay is
	// short, so that River's rescuer (every 30 s) hands the unit on soon.
	args := []string{"--store", url, "--workers", "1", "--exit-when-done", "--min-timeout", "10s", "--rescue-after", "12s"}
	started := make(chan string, 1)
	workers := []*worker{startWorker(t, func(line string) {
		if m := workerUnitLine.FindStringSubmatch(line); m != nil && m[4] == "started" {
			select {
			case started <- m[1] + "/" + m[2]:
			default:
			}
		}
	}, args...)}
	var victim string
	select {
	case victim = <-started:
		workers[0].cmd.Process.Signal(syscall.SIGKILL)
	case <-time.After(time.Minute):
		t.Fatalf("worker 0 started no unit:\n%s", workers[0].log())
	}
	if code := workers[0].wait(t, 10*time.Second); code != -1 {
		t.Fatalf("worker 0 exited with %d, not killed:\n%s", code, workers[0].log())
	}
	workers = append(workers, startWorker(t, nil, args...), startWorker(t, nil, args...))

	var waitCode int
	var waitOut, waitErr string
	waited := make(chan struct{})
	go func() {
		defer close(waited)
		waitCode, waitOut, waitErr = runCmd("sweep", study, "--store", url, "--wait", "--json", "--out", filepath.Join(dir, "queue"))
	}()
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
	if by := recorded[victim]; len(by) != 1 || strings.HasPrefix(by[0], "worker 0") || !strings.HasSuffix(by[0], "attempt 2") {
		t.Errorf("the killed worker's unit %s was recorded by %v, want once by another worker on attempt 2", victim, by)
	}
	var completed, attempts int
	storetest.QueryRow(t, url, `SELECT count(*) FILTER (WHERE state = 'completed'), sum(attempt) FROM river_job`, &completed, &attempts)
	if completed != 9 || attempts != 10 {
		t.Errorf("%d jobs completed after %d attempts, want 9 after 10 (one rescued)", completed, attempts)
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
