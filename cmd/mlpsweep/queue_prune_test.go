package main

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mlpsweep/mlpsweep/sweeps"
	"github.com/mlpsweep/mlpsweep/sweeps/store/storetest"
)

// stageLine is a worker's line for a unit of a pruned study's stage.
var stageLine = regexp.MustCompile(`^unit ([0-9a-f]+) fold (\d+) of study \S+ \(attempt (\d+)\): epochs (\d+)–(\d+) trained, .*; recorded$`)

// TestQueuePrunedOneWorkerKilled: a study with successive halving on the
// queue, three worker processes, one SIGKILLed as it starts a job of the
// second rung (continuing from checkpoints). Every configuration is
// decided once, as the local synchronous run decides; no unit trains an
// epoch twice (its stages chain from its checkpoints); the results, bit
// for bit, and the best configuration of sweep --wait --json are the
// local run's.
func TestQueuePrunedOneWorkerKilled(t *testing.T) {
	url, dir, write := prunedQueueTest(t)
	study := write("qprune", "[0.0003, 0.001, 0.003, 0.01, 0.03, 0.1]", "pruner: {kind: sha, eta: 3, min_epochs: 1}\n")
	local := sweepLocal(t, study, dir)

	r, workers, waitErr := oneWorkerKilled(t, url, []string{"sweep", study, "--store", url, "--enqueue", "--wait", "--json", "--workers", "3", "--out", filepath.Join(dir, "queue")}, "", nil)

	if b := best(r); b == "" || b != best(local) {
		t.Errorf("best configuration %q on the queue, %q locally", b, best(local))
	}
	if !slices.Equal(resultBits(r), resultBits(local)) {
		t.Errorf("the queue's results differ from the local run's:\n%+v\n%+v", r, local)
	}
	decidedOnce(t, r)
	if len(r.Decisions) != len(local.Decisions) || len(r.Decisions) != 6+2 {
		t.Errorf("%d decisions on the queue, %d locally, want 8", len(r.Decisions), len(local.Decisions))
	}
	for i := range min(len(r.Decisions), len(local.Decisions)) {
		a, b := r.Decisions[i], local.Decisions[i]
		if a.Key != b.Key || a.Epoch != b.Epoch || a.Promoted != b.Promoted || a.Score != b.Score {
			t.Errorf("decision %d: %+v on the queue, %+v locally", i, a, b)
		}
	}

	if rescued := chained(t, r, workers); rescued == 0 {
		t.Errorf("no unit continued from its checkpoint at epoch 1 on a second attempt (the killed worker's job):\n%s\n%s", workers[1].log(), workers[2].log())
	}
	noCheckpoints(t, url)
	t.Logf("sweep --wait:\n%s", waitErr)
}

// prunedQueueTest starts a test of a pruned study on the queue with worker
// processes (skipped with -short): a PostgreSQL database, and a folder
// with a data set and write, which writes there the study name of 9
// epochs whose learning rates are lrs (a YAML list) with the pruner line
// given ("" for none), and returns its path.
func prunedQueueTest(t *testing.T) (url, dir string, write func(name, lrs, pruner string) string) {
	if testing.Short() {
		t.Skip("starts worker processes and kills one")
	}
	url = storetest.Postgres(t)
	clearShardEnv(t)
	dir = t.TempDir()
	writeBlobsCSV(t, dir, "blobs.csv", 600, 8)
	return url, dir, func(name, lrs, pruner string) string {
		path := filepath.Join(dir, name+".yaml")
		if err := os.WriteFile(path, []byte("name: "+name+`
data: {csv: blobs.csv, label: species}
folds: 2
epochs: 9
seed: 7
base: {hidden: [64, 64], batch: 16, optimizer: sgd}
grid:
  lr: `+lrs+"\n"+pruner), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
}

// best is the key of r's configuration ranked first.
func best(r sweeps.StudyResult) string {
	for _, c := range r.Configs {
		if c.Rank == 1 {
			return c.Key
		}
	}
	return ""
}

// decidedOnce checks that no configuration of r is decided twice at an
// epoch.
func decidedOnce(t *testing.T, r sweeps.StudyResult) {
	t.Helper()
	decided := map[string]int{}
	for _, d := range r.Decisions {
		decided[fmt.Sprint(d.Key, " at epoch ", d.Epoch)]++
	}
	for k, n := range decided {
		if n != 1 {
			t.Errorf("configuration %s decided %d times", k, n)
		}
	}
}

// chained checks, from every worker's log (a killed one's included), that
// each unit of r trained in stages that chain from epoch 1 without an
// epoch trained twice, to where it stopped, and returns how many units
// continued from a checkpoint on a job's second attempt.
func chained(t *testing.T, r sweeps.StudyResult, workers []*worker) (rescued int) {
	t.Helper()
	stages := map[string][][2]int{}
	for _, w := range workers {
		for _, line := range strings.Split(w.log(), "\n") {
			if m := stageLine.FindStringSubmatch(line); m != nil {
				from, _ := strconv.Atoi(m[4])
				to, _ := strconv.Atoi(m[5])
				stages[m[1]+"/"+m[2]] = append(stages[m[1]+"/"+m[2]], [2]int{from, to})
				if m[3] == "2" && from > 1 {
					rescued++
				}
			}
		}
	}
	units := 0
	for _, c := range r.Configs {
		for _, u := range c.Units {
			units++
			s := stages[c.Key+"/"+strconv.Itoa(u.Fold)]
			sort.Slice(s, func(i, j int) bool { return s[i][0] < s[j][0] })
			next := 1
			for _, st := range s {
				if st[0] != next {
					t.Errorf("unit %s fold %d: stages %v (epoch %d trained twice or skipped)", c.Key, u.Fold, s, next)
				}
				next = st[1] + 1
			}
			if next-1 != len(u.Epochs) {
				t.Errorf("unit %s fold %d: trained to epoch %d, has %d epochs", c.Key, u.Fold, next-1, len(u.Epochs))
			}
		}
	}
	if len(stages) != units {
		t.Errorf("%d units trained, want %d: %v", len(stages), units, stages)
	}
	return rescued
}

// noCheckpoints checks that the store at url holds no training state.
func noCheckpoints(t *testing.T, url string) {
	t.Helper()
	var n int
	storetest.QueryRow(t, url, `SELECT count(*) FROM mlpsweep_checkpoints`, &n)
	if n != 0 {
		t.Errorf("%d checkpoints left after the study", n)
	}
}

// TestQueueASHAOneWorkerKilled: ASHA on the queue (one unit per job), one
// configuration's first-rung job held back and three worker processes,
// the first SIGKILLed as it starts a job of the second rung, which it
// can only do because the coordinator does not wait for the first rung
// to fill (the configuration held back is released after the kill):
// every configuration is
// decided once at each rung it reached, with its score and the cutoff at
// the time, and stops where its decision says; no unit trains an epoch
// twice; every number is that of the same study without a pruner, bit for
// bit, to where the configuration stopped; and the best configuration
// (the best at every rung without the pruner, so any order of arrivals
// promotes it) is the local ASHA run's.
func TestQueueASHAOneWorkerKilled(t *testing.T) {
	url, dir, write := prunedQueueTest(t)
	lrs := "[0.0003, 0.001, 0.002, 0.003, 0.006, 0.01, 0.02, 0.03, 0.1]"
	study := write("qasha", lrs, "pruner: {kind: asha, eta: 3, min_epochs: 1}\n")
	local := sweepLocal(t, study, dir)
	code, stdout, stderr := runCmd("sweep", write("full", lrs, ""), "--out", filepath.Join(dir, "full"), "--workers", "2", "--curves", "--json")
	if code != 0 {
		t.Fatalf("without a pruner: exit %d: %s", code, stderr)
	}
	full := decodeStudyJSON(t, stdout)

	// The first rung's job of the last configuration (the best), fold 0,
	// held back an hour: released once the worker is killed.
	hold := func() func() {
		var held int64
		for deadline := time.Now().Add(time.Minute); held == 0; time.Sleep(100 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatal("nothing enqueued in a minute")
			}
			var queue bool
			if storetest.QueryRow(t, url, `SELECT to_regclass('river_job') IS NOT NULL`, &queue); !queue {
				continue
			}
			storetest.QueryRow(t, url, `SELECT coalesce(max(id), 0) FROM river_job WHERE args->>'study' = 'qasha' AND (args->>'fold')::int = 0 AND args->'units'->0->'params'->>'lr' = '0.1' AND (args->>'to')::int = 1`, &held)
		}
		storetest.Exec(t, url, fmt.Sprintf(`UPDATE river_job SET state = 'scheduled', scheduled_at = now() + interval '1 hour' WHERE id = %d`, held))
		return func() {
			storetest.Exec(t, url, fmt.Sprintf(`UPDATE river_job SET state = 'available', scheduled_at = now() WHERE id = %d`, held))
		}
	}
	r, workers, waitErr := oneWorkerKilled(t, url, []string{"sweep", study, "--store", url, "--enqueue", "--wait", "--json", "--workers", "3", "--group-columns", "64", "--out", filepath.Join(dir, "queue")}, "", hold)

	decidedOnce(t, r)
	stops, first := map[string]sweeps.Decision{}, map[string]bool{}
	for _, d := range r.Decisions {
		if d.Promoted != (d.Score >= d.Cutoff) || math.IsInf(d.Cutoff, 0) {
			t.Errorf("decision %+v: promoted is not score ≥ cutoff", d)
		}
		if !d.Promoted {
			stops[d.Key] = d
		}
		first[d.Key] = first[d.Key] || d.Epoch == 1
	}
	ref := map[string]sweeps.ConfigResult{}
	for _, c := range full.Configs {
		ref[c.Key] = c
	}
	for _, c := range r.Configs {
		if !first[c.Key] || c.PrunedAt != stops[c.Key].Epoch {
			t.Errorf("configuration %s stopped at epoch %d; its decisions: %+v", c.Key, c.PrunedAt, r.Decisions)
		}
		f := ref[c.Key]
		for i, u := range c.Units {
			for e := range u.Epochs {
				if a, b := u.Epochs[e], f.Units[i].Epochs[e]; math.Float64bits(a.ValAccuracy) != math.Float64bits(b.ValAccuracy) || math.Float64bits(a.Loss) != math.Float64bits(b.Loss) {
					t.Errorf("configuration %s fold %d epoch %d: %+v on the queue, %+v without a pruner", c.Key, u.Fold, e+1, a, b)
				}
			}
		}
		if c.PrunedAt == 0 && (math.Float64bits(c.MeanAccuracy) != math.Float64bits(f.MeanAccuracy) || !slices.Equal(c.FoldAccuracies, f.FoldAccuracies)) {
			t.Errorf("configuration %s trained fully: %v %v on the queue, %v %v without a pruner", c.Key, c.MeanAccuracy, c.FoldAccuracies, f.MeanAccuracy, f.FoldAccuracies)
		}
	}
	var heldKey string // the best configuration, held back
	for _, c := range r.Configs {
		if c.Params.Config(0).LR == 0.1 {
			heldKey = c.Key
		}
	}
	if b := best(r); b != heldKey || b != best(local) {
		t.Errorf("best configuration %q on the queue, %q locally, want %q (the best at every rung)", b, best(local), heldKey)
	}
	if rescued := chained(t, r, workers); rescued == 0 {
		t.Errorf("no unit continued from its checkpoint on a second attempt (the killed worker's job):\n%s\n%s", workers[1].log(), workers[2].log())
	}
	noCheckpoints(t, url)
	t.Logf("sweep --wait:\n%s", waitErr)
}

// oneWorkerKilled runs sweep (its arguments: --enqueue --wait --json) and
// worker processes: worker 0 alone, SIGKILLed as it starts a job of the
// second rung (epochs 2–3), which it can do only once the coordinator
// enqueued one; then two more, until sweep ends. hold, if set, is called
// once the study is enqueued, before worker 0 starts, and returns what to
// do once it is killed. With stopIn, sweep runs first as a process of
// its own, SIGKILLed as it enqueues a second stage after a line with
// stopIn, then again. It returns the study's result, the workers
// (worker 0 first) and sweep's stderr.
func oneWorkerKilled(t *testing.T, url string, sweep []string, stopIn string, hold func() (release func())) (sweeps.StudyResult, []*worker, string) {
	t.Helper()
	var waitCode int
	var waitOut, waitErr string
	waited := make(chan struct{})
	go func() {
		defer close(waited)
		if stopIn != "" {
			coordinatorKilled(t, sweep, stopIn)
		}
		waitCode, waitOut, waitErr = runCmd(sweep...)
	}()
	release := func() {}
	if hold != nil {
		release = hold()
	}
	args := []string{"--store", url, "--workers", "1", "--liveness-every", "1s"}
	killed := make(chan struct{}, 1)
	workers := []*worker{startWorker(t, func(line string) {
		if strings.Contains(line, "epochs 2–3, ") {
			select {
			case killed <- struct{}{}:
			default:
			}
		}
	}, args...)}
	select {
	case <-killed:
		workers[0].cmd.Process.Signal(syscall.SIGKILL)
	case <-time.After(2 * time.Minute):
		t.Fatalf("worker 0 started no job of the second rung:\n%s", workers[0].log())
	}
	if code := workers[0].wait(t, time.Minute); code != -1 {
		t.Fatalf("worker 0 exited with %d, not killed:\n%s", code, workers[0].log())
	}
	release()
	workers = append(workers, startWorker(t, nil, args...), startWorker(t, nil, args...))
	select {
	case <-waited:
	case <-time.After(3 * time.Minute):
		t.Fatalf("sweep --enqueue --wait did not end; workers:\n%s\n%s", workers[1].log(), workers[2].log())
	}
	for _, w := range workers[1:] {
		w.cmd.Process.Signal(syscall.SIGTERM)
		w.wait(t, time.Minute)
	}
	if waitCode != 0 {
		t.Fatalf("sweep --enqueue --wait: exit %d: %s", waitCode, waitErr)
	}
	return decodeStudyJSON(t, waitOut), workers, waitErr
}

// coordinatorKilled runs sweep (--enqueue --wait) as a process of its
// own and SIGKILLs it as it enqueues a second stage after a line with
// stopIn.
func coordinatorKilled(t *testing.T, sweep []string, stopIn string) {
	stopping, stopped, stop := false, false, make(chan struct{})
	c := startProcess(t, func(line string) {
		if stopping && !stopped && strings.Contains(line, "stage 2:") {
			stopped = true
			close(stop)
		}
		stopping = stopping || strings.Contains(line, stopIn)
	}, sweep...)
	select {
	case <-stop:
		c.cmd.Process.Signal(syscall.SIGKILL)
		if code := c.wait(t, time.Minute); code != -1 {
			t.Errorf("sweep --enqueue --wait exited with %d, not killed:\n%s", code, c.log())
		}
	case <-time.After(3 * time.Minute):
		t.Errorf("sweep --enqueue --wait did not reach %q:\n%s", stopIn, c.log())
	}
	t.Logf("sweep --enqueue --wait, killed:\n%s", c.log())
}
