package main

import (
	"strings"
	"testing"
	"time"

	"github.com/mlpsweep/mlpsweep/kernels"
	"github.com/mlpsweep/mlpsweep/sweeps"
	"github.com/mlpsweep/mlpsweep/sweeps/queue"
	"github.com/mlpsweep/mlpsweep/sweeps/store/storetest"
)

// TestWorkerOfAnotherEngine: a worker whose engine is not the one that
// planned a study's jobs (here another ISA path, forced by MLPSWEEP_ISA)
// takes none of them, and says so, naming the queue, the engine and what
// would train them, instead of calling the queue empty while the study's
// jobs wait. A worker of the planning engine then trains every unit.
func TestWorkerOfAnotherEngine(t *testing.T) {
	if kernels.DetectedISA() == kernels.Generic {
		t.Skip("this host has only the generic path: no other path to force")
	}
	url, _, _ := enqueueCSVStudy(t)
	engine := sweeps.EngineID()

	t.Setenv("MLPSWEEP_ISA", "generic") // read by the child's kernels at start
	w := startWorker(t, nil, "--store", url, "--workers", "1", "--exit-when-done")
	if code := w.wait(t, time.Minute); code != 0 {
		t.Fatalf("generic worker: exit %d:\n%s", code, w.log())
	}
	log := w.log()
	want := "jobs wait in queue " + queue.QueueName(engine) + ", planned by engine " + engine + "; this worker's engine is " +
		sweeps.EngineVersionOf(engine) + "/generic and takes none of them"
	if !strings.Contains(log, want) || !strings.Contains(log, "MLPSWEEP_ISA="+kernels.DetectedISA().String()+" mlpsweep worker") ||
		strings.Contains(log, "units recorded") {
		t.Errorf("the generic worker's log does not say it leaves the study's jobs to another engine (want %q):\n%s", want, log)
	}

	code, _, stderr := runCmd("worker", "--store", url, "--workers", "1", "--exit-when-done")
	if code != 0 || !strings.Contains(stderr, "6 units recorded (0 failed)") || strings.Contains(stderr, "jobs wait in queue") {
		t.Errorf("worker of the planning engine: exit %d:\n%s", code, stderr)
	}
	// status counts the study's units by job state, the queue's jobs (4:
	// per fold the two units of batch 16 fused, the third alone).
	code, stdout, stderr := runCmd("status", "--store", url)
	if want := "study csvtest: 6 units: 6 done, 0 failed, 0 running, 0 queued\n  units by their latest job's state: 6 completed\nqueue " +
		queue.QueueName(engine) + ": 4 completed\n"; code != 0 || !strings.Contains(stdout, want) {
		t.Errorf("status: exit %d, want %q:\n%s%s", code, want, stdout, stderr)
	}
}

// TestWorkerRescueWaitsForTimeout: a worker's first line says how soon a
// dead worker's units run again: found by its database session, within
// about three --liveness-every; and River's rescuer, the backstop for
// workers of earlier builds, hands a job on only once it has run for
// --rescue-after and for the job's own timeout (measured: a job of 6m14s
// timeout, --rescue-after 25s, was rescued 6m14s after its worker was
// killed). A worker whose queued jobs time out later than --rescue-after
// says how long they wait, instead of promising the rescue after
// --rescue-after and warning that units might run twice.
func TestWorkerRescueWaitsForTimeout(t *testing.T) {
	url, _, study := enqueueCSVStudy(t)
	code, _, stderr := runCmd("worker", "--store", url, "--workers", "1", "--exit-when-done",
		"--min-timeout", "5s", "--rescue-after", "6s", "--timeout-factor", "1000000")
	if code != 0 || !strings.Contains(stderr, "the units of a worker whose database session ends (killed, or its machine or network lost) run again within about 15s; "+
		"River's rescuer hands on a job still running after 6s, or after its timeout when longer (the longest queued job's: ") ||
		strings.Contains(stderr, "run twice") {
		t.Errorf("worker: exit %d:\n%s", code, stderr)
	}
	// Timeouts within --rescue-after: nothing more to say.
	if code, _, stderr := runCmd("sweep", study, "--store", url, "--enqueue", "--epochs", "3"); code != 0 {
		t.Fatalf("enqueue: exit %d: %s", code, stderr)
	}
	code, _, stderr = runCmd("worker", "--store", url, "--workers", "1", "--exit-when-done", "--min-timeout", "5s", "--rescue-after", "6s", "--liveness-every", "2s")
	if code != 0 || !strings.Contains(stderr, "run again within about 6s; River's rescuer hands on a job still running after 6s\n") {
		t.Errorf("worker: exit %d:\n%s", code, stderr)
	}
}

// enqueueCSVStudy enqueues writeCSVStudy's study (6 units in 4 jobs) into
// a fresh PostgreSQL database, and returns its URL, the study's folder and
// file.
func enqueueCSVStudy(t *testing.T) (url, dir, study string) {
	t.Helper()
	url = storetest.Postgres(t)
	clearShardEnv(t)
	dir = t.TempDir()
	study = writeCSVStudy(t, dir)
	if code, _, stderr := runCmd("sweep", study, "--store", url, "--enqueue"); code != 0 {
		t.Fatalf("enqueue: exit %d: %s", code, stderr)
	}
	return url, dir, study
}
