package main

import (
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
	queuePrunedOneWorkerKilled(t, `name: qprune
data: {csv: blobs.csv, label: species}
folds: 2
epochs: 9
seed: 7
base: {hidden: [64, 64], batch: 16, optimizer: sgd}
grid:
  lr: [0.0003, 0.001, 0.003, 0.01, 0.03, 0.1]
pruner: {kind: sha, eta: 3, min_epochs: 1}
`, "epochs 2–3, ", "", 12, 6+2)
}

// queuePrunedOneWorkerKilled runs a pruned study (of a 2-fold 600-row
// blobs.csv) locally, then on the queue with --enqueue --wait, worker 0
// alone until it starts a job of the second stage (its log line has
// killAt) and is SIGKILLed, then two more workers. It checks the
// queue's configurations, results (bit for bit), decisions (each made
// once) and best configuration against the local run's, that every
// unit's stages chain from epoch 1 without an epoch trained twice, that
// a unit of the killed job continued from its checkpoint at epoch 1 on a
// second attempt, and that no checkpoint is left; units and decisions
// are how many the study has. With stopIn, the first sweep --enqueue
// --wait is a process of its own, SIGKILLed as it enqueues the second
// stage after a line with stopIn, and started again.
func queuePrunedOneWorkerKilled(t *testing.T, studyYAML, killAt, stopIn string, units, decisions int) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts worker processes and waits for River's rescuer (about a minute)")
	}
	url := storetest.Postgres(t)
	clearShardEnv(t)
	dir := t.TempDir()
	writeBlobsCSV(t, dir, "blobs.csv", 600, 8)
	study := filepath.Join(dir, "study.yaml")
	if err := os.WriteFile(study, []byte(studyYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCmd("sweep", study, "--out", filepath.Join(dir, "local"), "--workers", "2", "--json")
	if code != 0 {
		t.Fatalf("local: exit %d: %s", code, stderr)
	}
	local := decodeStudyJSON(t, stdout)

	var waitCode int
	var waitOut, waitErr string
	waited := make(chan struct{})
	go func() {
		defer close(waited)
		args := []string{"sweep", study, "--store", url, "--enqueue", "--wait", "--json", "--workers", "3", "--out", filepath.Join(dir, "queue")}
		if stopIn != "" {
			stopping, stopped, stop := false, false, make(chan struct{})
			c := startProcess(t, func(line string) {
				if stopping && !stopped && strings.Contains(line, "stage 2:") {
					stopped = true
					close(stop)
				}
				stopping = stopping || strings.Contains(line, stopIn)
			}, args...)
			select {
			case <-stop:
				c.cmd.Process.Signal(syscall.SIGKILL)
				if code := c.wait(t, 10*time.Second); code != -1 {
					t.Errorf("sweep --enqueue --wait exited with %d, not killed:\n%s", code, c.log())
				}
			case <-time.After(3 * time.Minute):
				t.Errorf("sweep --enqueue --wait did not reach %q:\n%s", stopIn, c.log())
			}
			t.Logf("sweep --enqueue --wait, killed:\n%s", c.log())
		}
		waitCode, waitOut, waitErr = runCmd(args...)
	}()
	// Worker 0 alone trains the first rung, and is killed as it starts a
	// job of the second; the others start then.
	args := []string{"--store", url, "--workers", "1", "--min-timeout", "10s", "--rescue-after", "12s"}
	killed := make(chan struct{}, 1)
	workers := []*worker{startWorker(t, func(line string) {
		if strings.Contains(line, killAt) {
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
	if code := workers[0].wait(t, 10*time.Second); code != -1 {
		t.Fatalf("worker 0 exited with %d, not killed:\n%s", code, workers[0].log())
	}
	workers = append(workers, startWorker(t, nil, args...), startWorker(t, nil, args...))
	select {
	case <-waited:
	case <-time.After(3 * time.Minute):
		t.Fatalf("sweep --enqueue --wait did not end; workers:\n%s\n%s", workers[1].log(), workers[2].log())
	}
	for _, w := range workers[1:] {
		w.cmd.Process.Signal(syscall.SIGTERM)
		w.wait(t, 30*time.Second)
	}
	if waitCode != 0 {
		t.Fatalf("sweep --enqueue --wait: exit %d: %s", waitCode, waitErr)
	}
	r := decodeStudyJSON(t, waitOut)

	best := func(r sweeps.StudyResult) string {
		for _, c := range r.Configs {
			if c.Rank == 1 {
				return c.Key
			}
		}
		return ""
	}
	if b := best(r); b == "" || b != best(local) {
		t.Errorf("best configuration %q on the queue, %q locally", b, best(local))
	}
	keys := func(r sweeps.StudyResult) []string {
		var k []string
		for _, c := range r.Configs {
			k = append(k, c.Key)
		}
		return k
	}
	if !slices.Equal(keys(r), keys(local)) {
		t.Errorf("configurations on the queue:\n%v\nlocally:\n%v", keys(r), keys(local))
	}
	if !slices.Equal(resultBits(r), resultBits(local)) {
		t.Errorf("the queue's results differ from the local run's:\n%+v\n%+v", r, local)
	}
	decided := map[[2]int]int{}
	index := map[string]int{}
	for _, c := range r.Configs {
		index[c.Key] = len(index)
	}
	for _, d := range r.Decisions {
		decided[[2]int{index[d.Key], d.Epoch}]++
	}
	for k, n := range decided {
		if n != 1 {
			t.Errorf("configuration %d decided %d times at epoch %d", k[0], n, k[1])
		}
	}
	if len(r.Decisions) != len(local.Decisions) || len(r.Decisions) != decisions {
		t.Errorf("%d decisions on the queue, %d locally, want %d", len(r.Decisions), len(local.Decisions), decisions)
	}
	for i := range min(len(r.Decisions), len(local.Decisions)) {
		a, b := r.Decisions[i], local.Decisions[i]
		if a.Key != b.Key || a.Epoch != b.Epoch || a.Promoted != b.Promoted || a.Score != b.Score {
			t.Errorf("decision %d: %+v on the queue, %+v locally", i, a, b)
		}
	}

	// Each unit's stages, from every worker's log (the killed one's
	// included): they chain from epoch 1 without an epoch trained twice,
	// to where the unit stopped.
	stages := map[string][][2]int{}
	rescued := 0 // units of the killed worker's job continued on its second attempt
	for _, w := range workers {
		for _, line := range strings.Split(w.log(), "\n") {
			if m := stageLine.FindStringSubmatch(line); m != nil {
				from, _ := strconv.Atoi(m[4])
				to, _ := strconv.Atoi(m[5])
				stages[m[1]+"/"+m[2]] = append(stages[m[1]+"/"+m[2]], [2]int{from, to})
				if m[3] == "2" && from == 2 {
					rescued++
				}
			}
		}
	}
	if rescued == 0 {
		t.Errorf("no unit continued from its checkpoint at epoch 1 on a second attempt (the killed worker's job):\n%s\n%s", workers[1].log(), workers[2].log())
	}
	if len(stages) != units {
		t.Errorf("%d units trained, want %d: %v", len(stages), units, stages)
	}
	for _, c := range r.Configs {
		for _, u := range c.Units {
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
	var checkpoints int
	storetest.QueryRow(t, url, `SELECT count(*) FROM mlpsweep_checkpoints`, &checkpoints)
	if checkpoints != 0 {
		t.Errorf("%d checkpoints left after the study", checkpoints)
	}
	t.Logf("sweep --wait:\n%s", waitErr)
}
